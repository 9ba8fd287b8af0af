/*
 * import_opus: `opusd import-opus` (import.h). The OPUS tables and columns
 * are those of uws_server/storage.py (SQLAlchemyJobStorage): jobs (jobid,
 * jobname, phase, quote, execution_duration, error, creation_time,
 * start_time, end_time, destruction_time, owner, owner_token, run_id,
 * process_id), job_parameters (jobid, name, value, byref), job_results
 * (jobid, name, url, content_type), users (name, token, roles) and entities
 * (entity_id, jobid, result_name, hash, creation_time, file_name, file_path,
 * access_url, owner). Times are String(19) "%Y-%m-%dT%H:%M:%S" on SQLite,
 * read as UTC. owner_token and users.token are never read. The rows come
 * from import_src.c, the same queries on OPUS's SQLite file or PostgreSQL.
 */
#include "import/import-int.h"
#include "import/import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct imp {
	const struct import_config *cfg;
	const struct import_deps *d;
	struct import_report *rep;
	struct import_src *src;
	char *jobdata, *results; /* OPUS's folders */
	int tokens_fd;		 /* -1 until the first user */
	int64_t now;
};

static const struct store_actor imp_actor = {.name = "cli", .app = "import-opus"};

/* A value from the source made printable for the report: hostile bytes out,
 * long values cut. */
static const char *imp_show(const char *s, char out[81])
{
	size_t n = 0;
	for (; s && s[n] && n < 80; n++) {
		char c = s[n];
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		out[n] = c;
	}
	out[n] = '\0';
	return s ? out : "(null)";
}

static void imp_skip(struct imp *im, const char *fmt, ...) OPUS_PRINTF(2, 3);
static void imp_skip(struct imp *im, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&im->rep->skipped, fmt, ap);
	va_end(ap);
	sbuf_addc(&im->rep->skipped, '\n');
	im->rep->nskipped++;
}

/* One query of the source with up to two parameters. */
static int imp_query(struct imp *im, const char *sql, const char *p1, const char *p2,
		     struct store_rows *out, char **why)
{
	const char *params[] = {p1, p2};
	return import_src_query(im->src, sql, p2 ? 2 : p1 ? 1 : 0, params, out, why);
}

/* ---- The source ---- */

/* The directory holding path (malloc'd); "." when it has none. */
static char *imp_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xasprintf("%.*s", (int)(slash - path), path);
}

static int imp_open_source(struct imp *im, char **why)
{
	const char *src = im->cfg->source;
	char *dir;
	int ret;

	if (import_url_is_pg(src) && !im->cfg->jobdata_dir) {
		*why = xstrdup("a PostgreSQL source needs --jobdata DIR (OPUS's JOBDATA_PATH; "
			       "--results DIR when RESULTS_PATH is not beside it)");
		return OPUS_ERR_INVAL;
	}
	ret = import_src_open(src, im->cfg->source_password_file, &im->src, why);
	if (ret < 0)
		return ret;
	dir = imp_dir_of(src); /* OPUS: VAR_PATH/db/job_database.db */
	im->jobdata =
	    im->cfg->jobdata_dir ? xstrdup(im->cfg->jobdata_dir) : xasprintf("%s/../jobdata", dir);
	free(dir);
	dir = imp_dir_of(im->jobdata);
	im->results =
	    im->cfg->results_dir ? xstrdup(im->cfg->results_dir) : xasprintf("%s/results", dir);
	free(dir);
	return 0;
}

/* ---- Files ---- */

/* A file name from the source that may be used inside a job directory. */
static bool imp_plain_name(const char *s)
{
	return s && *s && s[0] != '.' && strlen(s) < 256 && !strchr(s, '/');
}

/* Copies src to dest (created or truncated, never through a link); the
 * bytes copied into *size. -errno-like: OPUS_ERR_NOTFOUND when src is missing. */
