/*
 * http_admin: /admin, the server's administration (issue 13), JSON, admins
 * only (anonymous 401, anyone else 403, an application always 403). Roles
 * and applications (their changes go through auth, which reloads its role
 * cache, or the store, with their audit rows), the audit log, the server's
 * status and effective configuration, the jobs queued and executing across
 * users with an abort for any of them, and descriptions disabled for new
 * jobs (OPUS's maintenance).
 */
#include "http/http-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX	   1000
#define ADMIN_JOBS_MAX	   5000 /* per phase; the answer says when it is cut */
#define GLOB_MAX	   64

static struct store *store_of(const struct http_request *req)
{
	return req->srv->deps.store;
}

static const char *base_of(const struct http_request *req)
{
	return req->srv->deps.conf->base_url;
}

/* Segment i as a name (role, app), or NULL with a 400 set. */
static const char *seg_name(struct http_request *req, int i, const char *what)
{
	if (auth_name_is_valid(req->segs[i]))
		return req->segs[i];
	http_reply_text(req, 400, "bad %s name: want 1-64 of [A-Za-z0-9._@-]\n", what);
	return NULL;
}

/* The parsed body, or NULL with a 400 set; keys outside known are refused. */
static json_t *body_of(struct http_request *req, const char *const *known, size_t n)
{
	char *why = NULL;
	const char *bad;
	json_t *doc;
	if (http_json_body(req, &doc, &why) < 0) {
		http_reply_text(req, 400, "%s\n", why);
		free(why);
		return NULL;
	}
	bad = http_json_unknown_key(doc, known, n);
	if (bad) {
		http_reply_text(req, 400, "%s: unknown field\n", bad);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static void reply_err(struct http_request *req, int err, const char *what, const char *name)
{
	if (err == OPUS_ERR_NOTFOUND)
		http_reply_text(req, 404, "no %s named %s\n", what, name);
	else if (err == OPUS_ERR_EXISTS)
		http_reply_text(req, 409, "%s: a user or application has this name\n", name);
	else
		http_reply_error(req, err, opus_strerror(err));
}

/* Description globs: each 1-64 of [A-Za-z0-9_.*?[]!-], space-separated in *out. */
static int globs_of(const json_t *v, char **out, const char **why_out)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789_.*?[]!-";
	char *save = NULL, *copy;
	int ret = 0;

	if (http_json_join(v, ' ', out, why_out) < 0)
		return OPUS_ERR_INVAL;
	copy = xstrdup(*out);
	for (char *g = strtok_r(copy, " ", &save); g; g = strtok_r(NULL, " ", &save)) {
		if (strlen(g) > GLOB_MAX || g[strspn(g, allowed)] != '\0')
			ret = OPUS_ERR_INVAL;
	}
	free(copy);
	if (ret == 0 && strlen(*out) >= AUTH_GLOBS_MAX)
		ret = OPUS_ERR_INVAL;
	if (ret < 0) {
		*why_out = "run: want globs of job description names (1-64 of "
			   "[A-Za-z0-9_.-] and * ? [ ] !), at most 1023 characters in all";
		free(*out);
		*out = NULL;
	}
	return ret;
}

/* ------------------------------------------------------------------- roles */

static bool role_is_builtin(const char *name)
{
	return !strcmp(name, "admin") || !strcmp(name, "user") || !strcmp(name, "anonymous");
}

static json_t *role_doc(const struct http_request *req, const struct store_role *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "run", http_json_list(r->run));
	json_object_set_new(o, "submit", json_boolean(r->submit));
	json_object_set_new(o, "admin", json_boolean(r->admin));
	json_object_set_new(o, "quota", http_json_quota_doc(&r->quota));
	json_object_set_new(o, "builtin", json_boolean(role_is_builtin(r->name)));
	json_object_set_new(o, "modified", http_json_time(r->modified));
	json_object_set_new(o, "url", json_sprintf("%s/admin/roles/%s", base_of(req), r->name));
	return o;
}

static void roles_list(struct http_request *req)
{
	struct store_role *roles = NULL;
	size_t n = 0;
	json_t *arr, *doc;
	int ret = store_role_list(store_of(req), &roles, &n);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot list roles");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, role_doc(req, &roles[i]));
	store_roles_free(roles, n);
	doc = json_object();
	json_object_set_new(doc, "roles", arr);
	http_json_reply(req, 200, doc);
}

