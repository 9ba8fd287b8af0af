/* auth: credentials (Basic, Bearer, applications), back-off, identities. See auth.h. */
#include "auth/auth-int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 256 /* longest token accepted (OPUS sites may provision their own) */

static const char R_REQUIRED[] = "credentials required";
static const char R_WRONG[] = "wrong credentials";
static const char R_SCHEME[] = "unsupported credentials (use Basic name:token or Bearer token)";
static const char R_DEACTIVATED[] = "account deactivated";
static const char R_APP_DEACTIVATED[] = "application deactivated";
static const char R_ON_BEHALF[] = "an application acts on behalf of a user (X-Opus-On-Behalf-Of)";
static const char R_ON_BEHALF_NAME[] = "X-Opus-On-Behalf-Of is not a valid user name";
static const char R_STORE[] = "the account store failed";
static const char R_BUSY_ADDRESS[] = "too many failed authentications from this address";
static const char R_BUSY_NAME[] = "too many failed authentications for this name";

int auth_open(struct store *st, const struct auth_config *cfg, struct auth **out)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	int ret;

	a->st = st;
	a->cfg = *cfg;
	a->now_ms = time_mono_ms;
	pthread_mutex_init(&a->backoff_lock, NULL);
	pthread_rwlock_init(&a->roles_lock, NULL);
	auth_backoff_init(&a->by_address, cfg->backoff_failures, cfg->backoff_max_s);
	auth_backoff_init(&a->by_name, cfg->backoff_failures, cfg->backoff_max_s);
	ret = auth_roles_reload(a);
	if (ret < 0) {
		auth_close(a);
		a = NULL;
	}
	*out = a;
	return ret;
}

void auth_close(struct auth *a)
{
	if (!a)
		return;
	auth_roles_release(a);
	pthread_rwlock_destroy(&a->roles_lock);
	pthread_mutex_destroy(&a->backoff_lock);
	free(a);
}

void auth_set_clock(struct auth *a, int64_t (*now_ms)(void))
{
	a->now_ms = now_ms ? now_ms : time_mono_ms;
}

bool auth_name_is_valid(const char *s)
{
	size_t n = 0;
	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-';
		if (n >= AUTH_NAME_MAX || !ok)
			return false;
	}
	return true;
}

void auth_hash_token(const char *token, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) || n != 32)
		abort();
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
	rand_hex(out, AUTH_TOKEN_LEN / 2); /* getrandom(2) */
}

/* ---- parsing ---- */

enum cred_kind { CRED_NONE, CRED_BASIC, CRED_BEARER, CRED_BAD };

struct cred {
	enum cred_kind kind;
	char name[AUTH_NAME_MAX + 2]; /* one more: a longer name is seen as invalid */
	char token[TOKEN_MAX];
	char hash[65];
};