static int imp_copy(const char *src, const char *dest, int64_t *size)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out, ret = OPUS_ERR_IO;
	ssize_t n;

	if (in < 0)
		return errno == ENOENT ? OPUS_ERR_NOTFOUND : OPUS_ERR_IO;
	out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	*size = 0;
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			goto done;
		*size += n;
	}
	if (out >= 0 && n == 0 && fsync(out) == 0)
		ret = 0;
done:
	if (out >= 0)
		close(out);
	close(in);
	return ret;
}

/* Where OPUS keeps a result's file, and its path in the opusd job directory
 * (both malloc'd); NULL when the name cannot be used. */
static int imp_result_paths(struct imp *im, const char *id, const char *name, char **src,
			    char **rel)
{
	struct store_rows rows = {0};
	char *file = NULL, *why = NULL;
	int ret;

	if (!strcmp(name, "stdout") || !strcmp(name, "stderr")) {
		*src = xasprintf("%s/%s/%s.log", im->jobdata, id, name);
		*rel = xasprintf(".opusd/%s", name);
		return 0;
	}
	ret = imp_query(im,
			"SELECT file_name FROM entities WHERE jobid = $1 AND result_name = $2 "
			"ORDER BY creation_time LIMIT 1",
			id, name, &rows, &why);
	free(why);
	if (ret == 0 && store_rows_get(&rows, 0, 0))
		file = xstrdup(store_rows_get(&rows, 0, 0));
	store_rows_release(&rows);
	if (!file)
		file = xstrdup(name); /* no entities table, or no row: the result's name */
	if (!imp_plain_name(file)) {
		free(file);
		return OPUS_ERR_INVAL;
	}
	*src = xasprintf("%s/%s/%s", im->results, id, file);
	*rel = file;
	return 0;
}

static bool imp_is_prov_doc(const char *name)
{
	return !strcmp(name, "provjson") || !strcmp(name, "provxml") || !strcmp(name, "provsvg");
}

static void imp_result(struct imp *im, struct uws_job *job, const char *dir, const char *name,
		       const char *mime)
{
	char *src = NULL, *rel = NULL, *dest, shown[81];
	int64_t size = 0;
	int ret;

	if (!name_is_safe(name, 255) || uws_job_result(job, name)) {
		imp_skip(im, "job %s result %s: malformed or repeated result name", job->id,
			 imp_show(name, shown));
		return;
	}
	if (imp_is_prov_doc(name)) {
		imp_skip(im, "job %s result %s: a provenance document, made by opusd itself",
			 job->id, name);
		return;
	}
	if (imp_result_paths(im, job->id, name, &src, &rel) < 0) {
		imp_skip(im, "job %s result %s: its file name cannot be used", job->id, name);
		return;
	}
	dest = xasprintf("%s/%s", dir, rel);
	ret = imp_copy(src, dest, &size);
	if (ret == 0) {
		uws_job_add_result(job, name, rel, mime && *mime ? mime : NULL, size);
		im->rep->results++;
	} else {
		(void)unlink(dest);
		imp_skip(im, "job %s result %s: %s %s", job->id, name,
			 ret == OPUS_ERR_NOTFOUND ? "missing result file" : "cannot copy", src);
	}
	free(dest);
	free(src);
	free(rel);
}

/* The results of a finished job, copied into its opusd directory. */
static int imp_results(struct imp *im, struct uws_job *job, const char *dir, char **why)
{
	struct store_rows rows = {0};
	char *sub = xasprintf("%s/.opusd", dir);
	int ret = mkdir_p(sub, 0750);

	free(sub);
	if (ret < 0) {
		*why = xasprintf("%s: cannot create the job directory", dir);
		return OPUS_ERR_IO;
	}
	ret = imp_query(im,
			"SELECT name, content_type FROM job_results WHERE jobid = $1 "
			"ORDER BY name",
			job->id, NULL, &rows, why);
	for (size_t i = 0; ret == 0 && i < rows.nrows; i++) {
		if (store_rows_get(&rows, i, 0))
			imp_result(im, job, dir, store_rows_get(&rows, i, 0),
				   store_rows_get(&rows, i, 1));
	}
	store_rows_release(&rows);
	return ret;
}