static void role_show_named(struct http_request *req, const char *name, int status)
{
	struct store_role r = {0};
	int ret = store_role_get(store_of(req), name, &r);
	if (ret < 0)
		reply_err(req, ret, "role", name);
	else
		http_json_reply(req, status, role_doc(req, &r));
	store_role_release(&r);
}

static void role_show(struct http_request *req)
{
	const char *name = seg_name(req, 2, "role");
	if (name)
		role_show_named(req, name, 200);
}

static int bool_field(const json_t *doc, const char *key, bool *io, const char **why_out)
{
	const json_t *v = json_object_get(doc, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		*why_out = "submit, admin and active are true or false";
		return OPUS_ERR_INVAL;
	}
	*io = json_is_true(v);
	return 0;
}

/* The role the body makes of r (fields left out keep their value). */
static int role_from_json(const json_t *doc, struct store_role *r, const char **why_out)
{
	const json_t *run = json_object_get(doc, "run");
	const json_t *quota = json_object_get(doc, "quota");
	const json_t *name = json_object_get(doc, "name");
	char *globs = NULL;

	if (name && (!json_is_string(name) || strcmp(json_string_value(name), r->name) != 0)) {
		*why_out = "name: must be the role's name in the URL";
		return OPUS_ERR_INVAL;
	}
	if (run) {
		if (globs_of(run, &globs, why_out) < 0)
			return OPUS_ERR_INVAL;
		free(r->run);
		r->run = globs;
	}
	if (bool_field(doc, "submit", &r->submit, why_out) < 0 ||
	    bool_field(doc, "admin", &r->admin, why_out) < 0)
		return OPUS_ERR_INVAL;
	if (quota && !json_is_null(quota))
		return http_json_quota(quota, 0, &r->quota, why_out);
	if (quota)
		r->quota = (struct store_quota){0, 0, 0};
	return 0;
}

static void role_put(struct http_request *req)
{
	static const char *const keys[] = {"name", "run", "submit", "admin", "quota"};
	const char *name = seg_name(req, 2, "role");
	json_t *doc = name ? body_of(req, keys, OPUS_ARRAY_LEN(keys)) : NULL;
	struct store_role r = {0};
	const char *why = NULL;
	struct http_actor act;
	bool existed;
	int ret;

	if (!doc)
		return;
	ret = store_role_get(store_of(req), name, &r);
	existed = ret == 0;
	if (ret == OPUS_ERR_NOTFOUND) {
		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "%s", name);
		r.run = xstrdup("");
		ret = 0;
	}
	if (ret == 0 && role_from_json(doc, &r, &why) < 0) {
		http_reply_text(req, 400, "%s\n", why);
		goto done;
	}
	http_json_actor(req, &act);
	if (ret == 0)
		ret = auth_role_put(req->srv->deps.auth, &r, &act.by, &why);
	if (ret < 0)
		http_reply_error(req, ret, why ? why : opus_strerror(ret));
	else
		role_show_named(req, name, existed ? 200 : 201);
done:
	store_role_release(&r);
	json_decref(doc);
}

static void role_delete(struct http_request *req)
{
	const char *name = seg_name(req, 2, "role");
	struct http_actor act;
	int ret;

	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_role_delete(req->srv->deps.auth, name, &act.by);
	if (ret == OPUS_ERR_FORBIDDEN)
		http_reply_text(req, 403, "role %s is built in: change it, it cannot be deleted\n",
				name);
	else if (ret < 0)
		reply_err(req, ret, "role", name);
	else
		http_json_no_content(req);
}

/* -------------------------------------------------------------------- apps */

static json_t *app_doc(const struct http_request *req, const struct store_app *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "run", http_json_list(a->run));
	json_object_set_new(o, "active", json_boolean(a->active));
	json_object_set_new(o, "created", http_json_time(a->created));
	json_object_set_new(o, "modified", http_json_time(a->modified));
	json_object_set_new(o, "url", json_sprintf("%s/admin/apps/%s", base_of(req), a->name));
	return o;
}

