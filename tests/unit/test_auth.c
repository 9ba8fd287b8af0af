/*
 * Unit tests for src/auth against a real SQLite store: names, tokens and
 * hashes; Basic and Bearer; applications acting on behalf of users; roles,
 * grants, quotas and description globs; the back-off (with an injected
 * clock: no sleeps), including the right token from another address; the
 * management functions with their audit rows; and concurrent checks.
 */
#include "auth/auth-int.h"
#include "check.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

static char test_dir[64];
static int64_t fake_now = 1000000;

static int64_t fake_clock(void)
{
	return fake_now;
}

static const struct store_actor tester = {.name = "tester", .address = "127.0.0.1"};

struct fixture {
	struct store *st;
	struct auth *a;
	char alice[AUTH_TOKEN_LEN + 1]; /* role user */
	char root[AUTH_TOKEN_LEN + 1];	/* role admin */
	char front[AUTH_TOKEN_LEN + 1]; /* application "front", runs copy and cat_* */
};

static struct fixture *fixture_open(const char *name, bool anonymous, bool check)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *path = xasprintf("%s/%s.db", test_dir, name);
	struct store_config sc = {.backend = "sqlite", .path = path};
	struct auth_config ac = {.allow_anonymous = anonymous,
				 .check_permissions = check,
				 .backoff_failures = 3,
				 .backoff_max_s = 8};
	struct store_account acct = {.name = "alice", .active = true, .quota = {-1, -1, -1}};
	const char *why = NULL;

	CHECK(store_open(&sc, &f->st) == 0);
	CHECK(auth_open(f->st, &ac, &f->a) == 0);
	auth_set_clock(f->a, fake_clock);
	CHECK(auth_user_create(f->a, &acct, &tester, f->alice, &why) == 0);
	snprintf(acct.name, sizeof(acct.name), "root");
	acct.roles = "admin";
	CHECK(auth_user_create(f->a, &acct, &tester, f->root, &why) == 0);
	CHECK(auth_app_create(f->a, "front", "copy cat_*", &tester, f->front, &why) == 0);
	free(path);
	return f;
}

static void fixture_close(struct fixture *f)
{
	auth_close(f->a);
	store_close(f->st);
	free(f);
}

/* "Basic base64(name:token)"; caller frees. */
static char *basic(const char *name, const char *token)
{
	char *plain = xasprintf("%s:%s", name, token);
	size_t len = strlen(plain);
	unsigned char *out = xcalloc(1, 4 * ((len + 2) / 3) + 1);
	char *header;
	EVP_EncodeBlock(out, (const unsigned char *)plain, (int)len);
	header = xasprintf("Basic %s", out);
	free(out);
	free(plain);
	return header;
}

struct outcome {
	int ret;
	struct auth_identity who;
	const char *reason;
	int retry;
};

static struct outcome check_as(struct auth *a, const char *header, const char *behalf,
			       const char *address)
{
	struct auth_request rq = {
	    .authorization = header, .on_behalf_of = behalf, .address = address};
	struct outcome o;
	o.ret = auth_check(a, &rq, &o.who, &o.reason, &o.retry);
	return o;
}

static struct outcome check_basic(struct auth *a, const char *name, const char *token,
				  const char *address)
{
	char *h = basic(name, token);
	struct outcome o = check_as(a, h, NULL, address);
	free(h);
	return o;
}

static struct outcome check_bearer(struct auth *a, const char *token, const char *behalf)
{
	char *h = xasprintf("Bearer %s", token);
	struct outcome o = check_as(a, h, behalf, "10.0.0.1");
	free(h);
	return o;
}