/* ---- Jobs ---- */

static int imp_params(struct imp *im, struct uws_job *job, char **why)
{
	struct store_rows rows = {0};
	int ret = imp_query(im,
			    "SELECT name, value FROM job_parameters WHERE jobid = $1 "
			    "ORDER BY name",
			    job->id, NULL, &rows, why);

	/* byref values (OPUS's upload references) come over as their text */
	for (size_t i = 0; ret == 0 && i < rows.nrows; i++) {
		const char *name = store_rows_get(&rows, i, 0),
			   *value = store_rows_get(&rows, i, 1);
		if (name)
			uws_job_add_param(job, name, value ? value : "", false);
	}
	store_rows_release(&rows);
	return ret;
}

static int imp_time(const char *s, int64_t *ms)
{
	*ms = 0;
	return s && *s ? time_parse(s, ms) : 0;
}

/* The columns of the jobs query below. */
enum {
	J_ID,
	J_NAME,
	J_PHASE,
	J_QUOTE,
	J_DUR,
	J_ERR,
	J_CTIME,
	J_STIME,
	J_ETIME,
	J_DTIME,
	J_OWNER,
	J_RUNID
};

/* One row of the jobs query. */
struct imp_row {
	const struct store_rows *rows;
	size_t i;
};

static const char *imp_col(const struct imp_row *r, int col)
{
	return store_rows_get(r->rows, r->i, (size_t)col);
}

/* OPUS's INTEGER columns, as text from either database; 0 when empty. */
static int64_t imp_int(const struct imp_row *r, int col)
{
	const char *s = imp_col(r, col);
	return s ? strtoll(s, NULL, 10) : 0;
}

static int imp_times(const struct imp_row *s, struct uws_job *job)
{
	int64_t *t[] = {&job->creation_time, &job->start_time, &job->end_time,
			&job->destruction_time};
	for (int i = 0; i < 4; i++) {
		if (imp_time(imp_col(s, J_CTIME + i), t[i]) < 0)
			return OPUS_ERR_INVAL;
	}
	return 0;
}

/* A phase opusd cannot carry on (the run was OPUS's): the job ends in ERROR. */
static void imp_settle_phase(struct imp *im, struct uws_job *job)
{
	char *why;
	if (job->phase == UWS_PENDING || uws_phase_is_final(job->phase))
		return;
	why = xasprintf("imported from OPUS in phase %s, not run by opusd%s%s",
			uws_phase_name(job->phase), job->error_summary ? ": " : "",
			job->error_summary ? job->error_summary : "");
	imp_skip(im, "job %s: phase %s imported as ERROR (its run stayed with OPUS)", job->id,
		 uws_phase_name(job->phase));
	free(job->error_summary);
	job->error_summary = why;
	job->phase = UWS_ERROR;
	if (!job->end_time)
		job->end_time = im->now;
}

/* The scalar fields of a row; 1 when the row is skipped (reported). */
static int imp_job_fields(struct imp *im, const struct imp_row *s, struct uws_job *job,
			  struct jdl **jdl_out)
{
	const char *id = imp_col(s, J_ID), *name = imp_col(s, J_NAME), *owner = imp_col(s, J_OWNER);
	const char *err = imp_col(s, J_ERR), *run_id = imp_col(s, J_RUNID);
	char shown[81];