static void apps_list(struct http_request *req)
{
	struct store_app *apps = NULL;
	size_t n = 0;
	json_t *arr, *doc;
	int ret = store_app_list(store_of(req), &apps, &n);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot list applications");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, app_doc(req, &apps[i]));
	store_apps_free(apps, n);
	doc = json_object();
	json_object_set_new(doc, "apps", arr);
	http_json_reply(req, 200, doc);
}

/* The app's document, with its new token when there is one. */
static void app_reply(struct http_request *req, const char *name, const char *token, int status)
{
	struct store_app a = {0};
	json_t *doc;
	int ret = store_app_get(store_of(req), name, &a);
	if (ret < 0) {
		reply_err(req, ret, "application", name);
		return;
	}
	doc = app_doc(req, &a);
	store_app_release(&a);
	if (token)
		json_object_set_new(doc, "token", json_string(token));
	if (status == 201)
		req->reply.location = xasprintf("%s/admin/apps/%s", base_of(req), name);
	http_json_reply(req, status, doc);
}

static void app_create(struct http_request *req)
{
	static const char *const keys[] = {"name", "run"};
	json_t *doc = body_of(req, keys, OPUS_ARRAY_LEN(keys));
	char token[AUTH_TOKEN_LEN + 1];
	const char *why = NULL, *name;
	struct http_actor act;
	char *globs = NULL;
	int ret;

	if (!doc)
		return;
	name = json_string_value(json_object_get(doc, "name"));
	if (!name || !auth_name_is_valid(name)) {
		http_reply_text(req, 400, "name: want 1-64 of [A-Za-z0-9._@-]\n");
		goto done;
	}
	if (!json_object_get(doc, "run")) {
		http_reply_text(req, 400, "run: required (the descriptions the app may run)\n");
		goto done;
	}
	if (globs_of(json_object_get(doc, "run"), &globs, &why) < 0) {
		http_reply_text(req, 400, "%s\n", why);
		goto done;
	}
	http_json_actor(req, &act);
	ret = auth_app_create(req->srv->deps.auth, name, globs, &act.by, token, &why);
	if (ret == OPUS_ERR_EXISTS || ret == OPUS_ERR_NOTFOUND)
		reply_err(req, ret, "application", name);
	else if (ret < 0)
		http_reply_error(req, ret, why ? why : opus_strerror(ret));
	else
		app_reply(req, name, token, 201);
done:
	free(globs);
	json_decref(doc);
}

static void app_show(struct http_request *req)
{
	const char *name = seg_name(req, 2, "application");
	if (name)
		app_reply(req, name, NULL, 200);
}

/* The body as a change (*globs owned); 0, or an error with a 400 set. */
static int app_change_of(struct http_request *req, struct auth_app_change *ch, char **globs)
{
	static const char *const keys[] = {"run", "active"};
	json_t *doc = body_of(req, keys, OPUS_ARRAY_LEN(keys));
	const json_t *run = doc ? json_object_get(doc, "run") : NULL;
	const json_t *active = doc ? json_object_get(doc, "active") : NULL;
	const char *why = "active: want true or false";
	int ret = doc ? 0 : OPUS_ERR_INVAL;

	*ch = (struct auth_app_change){.active = -1};
	if (ret == 0 && active && !json_is_boolean(active))
		ret = OPUS_ERR_INVAL;
	if (ret == 0 && active)
		ch->active = json_is_true(active);
	if (ret == 0 && run && (ret = globs_of(run, globs, &why)) == 0)
		ch->run = *globs;
	if (ret < 0 && doc)
		http_reply_text(req, 400, "%s\n", why);
	json_decref(doc);
	return ret;
}

static void app_patch(struct http_request *req)
{
	const char *name = seg_name(req, 2, "application");
	struct auth_app_change ch;
	const char *why = NULL;
	struct http_actor act;
	char *globs = NULL;
	int ret;

	if (!name || app_change_of(req, &ch, &globs) < 0)
		goto done;
	http_json_actor(req, &act);
	ret = auth_app_update(req->srv->deps.auth, name, &ch, &act.by, &why);
	if (ret == OPUS_ERR_INVAL)
		http_reply_text(req, 400, "%s\n", why ? why : "invalid change");
	else if (ret < 0)
		reply_err(req, ret, "application", name);
	else
		app_reply(req, name, NULL, 200);
done:
	free(globs);
}

