/* auth_admin: account, role and application management with checks. See auth.h. */
#include "auth/auth-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char W_NAME[] = "a name is 1-64 of [A-Za-z0-9._@-]";
static const char W_ROLE[] = "no such role";
static const char W_HASH[] = "a token hash is 64 lowercase hex digits";
static const char W_GLOBS[] = "run: space-separated globs of job description names, "
			      "1023 characters at most";
static const char W_QUOTA[] = "a quota is 0 (none) or a positive number";

static bool is_token_hash(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	}
	return n == 64;
}

static void set_why(const char **why_out, const char *why)
{
	if (why_out)
		*why_out = why;
}

/* The normalised role list of roles (NULL: "user"), or NULL when one of its
 * names is no role (*why set). */
static char *roles_checked(struct auth *a, const char *roles, const char **why_out)
{
	char *norm = auth_roles_normalise(roles ? roles : "user");
	if (!auth_roles_exist(a, norm, why_out)) {
		set_why(why_out, W_ROLE);
		free(norm);
		return NULL;
	}
	return norm;
}

int auth_user_create(struct auth *a, const struct store_account *acct, const struct store_actor *by,
		     char token_out[AUTH_TOKEN_LEN + 1], const char **why_out)
{
	struct store_account copy = *acct;
	char *roles;
	int ret;

	token_out[0] = '\0';
	set_why(why_out, NULL);
	if (!auth_name_is_valid(acct->name)) {
		set_why(why_out, W_NAME);
		return OPUS_ERR_INVAL;
	}
	if (acct->token_hash[0] && !is_token_hash(acct->token_hash)) {
		set_why(why_out, W_HASH);
		return OPUS_ERR_INVAL;
	}
	roles = roles_checked(a, acct->roles, why_out);
	if (!roles)
		return OPUS_ERR_INVAL;
	copy.roles = roles;
	if (!acct->token_hash[0]) {
		auth_token_new(token_out);
		auth_hash_token(token_out, copy.token_hash);
	}
	copy.created = copy.modified = time_now_ms();
	ret = store_account_create(a->st, &copy, by);
	if (ret < 0)
		token_out[0] = '\0';
	free(roles);
	return ret;
}

/* Reads the account, lets fn change it, writes it back with the audit action. */
typedef void (*account_edit_fn)(struct store_account *acct, const void *arg);

static int account_edit(struct auth *a, const char *name, account_edit_fn fn, const void *arg,
			const char *what, const char *detail, const struct store_actor *by)
{
	struct store_account acct = {0};
	int ret;

	if (!auth_name_is_valid(name))
		return OPUS_ERR_INVAL;
	ret = store_account_get(a->st, name, &acct);
	if (ret == 0) {
		fn(&acct, arg);
		acct.modified = time_now_ms();
		ret = store_account_update(a->st, &acct, what, detail, by);
	}
	store_account_release(&acct);
	return ret;
}

static void edit_token(struct store_account *acct, const void *arg)
{
	auth_hash_token(arg, acct->token_hash);
}

int auth_user_rotate(struct auth *a, const char *name, const struct store_actor *by,
		     char token_out[AUTH_TOKEN_LEN + 1])
{
	int ret;
	auth_token_new(token_out);
	ret = account_edit(a, name, edit_token, token_out, "rotate", NULL, by);
	if (ret < 0)
		token_out[0] = '\0';
	return ret;
}

static void edit_roles(struct store_account *acct, const void *arg)
{
	free(acct->roles);
	acct->roles = xstrdup(arg);
}

int auth_user_set_roles(struct auth *a, const char *name, const char *roles,
			const struct store_actor *by, const char **why_out)
{
	char *norm, *detail;
	int ret;

	set_why(why_out, NULL);
	if (!auth_name_is_valid(name)) {
		set_why(why_out, W_NAME);
		return OPUS_ERR_INVAL;
	}
	norm = roles_checked(a, roles ? roles : "", why_out);
	if (!norm)
		return OPUS_ERR_INVAL;
	/* role names are of [A-Za-z0-9._@-]: no JSON escaping needed */
	detail = xasprintf("{\"roles\":\"%s\"}", norm);
	ret = account_edit(a, name, edit_roles, norm, "roles", detail, by);
	free(detail);
	free(norm);
	return ret;
}

static void edit_active(struct store_account *acct, const void *arg)
{
	acct->active = *(const bool *)arg;
}

int auth_user_set_active(struct auth *a, const char *name, bool active,
			 const struct store_actor *by)
{
	return account_edit(a, name, edit_active, &active, active ? "activate" : "deactivate", NULL,
			    by);
}

int auth_user_delete(struct auth *a, const char *name, const struct store_actor *by)
{
	if (!auth_name_is_valid(name))
		return OPUS_ERR_INVAL;
	return store_account_delete(a->st, name, by);
}

/* ---- roles ---- */

static size_t count_words(const char *s)
{
	size_t n = 0;
	bool in = false;
	for (; *s; s++) {
		bool sep = *s == ' ' || *s == ',' || *s == '\t';
		if (!sep && !in)
			n++;
		in = !sep;
	}
	return n;
}

/* run as a space-separated list, or NULL when a word does not fit (a
 * refusal, not a silent change) or it holds a control character. */
static char *globs_checked(const char *run)
{
	char buf[AUTH_GLOBS_MAX] = "";
	if (!run)
		return xstrdup("");
	for (const unsigned char *p = (const unsigned char *)run; *p; p++) {
		if (*p < 0x20 && *p != '\t')
			return NULL;
	}
	auth_globs_append(buf, run);
	return count_words(buf) == count_words(run) ? xstrdup(buf) : NULL;
}

static bool quota_ok(const struct store_quota *q)
{
	return q->max_running >= 0 && q->max_jobs >= 0 && q->max_bytes >= 0;
}

