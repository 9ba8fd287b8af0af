/*
 * Unit tests for the accounts part of the PostgreSQL store backend
 * (store_pg_accounts.c) against a real server started by scripts/pg.sh:
 * accounts, names and token hashes unique across accounts and apps (also
 * under concurrent creates from two handles), roles, apps, the audit row
 * written in the same commit as its change (a failing audit insert leaves
 * no change), description state, and the usage totals kept by the
 * triggers, checked against a count from scratch, with 4 threads.
 */
#include "check.h"
#include "pg_server.h"
#include "store/store-int.h"

#include <pthread.h>

static struct pg_server server;

static struct store *open_url(const char *url)
{
	struct store_config cfg = {.backend = "postgresql", .url = url};
	struct store *st = NULL;
	CHECK(url != NULL);
	if (!url)
		return NULL;
	CHECK(store_open(&cfg, &st) == 0);
	CHECK(st != NULL);
	return st;
}

/* A store on a fresh database; its URL into *url_out (caller frees). */
static struct store *open_fresh(char **url_out)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	*url_out = url;
	return st;
}

static void hash_of(char out[65], char digit)
{
	memset(out, digit, 64);
	out[64] = '\0';
}

static struct store_account account(const char *name, char digit, const char *roles)
{
	struct store_account a = {.active = true, .roles = (char *)roles};
	snprintf(a.name, sizeof(a.name), "%s", name);
	hash_of(a.token_hash, digit);
	a.quota = (struct store_quota){-1, -1, -1};
	return a;
}

static struct store_app app(const char *name, char digit, const char *run)
{
	struct store_app a = {.active = true, .run = (char *)run};
	snprintf(a.name, sizeof(a.name), "%s", name);
	hash_of(a.token_hash, digit);
	return a;
}

static const struct store_actor root = {.name = "root", .address = "192.0.2.1"};

static struct store_audit last_audit(struct store *st)
{
	struct store_audit *rows = NULL, last = {0};
	size_t n = 0;
	CHECK(store_audit_list(st, 0, 100000, &rows, &n) == 0);
	if (n) {
		last = rows[n - 1];
		memset(&rows[n - 1], 0, sizeof(rows[n - 1]));
	}
	store_audits_free(rows, n);
	return last;
}

static int64_t audit_count(struct store *st)
{
	struct store_audit *rows = NULL;
	size_t n = 0;
	CHECK(store_audit_list(st, 0, 100000, &rows, &n) == 0);
	store_audits_free(rows, n);
	return (int64_t)n;
}

static void check_audit(struct store *st, const char *action, const char *target, const char *actor)
{
	struct store_audit a = last_audit(st);
	CHECK_STR(a.action, action);
	CHECK_STR(a.target, target);
	CHECK_STR(a.actor, actor);
	CHECK(a.time > 0);
	store_audit_release(&a);
}

