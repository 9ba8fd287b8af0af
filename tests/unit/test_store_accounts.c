/*
 * Unit tests for the accounts part of src/store (issue 13, schema v3):
 * accounts, roles, applications, the audit log written in the same commit
 * as each change, description state, the usage totals kept by triggers
 * (after create, run, finish, archive and delete, checked against a count
 * from scratch), the v2 → v3 migration, two handles on one file (the CLI
 * beside the daemon), concurrency, and the query plan of every statement.
 */
#include "check.h"
#include "store/store-int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

static char test_dir[64];

static char *db_path(const char *name)
{
	return xasprintf("%s/%s.db", test_dir, name);
}

static struct store *open_store(const char *path)
{
	struct store_config cfg = {.backend = "sqlite", .path = path};
	struct store *st = NULL;
	CHECK(store_open(&cfg, &st) == 0);
	CHECK(st != NULL);
	return st;
}

/* Runs one query returning an integer on a separate connection (-1: none). */
static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* A token hash made of one repeated hex digit. */
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

/* The newest audit row (the caller releases it); id 0 when none. */
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

/* The newest audit row has this action and target, by this actor. */
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
	char *path = db_path("accounts");
	struct store *st = open_store(path);
	struct store_account a = account("alice@example.org", 'a', "user,analysts");
	struct store_account got = {0};
	a.email = "alice@example.org";
	a.display_name = "Alice \"A\" Liddell";
	a.quota = (struct store_quota){2, -1, 1000};
	CHECK(store_account_create(st, &a, &root) == 0);
	CHECK(store_account_get(st, "alice@example.org", &got) == 0);
	CHECK_STR(got.name, "alice@example.org");
	CHECK_STR(got.token_hash, a.token_hash);
	CHECK(got.active);
	CHECK_STR(got.roles, "user,analysts");
	CHECK_STR(got.email, "alice@example.org");
	CHECK_STR(got.display_name, "Alice \"A\" Liddell");
	CHECK(got.quota.max_running == 2 && got.quota.max_jobs == -1 &&
	      got.quota.max_bytes == 1000);
	CHECK(got.created > 0 && got.modified == got.created);
	store_account_release(&got);

	/* Update: every field but name and created; "" optional fields become NULL. */
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
	CHECK_STR(got.token_hash, a.token_hash);
	store_account_release(&got);
	/* The account found by its token; the old token finds nothing. */
	CHECK(store_account_by_token(st, a.token_hash, &got) == 0);
	CHECK_STR(got.name, "alice@example.org");
	store_account_release(&got);
	hash_of(a.token_hash, 'a');
	CHECK(store_account_by_token(st, a.token_hash, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_by_token(st, "nothex", &got) == OPUS_ERR_NOTFOUND);
	/* out may alias the key */
	snprintf(got.name, sizeof(got.name), "alice@example.org");
	CHECK(store_account_get(st, got.name, &got) == 0);
	CHECK_STR(got.name, "alice@example.org");
	store_account_release(&got);

	CHECK(store_account_delete(st, "alice@example.org", &root) == 0);
	CHECK(store_account_get(st, "alice@example.org", &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_delete(st, "alice@example.org", &root) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_update(st, &a, "roles", NULL, &root) == OPUS_ERR_NOTFOUND);
	store_account_release(NULL);
	store_close(st);
	free(path);
}

TEST(account_bad_input)
{
	char *path = db_path("badinput");
	struct store *st = open_store(path);
	static const char *const bad_names[] = {
	    "",	 "a b", "a/b",
	    "ä", "a:b", "0123456789012345678901234567890123456789012345678901234567890123456789"};
	static const char *const bad_roles[] = {"a,,b", "a,", ",a", "a b", "a;b"};
	struct store_account a = account("bob", 'c', "user"), got;
	int64_t n0 = audit_count(st);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(bad_names); i++) {
		snprintf(a.name, sizeof(a.name), "%s", bad_names[i]);
		if (strlen(bad_names[i]) <= STORE_NAME_MAX) /* a longer one cannot be in a.name */
			CHECK(store_account_create(st, &a, &root) == OPUS_ERR_INVAL);
		CHECK(store_account_get(st, bad_names[i], &got) == OPUS_ERR_NOTFOUND);
		CHECK(store_account_delete(st, bad_names[i], &root) == OPUS_ERR_NOTFOUND);
	}
	a = account("bob", 'c', "user");
	for (size_t i = 0; i < OPUS_ARRAY_LEN(bad_roles); i++) {
		a.roles = (char *)bad_roles[i];
		CHECK(store_account_create(st, &a, &root) == OPUS_ERR_INVAL);
	}
	a = account("bob", 'C', "user"); /* uppercase hex is not a stored hash */
	CHECK(store_account_create(st, &a, &root) == OPUS_ERR_INVAL);
	a.token_hash[10] = '\0';
	CHECK(store_account_create(st, &a, &root) == OPUS_ERR_INVAL);
	CHECK(store_account_create(st, NULL, &root) == OPUS_ERR_INVAL);
	CHECK(store_account_create(NULL, &a, &root) == OPUS_ERR_INVAL);
	CHECK(store_account_get(st, NULL, &got) == OPUS_ERR_INVAL);
	/* A 64-character name is fine; roles NULL are none. */
	a = account("a123456789012345678901234567890123456789012345678901234567890123", 'd', NULL);
	CHECK(store_account_create(st, &a, &root) == 0);
	CHECK(store_account_get(st, a.name, &got) == 0);
	CHECK_STR(got.roles, "");
	store_account_release(&got);
	CHECK(audit_count(st) == n0 + 1); /* refused changes logged nothing */
	store_close(st);
	free(path);
}