int auth_role_put(struct auth *a, const struct store_role *r, const struct store_actor *by,
		  const char **why_out)
{
	struct store_role copy = *r;
	char *run;
	int ret;

	set_why(why_out, NULL);
	if (!auth_name_is_valid(r->name)) {
		set_why(why_out, W_NAME);
		return OPUS_ERR_INVAL;
	}
	if (!quota_ok(&r->quota)) {
		set_why(why_out, W_QUOTA);
		return OPUS_ERR_INVAL;
	}
	run = globs_checked(r->run);
	if (!run) {
		set_why(why_out, W_GLOBS);
		return OPUS_ERR_INVAL;
	}
	copy.run = run;
	copy.modified = time_now_ms();
	ret = store_role_put(a->st, &copy, by);
	free(run);
	if (ret == 0)
		ret = auth_roles_reload(a);
	return ret;
}

int auth_role_delete(struct auth *a, const char *name, const struct store_actor *by)
{
	int ret;
	if (!auth_name_is_valid(name))
		return OPUS_ERR_INVAL;
	ret = store_role_delete(a->st, name, by);
	if (ret == 0)
		ret = auth_roles_reload(a);
	return ret;
}

/* ---- applications ---- */

int auth_app_create(struct auth *a, const char *name, const char *run, const struct store_actor *by,
		    char token_out[AUTH_TOKEN_LEN + 1], const char **why_out)
{
	struct store_app app = {.active = true};
	int ret;

	token_out[0] = '\0';
	set_why(why_out, NULL);
	if (!auth_name_is_valid(name)) {
		set_why(why_out, W_NAME);
		return OPUS_ERR_INVAL;
	}
	app.run = globs_checked(run);
	if (!app.run) {
		set_why(why_out, W_GLOBS);
		return OPUS_ERR_INVAL;
	}
	snprintf(app.name, sizeof(app.name), "%s", name);
	auth_token_new(token_out);
	auth_hash_token(token_out, app.token_hash);
	app.created = app.modified = time_now_ms();
	ret = store_app_put(a->st, &app, false, "create", by);
	if (ret < 0)
		token_out[0] = '\0';
	free(app.run);
	return ret;
}

/* Reads the application, changes it, writes it back with the audit action. */
static int app_edit(struct auth *a, const char *name, const struct auth_app_change *ch,
		    const char *what, const struct store_actor *by, const char **why_out)
{
	struct store_app app = {0};
	char *run = NULL;
	int ret;

	set_why(why_out, NULL);
	if (!auth_name_is_valid(name)) {
		set_why(why_out, W_NAME);
		return OPUS_ERR_INVAL;
	}
	if (ch->run && !(run = globs_checked(ch->run))) {
		set_why(why_out, W_GLOBS);
		return OPUS_ERR_INVAL;
	}
	ret = store_app_get(a->st, name, &app);
	if (ret == 0) {
		if (run) {
			free(app.run);
			app.run = run;
			run = NULL;
		}
		if (ch->active >= 0)
			app.active = ch->active > 0;
		if (ch->token)
			auth_hash_token(ch->token, app.token_hash);
		app.modified = time_now_ms();
		ret = store_app_put(a->st, &app, true, what, by);
	}
	free(run);
	store_app_release(&app);
	return ret;
}

int auth_app_update(struct auth *a, const char *name, const struct auth_app_change *ch,
		    const struct store_actor *by, const char **why_out)
{
	struct auth_app_change c = *ch;
	c.token = NULL; /* tokens change through auth_app_rotate only */
	return app_edit(a, name, &c, "update", by, why_out);
}

int auth_app_rotate(struct auth *a, const char *name, const struct store_actor *by,
		    char token_out[AUTH_TOKEN_LEN + 1])
{
	struct auth_app_change c = {.active = -1, .token = token_out};
	int ret;
	auth_token_new(token_out);
	ret = app_edit(a, name, &c, "rotate", by, NULL);
	if (ret < 0)
		token_out[0] = '\0';
	return ret;
}

int auth_app_delete(struct auth *a, const char *name, const struct store_actor *by)
{
	if (!auth_name_is_valid(name))
		return OPUS_ERR_INVAL;
	return store_app_delete(a->st, name, by);
}

/* ---- the CLI before issue 13 ---- */

int auth_user_add(struct store *st, const char *name, bool admin,
		  char token_out[AUTH_TOKEN_LEN + 1])
{
	const struct store_actor cli = {.name = "cli"};
	struct store_account acct = {0};
	int ret;

	if (!auth_name_is_valid(name))
		return OPUS_ERR_INVAL;
	auth_token_new(token_out);
	ret = store_account_get(st, name, &acct);
	if (ret == 0) {
		auth_hash_token(token_out, acct.token_hash);
		if (admin) {
			char *roles = xasprintf("%s%sadmin", acct.roles ? acct.roles : "",
						acct.roles && *acct.roles ? "," : "");
			free(acct.roles);
			acct.roles = auth_roles_normalise(roles);
			free(roles);
		}
		acct.modified = time_now_ms();
		ret = store_account_update(st, &acct, "rotate", NULL, &cli);
	} else if (ret == OPUS_ERR_NOTFOUND) {
		snprintf(acct.name, sizeof(acct.name), "%s", name);
		auth_hash_token(token_out, acct.token_hash);
		acct.active = true;
		acct.roles = xstrdup(admin ? "admin" : "user");
		acct.quota = (struct store_quota){-1, -1, -1};
		acct.created = acct.modified = time_now_ms();
		ret = store_account_create(st, &acct, &cli);
	}
	store_account_release(&acct);
	if (ret < 0)
		token_out[0] = '\0';
	return ret;
}