/* Decodes "BASE64(name:token)" into c->name and c->token. */
static int parse_basic(const char *b64, struct cred *c)
{
	unsigned char decoded[512];
	const char *colon;
	size_t len, name_len;
	int n;

	while (*b64 == ' ')
		b64++;
	len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof(decoded))
		return OPUS_ERR_AUTH;
	n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return OPUS_ERR_AUTH;
	/* EVP_DecodeBlock counts padding as zero bytes: drop them (two at most:
	 * more is not base64, and would count below zero). */
	for (int pad = 0; pad < 2 && len > 0 && b64[len - 1] == '='; pad++) {
		len--;
		n--;
	}
	if (n < 0 || (len > 0 && b64[len - 1] == '='))
		return OPUS_ERR_AUTH;
	decoded[n] = '\0';
	if (memchr(decoded, '\0', (size_t)n))
		return OPUS_ERR_AUTH;
	colon = strchr((const char *)decoded, ':');
	if (!colon)
		return OPUS_ERR_AUTH;
	name_len = (size_t)(colon - (const char *)decoded);
	if (name_len >= sizeof(c->name) || strlen(colon + 1) >= sizeof(c->token))
		return OPUS_ERR_AUTH;
	memcpy(c->name, decoded, name_len);
	c->name[name_len] = '\0';
	memcpy(c->token, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

static void parse_credentials(const char *header, struct cred *c)
{
	memset(c, 0, sizeof(*c));
	if (!header || !*header)
		return;
	if (strncasecmp(header, "Basic ", 6) == 0) {
		c->kind = parse_basic(header + 6, c) == 0 ? CRED_BASIC : CRED_BAD;
		/* "Basic Og==" (":"): clients that always send credentials say "nobody" so. */
		if (c->kind == CRED_BASIC && !c->name[0] && !c->token[0])
			c->kind = CRED_NONE;
	} else if (strncasecmp(header, "Bearer ", 7) == 0) {
		const char *t = header + 7;
		while (*t == ' ')
			t++;
		c->kind = *t && strlen(t) < sizeof(c->token) ? CRED_BEARER : CRED_BAD;
		if (c->kind == CRED_BEARER)
			memcpy(c->token, t, strlen(t) + 1);
	} else {
		c->kind = CRED_BAD;
	}
	if (c->kind == CRED_BASIC || c->kind == CRED_BEARER)
		auth_hash_token(c->token, c->hash);
}

/* ---- identities ---- */

static void identity_anonymous(struct auth *a, struct auth_identity *out)
{
	memset(out, 0, sizeof(*out));
	out->anonymous = true;
	auth_grants_of_roles(a, "anonymous", NULL, &out->grants);
	out->grants.admin = false; /* nobody to record in the audit log */
}

static void identity_of_account(struct auth *a, const struct store_account *acct,
				struct auth_identity *out)
{
	snprintf(out->name, sizeof(out->name), "%s", acct->name);
	auth_grants_of_roles(a, acct->roles, &acct->quota, &out->grants);
	out->admin = out->grants.admin;
}

int auth_owner_grants(struct auth *a, const char *owner, struct auth_grants *out)
{
	struct store_account acct = {0};
	int ret;

	if (!owner || !*owner) {
		auth_grants_of_roles(a, "anonymous", NULL, out);
		out->admin = false;
		return 0;
	}
	ret = store_account_get(a->st, owner, &acct);
	if (ret == 0)
		auth_grants_of_roles(a, acct.roles, &acct.quota, out);
	else if (ret == OPUS_ERR_NOTFOUND)
		auth_grants_of_roles(a, "user", NULL, out); /* vouched for by an application */
	store_account_release(&acct);
	return ret == OPUS_ERR_NOTFOUND ? 0 : ret;
}

/* The user an application acts for: its account when it has one (which must
 * be active), else a user with the role "user". */
static int identity_of_app(struct auth *a, const struct store_app *app, const char *user,
			   struct auth_identity *out, const char **reason)
{
	struct store_account acct = {0};
	int ret;

	if (!user || !*user) {
		*reason = R_ON_BEHALF;
		return OPUS_ERR_AUTH;
	}
	if (!auth_name_is_valid(user)) {
		*reason = R_ON_BEHALF_NAME;
		return OPUS_ERR_AUTH;
	}
	ret = store_account_get(a->st, user, &acct);
	if (ret == 0 && !acct.active) {
		*reason = R_DEACTIVATED;
		ret = OPUS_ERR_AUTH;
	} else if (ret == 0) {
		identity_of_account(a, &acct, out);
	} else if (ret == OPUS_ERR_NOTFOUND) {
		snprintf(out->name, sizeof(out->name), "%s", user);
		auth_grants_of_roles(a, "user", NULL, &out->grants);
		ret = 0;
	} else {
		*reason = R_STORE;
		ret = OPUS_ERR_INTERNAL;
	}
	store_account_release(&acct);
	if (ret < 0)
		return ret;
	out->grants.admin = out->admin = false; /* an application never administers */
	snprintf(out->app, sizeof(out->app), "%s", app->name);
	auth_globs_append(out->app_run, app->run);
	return 0;
}

/* What was found for the credentials. wrong: they were wrong (a failure that
 * counts for back-off), as opposed to right but refused. */
struct verdict {
	bool wrong;
	const char *reason;
};

static int check_account(struct auth *a, const struct cred *c, struct store_account *acct,
			 struct auth_identity *out, struct verdict *v)
{
	if (c->kind == CRED_BASIC && CRYPTO_memcmp(acct->token_hash, c->hash, 64) != 0) {
		v->wrong = true;
		return OPUS_ERR_AUTH;
	}
	if (!acct->active) {
		v->reason = R_DEACTIVATED;
		return OPUS_ERR_AUTH;
	}
	identity_of_account(a, acct, out);
	return 0;
}

static int check_app(struct auth *a, const struct cred *c, const struct auth_request *rq,
		     struct store_app *app, struct auth_identity *out, struct verdict *v)
{
	if (c->kind == CRED_BASIC && CRYPTO_memcmp(app->token_hash, c->hash, 64) != 0) {
		v->wrong = true;
		return OPUS_ERR_AUTH;
	}
	if (!app->active) {
		v->reason = R_APP_DEACTIVATED;
		return OPUS_ERR_AUTH;
	}
	return identity_of_app(a, app, rq->on_behalf_of, out, &v->reason);
}

/* Finds the account or application of the credentials and checks them. */
static int verify(struct auth *a, const struct cred *c, const struct auth_request *rq,
		  struct auth_identity *out, struct verdict *v)
{
	struct store_account acct = {0};
	struct store_app app = {0};
	int ret;

	if (c->kind == CRED_BASIC && !auth_name_is_valid(c->name)) {
		v->wrong = true; /* a token without its name cannot be checked */
		return OPUS_ERR_AUTH;
	}
	ret = c->kind == CRED_BASIC ? store_account_get(a->st, c->name, &acct)
				    : store_account_by_token(a->st, c->hash, &acct);
	if (ret == 0) {
		ret = check_account(a, c, &acct, out, v);
		goto done;
	}
	if (ret == OPUS_ERR_NOTFOUND)
		ret = c->kind == CRED_BASIC ? store_app_get(a->st, c->name, &app)
					    : store_app_by_token(a->st, c->hash, &app);
	if (ret == 0)
		ret = check_app(a, c, rq, &app, out, v);
	else if (ret == OPUS_ERR_NOTFOUND)
		v->wrong = true;
	else
		v->reason = R_STORE;
	if (ret == OPUS_ERR_NOTFOUND)
		ret = OPUS_ERR_AUTH;
	else if (ret < 0 && ret != OPUS_ERR_AUTH)
		ret = OPUS_ERR_INTERNAL;
done:
	store_account_release(&acct);
	store_app_release(&app);
	return ret;
}

static int backoff_remaining(struct auth *a, struct auth_backoff *b, const char *key)
{
	int s;
	pthread_mutex_lock(&a->backoff_lock);
	s = auth_backoff_remaining(b, key, a->now_ms());
	pthread_mutex_unlock(&a->backoff_lock);
	return s;
}

/* Counts a wrong credential for the address and the name; returns the name's
 * back-off when it was in one already (the answer is then 429, not 401). */
static int backoff_fail(struct auth *a, const char *address, const struct cred *c)
{
	const char *name = c->kind == CRED_BASIC && auth_name_is_valid(c->name) ? c->name : NULL;
	int64_t now;
	int was, after = 0, addr_was, addr_after;

	pthread_mutex_lock(&a->backoff_lock);
	now = a->now_ms();
	was = name ? auth_backoff_remaining(&a->by_name, name, now) : 0;
	addr_was = auth_backoff_remaining(&a->by_address, address, now);
	addr_after = auth_backoff_fail(&a->by_address, address, now);
	if (name)
		after = auth_backoff_fail(&a->by_name, name, now);
	pthread_mutex_unlock(&a->backoff_lock);
	/* once per back-off begun (the keys are addresses and valid names: safe to log) */
	if (!addr_was && addr_after)
		log_warn("failed authentications from %s: back-off for %d s", address, addr_after);
	if (name && !was && after)
		log_warn("failed authentications for \"%s\": back-off for %d s (its right token "
			 "still works)",
			 name, after);
	return was ? after : 0;
}

static int check_anonymous(struct auth *a, const struct auth_request *rq, struct auth_identity *out,
			   const char **reason_out)
{
	identity_anonymous(a, out);
	if (a->cfg.allow_anonymous || rq->public_resource)
		return 0;
	*reason_out = R_REQUIRED;
	return OPUS_ERR_AUTH;
}

int auth_check(struct auth *a, const struct auth_request *rq, struct auth_identity *out,
	       const char **reason_out, int *retry_after_s_out)
{
	const char *address = rq->address ? rq->address : "";
	struct verdict v = {0};
	struct cred c;
	int ret, wait;

	memset(out, 0, sizeof(*out));
	*reason_out = NULL;
	*retry_after_s_out = 0;
	parse_credentials(rq->authorization, &c);
	if (c.kind == CRED_NONE)
		return check_anonymous(a, rq, out, reason_out);
	wait = backoff_remaining(a, &a->by_address, address);
	if (wait > 0) {
		*reason_out = R_BUSY_ADDRESS;
		*retry_after_s_out = wait;
		return OPUS_ERR_BUSY;
	}
	if (c.kind == CRED_BAD) {
		(void)backoff_fail(a, address, &c);
		*reason_out = R_SCHEME;
		return OPUS_ERR_AUTH;
	}
	ret = verify(a, &c, rq, out, &v);
	if (ret == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	*reason_out = v.reason ? v.reason : R_WRONG;
	if (v.wrong) {
		wait = backoff_fail(a, address, &c);
		if (wait > 0) {
			*reason_out = R_BUSY_NAME;
			*retry_after_s_out = wait;
			return OPUS_ERR_BUSY;
		}
	}
	return ret;
}
