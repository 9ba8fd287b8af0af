/*
 * http_users: the users API (issue 13), JSON, admin only but for
 * GET /users/me. A new token is shown once, in the answer that made it;
 * only its sha256 is stored. A change is checked whole (names, roles that
 * exist, types) before anything is written, so a refused request changes
 * nothing; each write carries its audit row (auth and store do that).
 * "me" is the signed-in user's own resource: an account named "me" is
 * reached for changes at /users/me (PATCH, DELETE, token) but shown by
 * GET /users/me as the caller's own.
 */
#include "http/http-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PAGE_DEFAULT 100
#define USERS_PAGE_MAX	   1000
#define EMAIL_MAX	   254
#define DISPLAY_NAME_MAX   256
#define TOKEN_MIN	   16 /* a client-chosen token: OPUS sites use uuid4s */
#define TOKEN_MAX	   256
#define QUOTA_KEEP	   (-2) /* a quota field a change leaves as it was */

static struct store *store_of(const struct http_request *req)
{
	return req->srv->deps.store;
}

static json_t *account_doc(const struct http_request *req, const struct store_account *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "active", json_boolean(a->active));
	json_object_set_new(o, "roles", http_json_list(a->roles));
	json_object_set_new(o, "email", http_json_str(a->email));
	json_object_set_new(o, "display_name", http_json_str(a->display_name));
	json_object_set_new(o, "quota", http_json_quota_doc(&a->quota));
	json_object_set_new(o, "created", http_json_time(a->created));
	json_object_set_new(o, "modified", http_json_time(a->modified));
	json_object_set_new(o, "url",
			    json_sprintf("%s/users/%s", req->srv->deps.conf->base_url, a->name));
	return o;
}

/* The reply for an error of a change: 404, 409, 400 ... naming it. */
static void reply_refused(struct http_request *req, int err, const char *name, const char *why)
{
	if (err == OPUS_ERR_NOTFOUND)
		http_reply_text(req, 404, "no user named %s\n", name);
	else if (err == OPUS_ERR_EXISTS)
		http_reply_text(req, 409, "%s\n", why ? why : "the name is taken");
	else
		http_reply_error(req, err, why ? why : opus_strerror(err));
}

/* The user name of the URL (segment 1), or NULL with a 400 set. */
static const char *url_name(struct http_request *req)
{
	const char *name = req->segs[1];
	if (auth_name_is_valid(name))
		return name;
	http_reply_text(req, 400, "bad user name: want 1-64 of [A-Za-z0-9._@-]\n");
	return NULL;
}

/* --------------------------------------------------------- checks, writes */