static void app_delete(struct http_request *req)
{
	const char *name = seg_name(req, 2, "application");
	struct http_actor act;
	int ret;

	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_app_delete(req->srv->deps.auth, name, &act.by);
	if (ret < 0)
		reply_err(req, ret, "application", name);
	else
		http_json_no_content(req);
}

static void app_rotate(struct http_request *req)
{
	const char *name = seg_name(req, 2, "application");
	char token[AUTH_TOKEN_LEN + 1];
	struct http_actor act;
	json_t *doc;
	int ret;

	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_app_rotate(req->srv->deps.auth, name, &act.by, token);
	if (ret < 0) {
		reply_err(req, ret, "application", name);
		return;
	}
	doc = json_object();
	json_object_set_new(doc, "name", json_string(name));
	json_object_set_new(doc, "token", json_string(token));
	http_json_reply(req, 200, doc);
}

/* ------------------------------------------------------------------- audit */

static json_t *audit_doc(const struct store_audit *e)
{
	json_t *o = json_object();
	json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
	json_object_set_new(o, "id", json_integer(e->id));
	json_object_set_new(o, "time", http_json_time(e->time));
	json_object_set_new(o, "actor", http_json_str(e->actor));
	json_object_set_new(o, "app", http_json_str(e->app && *e->app ? e->app : NULL));
	json_object_set_new(o, "address",
			    http_json_str(e->address && *e->address ? e->address : NULL));
	json_object_set_new(o, "action", http_json_str(e->action));
	json_object_set_new(o, "target", http_json_str(e->target));
	json_object_set_new(o, "detail", detail ? detail : http_json_str(e->detail));
	return o;
}

static bool query_int(struct http_request *req, const char *name, int64_t min, int64_t max,
		      int64_t *io)
{
	const char *s = http_field_value(req, name);
	if (!s)
		return true;
	if (parse_int64(s, io) == 0 && *io >= min && *io <= max)
		return true;
	http_reply_text(req, 400, "%s: want a whole number from %lld to %lld\n", name,
			(long long)min, (long long)max);
	return false;
}

static void audit_list(struct http_request *req)
{
	int64_t after = 0, count = AUDIT_PAGE_DEFAULT;
	struct store_audit *rows = NULL;
	size_t n = 0;
	json_t *arr, *doc;
	int ret;

	if (!query_int(req, "after", 0, INT64_MAX, &after) ||
	    !query_int(req, "count", 1, AUDIT_PAGE_MAX, &count))
		return;
	ret = store_audit_list(store_of(req), after, (size_t)count, &rows, &n);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot read the audit log");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, audit_doc(&rows[i]));
	doc = json_object();
	json_object_set_new(doc, "entries", arr);
	/* a full page may have more after it: ask again with after=next */
	json_object_set_new(doc, "next",
			    n == (size_t)count ? json_integer(rows[n - 1].id) : json_null());
	store_audits_free(rows, n);
	http_json_reply(req, 200, doc);
}

/* ------------------------------------------------------------------ status */

/* Seconds since this process started (/proc/self/stat field 22, clock ticks
 * after boot, against CLOCK_BOOTTIME): no start hook needed in the server. */
