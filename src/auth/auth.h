/*
 * auth: who is asking, and what may it do.
 *
 * Credentials: HTTP Basic "name:token", or "Bearer <token>" (the token alone
 * finds its account or application). Only the sha256 of a token is stored;
 * tokens are 256 random bits, so a plain hash is enough (no stretching), and
 * hashes are compared in constant time. An application token (admin-made)
 * acts on behalf of the user named in X-Opus-On-Behalf-Of, for the job
 * descriptions listed for it only; the user need not have an account (the
 * application vouches for it, as OPUS's APP_TOKENS): without one it has the
 * role "user"; with one, the account must be active and its roles apply. An
 * application never administers, whoever it acts for.
 *
 * Roles: an account holds role names; a role grants descriptions to run
 * (globs), submitting descriptions for review, administration, and quotas.
 * Anonymous requests (when allowed) hold the role "anonymous". Permission
 * checks on descriptions apply only with [auth] check_permissions (default
 * off: every signed-in user may run every description); administration and
 * quotas always apply. Effective quotas: the account's own where set, else
 * the most generous of its roles' (0 = none beats any number).
 *
 * Back-off: repeated failed authentications from one address (or for one
 * name, from any address) within a minute put that address (or name) in
 * back-off: requests from a backed-off address that carry credentials get
 * OPUS_ERR_BUSY (429 with Retry-After) without a check; for a backed-off
 * name, a wrong token gets OPUS_ERR_BUSY instead of OPUS_ERR_AUTH while the
 * right token still works, so a stranger never locks the real user out.
 * The back-off doubles from 1 s up to backoff_max_s, and ends after it.
 * In detail: the backoff_failures-th failure within a minute is still
 * answered 401 and starts a 1 s back-off; every later failure (the next
 * one checked from the address, any wrong token for the name) doubles it,
 * up to backoff_max_s; a minute (or backoff_max_s, if longer) without a
 * failure after it ends forgets the count. Right tokens never count, nor
 * do right tokens refused (a deactivated account, an application without
 * X-Opus-On-Behalf-Of). Memory is a fixed table per kind of key
 * (auth-int.h). Bearer tokens count for the address only.
 * Role definitions are cached in memory, reloaded after each change made
 * through this module; accounts are read per request (the CLI may change
 * them while the daemon runs).
 *
 * Threading: thread-safe. Ownership: struct auth_identity is a value;
 * strings returned through `char **` are malloc'd, the caller frees them.
 * Included by: http, sched, main.
 */
#ifndef OPUS_AUTH_H
#define OPUS_AUTH_H

#include "base/base.h"
#include "store/store.h"

#define AUTH_NAME_MAX  STORE_NAME_MAX
#define AUTH_TOKEN_LEN 64 /* hex digits: 256 random bits */
#define AUTH_GLOBS_MAX 1024

struct auth;

struct auth_config {
	bool allow_anonymous;
	bool check_permissions;
	int64_t backoff_failures; /* failures in 60 s before back-off (default 10) */
	int64_t backoff_max_s;	  /* longest back-off (default 60) */
};

int auth_open(struct store *st, const struct auth_config *cfg, struct auth **out) OPUS_WUR;
void auth_close(struct auth *a); /* NULL ok */

/* What an identity may do: the union of its roles' grants. */
struct auth_grants {
	bool admin;
	bool submit;
	char run[AUTH_GLOBS_MAX]; /* space-separated globs ("*" all, "" none) */
	struct store_quota quota; /* effective limits, 0 = none */
};

struct auth_identity {
	char name[AUTH_NAME_MAX + 1]; /* the user ("" when anonymous) */
	char app[AUTH_NAME_MAX + 1];  /* the application acting for it, "" none */
	bool anonymous;
	bool admin; /* == grants.admin; kept for the many callers that ask */
	struct auth_grants grants;
	char app_run[AUTH_GLOBS_MAX]; /* the application's globs; "" when no app */
};

/* What auth_check looks at in a request. */
struct auth_request {
	const char *authorization; /* Authorization header, NULL when absent */
	const char *on_behalf_of;  /* X-Opus-On-Behalf-Of, NULL when absent */
	const char *address;	   /* the client's address as text ("" unknown) */
	bool public_resource;	   /* VOSI: anonymous allowed whatever the setting */
};

/*
 * 0: *out filled (anonymous when no or empty credentials and anonymous is
 * allowed). OPUS_ERR_AUTH (401): credentials needed or wrong, a deactivated
 * account, an application without a user to act for or for a deactivated
 * one; *reason_out = a static text for the client. OPUS_ERR_BUSY (429):
 * back-off, *retry_after_s_out = seconds.
 */
int auth_check(struct auth *a, const struct auth_request *rq, struct auth_identity *out,
	       const char **reason_out, int *retry_after_s_out) OPUS_WUR;

/* True when s is a valid account, role or application name:
 * 1-64 of [A-Za-z0-9._@-]. */