int http_users_roles_exist(struct http_request *req, const char *roles, const char **why_out)
{
	char *copy = xstrdup(roles);
	char *save = NULL;
	int ret = 0;
	for (char *r = strtok_r(copy, ", ", &save); r && ret == 0;
	     r = strtok_r(NULL, ", ", &save)) {
		struct store_role role = {0};
		ret = auth_name_is_valid(r) ? store_role_get(store_of(req), r, &role)
					    : OPUS_ERR_NOTFOUND;
		store_role_release(&role);
		if (ret == OPUS_ERR_NOTFOUND) {
			*why_out = "roles: no such role (see GET /admin/roles)";
			ret = OPUS_ERR_INVAL;
		}
	}
	free(copy);
	return ret;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static int token_ok(const char *token, const char **why_out)
{
	size_t n = strlen(token);
	bool printable = true;
	for (const char *s = token; *s; s++)
		printable = printable && (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f;
	if (n >= TOKEN_MIN && n <= TOKEN_MAX && printable)
		return 0;
	*why_out = "token: want 16-256 printable ASCII characters, no blanks";
	return OPUS_ERR_INVAL;
}

static int change_check(struct http_request *req, const struct http_user_change *c,
			const char **why_out)
{
	if (c->roles && http_users_roles_exist(req, c->roles, why_out) < 0)
		return OPUS_ERR_INVAL;
	if (c->set_email && c->email && (!text_ok(c->email, EMAIL_MAX) || !strchr(c->email, '@'))) {
		*why_out = "email: want an address with @, at most 254 characters";
		return OPUS_ERR_INVAL;
	}
	if (c->set_display_name && c->display_name && !text_ok(c->display_name, DISPLAY_NAME_MAX)) {
		*why_out = "display_name: want 1-256 characters, no control characters";
		return OPUS_ERR_INVAL;
	}
	if (c->token)
		return token_ok(c->token, why_out);
	return 0;
}

void http_user_change_release(struct http_user_change *c)
{
	free(c->roles);
	free(c->email);
	free(c->display_name);
	free(c->token);
	memset(c, 0, sizeof(*c));
	c->active = -1;
}

static void set_owned(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

/* The quota after a change: fields it leaves (QUOTA_KEEP) as they were. */
static struct store_quota quota_merged(const struct store_quota *was, const struct store_quota *c)
{
	struct store_quota q = *c;
	if (q.max_running == QUOTA_KEEP)
		q.max_running = was->max_running;
	if (q.max_jobs == QUOTA_KEEP)
		q.max_jobs = was->max_jobs;
	if (q.max_bytes == QUOTA_KEEP)
		q.max_bytes = was->max_bytes;
	return q;
}

/* What an "update" changed, for the audit detail (never a token). */
static char *update_detail(const struct http_user_change *c, const struct store_quota *q)
{
	json_t *d = json_object();
	char *text;
	if (c->set_email)
		json_object_set_new(d, "email", http_json_str(c->email));
	if (c->set_display_name)
		json_object_set_new(d, "display_name", http_json_str(c->display_name));
	if (c->set_quota)
		json_object_set_new(d, "quota", http_json_quota_doc(q));
	text = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	return text;
}

/* The fields the store writes as one "update" (and a kept token as "rotate"). */
static int apply_fields(struct http_request *req, struct store_account *a,
			const struct http_user_change *c, const struct store_actor *by)
{
	int ret = 0;
	if (c->set_email || c->set_display_name || c->set_quota) {
		char *detail;
		if (c->set_quota)
			a->quota = quota_merged(&a->quota, &c->quota);
		detail = update_detail(c, &a->quota);
		if (c->set_email)
			set_owned(&a->email, c->email);
		if (c->set_display_name)
			set_owned(&a->display_name, c->display_name);
		ret = store_account_update(store_of(req), a, "update", detail, by);
		free(detail);
	}
	if (ret == 0 && c->token) {
		auth_hash_token(c->token, a->token_hash);
		ret = store_account_update(store_of(req), a, "rotate", "{\"chosen\":true}", by);
	}
	return ret;
}

int http_users_apply(struct http_request *req, const char *name, const struct http_user_change *c,
		     const char **why_out)
{
	struct store_account a = {0};
	struct http_actor act;
	int ret;

	*why_out = NULL;
	http_json_actor(req, &act);
	ret = store_account_get(store_of(req), name, &a);
	if (ret == 0)
		ret = change_check(req, c, why_out);
	if (ret == 0)
		ret = apply_fields(req, &a, c, &act.by);
	if (ret == 0 && c->roles)
		ret = auth_user_set_roles(req->srv->deps.auth, name, c->roles, &act.by, why_out);
	if (ret == 0 && c->active >= 0 && (bool)c->active != a.active)
		ret = auth_user_set_active(req->srv->deps.auth, name, c->active == 1, &act.by);
	store_account_release(&a);
	return ret;
}

int http_users_create(struct http_request *req, const struct store_account *a, const char *token,
		      char token_out[AUTH_TOKEN_LEN + 1], const char **why_out)
{
	struct http_user_change c = {.active = -1,
				     .set_email = a->email != NULL,
				     .email = a->email,
				     .set_display_name = a->display_name != NULL,
				     .display_name = a->display_name,
				     .roles = a->roles,
				     .token = (char *)token};
	struct store_account copy;
	struct http_actor act;
	int ret;

	*why_out = NULL;
	token_out[0] = '\0';
	http_json_actor(req, &act);
	ret = change_check(req, &c, why_out);
	if (ret < 0)
		return ret;
	copy = *a;
	copy.token_hash[0] = '\0';
	/* a client-chosen token (OPUS's provisioning): its hash is kept */
	if (token)
		auth_hash_token(token, copy.token_hash);
	return auth_user_create(req->srv->deps.auth, &copy, &act.by, token_out, why_out);
}

/* ------------------------------------------------------------ JSON bodies */

static int opt_text(const json_t *o, const char *key, bool *set, char **out, const char **why_out,
		    const char *why)
{
	const json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) && !json_is_null(v)) {
		*why_out = why;
		return OPUS_ERR_INVAL;
	}
	*set = true;
	*out = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	return 0;
}

static int change_active(const json_t *o, struct http_user_change *c, const char **why_out)
{
	const json_t *v = json_object_get(o, "active");
	bool b;
	if (!v)
		return 0;
	if (http_json_bool(v, &b) < 0) {
		*why_out = "active: want true or false";
		return OPUS_ERR_INVAL;
	}
	c->active = b;
	return 0;
}

static int change_token(const json_t *o, struct http_user_change *c, const char **why_out)
{
	const json_t *v = json_object_get(o, "token");
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		*why_out = "token: want a string";
		return OPUS_ERR_INVAL;
	}
	c->token = xstrdup(json_string_value(v));
	return 0;
}