	if (!uws_id_is_valid(id)) {
		imp_skip(im, "job %s: malformed id (opusd takes %d to %d lowercase hex digits)",
			 imp_show(id, shown), UWS_ID_MIN_LEN, UWS_ID_LEN);
		return 1;
	}
	snprintf(job->id, sizeof(job->id), "%s", id);
	*jdl_out = name ? jdl_registry_get(im->d->reg, name) : NULL;
	if (!*jdl_out) {
		imp_skip(im, "job %s: unknown job description %s", id, imp_show(name, shown));
		return 1;
	}
	if (!imp_col(s, J_PHASE) || uws_phase_parse(imp_col(s, J_PHASE), &job->phase) < 0 ||
	    imp_times(s, job) < 0) {
		imp_skip(im, "job %s: unknown phase or malformed time", id);
		return 1;
	}
	if (owner && *owner && strcmp(owner, "anonymous") && !auth_name_is_valid(owner)) {
		imp_skip(im, "job %s: malformed owner %s", id, imp_show(owner, shown));
		return 1;
	}
	job->jobdef = xstrdup(name);
	job->jdl_hash = xstrdup((*jdl_out)->hash);
	job->owner = owner && *owner && strcmp(owner, "anonymous") ? xstrdup(owner) : NULL;
	job->run_id = run_id && *run_id ? xstrdup(run_id) : NULL;
	job->error_summary = err && *err ? xstrdup(err) : NULL;
	job->quote = imp_int(s, J_QUOTE);
	job->execution_duration = imp_int(s, J_DUR);
	if (job->quote < 0 || job->execution_duration < 0)
		job->quote = job->execution_duration = 0;
	if (!job->creation_time)
		job->creation_time = im->now; /* lists order by it */
	imp_settle_phase(im, job);
	return 0;
}

/* A finished job's end: results, their entities and the activity, one commit. */
static int imp_job_end(struct imp *im, struct uws_job *job, const struct jdl *jdl, const char *dir)
{
	struct store_entity *gen = NULL;
	struct store_activity act;
	size_t ngen = 0;
	int ret = prov_results_register(im->d->prov, job, dir, &gen, &ngen);

	for (size_t i = 0; i < ngen; i++) {
		if (job->end_time)
			gen[i].creation_time = job->end_time;
	}
	prov_activity_of(job, jdl, &act);
	if (ret == 0)
		ret = store_job_end(im->d->st, job, &act, gen, ngen, job->phase); /* created so */
	store_activity_release(&act);
	for (size_t i = 0; i < ngen; i++)
		store_entity_release(&gen[i]);
	free(gen);
	return ret;
}

static int imp_job(struct imp *im, const struct imp_row *s, char **why)
{
	struct uws_job job = {0}, old = {0};
	struct jdl *jdl = NULL;
	char *dir = NULL;
	int ret = imp_job_fields(im, s, &job, &jdl);

	if (ret == 1) {
		ret = 0;
		goto done;
	}
	ret = store_job_get(im->d->st, job.id, &old);
	uws_job_release(&old);
	if (ret == 0) {
		im->rep->jobs_present++;
		goto done;
	}
	if (ret != OPUS_ERR_NOTFOUND ||
	    (ret = imp_params(im, &job, why)) < 0) /* the store failed, or the source */
		goto fail;
	dir = xasprintf("%s/jobs/%s", im->cfg->data_dir, job.id);
	if (uws_phase_is_final(job.phase) && job.phase != UWS_ARCHIVED &&
	    (ret = imp_results(im, &job, dir, why)) < 0)
		goto fail;
	ret = store_job_create(im->d->st, &job);
	if (ret == 0 && uws_phase_is_final(job.phase) && job.phase != UWS_ARCHIVED)
		ret = imp_job_end(im, &job, jdl, dir);
	if (ret == OPUS_ERR_EXISTS) {
		im->rep->jobs_present++; /* made meanwhile (a run alongside) */
		ret = 0;
	} else if (ret == 0) {
		im->rep->jobs++;
	}
fail:
	if (ret < 0 && !*why)
		*why = xasprintf("job %s: the store failed: %s", job.id, opus_strerror(ret));
done:
	free(dir);
	jdl_unref(jdl);
	uws_job_release(&job);
	return ret;
}

static int imp_jobs(struct imp *im, char **why)
{
	struct store_rows rows = {0};
	int ret = imp_query(im,
			    "SELECT jobid, jobname, phase, quote, execution_duration, error, "
			    "creation_time, start_time, end_time, destruction_time, owner, run_id "
			    "FROM jobs ORDER BY creation_time, jobid",
			    NULL, NULL, &rows, why);

	for (size_t i = 0; ret == 0 && i < rows.nrows; i++) {
		struct imp_row r = {&rows, i};
		ret = imp_job(im, &r, why);
	}
	store_rows_release(&rows);
	return ret;
}