TEST(names)
{
	char long_name[80];
	CHECK(auth_name_is_valid("alice"));
	CHECK(auth_name_is_valid("a.b_c-d@example.org"));
	CHECK(!auth_name_is_valid(""));
	CHECK(!auth_name_is_valid(NULL));
	CHECK(!auth_name_is_valid("al ice"));
	CHECK(!auth_name_is_valid("alice:x"));
	CHECK(!auth_name_is_valid("é"));
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	CHECK(auth_name_is_valid(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	CHECK(!auth_name_is_valid(long_name));
}

TEST(tokens_and_hashes)
{
	char h[65], t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1];
	auth_hash_token("abc", h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	auth_token_new(t1);
	auth_token_new(t2);
	CHECK(strlen(t1) == 64 && strspn(t1, "0123456789abcdef") == 64);
	CHECK(strcmp(t1, t2) != 0);
}

/* Known vector: key 00 01 .. 1f, message a job id; the value computed
 * independently with Python's hmac.new(key, id, hashlib.sha256). */
TEST(event_token)
{
	unsigned char key[AUTH_EVENT_KEY_LEN], other[AUTH_EVENT_KEY_LEN];
	const char *id = "0123456789abcdef0123456789abcdef";
	const char *want = "66fc66f2575a06af5f464345a49885beccb7cf1f922c7d126d3fe36c31683e0c";
	char t[AUTH_TOKEN_LEN + 1], bad[AUTH_TOKEN_LEN + 1];

	for (int i = 0; i < AUTH_EVENT_KEY_LEN; i++) {
		key[i] = (unsigned char)i;
		other[i] = (unsigned char)(i + 1);
	}
	auth_event_token(key, id, t);
	CHECK_STR(t, want);
	CHECK(auth_event_token_ok(key, id, want));
	CHECK(!auth_event_token_ok(other, id, want)); /* another key */
	CHECK(
	    !auth_event_token_ok(key, "0123456789abcdef0123456789abcdee", want)); /* another job */
	snprintf(bad, sizeof(bad), "%s", want);
	bad[63] = bad[63] == '0' ? '1' : '0';
	CHECK(!auth_event_token_ok(key, id, bad));
	CHECK(!auth_event_token_ok(key, id, "66fc")); /* too short */
	CHECK(!auth_event_token_ok(key, id, ""));
	CHECK(!auth_event_token_ok(NULL, id, want)); /* no key: nothing is valid */
	CHECK(!auth_event_token_ok(key, id, NULL));
}

TEST(globs)
{
	CHECK(!auth_globs_match("", "copy"));
	CHECK(auth_globs_match("*", "copy"));
	CHECK(auth_globs_match("sleep copy", "copy"));
	CHECK(auth_globs_match("sleep,copy", "copy"));
	CHECK(auth_globs_match("cat_*", "cat_file"));
	CHECK(!auth_globs_match("cat_*", "copy"));
	CHECK(!auth_globs_match("cop", "copy"));
	CHECK(!auth_globs_match(NULL, "copy"));
}

TEST(backoff_table)
{
	static struct auth_backoff b;
	int64_t t = 5000;
	auth_backoff_init(&b, 3, 8);
	CHECK(auth_backoff_fail(&b, "k", t) == 0);
	CHECK(auth_backoff_fail(&b, "k", t) == 0);
	CHECK(auth_backoff_remaining(&b, "k", t) == 0);
	CHECK(auth_backoff_fail(&b, "k", t) == 1); /* third: 1 s */
	CHECK(auth_backoff_remaining(&b, "k", t + 500) == 1);
	CHECK(auth_backoff_remaining(&b, "k", t + 1000) == 0);
	CHECK(auth_backoff_remaining(&b, "other", t) == 0);
	CHECK(auth_backoff_fail(&b, "k", t + 1000) == 2); /* doubles */
	CHECK(auth_backoff_fail(&b, "k", t + 3000) == 4);
	CHECK(auth_backoff_fail(&b, "k", t + 7000) == 8);
	CHECK(auth_backoff_fail(&b, "k", t + 15000) == 8); /* capped at backoff_max */
	/* a quiet minute after it ends: counting starts again */
	t += 15000 + 8000 + 60000;
	CHECK(auth_backoff_remaining(&b, "k", t) == 0);
	CHECK(auth_backoff_fail(&b, "k", t) == 0);
	/* failures more than a minute apart never add up */
	CHECK(auth_backoff_fail(&b, "k", t + 61000) == 0);
	CHECK(auth_backoff_fail(&b, "k", t + 122000) == 0);
}

TEST(backoff_table_is_bounded)
{
	static struct auth_backoff b;
	char key[32];
	int evicted_ok = 1;
	auth_backoff_init(&b, 2, 60);
	(void)auth_backoff_fail(&b, "victim", 100);
	(void)auth_backoff_fail(&b, "victim", 100);
	CHECK(auth_backoff_remaining(&b, "victim", 100) == 1);
	/* far more keys than slots: memory stays the table's, the newest are kept */
	for (int i = 0; i < 20 * AUTH_BACKOFF_SLOTS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		(void)auth_backoff_fail(&b, key, 200 + i);
		(void)auth_backoff_fail(&b, key, 200 + i);
	}
	CHECK(auth_backoff_remaining(&b, key, 200 + 20 * AUTH_BACKOFF_SLOTS - 1) == 1);
	(void)evicted_ok;
}

TEST(basic_credentials)
{
	struct fixture *f = fixture_open("basic", true, false);
	struct outcome o = check_basic(f->a, "alice", f->alice, "10.0.0.1");
	CHECK(o.ret == 0);
	CHECK_STR(o.who.name, "alice");
	CHECK(!o.who.admin && !o.who.anonymous && !o.who.app[0]);
	CHECK_STR(o.who.grants.run, "*");
	o = check_basic(f->a, "root", f->root, "10.0.0.1");
	CHECK(o.ret == 0 && o.who.admin && o.who.grants.admin);
	o = check_basic(f->a, "alice", f->root, "10.0.0.2");
	CHECK(o.ret == OPUS_ERR_AUTH);
	CHECK_STR(o.reason, "wrong credentials");
	CHECK(!o.who.name[0]);
	o = check_basic(f->a, "mallory", "x", "10.0.0.3");
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_basic(f->a, "", f->alice, "10.0.0.4");
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_as(f->a, "Basic !!!notbase64", NULL, "10.0.0.5");
	CHECK(o.ret == OPUS_ERR_AUTH && o.reason);
	/* padding past two '=' (found by fuzz_auth: it counted below zero) */
	o = check_as(f->a, "Basic YW2=================", NULL, "10.0.0.6");
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_as(f->a, "Basic ====", NULL, "10.0.0.6");
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_as(f->a, "Digest x", NULL, "10.0.0.5");
	CHECK(o.ret == OPUS_ERR_AUTH && o.reason);
	fixture_close(f);
}

TEST(anonymous)
{
	struct fixture *f = fixture_open("anon", false, false);
	struct auth_request rq = {.address = "10.0.0.1"};
	struct outcome o = check_as(f->a, NULL, NULL, "10.0.0.1");
	CHECK(o.ret == OPUS_ERR_AUTH);
	CHECK_STR(o.reason, "credentials required");
	o = check_as(f->a, "Basic Og==", NULL, "10.0.0.1"); /* ":" = nobody */
	CHECK(o.ret == OPUS_ERR_AUTH);
	rq.public_resource = true;
	o.ret = auth_check(f->a, &rq, &o.who, &o.reason, &o.retry);
	CHECK(o.ret == 0 && o.who.anonymous && !o.who.admin);
	CHECK_STR(o.who.grants.run, "*"); /* the built-in role "anonymous" */
	fixture_close(f);
	f = fixture_open("anon2", true, false);
	o = check_as(f->a, "", NULL, "10.0.0.1");
	CHECK(o.ret == 0 && o.who.anonymous && !o.who.name[0]);
	fixture_close(f);
}

TEST(bearer)
{
	struct fixture *f = fixture_open("bearer", true, false);
	struct outcome o = check_bearer(f->a, f->alice, NULL);
	CHECK(o.ret == 0);
	CHECK_STR(o.who.name, "alice");
	o = check_bearer(f->a, f->root, "alice"); /* a user's Bearer ignores the header */
	CHECK(o.ret == 0 && o.who.admin);
	CHECK_STR(o.who.name, "root");
	o = check_bearer(f->a, "0123", NULL);
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_as(f->a, "Bearer ", NULL, "10.0.0.9");
	CHECK(o.ret == OPUS_ERR_AUTH);
	fixture_close(f);
}

TEST(applications)
{
	struct fixture *f = fixture_open("apps", true, false);
	char *h;
	struct outcome o = check_bearer(f->a, f->front, NULL);
	CHECK(o.ret == OPUS_ERR_AUTH);
	CHECK_STR(o.reason, "an application acts on behalf of a user (X-Opus-On-Behalf-Of)");
	o = check_bearer(f->a, f->front, "alice");
	CHECK(o.ret == 0);
	CHECK_STR(o.who.name, "alice");
	CHECK_STR(o.who.app, "front");
	CHECK_STR(o.who.app_run, "copy cat_*");
	/* an application never administers, whoever it acts for */
	o = check_bearer(f->a, f->front, "root");
	CHECK(o.ret == 0 && !o.who.admin && !o.who.grants.admin);
	/* a user without an account: the application vouches for it, role "user" */
	o = check_bearer(f->a, f->front, "zoe");
	CHECK(o.ret == 0 && !o.who.anonymous);
	CHECK_STR(o.who.name, "zoe");
	CHECK_STR(o.who.grants.run, "*");
	o = check_bearer(f->a, f->front, "bad name");
	CHECK(o.ret == OPUS_ERR_AUTH);
	/* Basic with the application's name */
	h = basic("front", f->front);
	o = check_as(f->a, h, "alice", "10.0.0.1");
	CHECK(o.ret == 0);
	CHECK_STR(o.who.app, "front");
	free(h);
	h = basic("front", f->alice);
	o = check_as(f->a, h, "alice", "10.0.0.1");
	CHECK(o.ret == OPUS_ERR_AUTH);
	free(h);
	/* the user it acts for is deactivated */
	CHECK(auth_user_set_active(f->a, "alice", false, &tester) == 0);
	o = check_bearer(f->a, f->front, "alice");
	CHECK(o.ret == OPUS_ERR_AUTH);
	CHECK_STR(o.reason, "account deactivated");
	fixture_close(f);
}

TEST(may_run)
{
	struct fixture *f = fixture_open("mayrun", true, false);
	struct fixture *g = fixture_open("mayrun_on", true, true);
	struct store_role r = {.name = "copier", .run = "copy"};
	struct outcome o;
	const char *why = NULL;

	/* checks off: everything, except an application's own list */
	o = check_basic(f->a, "alice", f->alice, "10.0.0.1");
	CHECK(auth_may_run(f->a, &o.who, "sleep"));
	o = check_bearer(f->a, f->front, "alice");
	CHECK(auth_may_run(f->a, &o.who, "copy"));
	CHECK(auth_may_run(f->a, &o.who, "cat_file"));
	CHECK(!auth_may_run(f->a, &o.who, "sleep"));
	/* checks on: the roles' globs */
	CHECK(auth_role_put(g->a, &r, &tester, &why) == 0);
	CHECK(auth_user_set_roles(g->a, "alice", "copier", &tester, &why) == 0);
	o = check_basic(g->a, "alice", g->alice, "10.0.0.1");
	CHECK_STR(o.who.grants.run, "copy");
	CHECK(auth_may_run(g->a, &o.who, "copy"));
	CHECK(!auth_may_run(g->a, &o.who, "sleep"));
	/* both lists apply to an application acting for alice */
	o = check_bearer(g->a, g->front, "alice");
	CHECK(auth_may_run(g->a, &o.who, "copy"));
	CHECK(!auth_may_run(g->a, &o.who, "cat_file"));
	/* a role change is seen at once (the cache reloads) */
	r.run = "copy sleep";
	CHECK(auth_role_put(g->a, &r, &tester, &why) == 0);
	o = check_basic(g->a, "alice", g->alice, "10.0.0.1");
	CHECK(auth_may_run(g->a, &o.who, "sleep"));
	fixture_close(f);
	fixture_close(g);
}

TEST(grants_and_quotas)
{
	struct fixture *f = fixture_open("grants", true, true);
	struct store_role small = {.name = "small", .run = "a b", .quota = {1, 10, 1000}};
	struct store_role big = {.name = "big", .run = "c", .submit = true, .quota = {5, 0, 500}};
	struct store_account acct = {0};
	struct auth_grants g;
	struct outcome o;
	const char *why = NULL;

	CHECK(auth_role_put(f->a, &small, &tester, &why) == 0);
	CHECK(auth_role_put(f->a, &big, &tester, &why) == 0);
	CHECK(auth_user_set_roles(f->a, "alice", "small big", &tester, &why) == 0);
	o = check_basic(f->a, "alice", f->alice, "10.0.0.1");
	CHECK_STR(o.who.grants.run, "a b c");
	CHECK(o.who.grants.submit && !o.who.grants.admin);
	CHECK(o.who.grants.quota.max_running == 5);
	CHECK(o.who.grants.quota.max_jobs == 0); /* 0 = none beats any number */
	CHECK(o.who.grants.quota.max_bytes == 1000);
	/* the account's own quota overrides, field by field */
	CHECK(store_account_get(f->st, "alice", &acct) == 0);
	CHECK_STR(acct.roles, "small,big");
	acct.quota = (struct store_quota){2, -1, -1};
	CHECK(store_account_update(f->st, &acct, "update", NULL, &tester) == 0);
	store_account_release(&acct);
	CHECK(auth_owner_grants(f->a, "alice", &g) == 0);
	CHECK(g.quota.max_running == 2 && g.quota.max_jobs == 0 && g.quota.max_bytes == 1000);
	CHECK(auth_owner_grants(f->a, "nobody-has-this", &g) == 0);
	CHECK_STR(g.run, "*");
	CHECK(auth_owner_grants(f->a, NULL, &g) == 0 && !g.admin);
	/* a role deleted since grants nothing */
	CHECK(auth_role_delete(f->a, "big", &tester) == 0);
	o = check_basic(f->a, "alice", f->alice, "10.0.0.1");
	CHECK_STR(o.who.grants.run, "a b");
	CHECK(auth_role_delete(f->a, "user", &tester) == OPUS_ERR_FORBIDDEN);
	CHECK(auth_role_delete(f->a, "nope", &tester) == OPUS_ERR_NOTFOUND);
	small.quota.max_jobs = -1;
	CHECK(auth_role_put(f->a, &small, &tester, &why) == OPUS_ERR_INVAL && why);
	CHECK(auth_role_put(f->a, &(struct store_role){.name = "x y"}, &tester, &why) ==
	      OPUS_ERR_INVAL);
	fixture_close(f);
}

TEST(backoff_through_check)
{
	struct fixture *f = fixture_open("backoff", true, false);
	struct outcome o;

	/* 3 failures from one address (backoff_failures = 3 here) */
	for (int i = 0; i < 3; i++) {
		o = check_basic(f->a, "alice", "wrong", "10.1.1.1");
		CHECK(o.ret == OPUS_ERR_AUTH);
	}
	/* that address is in back-off for whatever it sends with credentials */
	o = check_basic(f->a, "root", f->root, "10.1.1.1");
	CHECK(o.ret == OPUS_ERR_BUSY && o.retry == 1 && o.reason);
	o = check_as(f->a, NULL, NULL, "10.1.1.1"); /* anonymous is not checked */
	CHECK(o.ret == 0);
	/* the name too: from elsewhere, the right token works, a wrong one gets 429 */
	o = check_basic(f->a, "alice", f->alice, "10.2.2.2");
	CHECK(o.ret == 0);
	CHECK_STR(o.who.name, "alice");
	o = check_basic(f->a, "alice", "wrong", "10.3.3.3");
	CHECK(o.ret == OPUS_ERR_BUSY && o.retry == 2); /* counted, and doubled */
	o = check_basic(f->a, "alice", f->alice, "10.4.4.4");
	CHECK(o.ret == 0);
	/* after the back-off, the address is checked again */
	fake_now += 1000;
	o = check_basic(f->a, "root", f->root, "10.1.1.1");
	CHECK(o.ret == 0);
	/* a further failure from it doubles the back-off */
	o = check_basic(f->a, "bob", "wrong", "10.1.1.1");
	CHECK(o.ret == OPUS_ERR_AUTH);
	o = check_bearer(f->a, f->alice, NULL); /* 10.0.0.1: unaffected */
	CHECK(o.ret == 0);
	o = check_basic(f->a, "alice", f->alice, "10.1.1.1");
	CHECK(o.ret == OPUS_ERR_BUSY && o.retry == 2);
	fake_now += 2000;
	o = check_basic(f->a, "alice", f->alice, "10.1.1.1");
	CHECK(o.ret == 0);
	/* right tokens never count: no back-off however many */
	for (int i = 0; i < 10; i++)
		CHECK(check_basic(f->a, "root", f->root, "10.5.5.5").ret == 0);
	/* a deactivated account with its right token is no failure either */
	CHECK(auth_user_set_active(f->a, "root", false, &tester) == 0);
	for (int i = 0; i < 5; i++) {
		o = check_basic(f->a, "root", f->root, "10.6.6.6");
		CHECK(o.ret == OPUS_ERR_AUTH);
		CHECK_STR(o.reason, "account deactivated");
	}
	fake_now += 120000;
	fixture_close(f);
}

static size_t audit_count(struct store *st, const char *action)
{
	struct store_audit *list = NULL;
	size_t n = 0, hits = 0;
	CHECK(store_audit_list(st, 0, 1000, &list, &n) == 0);
	for (size_t i = 0; i < n; i++)
		hits += list[i].action && !strcmp(list[i].action, action);
	store_audits_free(list, n);
	return hits;
}

TEST(user_management)
{
	struct fixture *f = fixture_open("users", true, false);
	struct store_account acct = {.name = "bob", .active = true, .quota = {-1, -1, -1}};
	struct store_account got = {0};
	char tok[AUTH_TOKEN_LEN + 1], old[AUTH_TOKEN_LEN + 1];
	const char *why = NULL;

	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == 0);
	CHECK(strlen(tok) == 64);
	CHECK(store_account_get(f->st, "bob", &got) == 0);
	CHECK_STR(got.roles, "user");
	CHECK(got.active);
	store_account_release(&got);
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == OPUS_ERR_EXISTS);
	CHECK(!tok[0]);
	snprintf(acct.name, sizeof(acct.name), "front"); /* an application's name */
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == OPUS_ERR_EXISTS);
	snprintf(acct.name, sizeof(acct.name), "b@d name");
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == OPUS_ERR_INVAL && why);
	snprintf(acct.name, sizeof(acct.name), "carol");
	acct.roles = "user,nosuchrole";
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == OPUS_ERR_INVAL);
	CHECK_STR(why, "no such role");
	CHECK(store_account_get(f->st, "carol", &got) == OPUS_ERR_NOTFOUND);
	/* a token hash given (OPUS's SCIM payload) is kept, no token is made */
	acct.roles = NULL;
	auth_hash_token("opus-token", acct.token_hash);
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == 0 && !tok[0]);
	CHECK(check_basic(f->a, "carol", "opus-token", "10.0.0.1").ret == 0);
	snprintf(acct.name, sizeof(acct.name), "dan");
	snprintf(acct.token_hash, sizeof(acct.token_hash), "XYZ");
	CHECK(auth_user_create(f->a, &acct, &tester, tok, &why) == OPUS_ERR_INVAL);

	/* rotation: the old token stops at once */
	memcpy(old, f->alice, sizeof(old));
	CHECK(auth_user_rotate(f->a, "alice", &tester, tok) == 0);
	CHECK(check_basic(f->a, "alice", old, "10.7.0.1").ret == OPUS_ERR_AUTH);
	CHECK(check_basic(f->a, "alice", tok, "10.7.0.2").ret == 0);
	CHECK(check_bearer(f->a, old, NULL).ret == OPUS_ERR_AUTH);
	CHECK(check_bearer(f->a, tok, NULL).ret == 0);
	CHECK(auth_user_rotate(f->a, "nobody", &tester, tok) == OPUS_ERR_NOTFOUND && !tok[0]);

	/* roles, deactivation, deletion */
	CHECK(auth_user_set_roles(f->a, "bob", "admin, user,admin", &tester, &why) == 0);
	CHECK(store_account_get(f->st, "bob", &got) == 0);
	CHECK_STR(got.roles, "admin,user");
	store_account_release(&got);
	CHECK(auth_user_set_roles(f->a, "bob", "ghost", &tester, &why) == OPUS_ERR_INVAL);
	CHECK(auth_user_set_roles(f->a, "nobody", "user", &tester, &why) == OPUS_ERR_NOTFOUND);
	CHECK(auth_user_set_active(f->a, "bob", false, &tester) == 0);
	CHECK(auth_user_set_active(f->a, "bob", true, &tester) == 0);
	CHECK(auth_user_delete(f->a, "bob", &tester) == 0);
	CHECK(auth_user_delete(f->a, "bob", &tester) == OPUS_ERR_NOTFOUND);
	CHECK(auth_user_delete(f->a, "b d", &tester) == OPUS_ERR_INVAL);

	CHECK(audit_count(f->st, "user.create") == 4); /* alice, root, bob, carol */
	CHECK(audit_count(f->st, "user.rotate") == 1);
	CHECK(audit_count(f->st, "user.roles") == 1);
	CHECK(audit_count(f->st, "user.deactivate") == 1);
	CHECK(audit_count(f->st, "user.activate") == 1);
	CHECK(audit_count(f->st, "user.delete") == 1);
	fixture_close(f);
}