/* Reads the fields of a user object into c; OPUS_ERR_INVAL naming the first bad one. */
static int change_from_json(const json_t *o, struct http_user_change *c, const char **why_out)
{
	const json_t *roles = json_object_get(o, "roles");
	const json_t *quota = json_object_get(o, "quota");

	if (roles && http_json_join(roles, ',', &c->roles, why_out) < 0) {
		*why_out = "roles: want a list of role names";
		return OPUS_ERR_INVAL;
	}
	if (opt_text(o, "email", &c->set_email, &c->email, why_out,
		     "email: want a string or null") < 0 ||
	    opt_text(o, "display_name", &c->set_display_name, &c->display_name, why_out,
		     "display_name: want a string or null") < 0 ||
	    change_active(o, c, why_out) < 0 || change_token(o, c, why_out) < 0)
		return OPUS_ERR_INVAL;
	if (quota) {
		/* null unsets all three; an object sets the figures it names */
		int64_t left = json_is_null(quota) ? -1 : QUOTA_KEEP;
		c->quota = (struct store_quota){left, left, left};
		c->set_quota = true;
		return json_is_null(quota) ? 0 : http_json_quota(quota, -1, &c->quota, why_out);
	}
	return 0;
}

static const char *const user_keys[] = {"name",	  "roles", "email", "display_name",
					"active", "quota", "token"};

/* The body as a change; false with a 400 set. */
static bool body_change(struct http_request *req, struct http_user_change *c, json_t **doc_out)
{
	const char *why = NULL;
	const char *bad;
	char *jwhy = NULL;
	json_t *doc;

	if (http_json_body(req, &doc, &jwhy) < 0) {
		http_reply_text(req, 400, "%s\n", jwhy);
		free(jwhy);
		return false;
	}
	bad = http_json_unknown_key(doc, user_keys, OPUS_ARRAY_LEN(user_keys));
	if (bad) {
		http_reply_text(req, 400,
				"%s: unknown field (known: name, roles, email, "
				"display_name, active, quota, token)\n",
				bad);
		json_decref(doc);
		return false;
	}
	if (change_from_json(doc, c, &why) < 0) {
		http_reply_text(req, 400, "%s\n", why);
		json_decref(doc);
		return false;
	}
	*doc_out = doc;
	return true;
}

/* ---------------------------------------------------------------- handlers */