/* Names and token hashes are unique across accounts and applications. */
TEST(names_and_tokens_unique)
{
	char *path = db_path("unique");
	struct store *st = open_store(path);
	struct store_account a = account("carol", '1', "user");
	struct store_app p = app("pipeline", '2', "*");
	struct store_account got = {0};
	int64_t n0;
	CHECK(store_account_create(st, &a, &root) == 0);
	CHECK(store_app_put(st, &p, false, NULL, &root) == 0);
	n0 = audit_count(st);
	/* The same name or hash, by either kind, is taken. */
	struct store_account dup = account("carol", '3', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '1', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("pipeline", '3', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '2', "user");
	CHECK(store_account_create(st, &dup, &root) == OPUS_ERR_EXISTS);
	struct store_app pdup = app("carol", '4', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	pdup = app("other", '1', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	pdup = app("pipeline", '4', "*");
	CHECK(store_app_put(st, &pdup, false, NULL, &root) == OPUS_ERR_EXISTS);
	/* A rotation to a hash that is taken is refused, both ways. */
	hash_of(a.token_hash, '2');
	CHECK(store_account_update(st, &a, "token", NULL, &root) == OPUS_ERR_EXISTS);
	hash_of(p.token_hash, '1');
	CHECK(store_app_put(st, &p, true, "token", &root) == OPUS_ERR_EXISTS);
	dup = account("dave", '5', "user");
	CHECK(store_account_create(st, &dup, &root) == 0);
	hash_of(dup.token_hash, '1');
	CHECK(store_account_update(st, &dup, "token", NULL, &root) == OPUS_ERR_EXISTS);
	CHECK(audit_count(st) == n0 + 1);
	/* Nothing changed. */
	CHECK(store_account_get(st, "carol", &got) == 0);
	CHECK(got.token_hash[0] == '1');
	store_account_release(&got);
	struct store_app gp = {0};
	CHECK(store_app_get(st, "pipeline", &gp) == 0);
	CHECK(gp.token_hash[0] == '2');
	store_app_release(&gp);
	store_close(st);
	free(path);
}

TEST(account_list_pages)
{
	char *path = db_path("list");
	struct store *st = open_store(path);
	static const char *const names[] = {"zoe", "amy", "Bob", "mia", "eve", "ann"};
	static const char *const sorted[] = {"Bob", "amy", "ann", "eve", "mia", "zoe"};
	struct store_account *page = NULL;
	size_t n = 0, total = 0, seen = 0;
	char after[STORE_NAME_MAX + 1] = "";
	for (size_t i = 0; i < OPUS_ARRAY_LEN(names); i++) {
		struct store_account a = account(names[i], (char)('a' + i), "user");
		CHECK(store_account_create(st, &a, &root) == 0);
	}
	do {
		CHECK(store_account_list(st, after, 4, &page, &n, &total) == 0);
		CHECK(total == OPUS_ARRAY_LEN(names));
		CHECK(n <= 4);
		for (size_t i = 0; i < n && seen + i < OPUS_ARRAY_LEN(sorted); i++)
			CHECK_STR(page[i].name, sorted[seen + i]);
		seen += n;
		if (n)
			snprintf(after, sizeof(after), "%s", page[n - 1].name);
		store_accounts_free(page, n);
	} while (n == 4);
	CHECK(seen == OPUS_ARRAY_LEN(names));
	CHECK(store_account_list(st, NULL, 100, &page, &n, NULL) == 0);
	CHECK(n == OPUS_ARRAY_LEN(names));
	store_accounts_free(page, n);
	CHECK(store_account_list(st, "zoe", 100, &page, &n, &total) == 0);
	CHECK(n == 0 && page == NULL && total == OPUS_ARRAY_LEN(names));
	store_accounts_free(page, n);
	CHECK(store_account_list(st, "", 0, &page, &n, &total) == 0);
	CHECK(n == 0 && total == OPUS_ARRAY_LEN(names));
	store_accounts_free(page, n);
	store_close(st);
	free(path);
}

TEST(roles)
{
	char *path = db_path("roles");
	struct store *st = open_store(path);
	struct store_role *all = NULL, got = {0};
	struct store_role r = {.name = "analysts", .run = "spectro* cube_*", .submit = true};
	size_t n = 0;
	/* The built-in roles. */
	CHECK(store_role_list(st, &all, &n) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(all[0].name, "admin");
		CHECK(all[0].admin && !all[0].submit);
		CHECK_STR(all[0].run, "*");
		CHECK_STR(all[1].name, "anonymous");
		CHECK(!all[1].admin);
		CHECK_STR(all[1].run, "*");
		CHECK_STR(all[2].name, "user");
		CHECK(!all[2].admin);
		CHECK_STR(all[2].run, "*");
		CHECK(all[2].quota.max_jobs == 0 && all[2].quota.max_running == 0 &&
		      all[2].quota.max_bytes == 0);
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
	/* Replace. */
	r.run = NULL;
	r.admin = true;
	CHECK(store_role_put(st, &r, &root) == 0);
	CHECK(store_role_get(st, "analysts", &got) == 0);
	CHECK_STR(got.run, "");
	CHECK(got.admin);
	store_role_release(&got);
	/* A built-in role is editable, not deletable. */
	struct store_role u = {.name = "user", .run = "demo"};
	CHECK(store_role_put(st, &u, &root) == 0);
	CHECK(store_role_get(st, "user", &got) == 0);
	CHECK_STR(got.run, "demo");
	store_role_release(&got);
	int64_t n0 = audit_count(st);
	CHECK(store_role_delete(st, "user", &root) == OPUS_ERR_FORBIDDEN);
	CHECK(store_role_delete(st, "admin", &root) == OPUS_ERR_FORBIDDEN);
	CHECK(store_role_delete(st, "anonymous", &root) == OPUS_ERR_FORBIDDEN);
	CHECK(store_role_delete(st, "nope", &root) == OPUS_ERR_NOTFOUND);
	CHECK(store_role_delete(st, "a b", &root) == OPUS_ERR_NOTFOUND);
	r.quota.max_jobs = -1; /* roles have no "unset" */
	CHECK(store_role_put(st, &r, &root) == OPUS_ERR_INVAL);
	struct store_role bad = {.name = "x y"};
	CHECK(store_role_put(st, &bad, &root) == OPUS_ERR_INVAL);
	CHECK(audit_count(st) == n0);
	/* Deleting a role takes it from its holders, in the same commit. */
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
	CHECK_STR(row.target, "analysts");
	CHECK_STR(row.detail, "{\"accounts\":4}");
	store_audit_release(&row);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(holders); i++) {
		struct store_account h = {0};
		CHECK(store_account_get(st, holders[i].name, &h) == 0);
		CHECK_STR(h.roles, holders[i].after);
		store_account_release(&h);
	}
	CHECK(store_role_get(st, "analysts", &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_role_list(st, &all, &n) == 0);
	CHECK(n == 3);
	store_roles_free(all, n);
	store_close(st);
	free(path);
}

TEST(apps)
{
	char *path = db_path("apps");
	struct store *st = open_store(path);
	struct store_app a = app("portal", 'd', "spectro cube"), got = {0}, *all = NULL;
	size_t n = 0;
	CHECK(store_app_put(st, &a, false, NULL, &root) == 0);
	check_audit(st, "app.create", "portal", "root");
	CHECK(store_app_put(st, &a, false, NULL, &root) == OPUS_ERR_EXISTS);
	CHECK(store_app_get(st, "portal", &got) == 0);
	CHECK_STR(got.run, "spectro cube");
	CHECK_STR(got.token_hash, a.token_hash);
	CHECK(got.active && got.created > 0 && got.modified == got.created);
	int64_t created = got.created;
	store_app_release(&got);
	/* Replace: every field but created. */
	hash_of(a.token_hash, 'e');
	a.created = 5;
	CHECK(store_app_put(st, &a, true, "token", &root) == 0);
	check_audit(st, "app.rotate", "portal", "root");
	a.run = "*";
	a.active = false;
	CHECK(store_app_put(st, &a, true, NULL, &root) == 0);
	check_audit(st, "app.update", "portal", "root");
	CHECK(store_app_by_token(st, a.token_hash, &got) == 0);
	CHECK_STR(got.name, "portal");
	CHECK_STR(got.run, "*");
	CHECK(!got.active && got.created == created);
	store_app_release(&got);
	hash_of(a.token_hash, 'd');
	CHECK(store_app_by_token(st, a.token_hash, &got) == OPUS_ERR_NOTFOUND);
	struct store_app missing = app("ghost", 'f', "*");
	CHECK(store_app_put(st, &missing, true, NULL, &root) == OPUS_ERR_NOTFOUND);
	missing = app("a b", 'f', "*");
	CHECK(store_app_put(st, &missing, false, NULL, &root) == OPUS_ERR_INVAL);
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
	CHECK(store_app_get(st, "portal", &got) == OPUS_ERR_NOTFOUND);
	/* Its name and hash are free again. */
	struct store_account acct = account("portal", 'e', "user");
	CHECK(store_account_create(st, &acct, &root) == 0);
	store_close(st);
	free(path);
}

/* Every change logs its action, actor, application and address. */
TEST(audit_rows)
{
	char *path = db_path("audit");
	struct store *st = open_store(path);
	struct store_actor via_app = {.name = "erin", .app = "portal", .address = "::1"};
	struct store_actor cli = {.name = "", .app = "", .address = ""};
	struct store_account a = account("frank", '7', "user");
	struct store_audit *rows = NULL, row;
	size_t n = 0;
	CHECK(audit_count(st) == 0); /* the migration logs nothing */
	CHECK(store_account_create(st, &a, &via_app) == 0);
	row = last_audit(st);
	CHECK_STR(row.action, "user.create");
	CHECK_STR(row.target, "frank");
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
	CHECK_STR(row.detail, "{\"roles\":\"admin\"}");
	store_audit_release(&row);
	hash_of(a.token_hash, '8');
	CHECK(store_account_update(st, &a, "token", NULL, NULL) == 0);
	check_audit(st, "user.rotate", "frank", "cli");
	a.active = false;
	CHECK(store_account_update(st, &a, "deactivate", NULL, &root) == 0);
	check_audit(st, "user.deactivate", "frank", "root");
	CHECK(store_account_update(st, &a, "user.activate", NULL, &root) == 0);
	check_audit(st, "user.activate", "frank", "root");
	CHECK(store_account_update(st, &a, NULL, NULL, &root) == 0);
	check_audit(st, "user.update", "frank", "root");
	CHECK(store_account_delete(st, "frank", &root) == 0);
	check_audit(st, "user.delete", "frank", "root");
	CHECK(store_audit_add(st, &root, "job.abort", "0123456789abcdef", "{\"owner\":\"x\"}") ==
	      0);
	check_audit(st, "job.abort", "0123456789abcdef", "root");
	CHECK(store_audit_add(st, &root, "", "x", NULL) == OPUS_ERR_INVAL);
	CHECK(store_audit_add(st, &root, NULL, "x", NULL) == OPUS_ERR_INVAL);
	/* Paging: ids increase, after and max apply. */
	CHECK(store_audit_list(st, 0, 100, &rows, &n) == 0);
	CHECK(n == 8);
	for (size_t i = 1; i < n; i++)
		CHECK(rows[i].id > rows[i - 1].id && rows[i].time >= rows[i - 1].time);
	int64_t third = n >= 3 ? rows[2].id : 0;
	store_audits_free(rows, n);
	CHECK(store_audit_list(st, third, 2, &rows, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(rows[0].id > third);
		CHECK_STR(rows[0].action, "user.deactivate");
	}
	store_audits_free(rows, n);
	CHECK(store_audit_list(st, 0, 0, &rows, &n) == 0);
	CHECK(n == 0 && rows == NULL);
	store_close(st);
	free(path);
}

TEST(jdl_state)
{
	char *path = db_path("jdl");
	struct store *st = open_store(path);
	bool enabled = false;
	char **names = NULL;
	size_t n = 0;
	CHECK(store_jdl_is_enabled(st, "spectro", &enabled) == 0);
	CHECK(enabled);
	CHECK(store_jdl_disabled(st, &names, &n) == 0);
	CHECK(n == 0);
	store_ids_free(names, n);
	CHECK(store_jdl_set_enabled(st, "spectro", false, &root) == 0);
	check_audit(st, "jdl.disable", "spectro", "root");
	CHECK(store_jdl_set_enabled(st, "spectro", false, &root) == 0); /* again: no change */
	CHECK(store_jdl_set_enabled(st, "cube", false, &root) == 0);
	CHECK(store_jdl_is_enabled(st, "spectro", &enabled) == 0);
	CHECK(!enabled);
	CHECK(store_jdl_is_enabled(st, "other", &enabled) == 0);
	CHECK(enabled);
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
	CHECK(store_jdl_set_enabled(st, "", true, &root) == OPUS_ERR_INVAL);
	CHECK(audit_count(st) == 4);
	store_close(st);
	free(path);
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

static struct store_usage_totals usage(struct store *st, const char *owner)
{
	struct store_usage_totals u = {-1, -1, -1};
	CHECK(store_owner_usage(st, owner, &u) == 0);
	return u;
}

static bool usage_is(struct store *st, const char *owner, int64_t jobs, int64_t running,
		     int64_t bytes)
{
	struct store_usage_totals u = usage(st, owner);
	if (u.jobs == jobs && u.running == running && u.bytes == bytes)
		return true;
	fprintf(stderr, "usage of %s: %lld jobs, %lld running, %lld bytes; want %lld %lld %lld\n",
		owner ? owner : "(anonymous)", (long long)u.jobs, (long long)u.running,
		(long long)u.bytes, (long long)jobs, (long long)running, (long long)bytes);
	return false;
}

/* The totals kept by the triggers equal a count from scratch, for every owner. */
static bool usage_matches_recount(const char *path)
{
	int64_t bad = sql_int(
	    path, "SELECT count(*) FROM (SELECT ifnull(j.owner, '') AS o, sum(j.phase != 9) AS n,"
		  " sum(j.phase = 2) AS r, sum((j.phase != 9) * (SELECT ifnull(sum(max(size, 0)),"
		  " 0) FROM results WHERE job_id = j.id)) AS b FROM jobs j GROUP BY 1) c"
		  " LEFT JOIN owner_usage u ON u.owner = c.o"
		  " WHERE u.owner IS NULL OR u.jobs != c.n OR u.running != c.r OR u.bytes != c.b");
	int64_t stray = sql_int(path, "SELECT count(*) FROM owner_usage u WHERE (u.jobs != 0 OR"
				      " u.running != 0 OR u.bytes != 0) AND NOT EXISTS (SELECT 1"
				      " FROM jobs WHERE ifnull(owner, '') = u.owner)");
	return bad == 0 && stray == 0;
}

/* The job ends with results of these sizes (-1: unknown). */
static void finish(struct store *st, struct uws_job *j, const int64_t *sizes, size_t n)
{
	enum uws_phase from = j->phase;

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
	char *path = db_path("usage");
	struct store *st = open_store(path);
	struct uws_job a1, a2, a3, anon;
	static const int64_t sizes[] = {10, 20, -1};
	char **blobs = NULL;
	size_t n = 0;
	CHECK(usage_is(st, "alice", 0, 0, 0));
	CHECK(usage_is(st, NULL, 0, 0, 0));

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
	CHECK(usage_is(st, "", 1, 0, 0));
	CHECK(usage_is(st, "bob", 0, 0, 0));

	/* Running, then done with results; a save that changes no phase changes nothing. */
	a1.phase = UWS_EXECUTING;
	CHECK(store_job_save(st, &a1, UWS_PENDING) == 0);
	a2.phase = UWS_EXECUTING;
	CHECK(store_job_update(st, &a2, UWS_QUEUED) == 0);
	CHECK(usage_is(st, "alice", 3, 2, 0));
	a1.quote = 5;
	CHECK(store_job_save(st, &a1, UWS_EXECUTING) == 0);
	CHECK(usage_is(st, "alice", 3, 2, 0));
	finish(st, &a1, sizes, 3);
	CHECK(usage_is(st, "alice", 3, 1, 30));
	/* A job end recorded again replaces the results: no double count. */
	CHECK(store_job_finish(st, &a1, UWS_COMPLETED) == 0);
	CHECK(usage_is(st, "alice", 3, 1, 30));
	struct store_activity act = {.jobdef = NULL};
	a2.phase = UWS_ERROR;
	uws_job_add_result(&a2, "log", "log.txt", "text/plain", 5);
	CHECK(store_job_end(st, &a2, &act, NULL, 0, UWS_EXECUTING) == 0);
	CHECK(usage_is(st, "alice", 3, 0, 35));
	struct store_usage_totals all = {0};
	CHECK(store_usage_sum(st, &all) == 0);
	CHECK(all.jobs == 4 && all.running == 0 && all.bytes == 35);
	CHECK(usage_matches_recount(path));

	/* Archive (destruction): the job and its bytes leave the totals; its
	 * later delete changes nothing. */
	CHECK(store_job_retire(st, a1.id, true, time_now_ms(), &blobs, &n) == 0);
	store_ids_free(blobs, n);
	CHECK(usage_is(st, "alice", 2, 0, 5));
	CHECK(store_job_delete(st, a1.id) == 0);
	CHECK(usage_is(st, "alice", 2, 0, 5));
	/* Delete a finished job and a running one. */
	CHECK(store_job_retire(st, a2.id, false, time_now_ms(), &blobs, &n) == 0);
	store_ids_free(blobs, n);
	CHECK(usage_is(st, "alice", 1, 0, 0));
	a3.phase = UWS_EXECUTING;
	CHECK(store_job_save(st, &a3, UWS_PENDING) == 0);
	CHECK(usage_is(st, "alice", 1, 1, 0));
	CHECK(store_job_delete(st, a3.id) == 0);
	CHECK(usage_is(st, "alice", 0, 0, 0));
	/* Anonymous. */
	finish(st, &anon, sizes, 2);
	CHECK(usage_is(st, NULL, 1, 0, 30));
	CHECK(store_job_delete(st, anon.id) == 0);
	CHECK(usage_is(st, NULL, 0, 0, 0));
	CHECK(usage_matches_recount(path));
	struct store_usage_totals sum = {-1, -1, -1};
	CHECK(store_usage_sum(st, &sum) == 0);
	CHECK(sum.jobs == 0 && sum.running == 0 && sum.bytes == 0);
	/* A refused change changes no total. */
	a3.phase = UWS_QUEUED;
	CHECK(store_job_create(st, &a3) == 0);
	CHECK(store_job_create(st, &a3) == OPUS_ERR_EXISTS);
	CHECK(usage_is(st, "alice", 1, 0, 0));
	uws_job_release(&a1);
	uws_job_release(&a2);
	uws_job_release(&a3);
	uws_job_release(&anon);
	store_close(st);
	free(path);
}

/* Many jobs through random transitions from several threads: the totals
 * always equal a count from scratch. */
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

TEST(usage_concurrent_recount)
{
	char *path = db_path("usageconc");
	struct store *st = open_store(path);
	static const char *const owners[] = {"u1", "u2", "", "u1"};
	struct usage_worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] =
		    (struct usage_worker){.st = st, .owner = owners[i], .seed = 17u + (unsigned)i};
		CHECK(pthread_create(&t[i], NULL, usage_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].failures == 0);
	}
	CHECK(usage_matches_recount(path));
	CHECK(usage(st, "u1").jobs > 0);
	store_close(st);
	free(path);
}

/* ---- migration, sharing, concurrency, plans ---- */

/* A v2 database (migrations 1 and 2) with accounts and jobs migrates. */
TEST(migration_from_v2)
{
	char *path = db_path("v2");
	sqlite3 *db = NULL;
	struct store *st;
	struct store_account got = {0};
	char h[65];
	CHECK(store_sqlite_migration_sql(3) != NULL);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, store_sqlite_migration_sql(1), NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db, store_sqlite_migration_sql(2), NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "INSERT INTO accounts VALUES ('root', '" /* clang-format off */
		  "1111111111111111111111111111111111111111111111111111111111111111', 1);"
		  "INSERT INTO accounts VALUES ('alice', "
		  "'2222222222222222222222222222222222222222222222222222222222222222', 0);"
		  "INSERT INTO accounts VALUES ('twin', "
		  "'2222222222222222222222222222222222222222222222222222222222222222', 0);"
			   /* clang-format on */
			   "INSERT INTO jobs (id, jobdef, owner, phase, creation_time) VALUES "
			   "('00000000000000000000000000000001', 'calc', 'alice', 3, 1),"
			   "('00000000000000000000000000000002', 'calc', 'alice', 2, 2),"
			   "('00000000000000000000000000000003', 'calc', 'alice', 9, 3),"
			   "('00000000000000000000000000000004', 'calc', NULL, 0, 4);"
			   "INSERT INTO results (job_id, rid, path, size) VALUES "
			   "('00000000000000000000000000000001', 'a', 'a', 40),"
			   "('00000000000000000000000000000001', 'b', 'b', -1),"
			   "('00000000000000000000000000000003', 'a', 'a', 1000);",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sql_int(path, "PRAGMA user_version") == 2);

	st = open_store(path);
	CHECK(sql_int(path, "PRAGMA user_version") == store_sqlite_schema_version());
	CHECK(store_account_get(st, "root", &got) == 0);
	CHECK_STR(got.roles, "admin");
	CHECK(got.active && got.quota.max_jobs == -1 && got.quota.max_running == -1 &&
	      got.quota.max_bytes == -1);
	CHECK(got.email == NULL);
	store_account_release(&got);
	CHECK(store_account_get(st, "alice", &got) == 0);
	CHECK_STR(got.roles, "user");
	store_account_release(&got);
	/* Two accounts shared a hash: the older keeps it, the other needs a new token. */
	hash_of(h, '2');
	CHECK(store_account_by_token(st, h, &got) == 0);
	CHECK_STR(got.name, "alice");
	store_account_release(&got);
	CHECK(store_account_get(st, "twin", &got) == 0);
	CHECK(strcmp(got.token_hash, h) != 0);
	store_account_release(&got);
	/* Totals from the existing jobs. */
	CHECK(usage_is(st, "alice", 2, 1, 40));
	CHECK(usage_is(st, NULL, 1, 0, 0));
	CHECK(usage_matches_recount(path));
	/* And kept from then on. */
	struct uws_job j;
	make_job(&j, "alice", UWS_QUEUED);
	CHECK(store_job_create(st, &j) == 0);
	CHECK(usage_is(st, "alice", 3, 1, 40));
	CHECK(store_job_delete(st, "00000000000000000000000000000001") == 0);
	CHECK(usage_is(st, "alice", 2, 1, 0));
	uws_job_release(&j);
	struct store_role *roles = NULL;
	size_t n = 0;
	CHECK(store_role_list(st, &roles, &n) == 0);
	CHECK(n == 3);
	store_roles_free(roles, n);
	store_close(st);
	/* Opening again migrates nothing. */
	st = open_store(path);
	CHECK(usage_is(st, "alice", 2, 1, 0));
	store_close(st);
	free(path);
}

/* The CLI opens the database the daemon has open: each sees the other's changes. */
TEST(two_handles)
{
	char *path = db_path("shared");
	struct store *daemon = open_store(path), *cli = open_store(path);
	struct store_account a = account("gina", '6', "user"), got = {0};
	CHECK(store_account_create(cli, &a, NULL) == 0);
	CHECK(store_account_get(daemon, "gina", &got) == 0);
	store_account_release(&got);
	a.active = false;
	CHECK(store_account_update(daemon, &a, "deactivate", NULL, &root) == 0);
	CHECK(store_account_get(cli, "gina", &got) == 0);
	CHECK(!got.active);
	store_account_release(&got);
	CHECK(audit_count(cli) == 2 && audit_count(daemon) == 2);
	store_close(cli);
	store_close(daemon);
	free(path);
}

struct create_worker {
	struct store *st;
	int base;
	int failures;
};

static void *create_worker_main(void *arg)
{
	struct create_worker *w = arg;
	for (int i = 0; i < 50; i++) {
		char name[32];
		struct store_account a;
		snprintf(name, sizeof(name), "user%d", w->base + i);
		a = account(name, '0', "user");
		snprintf(a.token_hash, sizeof(a.token_hash), "%064x", w->base + i);
		w->failures += store_account_create(w->st, &a, &root) != 0;
		/* The same hash again, under another name: refused. */
		snprintf(a.name, sizeof(a.name), "twin%d", w->base + i);
		w->failures += store_account_create(w->st, &a, &root) != OPUS_ERR_EXISTS;
	}
	return NULL;
}

/* Concurrent creates share commits; every one is logged once. */
TEST(concurrent_creates)
{
	char *path = db_path("conc");
	struct store *st = open_store(path);
	struct create_worker w[4];
	pthread_t t[4];
	size_t n = 0, total = 0;
	struct store_account *page = NULL;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct create_worker){.st = st, .base = 1000 * (i + 1)};
		CHECK(pthread_create(&t[i], NULL, create_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].failures == 0);
	}
	CHECK(store_account_list(st, "", 1, &page, &n, &total) == 0);
	CHECK(total == 200);
	store_accounts_free(page, n);
	CHECK(audit_count(st) == 200);
	store_close(st);
	free(path);
}

/* Every statement of this part, and every lookup its triggers make, uses an
 * index: a full list walks its index in order, never a table scan nor a
 * sort. */
TEST(query_plans)
{
	char *path = db_path("plans");
	struct store *st = open_store(path);
	/* Whole lists: the table, or its index in order (owner_usage: a row per owner). */
	static const char *const whole[] = {"ACCOUNT_COUNT", "ROLE_LIST", "APP_LIST",
					    "JDL_DISABLED",  "USAGE_SUM", "ROLE_STRIP"};
	static const char *const inserts[] = {"ACCOUNT_INSERT", "ROLE_PUT", "APP_INSERT",
					      "AUDIT_INSERT", "JDL_DISABLE"};
	size_t i;
	for (i = 0; store_sqlite_account_stmt_name(i); i++) {
		const char *name = store_sqlite_account_stmt_name(i);
		struct sbuf plan = SBUF_INIT;
		const char *p, *scan;
		bool is_whole = false, is_insert = false, ok;
		CHECK(store_sqlite_account_plan(st, name, &plan) == 0);
		p = sbuf_str(&plan);
		for (size_t k = 0; k < OPUS_ARRAY_LEN(whole); k++)
			is_whole |= strcmp(whole[k], name) == 0;
		for (size_t k = 0; k < OPUS_ARRAY_LEN(inserts); k++)
			is_insert |= strcmp(inserts[k], name) == 0;
		scan = strstr(p, "SCAN ");
		ok = !strstr(p, "TEMP B-TREE") && (!scan || is_whole) && (*p || is_insert);
		if (!ok)
			fprintf(stderr, "plan of %s:\n%s\n", name, p);
		CHECK(ok);
		sbuf_release(&plan);
	}
	CHECK(i >= 25);
	struct sbuf plan = SBUF_INIT;
	CHECK(store_sqlite_account_plan(st, "USAGE_RESULT_BYTES", &plan) == 0);
	CHECK(strstr(sbuf_str(&plan), "sqlite_autoindex_results_1") != NULL);
	sbuf_reset(&plan);
	CHECK(store_sqlite_account_plan(st, "ACCOUNT_BY_TOKEN", &plan) == 0);
	CHECK(strstr(sbuf_str(&plan), "accounts_token_hash") != NULL);
	sbuf_reset(&plan);
	CHECK(store_sqlite_account_plan(st, "UNIQUE_IN_APPS", &plan) == 0);
	CHECK(strstr(sbuf_str(&plan), "apps_token_hash") != NULL);
	sbuf_reset(&plan);
	CHECK(store_sqlite_account_plan(st, "nope", &plan) == OPUS_ERR_INVAL);
	sbuf_release(&plan);
	store_close(st);
	free(path);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-test-store-accounts-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	memcpy(test_dir, tmpl, sizeof(tmpl));
	log_set_level(LOG_WARN);
	RUN(account_round_trip);
	RUN(account_bad_input);
	RUN(names_and_tokens_unique);
	RUN(account_list_pages);
	RUN(roles);
	RUN(apps);
	RUN(audit_rows);
	RUN(jdl_state);
	RUN(usage_triggers);
	RUN(usage_concurrent_recount);
	RUN(migration_from_v2);
	RUN(two_handles);
	RUN(concurrent_creates);
	RUN(query_plans);
	if (rm_rf(test_dir) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
	return CHECK_DONE();
}