TEST(app_management)
{
	struct fixture *f = fixture_open("appmgmt", true, false);
	char tok[AUTH_TOKEN_LEN + 1];
	struct auth_app_change ch = {.run = "sleep", .active = -1};
	struct outcome o;
	const char *why = NULL;
	char huge[AUTH_GLOBS_MAX + 10];

	CHECK(auth_app_create(f->a, "front", "*", &tester, tok, &why) == OPUS_ERR_EXISTS);
	CHECK(auth_app_create(f->a, "alice", "*", &tester, tok, &why) == OPUS_ERR_EXISTS);
	CHECK(auth_app_create(f->a, "no good", "*", &tester, tok, &why) == OPUS_ERR_INVAL);
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK(auth_app_create(f->a, "huge", huge, &tester, tok, &why) == OPUS_ERR_INVAL && why);
	CHECK(auth_app_update(f->a, "front", &ch, &tester, &why) == 0);
	o = check_bearer(f->a, f->front, "alice");
	CHECK_STR(o.who.app_run, "sleep");
	CHECK(auth_app_rotate(f->a, "front", &tester, tok) == 0);
	CHECK(check_bearer(f->a, f->front, "alice").ret == OPUS_ERR_AUTH);
	CHECK(check_bearer(f->a, tok, "alice").ret == 0);
	ch = (struct auth_app_change){.active = 0};
	CHECK(auth_app_update(f->a, "front", &ch, &tester, &why) == 0);
	o = check_bearer(f->a, tok, "alice");
	CHECK(o.ret == OPUS_ERR_AUTH);
	CHECK_STR(o.reason, "application deactivated");
	CHECK(auth_app_update(f->a, "ghost", &ch, &tester, &why) == OPUS_ERR_NOTFOUND);
	CHECK(auth_app_delete(f->a, "front", &tester) == 0);
	CHECK(auth_app_delete(f->a, "front", &tester) == OPUS_ERR_NOTFOUND);
	CHECK(audit_count(f->st, "app.create") == 1);
	CHECK(audit_count(f->st, "app.update") == 2);
	CHECK(audit_count(f->st, "app.rotate") == 1);
	CHECK(audit_count(f->st, "app.delete") == 1);
	fixture_close(f);
}

