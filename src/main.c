/*
 * opusd: command line, start-up and shutdown.
 *   opusd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR] [--jdl-dir DIR] [--run-as USER]
 *         [--check-config]
 *   opusd user add NAME [--admin] [--roles ROLES] [--config FILE] [--data-dir DIR]
 *   opusd user list|rotate NAME|roles NAME ROLES|deactivate NAME|activate NAME|delete NAME
 *   opusd app add NAME --run GLOBS
 *   opusd import-opus SOURCE [--jobdata DIR] [--results DIR] [--tokens FILE]
 *         [--source-password-file FILE]
 *   opusd db copy --from SRC --to DST (src/import/db_copy.c parses its own flags)
 * The user and app commands open the store the daemon uses (SQLite WAL: they
 * work while it runs) and record their changes in the audit log as "cli";
 * so does import-opus (src/import), which brings an OPUS site's jobs over.
 * Signals are handled by the main thread alone with sigwait(): SIGTERM and
 * SIGINT stop cleanly, SIGHUP reloads the job descriptions.
 */
#include "auth/auth.h"
#include "conf/conf.h"
#include "http/http.h"
#include "import/import.h"
#include "jdl/jdl.h"
#include "prov/prov.h"
#include "sched/sched.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The account commands: "user add" and the others, "app add". */
enum command {
	CMD_SERVE,
	CMD_USER_ADD,
	CMD_USER_LIST,
	CMD_USER_ROTATE,
	CMD_USER_ROLES,
	CMD_USER_DEACTIVATE,
	CMD_USER_ACTIVATE,
	CMD_USER_DELETE,
	CMD_APP_ADD,
	CMD_IMPORT_OPUS
};

struct options {
	const char *config;
	bool check_only;
	bool admin;
	enum command cmd;
	const char *name;  /* the user or application */
	const char *roles; /* `user roles NAME ROLES`, `user add --roles` */
	const char *run;   /* `app add --run` */
	/* import-opus SOURCE --jobdata DIR --results DIR --tokens FILE */
	const char *source, *jobdata, *results, *tokens, *source_pw;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: opusd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR] "
		   "[--jdl-dir DIR] [--run-as USER] [--check-config]\n"
		   "       opusd user add NAME [--admin] [--roles ROLES] [--config FILE] "
		   "[--data-dir DIR]\n"
		   "       opusd user list [--config FILE] [--data-dir DIR]\n"
		   "       opusd user rotate|deactivate|activate|delete NAME [--config FILE] "
		   "[--data-dir DIR]\n"
		   "       opusd user roles NAME ROLES [--config FILE] [--data-dir DIR]\n"
		   "       opusd app add NAME --run GLOBS [--config FILE] [--data-dir DIR]\n"
		   "       opusd import-opus SOURCE [--jobdata DIR] [--results DIR] "
		   "[--tokens FILE] [--source-password-file FILE] [--config FILE] "
		   "[--data-dir DIR]\n"
		   "       opusd db copy --from SQLITE_FILE|postgresql://URL "
		   "--to SQLITE_FILE|postgresql://URL [--from-password-file FILE] "
		   "[--to-password-file FILE]\n");
}

/* The words after the flags: which command, with how many words. */
static int parse_command(int argc, char **argv, struct options *o)
{
	static const struct {
		const char *group, *verb;
		int words; /* group and verb included */
		enum command cmd;
	} table[] = {
	    {"user", "add", 3, CMD_USER_ADD},
	    {"user", "list", 2, CMD_USER_LIST},
	    {"user", "rotate", 3, CMD_USER_ROTATE},
	    {"user", "roles", 4, CMD_USER_ROLES},
	    {"user", "deactivate", 3, CMD_USER_DEACTIVATE},
	    {"user", "activate", 3, CMD_USER_ACTIVATE},
	    {"user", "delete", 3, CMD_USER_DELETE},
	    {"app", "add", 3, CMD_APP_ADD},
	};
	int n = argc - optind;

	if (n == 0)
		return 0;
	if (n == 2 && !strcmp(argv[optind], "import-opus")) {
		o->cmd = CMD_IMPORT_OPUS;
		o->source = argv[optind + 1];
		return 0;
	}
	for (size_t i = 0; i < OPUS_ARRAY_LEN(table); i++) {
		if (n != table[i].words || n < 2 || strcmp(argv[optind], table[i].group) ||
		    strcmp(argv[optind + 1], table[i].verb))
			continue;
		o->cmd = table[i].cmd;
		o->name = n > 2 ? argv[optind + 2] : NULL;
		if (n > 3)
			o->roles = argv[optind + 3];
		if (o->cmd == CMD_APP_ADD && !o->run)
			break; /* --run is required */
		return 0;
	}
	usage(stderr);
	return OPUS_ERR_INVAL;
}