/* ---- Users ---- */

/* OPUS's role: a job description name its holders may run, "all" (every
 * one) or "admin". An opusd role of the same name grants the same. */
static int imp_role(struct imp *im, const char *user, const char *role, struct sbuf *roles)
{
	struct store_role r = {0};
	const char *why = NULL;
	int ret;

	if (!auth_name_is_valid(role)) {
		char shown[81];
		imp_skip(im, "user %s role %s: malformed role name", user, imp_show(role, shown));
		return 0;
	}
	ret = store_role_get(im->d->st, role, &r);
	store_role_release(&r);
	if (ret == OPUS_ERR_NOTFOUND) {
		struct store_role nr = {.run = (char *)(strcmp(role, "all") ? role : "*")};
		snprintf(nr.name, sizeof(nr.name), "%s", role);
		ret = auth_role_put(im->d->auth, &nr, &imp_actor, &why);
		if (ret == 0)
			im->rep->roles++;
	}
	if (ret < 0) {
		imp_skip(im, "user %s role %s: %s", user, role, why ? why : opus_strerror(ret));
		return ret == OPUS_ERR_INVAL ? 0 : ret;
	}
	sbuf_addf(roles, "%s%s", roles->len ? "," : "", role);
	return 0;
}

/* OPUS's comma-separated roles as opusd's; OPUS's admin account
 * (settings.py ADMIN_NAME, "opus-admin" by default) gets "admin". */
static int imp_roles(struct imp *im, const char *user, const char *list, struct sbuf *roles)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;
	bool admin = !strcmp(user, "opus-admin");
	int ret = 0;

	for (char *r = strtok_r(copy, ",", &save); r && ret == 0; r = strtok_r(NULL, ",", &save)) {
		while (*r == ' ')
			r++;
		for (char *e = r + strlen(r); e > r && e[-1] == ' ';)
			*--e = '\0';
		if (!strcmp(r, "admin"))
			admin = false; /* listed already */
		if (*r)
			ret = imp_role(im, user, r, roles);
	}
	if (ret == 0 && admin)
		ret = imp_role(im, user, "admin", roles);
	free(copy);
	return ret;
}

/* The tokens file: created 0600, or an existing one of ours that nobody
 * else may read. */