static int64_t process_uptime_s(void)
{
	char buf[1024];
	char *p, *save = NULL, *end = NULL;
	unsigned long long start;
	struct timespec now;
	size_t n;
	int field = 2;
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name (field 2) may hold blanks and ')' */
	if (!p)
		return -1;
	for (p = strtok_r(p + 1, " ", &save); p && ++field < 22; p = strtok_r(NULL, " ", &save))
		;
	if (!p)
		return -1;
	start = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return (int64_t)now.tv_sec - (int64_t)(start / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* The usage totals over every owner (accounts, anonymous, deleted accounts,
 * users an application acts for: one row each, never the jobs) and the
 * number of accounts. */
static int usage_sum(struct http_request *req, struct store_usage_totals *sum, size_t *users)
{
	struct store_account *none = NULL;
	size_t n = 0;
	int ret = store_usage_sum(store_of(req), sum);
	if (ret == 0)
		ret = store_account_list(store_of(req), "", 0, &none, &n, users);
	store_accounts_free(none, n);
	return ret;
}

static json_t *disk_doc(struct http_request *req, const struct store_usage_totals *sum)
{
	const char *dir = req->srv->deps.conf->data_dir;
	json_t *o = json_object();
	struct statvfs vfs;
	json_object_set_new(o, "path", json_string(dir));
	if (statvfs(dir, &vfs) == 0) {
		json_object_set_new(
		    o, "size_bytes",
		    json_integer((json_int_t)vfs.f_blocks * (json_int_t)vfs.f_frsize));
		json_object_set_new(
		    o, "free_bytes",
		    json_integer((json_int_t)vfs.f_bavail * (json_int_t)vfs.f_frsize));
	}
	json_object_set_new(o, "results_bytes", json_integer(sum->bytes));
	return o;
}

/* A string, or a placeholder when t is not UTF-8 (a command's stderr). */
static json_t *text_or_null(bool show, const char *t)
{
	json_t *v = show ? json_string(t) : NULL;
	return v ? v : show ? json_string("(not UTF-8)") : json_null();
}

/* The backend's cluster, from exec's last answer (never a command on this thread). */
static json_t *cluster_doc(const struct sched_stats *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "reachable", json_boolean(st->reachable));
	json_object_set_new(o, "reason", text_or_null(!st->reachable, st->unreachable_why));
	json_object_set_new(o, "jobs_waiting", json_integer((json_int_t)st->waiting_for_cluster));
	json_object_set_new(o, "waiting_reason",
			    text_or_null(st->waiting_for_cluster > 0, st->waiting_why));
	return o;
}

static void status_show(struct http_request *req)
{
	struct store_usage_totals sum;
	struct sched_stats st;
	size_t users = 0;
	json_t *doc = json_object();

	memset(&sum, 0, sizeof(sum));
	sched_get_stats(req->srv->deps.sched, &st);
	if (usage_sum(req, &sum, &users) < 0)
		log_warn("/admin/status: cannot add up the usage totals");
	json_object_set_new(doc, "version", json_string(OPUS_VERSION));
	json_object_set_new(doc, "uptime_s", json_integer(process_uptime_s()));
	json_object_set_new(doc, "executor", json_string(st.executor));
	json_object_set_new(doc, "executor_status", cluster_doc(&st));
	json_object_set_new(doc, "store", json_string(req->srv->deps.conf->store_backend));
	json_object_set_new(doc, "queued", json_integer((json_int_t)st.queued));
	json_object_set_new(doc, "running", json_integer((json_int_t)st.running));
	json_object_set_new(doc, "waiters", json_integer((json_int_t)st.waiters));
	json_object_set_new(doc, "ends_unrecorded", json_integer((json_int_t)st.ends_unrecorded));
	json_object_set_new(doc, "jobs_stored", json_integer(sum.jobs));
	json_object_set_new(doc, "users", json_integer((json_int_t)users));
	json_object_set_new(doc, "data_dir", disk_doc(req, &sum));
	http_json_reply(req, 200, doc);
}

/* ------------------------------------------------------------------ config */

static bool key_is_secret(const char *key)
{
	static const char *const words[] = {"password", "secret", "token", "conninfo", "dsn"};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(words); i++) {
		if (strstr(key, words[i]))
			return true;
	}
	return false;
}

static json_t *config_value(const char *key, const char *v)
{
	int64_t n;
	if (key_is_secret(key))
		return json_string(*v ? "********" : "");
	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return json_boolean(!strcmp(v, "true"));
	if (parse_int64(v, &n) == 0)
		return json_integer(n);
	return json_string(v);
}

/* One line of conf_dump's INI: a [section], a "# doc" or "key = value". */
static void config_line(char *line, json_t *doc, json_t **section)
{
	char *eq = strstr(line, " = ");
	size_t len = strlen(line);
	if (line[0] == '[' && len > 2 && line[len - 1] == ']') {
		line[len - 1] = '\0';
		*section = json_object();
		json_object_set_new(doc, line + 1, *section);
	} else if (*section && eq && line[0] != '#') {
		*eq = '\0';
		json_object_set_new(*section, line, config_value(line, eq + 3));
	}
}