/* Flags override the file, so they are applied after it: collect them first. */
static int parse_args(int argc, char **argv, struct conf *c, struct options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"jdl-dir", required_argument, NULL, 'j'},
	    {"run-as", required_argument, NULL, 'u'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"admin", no_argument, NULL, 'a'},
	    {"roles", required_argument, NULL, 'r'},
	    {"run", required_argument, NULL, 'R'},
	    {"jobdata", required_argument, NULL, 'J'},
	    {"results", required_argument, NULL, 'S'},
	    {"tokens", required_argument, NULL, 'T'},
	    {"source-password-file", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *flags[4][2] = {
	    {"listen", NULL}, {"data_dir", NULL}, {"jdl_dir", NULL}, {"run_as", NULL}};
	char *err = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:l:d:j:u:nahr:R:J:S:T:P:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			flags[0][1] = optarg;
			break;
		case 'd':
			flags[1][1] = optarg;
			break;
		case 'j':
			flags[2][1] = optarg;
			break;
		case 'u':
			flags[3][1] = optarg;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'a':
			o->admin = true;
			break;
		case 'r':
			o->roles = optarg;
			break;
		case 'R':
			o->run = optarg;
			break;
		case 'J':
			o->jobdata = optarg;
			break;
		case 'S':
			o->results = optarg;
			break;
		case 'T':
			o->tokens = optarg;
			break;
		case 'P':
			o->source_pw = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return OPUS_ERR_INVAL;
		}
	}
	if (parse_command(argc, argv, o) < 0)
		return OPUS_ERR_INVAL;
	if (o->config && conf_load_file(c, o->config, &err) < 0)
		goto bad;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(flags); i++) {
		if (flags[i][1] && conf_set(c, flags[i][0], flags[i][1], &err) < 0)
			goto bad;
	}
	if (conf_check(c, &err) < 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "opusd: %s\n", err);
	free(err);
	return OPUS_ERR_INVAL;
}

/* data_dir becomes absolute: job scripts see absolute file paths. */
static int prepare_data_dir(struct conf *c)
{
	char real[PATH_MAX];
	if (mkdir_p(c->data_dir, 0750) < 0 || !realpath(c->data_dir, real)) {
		fprintf(stderr, "opusd: cannot use data directory %s\n", c->data_dir);
		return OPUS_ERR_IO;
	}
	free(c->data_dir);
	c->data_dir = xstrdup(real);
	return 0;
}

static int open_store(const struct conf *c, struct store **st)
{
	char *path = xasprintf("%s/opusd.db", c->data_dir);
	bool pg = strcmp(c->store_backend, "postgresql") == 0;
	struct store_config sc = {.backend = c->store_backend,
				  .path = path,
				  .url = c->store_url,
				  .password_file = c->store_password_file,
				  .pool_size = c->store_pool_size};
	int ret = store_open(&sc, st);
	if (ret < 0) /* the reason (libpq's, SQLite's) is in the log above */
		fprintf(stderr, "opusd: cannot open database %s: %s\n", pg ? c->store_url : path,
			opus_strerror(ret));
	free(path);
	return ret;
}

static void auth_config_of(const struct conf *c, struct auth_config *ac)
{
	ac->allow_anonymous = c->allow_anonymous;
	ac->check_permissions = c->auth_check_permissions;
	ac->backoff_failures = c->auth_backoff_failures;
	ac->backoff_max_s = c->auth_backoff_max;
}

static const char *cli_error(int ret, const char *why)
{
	if (why)
		return why;
	switch (ret) {
	case OPUS_ERR_INVAL:
		return "a name is 1-64 of [A-Za-z0-9._@-]";
	case OPUS_ERR_NOTFOUND:
		return "no such account";
	case OPUS_ERR_EXISTS:
		return "the name is taken (by an account or an application)";
	default:
		return opus_strerror(ret);
	}
}

/* The roles `user add` asks for (NULL: the default), malloc'd. For an
 * existing account, --admin alone adds "admin" to the roles it has. */