static int imp_tokens_open(struct imp *im, char **why)
{
	struct stat sb;

	if (im->tokens_fd >= 0)
		return 0;
	im->tokens_fd = open(im->cfg->tokens_path,
			     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (im->tokens_fd < 0 || fstat(im->tokens_fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		*why = xasprintf("%s: the tokens file must be a regular file of ours with mode "
				 "0600 (or not exist yet)",
				 im->cfg->tokens_path);
		return OPUS_ERR_INVAL;
	}
	return 0;
}

static int imp_token_write(struct imp *im, const char *name, const char *token, char **why)
{
	char *line = xasprintf("%s %s\n", name, token);
	size_t n = strlen(line);
	int ret = write(im->tokens_fd, line, n) == (ssize_t)n && fsync(im->tokens_fd) == 0
		      ? 0
		      : OPUS_ERR_IO;

	OPENSSL_cleanse(line, n);
	free(line);
	if (ret < 0)
		*why = xasprintf("%s: cannot write the token of %s (`opusd user rotate %s` makes "
				 "another): %s",
				 im->cfg->tokens_path, name, name, strerror(errno));
	return ret;
}

static int imp_user(struct imp *im, const char *name, const char *list, char **why)
{
	struct store_account acct = {.active = true, .quota = {-1, -1, -1}};
	struct sbuf roles;
	char token[AUTH_TOKEN_LEN + 1] = "", shown[81];
	const char *reason = NULL;
	int ret = name && auth_name_is_valid(name) ? store_account_get(im->d->st, name, &acct)
						   : OPUS_ERR_INVAL;

	store_account_release(&acct);
	if (ret != OPUS_ERR_INVAL && !strcmp(name, "anonymous"))
		ret = OPUS_ERR_FORBIDDEN; /* OPUS's anonymous: jobs without an owner here */
	if (ret == OPUS_ERR_INVAL || ret == OPUS_ERR_FORBIDDEN ||
	    (ret == OPUS_ERR_NOTFOUND && !im->cfg->tokens_path)) {
		imp_skip(im, "user %s: %s", imp_show(name, shown),
			 ret == OPUS_ERR_INVAL	     ? "malformed name"
			 : ret == OPUS_ERR_FORBIDDEN ? "anonymous is no account in opusd"
						     : "no --tokens FILE given for its new token");
		return 0;
	}
	if (ret == 0)
		im->rep->users_present++;
	if (ret != OPUS_ERR_NOTFOUND)
		return ret;
	sbuf_init(&roles, 4096);
	ret = imp_roles(im, name, list, &roles);
	if (ret == 0)
		ret = imp_tokens_open(im, why);
	memset(&acct, 0, sizeof(acct));
	acct.active = true;
	acct.quota = (struct store_quota){-1, -1, -1};
	snprintf(acct.name, sizeof(acct.name), "%s", name);
	acct.roles = roles.len ? (char *)sbuf_str(&roles) : NULL;
	if (ret == 0)
		ret = auth_user_create(im->d->auth, &acct, &imp_actor, token, &reason);
	if (ret == 0)
		ret = imp_token_write(im, name, token, why);
	if (ret == 0)
		im->rep->users++;
	else if (!*why)
		*why = xasprintf("user %s: %s", name, reason ? reason : opus_strerror(ret));
	OPENSSL_cleanse(token, sizeof(token));
	sbuf_release(&roles);
	return ret;
}

static int imp_users(struct imp *im, char **why)
{
	struct store_rows rows = {0};
	int ret =
	    imp_query(im, "SELECT name, roles FROM users ORDER BY name", NULL, NULL, &rows, why);

	for (size_t i = 0; ret == 0 && i < rows.nrows; i++)
		ret = imp_user(im, store_rows_get(&rows, i, 0), store_rows_get(&rows, i, 1), why);
	store_rows_release(&rows);
	return ret;
}

/* ---- The whole ---- */

int import_opus_run(const struct import_config *cfg, const struct import_deps *deps,
		    struct import_report *rep, char **why_out)
{
	struct imp im = {.cfg = cfg, .d = deps, .rep = rep, .tokens_fd = -1};
	int ret;

	memset(rep, 0, sizeof(*rep));
	sbuf_init(&rep->skipped, 0);
	*why_out = NULL;
	im.now = time_now_ms();
	ret = imp_open_source(&im, why_out);
	if (ret == 0 && cfg->tokens_path) /* a bad tokens file changes nothing */
		ret = imp_tokens_open(&im, why_out);
	if (ret == 0)
		ret = imp_users(&im, why_out); /* first: the jobs' owners exist when jobs arrive */
	if (ret == 0)
		ret = imp_jobs(&im, why_out);
	if (im.tokens_fd >= 0)
		close(im.tokens_fd);
	import_src_close(im.src);
	free(im.jobdata);
	free(im.results);
	return ret;
}

void import_report_print(const struct import_report *rep, FILE *f)
{
	fprintf(f, "imported %zu jobs, %zu users, %zu results (%zu roles created)\n", rep->jobs,
		rep->users, rep->results, rep->roles);
	if (rep->jobs_present || rep->users_present)
		fprintf(f, "already present, left as they are: %zu jobs, %zu users\n",
			rep->jobs_present, rep->users_present);
	if (!rep->jobs && !rep->users && !rep->roles)
		fprintf(f, "nothing changed\n");
	if (rep->nskipped)
		fprintf(f, "skipped or changed (%zu):\n%s", rep->nskipped, sbuf_str(&rep->skipped));
}

void import_report_release(struct import_report *rep)
{
	if (rep)
		sbuf_release(&rep->skipped);
}