TEST(compat_user_add)
{
	struct fixture *f = fixture_open("compat", true, false);
	char tok[AUTH_TOKEN_LEN + 1], tok2[AUTH_TOKEN_LEN + 1];
	struct outcome o;

	CHECK(auth_user_add(f->st, "eve", false, tok) == 0);
	o = check_basic(f->a, "eve", tok, "10.0.0.1");
	CHECK(o.ret == 0 && !o.who.admin);
	CHECK(auth_user_add(f->st, "eve", true, tok2) == 0);
	CHECK(check_basic(f->a, "eve", tok, "10.0.0.2").ret == OPUS_ERR_AUTH);
	o = check_basic(f->a, "eve", tok2, "10.0.0.1");
	CHECK(o.ret == 0 && o.who.admin);
	CHECK(auth_user_add(f->st, "e v e", false, tok) == OPUS_ERR_INVAL);
	fixture_close(f);
}

TEST(accounts_are_read_per_request)
{
	struct fixture *f = fixture_open("perrequest", true, false);
	struct store_account acct = {0};
	CHECK(check_basic(f->a, "alice", f->alice, "10.0.0.1").ret == 0);
	/* a change made behind auth's back (the CLI, another process) counts at once */
	CHECK(store_account_get(f->st, "alice", &acct) == 0);
	acct.active = false;
	CHECK(store_account_update(f->st, &acct, "deactivate", NULL, &tester) == 0);
	CHECK(check_basic(f->a, "alice", f->alice, "10.0.0.1").ret == OPUS_ERR_AUTH);
	acct.active = true;
	free(acct.roles);
	acct.roles = xstrdup("admin");
	CHECK(store_account_update(f->st, &acct, "roles", NULL, &tester) == 0);
	CHECK(check_basic(f->a, "alice", f->alice, "10.0.0.1").who.admin);
	store_account_release(&acct);
	fixture_close(f);
}