bool auth_name_is_valid(const char *s);

/* sha256 of the token, as 64 hex digits + NUL. */
void auth_hash_token(const char *token, char out[65]);
/* A new token: AUTH_TOKEN_LEN hex digits + NUL, 256 bits from the OS. */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/*
 * Job events (POST /handler/job_event): a job's token is the HMAC-SHA256 of
 * its id under the server's event key ({data_dir}/event.key, 32 bytes), as
 * AUTH_TOKEN_LEN hex digits + NUL. The job receives it as OPUS_EVENT_TOKEN;
 * a restart keeps it valid (the key is kept). auth_event_token_ok compares
 * in constant time; false for a token of the wrong length or a NULL key.
 */
#define AUTH_EVENT_KEY_LEN 32
void auth_event_token(const unsigned char key[AUTH_EVENT_KEY_LEN], const char *job_id,
		      char out[AUTH_TOKEN_LEN + 1]);
bool auth_event_token_ok(const unsigned char key[AUTH_EVENT_KEY_LEN], const char *job_id,
			 const char *token);

/* May this identity see and act on a job owned by `owner` (NULL = anonymous)? */
bool auth_may_access(const struct auth_identity *who, const char *owner);
/* May it create and run jobs of this description? Always true with
 * check_permissions off, except for an application's own list, which always
 * applies. */
bool auth_may_run(const struct auth *a, const struct auth_identity *who, const char *jobdef);
/* Does a space-separated glob list match name? ("" never, "*" always.) */
bool auth_globs_match(const char *globs, const char *name);

/*
 * Account management: checks (name, roles that exist), token making and the
 * audit record, then the store. OPUS_ERR_INVAL for a bad name or an unknown
 * role (*why_out static text), OPUS_ERR_EXISTS, OPUS_ERR_NOTFOUND.
 */
/* Creates an account with these roles (NULL: "user"; "admin" for an admin)
 * and returns its new token (shown once, only its hash is kept). active,
 * email, display_name and quota (fields < 0 unset: set them!) are taken as
 * given. Check a name with auth_name_is_valid before copying it into
 * acct->name (a longer one would be cut to a valid one). When
 * acct->token_hash is set (the sha256 of a token the caller was sent, e.g.
 * by OPUS's SCIM payload), it is kept and token_out is "". */
int auth_user_create(struct auth *a, const struct store_account *acct, const struct store_actor *by,
		     char token_out[AUTH_TOKEN_LEN + 1], const char **why_out) OPUS_WUR;
/* A new token for an existing account: the old one stops working at once. */
int auth_user_rotate(struct auth *a, const char *name, const struct store_actor *by,
		     char token_out[AUTH_TOKEN_LEN + 1]) OPUS_WUR;
/* Sets roles (comma- or space-separated names, each existing). */
int auth_user_set_roles(struct auth *a, const char *name, const char *roles,
			const struct store_actor *by, const char **why_out) OPUS_WUR;
int auth_user_set_active(struct auth *a, const char *name, bool active,
			 const struct store_actor *by) OPUS_WUR;
/* The row goes; jobs keep the owner name. */
int auth_user_delete(struct auth *a, const char *name, const struct store_actor *by) OPUS_WUR;
/* The effective grants of a job owner (for quotas): its account's roles and
 * quota; an owner without an account (an application vouched for it, or it
 * was deleted) has the role "user"; NULL or "" is anonymous. */
int auth_owner_grants(struct auth *a, const char *owner, struct auth_grants *out) OPUS_WUR;
/* Role and application changes reload the role cache. */
int auth_role_put(struct auth *a, const struct store_role *r, const struct store_actor *by,
		  const char **why_out) OPUS_WUR;
int auth_role_delete(struct auth *a, const char *name, const struct store_actor *by) OPUS_WUR;
int auth_app_create(struct auth *a, const char *name, const char *run, const struct store_actor *by,
		    char token_out[AUTH_TOKEN_LEN + 1], const char **why_out) OPUS_WUR;
/* What auth_app_update changes: run when not NULL, active when >= 0 (0/1).
 * token: internal (rotation). */
struct auth_app_change {
	const char *run;
	int active;
	const char *token;
};
int auth_app_update(struct auth *a, const char *name, const struct auth_app_change *ch,
		    const struct store_actor *by, const char **why_out) OPUS_WUR;
/* A new token for the application: the old one stops working at once. */
int auth_app_rotate(struct auth *a, const char *name, const struct store_actor *by,
		    char token_out[AUTH_TOKEN_LEN + 1]) OPUS_WUR;
int auth_app_delete(struct auth *a, const char *name, const struct store_actor *by) OPUS_WUR;

/* Compatibility with the CLI before issue 13: creates the account, or gives
 * an existing one a new token (and the admin role when admin). */
int auth_user_add(struct store *st, const char *name, bool admin,
		  char token_out[AUTH_TOKEN_LEN + 1]) OPUS_WUR;

#endif