TEST(account_round_trip)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_account a = account("alice@example.org", 'a', "user,analysts");
	struct store_account got = {0};
	if (!st)
		return;
	a.email = "alice@example.org";
	a.display_name = "Alice \"A\" Liddell'; DROP TABLE accounts; --";
	a.quota = (struct store_quota){2, -1, 1000};
	CHECK(store_account_create(st, &a, &root) == 0);
	CHECK(store_account_get(st, "alice@example.org", &got) == 0);
	CHECK_STR(got.name, "alice@example.org");
	CHECK_STR(got.token_hash, a.token_hash);
	CHECK(got.active);
	CHECK_STR(got.roles, "user,analysts");
	CHECK_STR(got.email, "alice@example.org");
	CHECK_STR(got.display_name, "Alice \"A\" Liddell'; DROP TABLE accounts; --");
	CHECK(got.quota.max_running == 2 && got.quota.max_jobs == -1 &&
	      got.quota.max_bytes == 1000);
	CHECK(got.created > 0 && got.modified == got.created);
	store_account_release(&got);

	hash_of(a.token_hash, 'b');
	a.active = false;
	a.roles = "";
	a.email = "";
	a.display_name = NULL;
	a.created = 1; /* ignored */
	CHECK(store_account_update(st, &a, "deactivate", "{\"active\":false}", &root) == 0);
	CHECK(store_account_get(st, a.name, &got) == 0);
	CHECK(!got.active);
	CHECK_STR(got.roles, "");
	CHECK(got.email == NULL && got.display_name == NULL);
	CHECK(got.created > 1);
	store_account_release(&got);
	CHECK(store_account_by_token(st, a.token_hash, &got) == 0);
	CHECK_STR(got.name, "alice@example.org");
	store_account_release(&got);
	hash_of(a.token_hash, 'a');
	CHECK(store_account_by_token(st, a.token_hash, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_by_token(st, "nothex", &got) == OPUS_ERR_NOTFOUND);

	CHECK(store_account_delete(st, "alice@example.org", &root) == 0);
	CHECK(store_account_get(st, "alice@example.org", &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_delete(st, "alice@example.org", &root) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_update(st, &a, "roles", NULL, &root) == OPUS_ERR_NOTFOUND);
	CHECK(audit_count(st) == 3); /* create, deactivate, delete */
	CHECK(pg_sql_int(url, "SELECT count(*) FROM accounts") == 0);
	store_close(st);
	free(url);
}

/* Names and token hashes are unique across accounts and applications. */
TEST(names_and_tokens_unique)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_account a = account("carol", '1', "user"), got = {0}, dup;
	struct store_app p = app("pipeline", '2', "*"), pdup, gp = {0};
	int64_t n0;
	if (!st)
		return;
	CHECK(store_account_create(st, &a, &root) == 0);
	CHECK(store_app_put(st, &p, false, NULL, &root) == 0);
	n0 = audit_count(st);
	dup = account("carol", '3', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '1', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("pipeline", '3', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '2', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	pdup = app("carol", '4', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	pdup = app("other", '1', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	pdup = app("pipeline", '4', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	hash_of(a.token_hash, '2');
	CHECK(store_account_update(st, &a, "token", NULL, &root) == OPUS_ERR_EXISTS);
	hash_of(p.token_hash, '1');
	CHECK(store_app_put(st, &p, true, "token", &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '5', "user");
	CHECK(store_account_create(st, &dup, &root) == 0);
	hash_of(dup.token_hash, '1');
	CHECK(store_account_update(st, &dup, "token", NULL, &root) == OPUS_ERR_EXISTS);
	CHECK(audit_count(st) == n0 + 1); /* refused changes logged nothing */
	CHECK(store_account_get(st, "carol", &got) == 0);
	CHECK(got.token_hash[0] == '1');
	store_account_release(&got);
	CHECK(store_app_get(st, "pipeline", &gp) == 0);
	CHECK(gp.token_hash[0] == '2');
	store_app_release(&gp);
	store_close(st);
	free(url);
}

TEST(account_list_pages)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	static const char *const names[] = {"zoe", "amy", "Bob", "mia", "eve", "ann"};
	static const char *const sorted[] = {"Bob", "amy", "ann", "eve", "mia", "zoe"};
	struct store_account *page = NULL;
	size_t n = 0, total = 0, seen = 0;
	char after[STORE_NAME_MAX + 1] = "";
	if (!st)
		return;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(names); i++) {
		struct store_account a = account(names[i], (char)('a' + i), "user");
		CHECK(store_account_create(st, &a, &root) == 0);
	}
	do {
		CHECK(store_account_list(st, after, 4, &page, &n, &total) == 0);
		CHECK(total == OPUS_ARRAY_LEN(names));
		for (size_t i = 0; i < n && seen + i < OPUS_ARRAY_LEN(sorted); i++)
			CHECK_STR(page[i].name, sorted[seen + i]); /* byte order, as SQLite */
		seen += n;
		if (n)
			snprintf(after, sizeof(after), "%s", page[n - 1].name);
		store_accounts_free(page, n);
	} while (n == 4);
	CHECK(seen == OPUS_ARRAY_LEN(names));
	CHECK(store_account_list(st, "zoe", 100, &page, &n, &total) == 0);
	CHECK(n == 0 && page == NULL && total == OPUS_ARRAY_LEN(names));
	store_accounts_free(page, n);
	CHECK(store_account_list(st, "", 0, &page, &n, &total) == 0);
	CHECK(n == 0 && total == OPUS_ARRAY_LEN(names));
	store_accounts_free(page, n);
	store_close(st);
	free(url);
}

TEST(roles)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_role *all = NULL, got = {0};
	struct store_role r = {.name = "analysts", .run = "spectro* cube_*", .submit = true};
	size_t n = 0;
	if (!st)
		return;
	CHECK(store_role_list(st, &all, &n) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(all[0].name, "admin");
		CHECK(all[0].admin && !all[0].submit);
		CHECK_STR(all[1].name, "anonymous");
		CHECK_STR(all[2].name, "user");
		CHECK_STR(all[2].run, "*");
	}
	store_roles_free(all, n);
	r.quota = (struct store_quota){1, 10, 1 << 20};
	CHECK(store_role_put(st, &r, &root) == 0);
	check_audit(st, "role.put", "analysts", "root");
	CHECK(store_role_get(st, "analysts", &got) == 0);
	CHECK_STR(got.run, "spectro* cube_*");
	CHECK(got.submit && !got.admin && got.modified > 0);
	CHECK(got.quota.max_running == 1 && got.quota.max_jobs == 10 &&
	      got.quota.max_bytes == 1 << 20);
	store_role_release(&got);
	r.run = NULL;
	r.admin = true;
	CHECK(store_role_put(st, &r, &root) == 0); /* replace */
	CHECK(store_role_get(st, "analysts", &got) == 0);
	CHECK_STR(got.run, "");
	CHECK(got.admin);
	store_role_release(&got);
	int64_t n0 = audit_count(st);
	CHECK(store_role_delete(st, "user", &root) == OPUS_ERR_FORBIDDEN);
	CHECK(store_role_delete(st, "nope", &root) == OPUS_ERR_NOTFOUND);
	CHECK(audit_count(st) == n0);
	static const struct {
		const char *name, *before, *after;
	} holders[] = {
	    {"h1", "analysts", ""},
	    {"h2", "user,analysts", "user"},
	    {"h3", "analysts,user", "user"},
	    {"h4", "a,analysts,b", "a,b"},
	    {"h5", "analysts2,user", "analysts2,user"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(holders); i++) {
		struct store_account h =
		    account(holders[i].name, (char)('1' + i), holders[i].before);
		CHECK(store_account_create(st, &h, &root) == 0);
	}
	CHECK(store_role_delete(st, "analysts", &root) == 0);
	struct store_audit row = last_audit(st);
	CHECK_STR(row.action, "role.delete");
	CHECK_STR(row.detail, "{\"accounts\":4}");
	store_audit_release(&row);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(holders); i++) {
		struct store_account h = {0};
		CHECK(store_account_get(st, holders[i].name, &h) == 0);
		CHECK_STR(h.roles, holders[i].after);
		store_account_release(&h);
	}
	CHECK(store_role_get(st, "analysts", &got) == OPUS_ERR_NOTFOUND);
	store_close(st);
	free(url);
}

TEST(apps)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_app a = app("portal", 'd', "spectro cube"), got = {0}, *all = NULL;
	size_t n = 0;
	if (!st)
		return;
	CHECK(store_app_put(st, &a, false, NULL, &root) == 0);
	check_audit(st, "app.create", "portal", "root");
	CHECK(store_app_put(st, &a, false, NULL, &root) == OPUS_ERR_EXISTS);
	CHECK(store_app_get(st, "portal", &got) == 0);
	CHECK_STR(got.run, "spectro cube");
	CHECK(got.active && got.created > 0 && got.modified == got.created);
	int64_t created = got.created;
	store_app_release(&got);
	hash_of(a.token_hash, 'e');
	a.created = 5;
	CHECK(store_app_put(st, &a, true, "token", &root) == 0);
	check_audit(st, "app.rotate", "portal", "root");
	a.run = "*";
	a.active = false;
	CHECK(store_app_put(st, &a, true, NULL, &root) == 0);
	CHECK(store_app_by_token(st, a.token_hash, &got) == 0);
	CHECK_STR(got.name, "portal");
	CHECK_STR(got.run, "*");
	CHECK(!got.active && got.created == created);
	store_app_release(&got);
	struct store_app missing = app("ghost", 'f', "*");
	CHECK(store_app_put(st, &missing, true, NULL, &root) == OPUS_ERR_NOTFOUND);
	struct store_app second = app("batch", '9', NULL);
	CHECK(store_app_put(st, &second, false, "create", &root) == 0);
	CHECK(store_app_list(st, &all, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(all[0].name, "batch");
		CHECK_STR(all[0].run, "");
		CHECK_STR(all[1].name, "portal");
	}
	store_apps_free(all, n);
	CHECK(store_app_delete(st, "portal", &root) == 0);
	check_audit(st, "app.delete", "portal", "root");
	CHECK(store_app_delete(st, "portal", &root) == OPUS_ERR_NOTFOUND);
	struct store_account acct = account("portal", 'e', "user"); /* free again */
	CHECK(store_account_create(st, &acct, &root) == 0);
	store_close(st);
	free(url);
}

/* Every change logs its action, actor, application and address; the audit
 * row is in the change's own transaction. */
TEST(audit_rows_same_commit)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_actor via_app = {.name = "erin", .app = "portal", .address = "::1"};
	struct store_actor cli = {.name = "", .app = "", .address = ""};
	struct store_account a = account("frank", '7', "user"), boom, got = {0};
	struct store_audit *rows = NULL, row;
	size_t n = 0;
	if (!st)
		return;
	CHECK(audit_count(st) == 0);
	CHECK(store_account_create(st, &a, &via_app) == 0);
	row = last_audit(st);
	CHECK_STR(row.action, "user.create");
	CHECK_STR(row.actor, "erin");
	CHECK_STR(row.app, "portal");
	CHECK_STR(row.address, "::1");
	CHECK_STR(row.detail, "{\"roles\":\"user\"}");
	store_audit_release(&row);
	a.roles = "admin";
	CHECK(store_account_update(st, &a, "roles", "{\"roles\":\"admin\"}", &cli) == 0);
	row = last_audit(st);
	CHECK_STR(row.action, "user.roles");
	CHECK_STR(row.actor, "cli");
	CHECK(row.app == NULL && row.address == NULL);
	store_audit_release(&row);
	CHECK(store_audit_add(st, &root, "job.abort", "0123456789abcdef", NULL) == 0);
	check_audit(st, "job.abort", "0123456789abcdef", "root");
	CHECK(store_audit_list(st, 0, 100, &rows, &n) == 0);
	CHECK(n == 3);
	for (size_t i = 1; i < n; i++)
		CHECK(rows[i].id > rows[i - 1].id);
	int64_t first = n ? rows[0].id : 0;
	store_audits_free(rows, n);
	CHECK(store_audit_list(st, first, 1, &rows, &n) == 0);
	CHECK(n == 1);
	if (n == 1)
		CHECK_STR(rows[0].action, "user.roles");
	store_audits_free(rows, n);

	/* The audit insert fails (a trigger of the test refuses it): the account
	 * it logs is not created either, and nothing is logged. */
	CHECK(pg_sql_int(url, "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$"
			      " BEGIN IF NEW.target = 'boom' THEN RAISE EXCEPTION 'no';"
			      " END IF; RETURN NEW; END $$;"
			      "CREATE TRIGGER audit_boom BEFORE INSERT ON audit"
			      " FOR EACH ROW EXECUTE FUNCTION boom()") == 0);
	boom = account("boom", '8', "user");
	CHECK(store_account_create(st, &boom, &root) < 0);
	CHECK(store_account_get(st, "boom", &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_jdl_set_enabled(st, "boom", false, &root) < 0);
	bool enabled = false;
	CHECK(store_jdl_is_enabled(st, "boom", &enabled) == 0);
	CHECK(enabled);
	CHECK(audit_count(st) == 3);
	store_close(st);
	free(url);
}

TEST(jdl_state)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	bool enabled = false;
	char **names = NULL;
	size_t n = 0;
	if (!st)
		return;
	CHECK(store_jdl_is_enabled(st, "spectro", &enabled) == 0);
	CHECK(enabled);
	CHECK(store_jdl_set_enabled(st, "spectro", false, &root) == 0);
	check_audit(st, "jdl.disable", "spectro", "root");
	CHECK(store_jdl_set_enabled(st, "spectro", false, &root) == 0); /* again: no change */
	CHECK(store_jdl_set_enabled(st, "cube", false, &root) == 0);
	CHECK(store_jdl_is_enabled(st, "spectro", &enabled) == 0);
	CHECK(!enabled);
	CHECK(store_jdl_disabled(st, &names, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(names[0], "cube");
		CHECK_STR(names[1], "spectro");
	}
	store_ids_free(names, n);
	CHECK(store_jdl_set_enabled(st, "spectro", true, &root) == 0);
	check_audit(st, "jdl.enable", "spectro", "root");
	CHECK(store_jdl_is_enabled(st, "spectro", &enabled) == 0);
	CHECK(enabled);
	CHECK(audit_count(st) == 4);
	store_close(st);
	free(url);
}

/* ---- usage totals ---- */

static void make_job(struct uws_job *j, const char *owner, enum uws_phase phase)
{
	memset(j, 0, sizeof(*j));
	uws_id_new(j->id);
	j->jobdef = xstrdup("calc");
	j->owner = xstrdup(owner);
	j->phase = phase;
	j->creation_time = time_now_ms();
}

static bool usage_is(struct store *st, const char *owner, int64_t jobs, int64_t running,
		     int64_t bytes)
{
	struct store_usage_totals u = {-1, -1, -1};
	CHECK(store_owner_usage(st, owner, &u) == 0);
	if (u.jobs == jobs && u.running == running && u.bytes == bytes)
		return true;
	fprintf(stderr, "usage of %s: %lld jobs, %lld running, %lld bytes; want %lld %lld %lld\n",
		owner ? owner : "(anonymous)", (long long)u.jobs, (long long)u.running,
		(long long)u.bytes, (long long)jobs, (long long)running, (long long)bytes);
	return false;
}

/* The totals kept by the triggers equal a count from scratch, for every owner. */
static bool usage_matches_recount(const char *url)
{
	int64_t bad = pg_sql_int(
	    url, "SELECT count(*) FROM (SELECT coalesce(j.owner, '') AS o,"
		 " count(*) FILTER (WHERE j.phase <> 9) AS n, count(*) FILTER (WHERE j.phase = 2)"
		 " AS r, coalesce(sum((SELECT coalesce(sum(greatest(size, 0)), 0) FROM results"
		 " WHERE job_id = j.id)) FILTER (WHERE j.phase <> 9), 0) AS b FROM jobs j"
		 " GROUP BY 1) c LEFT JOIN owner_usage u ON u.owner = c.o"
		 " WHERE u.owner IS NULL OR u.jobs <> c.n OR u.running <> c.r OR u.bytes <> c.b");
	int64_t stray = pg_sql_int(url, "SELECT count(*) FROM owner_usage u WHERE (u.jobs <> 0 OR"
					" u.running <> 0 OR u.bytes <> 0) AND NOT EXISTS (SELECT 1"
					" FROM jobs WHERE coalesce(owner, '') = u.owner)");
	if (bad != 0 || stray != 0)
		fprintf(stderr, "recount: %lld owners differ, %lld stray\n", (long long)bad,
			(long long)stray);
	return bad == 0 && stray == 0;
}

static void finish(struct store *st, struct uws_job *j, const int64_t *sizes, size_t n,
		   enum uws_phase from)
{
	j->phase = UWS_COMPLETED;
	j->end_time = time_now_ms();
	for (size_t i = 0; i < n; i++) {
		char rid[24];
		snprintf(rid, sizeof(rid), "r%zu", i);
		uws_job_add_result(j, rid, rid, "text/plain", sizes[i]);
	}
	CHECK(store_job_finish(st, j, from) == 0);
}

TEST(usage_triggers)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct uws_job a1, a2, a3, anon;
	static const int64_t sizes[] = {10, 20, -1};
	char **blobs = NULL;
	size_t n = 0;
	if (!st)
		return;
	CHECK(usage_is(st, "alice", 0, 0, 0));
	make_job(&a1, "alice", UWS_PENDING);
	make_job(&a2, "alice", UWS_QUEUED);
	make_job(&a3, "alice", UWS_PENDING);
	make_job(&anon, "", UWS_PENDING);
	CHECK(store_job_create(st, &a1) == 0);
	CHECK(store_job_create(st, &a2) == 0);
	CHECK(store_job_create(st, &a3) == 0);
	CHECK(store_job_create(st, &anon) == 0);
	CHECK(usage_is(st, "alice", 3, 0, 0));
	CHECK(usage_is(st, NULL, 1, 0, 0));
	a1.phase = UWS_EXECUTING;
	CHECK(store_job_save(st, &a1, UWS_PENDING) == 0);
	a2.phase = UWS_EXECUTING;
	CHECK(store_job_update(st, &a2, UWS_QUEUED) == 0);
	CHECK(usage_is(st, "alice", 3, 2, 0));
	finish(st, &a1, sizes, 3, UWS_EXECUTING);
	CHECK(usage_is(st, "alice", 3, 1, 30));
	struct store_activity act = {.jobdef = NULL};
	a2.phase = UWS_ERROR;
	uws_job_add_result(&a2, "log", "log.txt", "text/plain", 5);
	CHECK(store_job_end(st, &a2, &act, NULL, 0, UWS_EXECUTING) == 0);
	CHECK(usage_is(st, "alice", 3, 0, 35));
	/* A lost race (the row is no longer EXECUTING) changes nothing. */
	uws_job_add_result(&a2, "more", "more.txt", "text/plain", 1000);
	CHECK(store_job_end(st, &a2, &act, NULL, 0, UWS_EXECUTING) == OPUS_ERR_PHASE);
	CHECK(usage_is(st, "alice", 3, 0, 35));
	struct store_usage_totals all = {0};
	CHECK(store_usage_sum(st, &all) == 0);
	CHECK(all.jobs == 4 && all.running == 0 && all.bytes == 35);
	CHECK(usage_matches_recount(url));

	CHECK(store_job_retire(st, a1.id, true, time_now_ms(), &blobs, &n) == 0);
	store_ids_free(blobs, n);
	CHECK(usage_is(st, "alice", 2, 0, 5));
	CHECK(store_job_retire(st, a2.id, false, time_now_ms(), &blobs, &n) == 0);
	store_ids_free(blobs, n);
	CHECK(usage_is(st, "alice", 1, 0, 0));
	finish(st, &anon, sizes, 2, UWS_PENDING);
	CHECK(usage_is(st, NULL, 1, 0, 30));
	CHECK(store_job_delete(st, anon.id) == 0);
	CHECK(usage_is(st, NULL, 0, 0, 0));
	CHECK(usage_matches_recount(url));
	uws_job_release(&a1);
	uws_job_release(&a2);
	uws_job_release(&a3);
	uws_job_release(&anon);
	store_close(st);
	free(url);
}

struct usage_worker {
	struct store *st;
	const char *owner;
	unsigned seed;
	int failures;
};

static void *usage_worker_main(void *arg)
{
	struct usage_worker *w = arg;
	static const int64_t sizes[] = {100, 1, -1, 7};
	for (int i = 0; i < 40; i++) {
		struct uws_job j;
		char **blobs = NULL;
		size_t n = 0;
		int r = (int)(rand_r(&w->seed) % 5);
		make_job(&j, w->owner, UWS_QUEUED);
		w->failures += store_job_create(w->st, &j) != 0;
		if (r >= 1) {
			j.phase = UWS_EXECUTING;
			w->failures += store_job_save(w->st, &j, UWS_QUEUED) != 0;
		}
		if (r >= 2) {
			j.phase = r == 2 ? UWS_ABORTED : UWS_COMPLETED;
			for (size_t k = 0; k < (size_t)r; k++) {
				char rid[24];
				snprintf(rid, sizeof(rid), "r%zu", k);
				uws_job_add_result(&j, rid, rid, NULL, sizes[k]);
			}
			w->failures += store_job_finish(w->st, &j, UWS_EXECUTING) != 0;
		}
		if (r >= 3)
			w->failures +=
			    store_job_retire(w->st, j.id, r == 3, time_now_ms(), &blobs, &n) != 0;
		store_ids_free(blobs, n);
		uws_job_release(&j);
	}
	return NULL;
}

/* 4 threads through random transitions (two owners shared): the totals
 * always equal a count from scratch. */
TEST(usage_concurrent_recount)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	static const char *const owners[] = {"u1", "u2", "", "u1"};
	struct usage_worker w[4];
	pthread_t t[4];
	if (!st)
		return;
	for (int i = 0; i < 4; i++) {
		w[i] =
		    (struct usage_worker){.st = st, .owner = owners[i], .seed = 17u + (unsigned)i};
		CHECK(pthread_create(&t[i], NULL, usage_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].failures == 0);
	}
	CHECK(usage_matches_recount(url));
	CHECK(pg_sql_int(url, "SELECT jobs FROM owner_usage WHERE owner = 'u1'") > 0);
	store_close(st);
	free(url);
}

struct create_worker {
	struct store *st;
	int base;
	int failures;
};

static void *create_worker_main(void *arg)
{
	struct create_worker *w = arg;
	for (int i = 0; i < 25; i++) {
		char name[32];
		struct store_account a;
		struct store_app p;
		snprintf(name, sizeof(name), "user%d", w->base + i);
		a = account(name, '0', "user");
		snprintf(a.token_hash, sizeof(a.token_hash), "%064x", w->base + i);
		w->failures += store_account_create(w->st, &a, &root) != 0;
		/* The same hash again, as an app of another name; the same name
		 * as an app (the other handle races for it too): refused. */
		p = app(name, '0', "*");
		snprintf(p.name, sizeof(p.name), "twin%d", w->base + i);
		snprintf(p.token_hash, sizeof(p.token_hash), "%064x", w->base + i);
		w->failures += store_app_put(w->st, &p, false, NULL, &root) != OPUS_ERR_EXISTS;
	}
	return NULL;
}

/* Two handles (two instances on one database), two threads each, racing an
 * account and an app for the same names and hashes: one of each pair wins,
 * and every success is logged once. */
TEST(concurrent_creates_two_handles)
{
	char *url = NULL;
	struct store *st = open_fresh(&url), *other = open_url(url);
	struct create_worker w[4];
	pthread_t t[4];
	size_t n = 0, total = 0;
	struct store_account *page = NULL;
	if (!st || !other)
		return;
	for (int i = 0; i < 4; i++) {
		/* Threads 0/1 and 2/3 share a base: each name and hash is raced. */
		w[i] = (struct create_worker){.st = i % 2 ? other : st, .base = 1000 * (i / 2 + 1)};
		CHECK(pthread_create(&t[i], NULL, create_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	/* Per pair: 25 creates won, 25 refused; every app refused. */
	CHECK(w[0].failures + w[1].failures == 25 && w[2].failures + w[3].failures == 25);
	CHECK(store_account_list(other, "", 1, &page, &n, &total) == 0);
	CHECK(total == 50);
	store_accounts_free(page, n);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM apps") == 0);
	CHECK(audit_count(st) == 50);
	store_close(other);
	store_close(st);
	free(url);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (!pg_server_up(&server, "store-pg-accounts"))
		return 0;
	CHECK(server.url[0] != '\0');
	if (server.url[0]) {
		RUN(account_round_trip);
		RUN(names_and_tokens_unique);
		RUN(account_list_pages);
		RUN(roles);
		RUN(apps);
		RUN(audit_rows_same_commit);
		RUN(jdl_state);
		RUN(usage_triggers);
		RUN(usage_concurrent_recount);
		RUN(concurrent_creates_two_handles);
	} else {
		check_failed++;
	}
	pg_server_down(&server);
	return CHECK_DONE();
}