static int list_page(struct http_request *req, const char *start, size_t count, json_t *users,
		     const char **next_out, struct store_account **extra, size_t *total)
{
	struct store_account first = {0}, *page = NULL;
	size_t n = 0, have = 0;
	int ret = 0;

	*next_out = NULL;
	/* start is inclusive: the page begins with it when it exists */
	if (*start && store_account_get(store_of(req), start, &first) == 0) {
		json_array_append_new(users, account_doc(req, &first));
		have = 1;
	}
	store_account_release(&first);
	/* one more than the page holds tells the next page's first name */
	ret = store_account_list(store_of(req), start, count - have + 1, &page, &n, total);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		if (have + i == count) {
			*next_out = page[i].name; /* the first of the next page */
			break;
		}
		json_array_append_new(users, account_doc(req, &page[i]));
	}
	*extra = page;
	return ret ? ret : (int)n;
}

static void users_list(struct http_request *req)
{
	const char *start = http_field_value(req, "start");
	const char *count_s = http_field_value(req, "count");
	int64_t count = USERS_PAGE_DEFAULT;
	struct store_account *page = NULL;
	size_t total = 0;
	const char *next = NULL;
	json_t *users;
	json_t *doc;
	int n;

	if (!http_json_admin_only(req))
		return;
	if (count_s && (parse_int64(count_s, &count) < 0 || count < 1 || count > USERS_PAGE_MAX)) {
		http_reply_text(req, 400, "count: want a whole number from 1 to %d\n",
				USERS_PAGE_MAX);
		return;
	}
	if (start && *start && !auth_name_is_valid(start)) {
		http_reply_text(req, 400, "start: want a user name\n");
		return;
	}
	users = json_array();
	n = list_page(req, start ? start : "", (size_t)count, users, &next, &page, &total);
	if (n < 0) {
		json_decref(users);
		http_reply_error(req, n, "cannot list users");
		return;
	}
	doc = json_object();
	json_object_set_new(doc, "users", users);
	json_object_set_new(doc, "total", json_integer((json_int_t)total));
	json_object_set_new(doc, "next", http_json_str(next));
	store_accounts_free(page, (size_t)n);
	http_json_reply(req, 200, doc);
}

static void reply_created(struct http_request *req, const char *name, const char *token)
{
	struct store_account a = {0};
	json_t *doc;
	int ret = store_account_get(store_of(req), name, &a);
	if (ret < 0) {
		http_reply_error(req, ret, "the account was made but cannot be read back");
		return;
	}
	doc = account_doc(req, &a);
	if (token && *token)
		json_object_set_new(doc, "token", json_string(token));
	store_account_release(&a);
	req->reply.location = xasprintf("%s/users/%s", req->srv->deps.conf->base_url, name);
	http_json_reply(req, 201, doc);
}

static void users_create(struct http_request *req)
{
	struct http_user_change c = {.active = -1};
	struct store_account a = {.active = true, .quota = {-1, -1, -1}};
	char token[AUTH_TOKEN_LEN + 1];
	const char *why = NULL;
	const json_t *name;
	json_t *doc = NULL;
	int ret;

	if (!http_json_admin_only(req) || !body_change(req, &c, &doc))
		goto done;
	name = json_object_get(doc, "name");
	if (!json_is_string(name) || !auth_name_is_valid(json_string_value(name))) {
		http_reply_text(req, 400, "name: want 1-64 of [A-Za-z0-9._@-]\n");
		goto done;
	}
	snprintf(a.name, sizeof(a.name), "%s", json_string_value(name));
	a.roles = c.roles;
	a.email = c.email;
	a.display_name = c.display_name;
	if (c.set_quota)
		a.quota = quota_merged(&a.quota, &c.quota); /* over "unset" */
	a.active = c.active != 0;
	ret = http_users_create(req, &a, c.token, token, &why);
	if (ret < 0)
		reply_refused(req, ret, a.name,
			      ret == OPUS_ERR_EXISTS ? "a user or application has this name" : why);
	else
		reply_created(req, a.name, token);
done:
	json_decref(doc);
	http_user_change_release(&c);
}