static void config_show(struct http_request *req)
{
	struct sbuf ini = SBUF_INIT;
	json_t *doc = json_object();
	json_t *section = NULL;
	char *save = NULL;

	conf_dump(req->srv->deps.conf, &ini);
	for (char *l = strtok_r(ini.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		config_line(l, doc, &section);
	sbuf_release(&ini);
	http_json_reply(req, 200, doc);
}

/* -------------------------------------------------------------------- jobs */

static json_t *job_doc(const struct http_request *req, const struct uws_job *j)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "jobdef", json_string(j->jobdef));
	json_object_set_new(o, "owner", http_json_str(j->owner));
	json_object_set_new(o, "phase", json_string(uws_phase_name(j->phase)));
	json_object_set_new(o, "run_id", http_json_str(j->run_id));
	json_object_set_new(o, "creation_time", http_json_time(j->creation_time));
	json_object_set_new(o, "start_time", http_json_time(j->start_time));
	json_object_set_new(o, "run_request_time", http_json_time(j->run_request_time));
	json_object_set_new(o, "url",
			    json_sprintf("%s/rest/%s/%s", base_of(req), j->jobdef, j->id));
	return o;
}

/* Appends the jobs in phase p; true when the list was cut at ADMIN_JOBS_MAX. */
static bool jobs_in_phase(struct http_request *req, enum uws_phase p, json_t *arr)
{
	char **ids = NULL;
	size_t n = 0;
	bool cut;
	if (store_job_ids_in_phase(store_of(req), p, &ids, &n) < 0)
		return false;
	cut = n > ADMIN_JOBS_MAX;
	for (size_t i = 0; i < n && i < ADMIN_JOBS_MAX; i++) {
		struct uws_job j = {0};
		if (store_job_get(store_of(req), ids[i], &j) == 0 && j.phase == p)
			json_array_append_new(arr, job_doc(req, &j));
		uws_job_release(&j);
	}
	store_ids_free(ids, n);
	return cut;
}

static void jobs_list(struct http_request *req)
{
	json_t *arr = json_array();
	json_t *doc = json_object();
	bool cut = jobs_in_phase(req, UWS_EXECUTING, arr);
	cut = jobs_in_phase(req, UWS_QUEUED, arr) || cut;
	json_object_set_new(doc, "jobs", arr);
	json_object_set_new(doc, "truncated", json_boolean(cut));
	http_json_reply(req, 200, doc);
}

static void job_abort(struct http_request *req)
{
	const char *id = req->segs[2];
	struct uws_job j = {0};
	struct http_actor act;
	json_t *what;
	char *detail;
	int ret = uws_id_is_valid(id) ? store_job_get(store_of(req), id, &j) : OPUS_ERR_NOTFOUND;

	if (ret == 0)
		ret = sched_job_abort(req->srv->deps.sched, id);
	if (ret == OPUS_ERR_PHASE) {
		http_reply_text(req, 403, "job %s is %s: only a job not yet final is aborted\n", id,
				uws_phase_name(j.phase));
		goto done;
	}
	if (ret < 0) {
		reply_err(req, ret, "job", id);
		goto done;
	}
	http_json_actor(req, &act);
	what = json_pack("{s:s, s:s?, s:s}", "jobdef", j.jobdef, "owner", j.owner, "phase",
			 uws_phase_name(j.phase));
	detail = json_dumps(what, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(what);
	if (store_audit_add(store_of(req), &act.by, "job.abort", id, detail) < 0)
		log_error("job %s aborted by %s; its audit row was not written", id, req->who.name);
	free(detail);
	http_reply_redirect(req, "/rest/%s/%s", j.jobdef, id);
done:
	uws_job_release(&j);
}

/* --------------------------------------------------------- descriptions */

static bool jdl_known(struct http_request *req, const char *name)
{
	struct jdl *j =
	    name_is_safe(name, JDL_NAME_MAX) ? jdl_registry_get(req->srv->deps.jdls, name) : NULL;
	bool ok = j != NULL;
	jdl_unref(j);
	return ok;
}

static json_t *jdl_doc(struct http_request *req, const char *name)
{
	bool enabled = true;
	json_t *o = json_object();
	if (store_jdl_is_enabled(store_of(req), name, &enabled) < 0)
		enabled = true;
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "enabled", json_boolean(enabled));
	json_object_set_new(o, "loaded", json_boolean(jdl_known(req, name)));
	return o;
}

