/*
 * auth: who is asking. HTTP Basic credentials "name:token" are checked
 * against the accounts table of the store, where only the sha256 of each
 * token is kept. Tokens are 256 random bits, so a plain hash is enough (no
 * password stretching needed). Owners: a job belongs to the authenticated
 * name; an anonymous request owns and sees anonymous jobs only; an admin sees
 * every job.
 *
 * Threading: thread-safe. Ownership: struct auth_identity is a value.
 * Included by: http, main.
 */
#ifndef OPUS_AUTH_H
#define OPUS_AUTH_H

#include "base/base.h"
#include "store/store.h"

#define AUTH_NAME_MAX  64
#define AUTH_TOKEN_LEN 64

struct auth_identity {
	char name[AUTH_NAME_MAX + 1]; /* "" when anonymous */
	bool anonymous;
	bool admin;
};

/*
 * Checks an Authorization header value (NULL when absent).
 * Empty credentials (name "" and token "", "Basic Og==") count as none.
 * 0: *out filled (anonymous when no or empty credentials and allow_anonymous).
 * OPUS_ERR_AUTH: credentials needed (none given and anonymous not allowed;
 * out->anonymous is then set) or wrong (unknown name, bad token, an empty
 * name with a token, malformed header).
 */
int auth_check(struct store *st, const char *authorization, bool allow_anonymous,
	       struct auth_identity *out) OPUS_WUR;

/* Creates or replaces an account and writes its new token (AUTH_TOKEN_LEN
 * hex digits + NUL) to token_out. OPUS_ERR_INVAL for a bad name. */
int auth_user_add(struct store *st, const char *name, bool admin,
		  char token_out[AUTH_TOKEN_LEN + 1]) OPUS_WUR;

/* sha256 of the token, as 64 hex digits + NUL. */
void auth_hash_token(const char *token, char out[65]);

/* May this identity see and act on a job owned by `owner` (NULL = anonymous)? */
bool auth_may_access(const struct auth_identity *who, const char *owner);

#endif