static char *cli_roles(struct store *st, const struct options *o, bool exists)
{
	struct store_account acct = {0};
	char *roles;

	if (!o->roles && !o->admin)
		return NULL;
	if (!o->roles && exists && store_account_get(st, o->name, &acct) == 0)
		roles = xasprintf("%s,admin", acct.roles ? acct.roles : "");
	else
		roles = xasprintf("%s%s%s", o->roles ? o->roles : "",
				  o->roles && o->admin ? "," : "", o->admin ? "admin" : "");
	store_account_release(&acct);
	return roles;
}

/* A new account; an existing one gets a new token (and the roles asked
 * for), as `user add` did before issue 13. */
static int cli_user_add(struct auth *a, struct store *st, const struct options *o, char *token,
			const char **why)
{
	static const struct store_actor cli = {.name = "cli"};
	struct store_account acct = {.active = true, .quota = {-1, -1, -1}};
	char *roles = cli_roles(st, o, false);
	int ret;

	snprintf(acct.name, sizeof(acct.name), "%s", o->name);
	acct.roles = roles;
	ret = auth_user_create(a, &acct, &cli, token, why);
	if (ret == OPUS_ERR_EXISTS) {
		free(roles);
		roles = cli_roles(st, o, true);
		ret = roles ? auth_user_set_roles(a, o->name, roles, &cli, why) : 0;
		if (ret == 0)
			ret = auth_user_rotate(a, o->name, &cli, token);
		if (ret == OPUS_ERR_NOTFOUND)
			ret = OPUS_ERR_EXISTS; /* an application's name */
	}
	free(roles);
	return ret;
}

static void cli_print_account(const struct store_account *acct)
{
	printf("%s\t%s\t%s\t%s\n", acct->name, acct->active ? "active" : "deactivated",
	       acct->roles && *acct->roles ? acct->roles : "-",
	       acct->email && *acct->email ? acct->email : "-");
}

static int cli_user_list(struct auth *a, struct store *st)
{
	char after[STORE_NAME_MAX + 1] = "";
	(void)a;
	for (;;) {
		struct store_account *list = NULL;
		size_t n = 0;
		int ret = store_account_list(st, after, 500, &list, &n, NULL);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i < n; i++)
			cli_print_account(&list[i]);
		if (n > 0)
			snprintf(after, sizeof(after), "%s", list[n - 1].name);
		store_accounts_free(list, n);
		if (n < 500)
			return 0;
	}
}

static int cli_run(struct auth *a, struct store *st, const struct options *o, char *token,
		   const char **why)
{
	static const struct store_actor cli = {.name = "cli"};
	/* before any copy into a fixed-size name field truncates it */
	if (o->name && !auth_name_is_valid(o->name))
		return OPUS_ERR_INVAL;
	switch (o->cmd) {
	case CMD_USER_ADD:
		return cli_user_add(a, st, o, token, why);
	case CMD_USER_LIST:
		return cli_user_list(a, st);
	case CMD_USER_ROTATE:
		return auth_user_rotate(a, o->name, &cli, token);
	case CMD_USER_ROLES:
		return auth_user_set_roles(a, o->name, o->roles, &cli, why);
	case CMD_USER_DEACTIVATE:
	case CMD_USER_ACTIVATE:
		return auth_user_set_active(a, o->name, o->cmd == CMD_USER_ACTIVATE, &cli);
	case CMD_USER_DELETE:
		return auth_user_delete(a, o->name, &cli);
	case CMD_APP_ADD:
		return auth_app_create(a, o->name, o->run, &cli, token, why);
	default:
		return OPUS_ERR_INVAL;
	}
}

/* The user and app commands; a new token is printed alone on its line. */
static int cmd_accounts(const struct conf *c, const struct options *o)
{
	struct store *st = NULL;
	struct auth *a = NULL;
	struct auth_config ac;
	char token[AUTH_TOKEN_LEN + 1] = "";
	const char *why = NULL;
	int ret;

	auth_config_of(c, &ac);
	ret = open_store(c, &st);
	if (ret == 0)
		ret = auth_open(st, &ac, &a);
	if (ret == 0)
		ret = cli_run(a, st, o, token, &why);
	if (ret == 0 && token[0])
		printf("%s\n", token);
	else if (ret < 0)
		fprintf(stderr, "opusd: %s%s%s: %s\n", o->cmd == CMD_APP_ADD ? "app" : "user",
			o->name ? " " : "", o->name ? o->name : "", cli_error(ret, why));
	auth_close(a);
	store_close(st);
	return ret == 0 ? 0 : 1;
}