static void users_show_account(struct http_request *req, const char *name)
{
	struct store_account a = {0};
	int ret = store_account_get(store_of(req), name, &a);
	if (ret < 0)
		reply_refused(req, ret, name, "cannot read the account");
	else
		http_json_reply(req, 200, account_doc(req, &a));
	store_account_release(&a);
}

static void users_show(struct http_request *req)
{
	const char *name = http_json_admin_only(req) ? url_name(req) : NULL;
	if (name)
		users_show_account(req, name);
}

static json_t *grants_doc(const struct auth_grants *g)
{
	json_t *o = json_object();
	json_object_set_new(o, "admin", json_boolean(g->admin));
	json_object_set_new(o, "submit", json_boolean(g->submit));
	json_object_set_new(o, "run", http_json_list(g->run));
	json_object_set_new(o, "quota", http_json_quota_doc(&g->quota));
	return o;
}

/* GET /users/me: any signed-in caller, its own account with what it may do. */
static void users_me(struct http_request *req)
{
	const struct auth_identity *who = &req->who;
	struct store_account a = {0};
	json_t *doc;

	if (who->anonymous) {
		http_reply_error(req, OPUS_ERR_AUTH, "sign in to see your own account");
		return;
	}
	if (store_account_get(store_of(req), who->name, &a) == 0) {
		doc = account_doc(req, &a);
	} else {
		/* an application's user need not have an account */
		doc = json_object();
		json_object_set_new(doc, "name", json_string(who->name));
	}
	store_account_release(&a);
	json_object_set_new(doc, "grants", grants_doc(&who->grants));
	json_object_set_new(doc, "app", who->app[0] ? json_string(who->app) : json_null());
	if (who->app[0])
		json_object_set_new(doc, "app_run", http_json_list(who->app_run));
	http_json_reply(req, 200, doc);
}

static void users_patch(struct http_request *req)
{
	struct http_user_change c = {.active = -1};
	const char *name = http_json_admin_only(req) ? url_name(req) : NULL;
	const char *why = NULL;
	json_t *doc = NULL;
	int ret;

	if (!name || !body_change(req, &c, &doc))
		goto done;
	if (json_object_get(doc, "name")) {
		http_reply_text(req, 400, "name: a user is not renamed (delete and create)\n");
		goto done;
	}
	ret = http_users_apply(req, name, &c, &why);
	if (ret < 0)
		reply_refused(req, ret, name, why);
	else
		users_show_account(req, name);
done:
	json_decref(doc);
	http_user_change_release(&c);
}

static void users_delete(struct http_request *req)
{
	const char *name = http_json_admin_only(req) ? url_name(req) : NULL;
	struct http_actor act;
	int ret;

	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_user_delete(req->srv->deps.auth, name, &act.by);
	if (ret < 0)
		reply_refused(req, ret, name, "cannot delete the account");
	else
		http_json_no_content(req);
}

static void users_rotate(struct http_request *req)
{
	const char *name = http_json_admin_only(req) ? url_name(req) : NULL;
	char token[AUTH_TOKEN_LEN + 1];
	struct http_actor act;
	json_t *doc;
	int ret;

	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_user_rotate(req->srv->deps.auth, name, &act.by, token);
	if (ret < 0) {
		reply_refused(req, ret, name, "cannot rotate the token");
		return;
	}
	doc = json_object();
	json_object_set_new(doc, "name", json_string(name));
	json_object_set_new(doc, "token", json_string(token));
	http_json_reply(req, 200, doc);
}

static const struct http_json_route user_routes[] = {
    {"", HTTP_GET, users_list},		  {"", HTTP_POST, users_create},
    {"me", HTTP_GET, users_me},		  {"*", HTTP_GET, users_show},
    {"*", HTTP_PATCH, users_patch},	  {"*", HTTP_DELETE, users_delete},
    {"*/token", HTTP_POST, users_rotate},
};

void http_users(struct http_request *req)
{
	req->want_json = true; /* a JSON API: its errors are JSON too */
	http_json_dispatch(req, 1, user_routes, OPUS_ARRAY_LEN(user_routes));
}