TEST(may_access)
{
	struct auth_identity anon = {.anonymous = true}, alice = {.name = "alice"};
	struct auth_identity root = {.name = "root", .admin = true};
	CHECK(auth_may_access(&anon, NULL));
	CHECK(!auth_may_access(&anon, "alice"));
	CHECK(auth_may_access(&alice, "alice"));
	CHECK(!auth_may_access(&alice, "bob"));
	CHECK(!auth_may_access(&alice, NULL));
	CHECK(auth_may_access(&root, "alice") && auth_may_access(&root, NULL));
}

struct worker_arg {
	struct fixture *f;
	int id;
	int ok, busy, refused;
};

static void *worker(void *p)
{
	struct worker_arg *w = p;
	char address[32];
	for (int i = 0; i < 200; i++) {
		bool right = i % 3 != 0;
		struct outcome o;
		snprintf(address, sizeof(address), "10.9.%d.%d", w->id, i % 7);
		o = check_basic(w->f->a, "alice", right ? w->f->alice : "wrong", address);
		w->ok += o.ret == 0;
		w->busy += o.ret == OPUS_ERR_BUSY;
		w->refused += o.ret == OPUS_ERR_AUTH;
	}
	return NULL;
}

TEST(concurrent_checks)
{
	struct fixture *f = fixture_open("threads", true, false);
	pthread_t t[4];
	struct worker_arg w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker_arg){.f = f, .id = i};
		CHECK(pthread_create(&t[i], NULL, worker, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].ok + w[i].busy + w[i].refused == 200);
		CHECK(w[i].ok > 0);
	}
	fixture_close(f);
}

int main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/opusd-auth-test-XXXXXX");
	if (!mkdtemp(test_dir))
		return 1;
	log_set_level(LOG_ERROR);
	RUN(names);
	RUN(tokens_and_hashes);
	RUN(event_token);
	RUN(globs);
	RUN(backoff_table);
	RUN(backoff_table_is_bounded);
	RUN(basic_credentials);
	RUN(anonymous);
	RUN(bearer);
	RUN(applications);
	RUN(may_run);
	RUN(grants_and_quotas);
	RUN(backoff_through_check);
	RUN(user_management);
	RUN(app_management);
	RUN(compat_user_add);
	RUN(accounts_are_read_per_request);
	RUN(may_access);
	RUN(concurrent_checks);
	rm_rf(test_dir);
	return CHECK_DONE();
}