/* import-opus: the store, auth, the descriptions (to know which OPUS job
 * names exist here) and the entity store, as the daemon has them. */
static int cmd_import(const struct conf *c, const struct options *o)
{
	struct import_config ic = {.source = o->source,
				   .jobdata_dir = o->jobdata,
				   .results_dir = o->results,
				   .tokens_path = o->tokens,
				   .source_password_file = o->source_pw,
				   .data_dir = c->data_dir};
	struct prov_config pc = {.data_dir = c->data_dir, .base_url = c->base_url};
	struct import_deps d = {0};
	struct import_report rep = {0};
	struct auth_config ac;
	char *versions = xasprintf("%s/jdl-versions", c->data_dir), *why = NULL;
	int ret;

	auth_config_of(c, &ac);
	ret = open_store(c, &d.st);
	if (ret == 0)
		ret = auth_open(d.st, &ac, &d.auth);
	if (ret == 0) {
		d.reg =
		    jdl_registry_new(c->jdl_dir, mkdir_p(versions, 0750) == 0 ? versions : NULL);
		(void)jdl_registry_load(d.reg);
		ret = prov_open(&pc, d.st, d.reg, &d.prov);
	}
	if (ret == 0) {
		ret = import_opus_run(&ic, &d, &rep, &why);
		import_report_print(&rep, stdout);
	}
	if (ret < 0)
		fprintf(stderr, "opusd: import-opus: %s\n", why ? why : opus_strerror(ret));
	import_report_release(&rep);
	free(why);
	free(versions);
	prov_close(d.prov);
	jdl_registry_free(d.reg);
	auth_close(d.auth);
	store_close(d.st);
	return ret == 0 ? 0 : 1;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-file limit");
	}
}

static void wait_for_signals(struct jdl_registry *reg, struct http_server *srv, const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading the job descriptions and the web client");
			(void)jdl_registry_load(reg); /* which logs "loaded N ..." once */
			http_reload_web(srv);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

/* The input policy from [inputs]; each root must exist (links resolved). */
static int fetch_policy_init(const struct conf *c, struct fetch_policy *fp)
{
	char *roots = xstrdup(c->file_roots), *save = NULL;
	int ret = 0;

	memset(fp, 0, sizeof(*fp));
	fp->allow_private = c->allow_private_addresses;
	fp->max_bytes = c->max_input_size;
	fp->timeout_s = c->fetch_timeout;
	fp->connect_timeout_s = c->fetch_connect_timeout;
	fp->base_url = c->base_url;
	for (char *r = strtok_r(roots, ":", &save); r; r = strtok_r(NULL, ":", &save)) {
		char *real = realpath(r, NULL);
		if (!real || r[0] != '/') {
			log_error("inputs.file_roots: %s is not an existing absolute directory", r);
			free(real);
			ret = OPUS_ERR_INVAL;
			continue;
		}
		fp->file_roots = xrealloc(fp->file_roots, (fp->nroots + 1) * sizeof(char *));
		fp->file_roots[fp->nroots++] = real;
	}
	free(roots);
	return ret;
}

static void fetch_policy_release(struct fetch_policy *fp)
{
	for (size_t i = 0; i < fp->nroots; i++)
		free(fp->file_roots[i]);
	free(fp->file_roots);
}

/* Where opusd listens, and a first request that works here: on copy when it
 * is loaded (the README's example), else on the first description loaded. */
static void log_banner(const struct conf *c, struct jdl_registry *reg)
{
	size_t n = 0;
	char **names = jdl_registry_names(reg, &n);
	const char *name = n > 0 ? names[0] : NULL;

	log_info("opusd listening on %s, public URL %s (data in %s, %lld jobs at once)", c->listen,
		 c->base_url, c->data_dir, (long long)c->max_running);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(names[i], "copy"))
			name = names[i];
	}
	if (!name)
		log_info("no job descriptions in %s yet: add {name}.xml files, then send SIGHUP",
			 c->jdl_dir);
	else if (!strcmp(name, "copy"))
		log_info("try: curl -i -d text=hello -d PHASE=RUN %s/rest/copy", c->base_url);
	else
		log_info("try: curl %s/jdl/%s/json (its parameters), then "
			 "curl -i -d PHASE=RUN %s/rest/%s",
			 c->base_url, name, c->base_url, name);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The job event key, {data_dir}/event.key: AUTH_EVENT_KEY_LEN random bytes,
 * mode 0600, made at the first start and read at every start (so that the
 * tokens of running jobs survive a restart). A file of another size or mode
 * is refused. */