static void jdl_list(struct http_request *req)
{
	size_t n = 0, nd = 0;
	char **names = jdl_registry_names(req->srv->deps.jdls, &n);
	char **disabled = NULL;
	json_t *arr = json_array();
	json_t *doc = json_object();

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, jdl_doc(req, names[i]));
		free(names[i]);
	}
	free(names);
	/* disabled and no longer loaded: listed so that they can be enabled */
	if (store_jdl_disabled(store_of(req), &disabled, &nd) == 0) {
		for (size_t i = 0; i < nd; i++) {
			if (!jdl_known(req, disabled[i]))
				json_array_append_new(arr, jdl_doc(req, disabled[i]));
		}
		store_ids_free(disabled, nd);
	}
	json_object_set_new(doc, "jdl", arr);
	http_json_reply(req, 200, doc);
}

/* The description of the URL; NULL with a 404 when it is neither loaded nor disabled. */
static const char *jdl_name(struct http_request *req)
{
	const char *name = req->segs[2];
	bool enabled = true;
	if (name_is_safe(name, JDL_NAME_MAX) &&
	    (jdl_known(req, name) ||
	     (store_jdl_is_enabled(store_of(req), name, &enabled) == 0 && !enabled)))
		return name;
	http_reply_text(req, 404, "no job description named %s\n", name);
	return NULL;
}

static void jdl_show(struct http_request *req)
{
	const char *name = jdl_name(req);
	if (name)
		http_json_reply(req, 200, jdl_doc(req, name));
}

static void jdl_set(struct http_request *req, bool enabled)
{
	const char *name = jdl_name(req);
	struct http_actor act;
	int ret;
	if (!name)
		return;
	http_json_actor(req, &act);
	ret = store_jdl_set_enabled(store_of(req), name, enabled, &act.by);
	if (ret < 0)
		http_reply_error(req, ret, "cannot change the description's state");
	else
		http_json_reply(req, 200, jdl_doc(req, name));
}

static void jdl_put(struct http_request *req)
{
	static const char *const keys[] = {"name", "enabled"};
	json_t *doc = body_of(req, keys, OPUS_ARRAY_LEN(keys));
	const json_t *v = doc ? json_object_get(doc, "enabled") : NULL;
	if (doc && !json_is_boolean(v))
		http_reply_text(req, 400, "enabled: required, true or false\n");
	else if (doc)
		jdl_set(req, json_is_true(v));
	json_decref(doc);
}

static void jdl_enable(struct http_request *req)
{
	jdl_set(req, true);
}

static void jdl_disable(struct http_request *req)
{
	jdl_set(req, false);
}

static const struct http_json_route admin_routes[] = {
    {"roles", HTTP_GET, roles_list},	     {"roles/*", HTTP_GET, role_show},
    {"roles/*", HTTP_PUT, role_put},	     {"roles/*", HTTP_DELETE, role_delete},
    {"apps", HTTP_GET, apps_list},	     {"apps", HTTP_POST, app_create},
    {"apps/*", HTTP_GET, app_show},	     {"apps/*", HTTP_PATCH, app_patch},
    {"apps/*", HTTP_DELETE, app_delete},     {"apps/*/token", HTTP_POST, app_rotate},
    {"audit", HTTP_GET, audit_list},	     {"status", HTTP_GET, status_show},
    {"config", HTTP_GET, config_show},	     {"jobs", HTTP_GET, jobs_list},
    {"jobs/*/abort", HTTP_POST, job_abort},  {"jdl", HTTP_GET, jdl_list},
    {"jdl/*", HTTP_GET, jdl_show},	     {"jdl/*", HTTP_PUT, jdl_put},
    {"jdl/*/enable", HTTP_POST, jdl_enable}, {"jdl/*/disable", HTTP_POST, jdl_disable},
};

void http_admin(struct http_request *req)
{
	req->want_json = true; /* a JSON API: its errors are JSON too */
	if (http_json_admin_only(req))
		http_json_dispatch(req, 1, admin_routes, OPUS_ARRAY_LEN(admin_routes));
}