static int event_key_load(const char *data_dir, unsigned char key[AUTH_EVENT_KEY_LEN])
{
	char *path = xasprintf("%s/event.key", data_dir);
	struct stat sb;
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = RAND_bytes(key, AUTH_EVENT_KEY_LEN) == 1 &&
			  write(fd, key, AUTH_EVENT_KEY_LEN) == AUTH_EVENT_KEY_LEN &&
			  fsync(fd) == 0;
		close(fd);
		if (ok) {
			log_info("%s: new job event key", path);
			free(path);
			return 0;
		}
		(void)unlink(path);
		log_error("%s: cannot write the job event key", path);
		free(path);
		return -1;
	}
	if (errno != EEXIST) {
		log_error("%s: cannot create: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		log_error("%s: cannot read: %s", path, strerror(errno));
	else if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 07777) != 0600)
		log_error("%s: refused: the job event key must be a regular file of mode 0600",
			  path);
	else if (sb.st_size != AUTH_EVENT_KEY_LEN ||
		 read(fd, key, AUTH_EVENT_KEY_LEN) != AUTH_EVENT_KEY_LEN)
		log_error("%s: refused: the job event key must hold exactly %d bytes", path,
			  AUTH_EVENT_KEY_LEN);
	else
		ret = 0;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		OPENSSL_cleanse(key, AUTH_EVENT_KEY_LEN);
	free(path);
	return ret;
}

static int serve(struct conf *c)
{
	struct fetch_policy fp;
	struct exec_user job_user;
	char *why = NULL, *instance = conf_instance_name(c);
	unsigned char event_key[AUTH_EVENT_KEY_LEN];
	/* Where jobs post their events: [slurm] event_url, else our own address. */
	char *event_url = c->slurm_event_url && c->slurm_event_url[0]
			      ? xstrdup(c->slurm_event_url)
			      : xasprintf("http://%s/handler/job_event", c->listen);
	/* sched's job directories (sched_job_dir): slurm.workdir_root copies them. */
	char *jobs_dir = xasprintf("%s/jobs", c->data_dir);
	/* The backend and its settings; sched adds its event callback. */
	struct exec_slurm_config slurm = {
	    .cluster = c->slurm_cluster,
	    .slurm_conf = c->slurm_conf,
	    .path = c->slurm_path,
	    .workdir_root = c->slurm_workdir_root,
	    .jobs_dir = jobs_dir,
	    .partition = c->slurm_partition,
	    .account = c->slurm_account,
	    .sbatch_args = c->slurm_sbatch_args,
	    .poll_interval_ms = c->slurm_poll_interval_ms,
	    .command_timeout_ms = c->slurm_command_timeout_ms,
	    .ssh_host = c->slurm_ssh_host,
	    .ssh_user = c->slurm_ssh_user,
	    .ssh_port = (int)c->slurm_ssh_port,
	    .ssh_key = c->slurm_ssh_key,
	    .ssh_known_hosts = c->slurm_ssh_known_hosts,
	    .event_url = event_url,
	};
	/* The default backend and those beside it ([jobs] backends). */
	const char *also[3] = {NULL};
	size_t nalso = 0;
	if (strcmp(c->backend, "local") != 0 && conf_backend_enabled(c, "local"))
		also[nalso++] = "local";
	if (strcmp(c->backend, "slurm") != 0 && conf_backend_enabled(c, "slurm"))
		also[nalso++] = "slurm";
	struct exec_config ec = {
	    .backend = c->backend,
	    .also = also,
	    .slurm = conf_backend_enabled(c, "slurm") ? &slurm : NULL,
	};
	struct sched_config sc = {
	    .data_dir = c->data_dir,
	    .exec_backend = NULL,
	    .exec = &ec,
	    .max_running = (int)c->max_running,
	    .default_execution_duration = c->default_execution_duration,
	    .max_execution_duration = c->max_execution_duration,
	    .default_destruction = c->default_destruction,
	    .max_destruction = c->max_destruction,
	    .kill_grace_ms = c->kill_grace_ms,
	    .fetch = &fp,
	    .fetch_threads = (int)c->fetch_threads,
	    .job_user = &job_user,
	    .cgroup = c->cgroup,
	    .job_limits = {.memory_bytes = c->max_memory,
			   .processes = c->max_processes,
			   .open_files = c->max_open_files,
			   .cpu_seconds = c->max_cpu_time},
	    .event_key = event_key,
	    .instance = instance,
	    .lease_s = c->lease,
	};
	struct store *st = NULL;
	struct jdl_registry *reg = NULL;
	struct sched *s = NULL;
	struct prov *pv = NULL;
	struct auth *au = NULL;
	struct auth_config ac;
	struct http_server *srv = NULL;
	sigset_t set;
	int ret = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Before any thread exists, so every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	xmlInitParser();

	auth_config_of(c, &ac);
	if (fetch_policy_init(c, &fp) < 0 || fetch_global_init() < 0 || open_store(c, &st) < 0 ||
	    auth_open(st, &ac, &au) < 0 || event_key_load(c->data_dir, event_key) < 0)
		goto done;
	if (exec_user_resolve(c->run_as, &job_user, &why) < 0 ||
	    exec_user_check_reach(&job_user, c->data_dir, &why) < 0 ||
	    !exec_cgroup_setting_ok(c->cgroup)) {
		log_error("%s", why ? why : "jobs.cgroup: must be auto or off");
		free(why);
		goto done;
	}
	{
		/* Each description's source is kept by hash, so that a job runs
		 * the version it was created with, across reloads and restarts. */
		char *versions = xasprintf("%s/jdl-versions", c->data_dir);
		bool ok = mkdir_p(versions, 0750) == 0;
		if (!ok)
			log_warn("%s: cannot create; job description versions not kept", versions);
		reg = jdl_registry_new(c->jdl_dir, ok ? versions : NULL);
		free(versions);
	}
	(void)jdl_registry_load(reg); /* logs "loaded N job description(s) from DIR" */
	{
		struct prov_config pc = {.data_dir = c->data_dir,
					 .base_url = c->base_url,
					 .version = OPUS_VERSION,
					 .max_depth = (int)c->prov_max_depth,
					 .max_activities = (size_t)c->prov_max_activities};
		if (prov_open(&pc, st, reg, &pv) < 0)
			goto done;
		sc.prov = pv;
	}
	if (sched_open(&sc, st, reg, &s) < 0) {
		log_error("cannot start the scheduler");
		goto done;
	}
	{
		struct http_deps deps = {.conf = c,
					 .store = st,
					 .sched = s,
					 .jdls = reg,
					 .fetch = &fp,
					 .prov = pv,
					 .auth = au,
					 .event_key = event_key};
		if (http_start(&deps, &srv) < 0)
			goto done;
	}
	log_banner(c, reg);
	wait_for_signals(reg, srv, &set);
	ret = 0;
done:
	http_drain(srv);	 /* what is not routed yet gets 503 */
	sched_shutdown_begin(s); /* wakes every WAIT: they are answered from the store */
	http_stop(srv);		 /* no request handler runs after this */
	sched_close(s);		 /* running jobs go back to QUEUED */
	prov_close(pv);
	auth_close(au);
	jdl_registry_free(reg);
	store_close(st);
	fetch_policy_release(&fp);
	fetch_global_cleanup();
	xmlCleanupParser();
	OPENSSL_cleanse(event_key, sizeof(event_key));
	free(event_url);
	free(instance);
	free(jobs_dir);
	log_info("opusd stopped%s", ret == 0 ? "" : " (start-up failed)");
	return ret;
}

int main(int argc, char **argv)
{
	struct conf c;
	struct options o = {0};
	enum log_level lvl = LOG_INFO;
	int ret;

	if (argc >= 3 && !strcmp(argv[1], "db") && !strcmp(argv[2], "copy"))
		return db_copy_main(argc - 2, argv + 2); /* no configuration: two stores */
	conf_init(&c);
	if (parse_args(argc, argv, &c, &o) < 0) {
		conf_release(&c);
		return 2;
	}
	if (log_level_parse(c.log_level, &lvl) == 0)
		log_set_level(lvl);
	if (o.check_only) {
		struct sbuf sb = SBUF_INIT;
		conf_dump(&c, &sb);
		printf("%s", sbuf_str(&sb));
		sbuf_release(&sb);
		conf_release(&c);
		return 0;
	}
	if (prepare_data_dir(&c) < 0) {
		conf_release(&c);
		return 1;
	}
	if (o.cmd == CMD_IMPORT_OPUS)
		ret = cmd_import(&c, &o);
	else
		ret = o.cmd != CMD_SERVE ? cmd_accounts(&c, &o) : serve(&c);
	conf_release(&c);
	return ret;
}
