/*
 * Unit tests for src/store (SQLite backend): round trips of every field,
 * error codes, list filters and their query plans, group commit under
 * concurrency, durability across reopen, expiry, accounts; and a printed
 * (not asserted) performance figure.
 */
#include "check.h"
#include "store/store-int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

static char test_dir[64];

/* A fresh database path inside the test directory; caller frees. */
static char *db_path(const char *name)
{
	return xasprintf("%s/%s.db", test_dir, name);
}

static struct store *open_store(const char *path)
{
	struct store_config cfg = {.backend = "sqlite", .path = path};
	struct store *st = NULL;
	int ret = store_open(&cfg, &st);
	CHECK(ret == 0);
	CHECK(st != NULL);
	return st;
}

/* A job with a random id and the given list fields; other fields zero. */
static void make_job(struct uws_job *j, const char *jobdef, const char *owner, enum uws_phase phase,
		     int64_t ctime)
{
	memset(j, 0, sizeof(*j));
	rand_hex(j->id, UWS_ID_BYTES);
	j->jobdef = xstrdup(jobdef);
	j->owner = xstrdup(owner);
	j->phase = phase;
	j->creation_time = ctime;
}

/* Runs one query returning an integer on a separate connection. */
static int64_t sql_int(const char *path, const char *sql, const char *bind1)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (bind1)
			sqlite3_bind_text(s, 1, bind1, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

TEST(round_trip_every_field)
{
	char *path = db_path("roundtrip");
	struct store *st = open_store(path);
	struct uws_job j, got = {0}, bare, got2 = {0};

	make_job(&j, "fulljob", "alice", UWS_EXECUTING, 1700000000123);
	j.run_id = xstrdup("run-1");
	j.start_time = 1700000001000;
	j.end_time = 1700000002000;
	j.destruction_time = 1800000000000;
	j.execution_duration = 3600;
	j.quote = 42;
	j.error_summary = xstrdup("boom: it's \"quoted\"");
	j.error_type = UWS_ERROR_TRANSIENT;
	j.run_request_time = 1700000000500;
	j.pgid = 12345;
	j.jdl_hash = xstrdup("0123abcd");
	uws_job_add_param(&j, "x", "1.5", false);
	uws_job_add_param(&j, "name", "O'Brien; DROP TABLE jobs; --", false);
	uws_job_add_param(&j, "upload", "params/upload", true);

	CHECK(store_job_create(st, &j) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK_STR(got.id, j.id);
	CHECK_STR(got.jobdef, "fulljob");
	CHECK_STR(got.owner, "alice");
	CHECK_STR(got.run_id, "run-1");
	CHECK(got.phase == UWS_EXECUTING);
	CHECK(got.creation_time == 1700000000123);
	CHECK(got.start_time == 1700000001000);
	CHECK(got.end_time == 1700000002000);
	CHECK(got.destruction_time == 1800000000000);
	CHECK(got.execution_duration == 3600);
	CHECK(got.quote == 42);
	CHECK_STR(got.error_summary, "boom: it's \"quoted\"");
	CHECK(got.error_type == UWS_ERROR_TRANSIENT);
	CHECK(got.run_request_time == 1700000000500);
	CHECK(got.pgid == 12345);
	CHECK_STR(got.jdl_hash, "0123abcd");
	CHECK(got.nparams == 3);
	if (got.nparams == 3) {
		CHECK_STR(got.params[0].name, "x");
		CHECK_STR(got.params[0].value, "1.5");
		CHECK(!got.params[0].by_ref);
		CHECK_STR(got.params[1].value, "O'Brien; DROP TABLE jobs; --");
		CHECK_STR(got.params[2].name, "upload");
		CHECK(got.params[2].by_ref);
	}
	CHECK(got.nresults == 0);

	/* NULL owner, run_id, error, hash; no params. */
	make_job(&bare, "fulljob", NULL, UWS_PENDING, 5);
	CHECK(store_job_create(st, &bare) == 0);
	CHECK(store_job_get(st, bare.id, &got2) == 0);
	CHECK(got2.owner == NULL);
	CHECK(got2.run_id == NULL);
	CHECK(got2.error_summary == NULL);
	CHECK(got2.jdl_hash == NULL);
	CHECK(got2.error_type == UWS_ERROR_FATAL);
	CHECK(got2.nparams == 0 && got2.params == NULL);
	CHECK(got2.creation_time == 5 && got2.start_time == 0);

	uws_job_release(&j);
	uws_job_release(&got);
	uws_job_release(&bare);
	uws_job_release(&got2);
	store_close(st);
	free(path);
}

TEST(errors_exists_notfound)
{
	char *path = db_path("errors");
	struct store *st = open_store(path);
	struct uws_job j, ghost, got = {0};
	make_job(&j, "e", "bob", UWS_PENDING, 10);
	make_job(&ghost, "e", "bob", UWS_PENDING, 11);
	CHECK(store_job_create(st, &j) == 0);
	CHECK(store_job_create(st, &j) == OPUS_ERR_EXISTS);
	CHECK(store_job_get(st, ghost.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(got.jobdef == NULL);
	CHECK(store_job_save(st, &ghost) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_set_params(st, &ghost) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_finish(st, &ghost) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_delete(st, ghost.id) == OPUS_ERR_NOTFOUND);
	/* A duplicate parameter name is bad input, and leaves no job behind. */
	uws_job_add_param(&ghost, "a", "1", false);
	uws_job_add_param(&ghost, "a", "2", false);
	CHECK(store_job_create(st, &ghost) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, ghost.id, &got) == OPUS_ERR_NOTFOUND);
	/* Argument checks. */
	CHECK(store_job_create(st, NULL) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, NULL, &got) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK_STR(got.owner, "bob");
	uws_job_release(&got);
	uws_job_release(&j);
	uws_job_release(&ghost);
	store_close(st);
	free(path);
}

TEST(save_params_finish_delete)
{
	char *path = db_path("update");
	struct store *st = open_store(path);
	struct uws_job j, got = {0};
	make_job(&j, "u", "carol", UWS_PENDING, 100);
	uws_job_add_param(&j, "a", "1", false);
	uws_job_add_param(&j, "b", "2", false);
	CHECK(store_job_create(st, &j) == 0);

	/* save: scalars change, params untouched even if the struct has none. */
	struct uws_job s;
	uws_job_copy(&s, &j);
	for (size_t i = 0; i < s.nparams; i++) {
		free(s.params[i].name);
		free(s.params[i].value);
	}
	free(s.params);
	s.params = NULL;
	s.nparams = 0;
	s.phase = UWS_QUEUED;
	s.run_id = xstrdup("later");
	s.run_request_time = 150;
	s.destruction_time = 999;
	s.pgid = 77;
	CHECK(store_job_save(st, &s) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_QUEUED);
	CHECK_STR(got.run_id, "later");
	CHECK(got.run_request_time == 150 && got.destruction_time == 999 && got.pgid == 77);
	CHECK(got.nparams == 2);
	uws_job_release(&got);

	/* set_params replaces. */
	uws_job_add_param(&s, "c", "3", true);
	CHECK(store_job_set_params(st, &s) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.nparams == 1);
	if (got.nparams == 1) {
		CHECK_STR(got.params[0].name, "c");
		CHECK(got.params[0].by_ref);
	}
	uws_job_release(&got);

	/* finish: scalars and results together; a second finish replaces. */
	s.phase = UWS_COMPLETED;
	s.end_time = 200;
	uws_job_add_result(&s, "stdout", "stdout.txt", "text/plain", 12);
	uws_job_add_result(&s, "image", "out/a.png", NULL, -1);
	CHECK(store_job_finish(st, &s) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED && got.end_time == 200);
	CHECK(got.nresults == 2);
	if (got.nresults == 2) {
		CHECK_STR(got.results[0].id, "stdout");
		CHECK_STR(got.results[0].path, "stdout.txt");
		CHECK_STR(got.results[0].mime, "text/plain");
		CHECK(got.results[0].size == 12);
		CHECK_STR(got.results[1].id, "image");
		CHECK(got.results[1].mime == NULL);
		CHECK(got.results[1].size == -1);
	}
	CHECK(got.nparams == 1);
	uws_job_release(&got);
	struct uws_job s2;
	uws_job_copy(&s2, &s);
	for (size_t i = 0; i < s2.nresults; i++) {
		free(s2.results[i].id);
		free(s2.results[i].path);
		free(s2.results[i].mime);
	}
	free(s2.results);
	s2.results = NULL;
	s2.nresults = 0;
	uws_job_add_result(&s2, "only", "only.fits", "application/fits", 2880);
	CHECK(store_job_finish(st, &s2) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.nresults == 1);
	if (got.nresults == 1)
		CHECK_STR(got.results[0].id, "only");
	uws_job_release(&got);

	/* delete cascades to params and results. */
	CHECK(store_job_delete(st, j.id) == 0);
	CHECK(store_job_get(st, j.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_delete(st, j.id) == OPUS_ERR_NOTFOUND);
	CHECK(sql_int(path, "SELECT count(*) FROM params WHERE job_id = ?1", j.id) == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM results WHERE job_id = ?1", j.id) == 0);

	uws_job_release(&s);
	uws_job_release(&s2);
	uws_job_release(&j);
	store_close(st);
	free(path);
}

/* Counts a list result, checking creation times are ordered as asked. */
static size_t list_count(struct store *st, const struct store_filter *f)
{
	struct uws_job *jobs = NULL;
	size_t n = 0;
	CHECK(store_job_list(st, f, &jobs, &n) == 0);
	for (size_t i = 1; i < n; i++) {
		if (f->last)
			CHECK(jobs[i - 1].creation_time >= jobs[i].creation_time);
		else
			CHECK(jobs[i - 1].creation_time <= jobs[i].creation_time);
	}
	store_jobs_free(jobs, n);
	return n;
}

TEST(list_filters)
{
	char *path = db_path("list");
	struct store *st = open_store(path);
	static const struct {
		const char *owner;
		enum uws_phase phase;
	} spec[] = {
	    {"alice", UWS_PENDING},  {"alice", UWS_EXECUTING}, {"alice", UWS_COMPLETED},
	    {"alice", UWS_ARCHIVED}, {"bob", UWS_PENDING},     {"bob", UWS_ERROR},
	    {NULL, UWS_PENDING},     {NULL, UWS_COMPLETED},
	};
	struct uws_job j;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(spec); i++) {
		make_job(&j, "lst", spec[i].owner, spec[i].phase, 1000 + (int64_t)i * 10);
		if (i == 2)
			j.run_id = xstrdup("r2");
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
		make_job(&j, "other", spec[i].owner, spec[i].phase, 1000 + (int64_t)i * 10);
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
	}

	struct store_filter f = {.jobdef = "lst"};
	CHECK(list_count(st, &f) == 7); /* admin view, ARCHIVED excluded */
	f.phases = 1u << UWS_ARCHIVED;
	CHECK(list_count(st, &f) == 1);
	f.phases = (1u << UWS_PENDING) | (1u << UWS_COMPLETED);
	CHECK(list_count(st, &f) == 5);
	f.owner = "alice";
	CHECK(list_count(st, &f) == 2);
	f.phases = 0;
	CHECK(list_count(st, &f) == 3);
	f.owner = "nobody";
	CHECK(list_count(st, &f) == 0);
	f.owner = NULL;
	f.owner_is_null = true;
	CHECK(list_count(st, &f) == 2);
	f.owner_is_null = false;
	f.owner = ""; /* anonymous too */
	CHECK(list_count(st, &f) == 2);
	f.owner = NULL;
	f.after = 1020; /* strictly after the third job */
	CHECK(list_count(st, &f) == 4);
	f.after = 0;

	/* LAST: the newest, newest first. */
	struct uws_job *jobs = NULL;
	size_t n = 0;
	f.last = 3;
	CHECK(store_job_list(st, &f, &jobs, &n) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK(jobs[0].creation_time == 1070);
		CHECK(jobs[1].creation_time == 1060);
		CHECK(jobs[2].creation_time == 1050);
		CHECK(jobs[0].owner == NULL);
		CHECK_STR(jobs[2].owner, "bob");
		CHECK(jobs[2].phase == UWS_ERROR);
		CHECK_STR(jobs[0].jobdef, "lst");
		CHECK(jobs[0].nparams == 0);
	}
	store_jobs_free(jobs, n);
	f.last = 1;
	f.owner = "alice";
	CHECK(store_job_list(st, &f, &jobs, &n) == 0);
	CHECK(n == 1);
	if (n == 1) {
		CHECK(jobs[0].creation_time == 1020);
		CHECK_STR(jobs[0].run_id, "r2");
	}
	store_jobs_free(jobs, n);
	f.last = -1;
	CHECK(store_job_list(st, &f, &jobs, &n) == OPUS_ERR_INVAL);

	/* Query plans: the indexes serve both the filter and the order. */
	struct sbuf plan = SBUF_INIT;
	struct store_filter pf = {.jobdef = "lst", .owner = "alice", .phases = 7, .last = 100};
	CHECK(store_sqlite_list_plan(st, &pf, &plan) == 0);
	printf("plan (owner, LAST): %s", sbuf_str(&plan));
	CHECK(strstr(sbuf_str(&plan), "jobs_jobdef_owner_ctime") != NULL);
	CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE") == NULL);
	sbuf_reset(&plan);
	pf.owner = NULL;
	pf.owner_is_null = true;
	pf.last = 0;
	pf.after = 5;
	CHECK(store_sqlite_list_plan(st, &pf, &plan) == 0);
	printf("plan (anonymous, AFTER): %s", sbuf_str(&plan));
	CHECK(strstr(sbuf_str(&plan), "jobs_jobdef_owner_ctime") != NULL);
	CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE") == NULL);
	sbuf_reset(&plan);
	pf.owner_is_null = false;
	CHECK(store_sqlite_list_plan(st, &pf, &plan) == 0);
	printf("plan (admin): %s", sbuf_str(&plan));
	CHECK(strstr(sbuf_str(&plan), "jobs_jobdef_ctime") != NULL);
	CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE") == NULL);
	sbuf_release(&plan);

	store_close(st);
	free(path);
}

struct worker {
	struct store *st;
	const char *jobdef;
	int n;
	int failures;
};

static void *create_worker(void *arg)
{
	struct worker *w = arg;
	struct uws_job j, got = {0};
	for (int i = 0; i < w->n; i++) {
		make_job(&j, w->jobdef, (i & 1) ? "alice" : NULL, UWS_PENDING, time_now_ms());
		uws_job_add_param(&j, "i", "42", false);
		if (store_job_create(w->st, &j) != 0)
			w->failures++;
		/* The last one is read back: the thread gets a read connection,
		 * which its exit must close. */
		if (i == w->n - 1 && store_job_get(w->st, j.id, &got) != 0)
			w->failures++;
		uws_job_release(&j);
	}
	uws_job_release(&got);
	return NULL;
}

/* Runs nthreads × per creates; returns the elapsed milliseconds. */
static int64_t run_workers(struct store *st, const char *jobdef, int nthreads, int per)
{
	pthread_t tid[16];
	struct worker w[16];
	int64_t t0 = time_mono_ms();
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.st = st, .jobdef = jobdef, .n = per};
		CHECK(pthread_create(&tid[i], NULL, create_worker, &w[i]) == 0);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		CHECK(w[i].failures == 0);
	}
	return time_mono_ms() - t0;
}

TEST(group_commit_and_reopen)
{
	char *path = db_path("concurrent");
	struct store *st = open_store(path);
	struct store_filter f = {.jobdef = "conc"};
	uint64_t c0 = store_sqlite_commit_count(st);
	run_workers(st, "conc", 8, 500);
	uint64_t commits = store_sqlite_commit_count(st) - c0;
	printf("group commit: 4000 creates in %llu commits\n", (unsigned long long)commits);
	CHECK(commits > 0 && commits < 4000 / 2);
	CHECK(list_count(st, &f) == 4000);
	f.owner = "alice";
	CHECK(list_count(st, &f) == 2000);
	CHECK(store_account_put(st, "alice", "ab", false) == 0);
	store_close(st);

	/* Reopen: everything is there, and migrating again changes nothing. */
	for (int round = 0; round < 2; round++) {
		st = open_store(path);
		f.owner = NULL;
		CHECK(list_count(st, &f) == 4000);
		store_close(st);
	}
	CHECK(sql_int(path, "PRAGMA user_version", NULL) == store_sqlite_schema_version());
	CHECK(store_sqlite_schema_version() >= 1);
	CHECK(sql_int(path, "SELECT count(*) FROM params", NULL) == 4000);
	free(path);
}

TEST(expiry_and_phase_order)
{
	char *path = db_path("expiry");
	struct store *st = open_store(path);
	struct uws_job j;
	char ids[4][UWS_ID_LEN + 1];
	int64_t next = -1;
	char **out = NULL;
	size_t n = 0;

	CHECK(store_next_destruction(st, &next) == 0);
	CHECK(next == 0);
	/* destruction 0 (never), 5000, 3000, 9000; run_request_time reversed. */
	static const int64_t destr[4] = {0, 5000, 3000, 9000};
	for (int i = 0; i < 4; i++) {
		make_job(&j, "x", NULL, UWS_QUEUED, 100 + i);
		j.destruction_time = destr[i];
		j.run_request_time = 1000 - i;
		memcpy(ids[i], j.id, sizeof(ids[i]));
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
	}
	CHECK(store_next_destruction(st, &next) == 0);
	CHECK(next == 3000);
	CHECK(store_job_ids_expired(st, 2999, 10, &out, &n) == 0);
	CHECK(n == 0);
	store_ids_free(out, n);
	CHECK(store_job_ids_expired(st, 6000, 10, &out, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(out[0], ids[2]);
		CHECK_STR(out[1], ids[1]);
	}
	store_ids_free(out, n);
	CHECK(store_job_ids_expired(st, 100000, 1, &out, &n) == 0);
	CHECK(n == 1);
	store_ids_free(out, n);

	CHECK(store_job_ids_in_phase(st, UWS_QUEUED, &out, &n) == 0);
	CHECK(n == 4);
	if (n == 4) {
		for (int i = 0; i < 4; i++)
			CHECK_STR(out[i], ids[3 - i]);
	}
	store_ids_free(out, n);
	CHECK(store_job_ids_in_phase(st, UWS_EXECUTING, &out, &n) == 0);
	CHECK(n == 0);
	store_ids_free(out, n);

	CHECK(store_job_delete(st, ids[2]) == 0);
	CHECK(store_next_destruction(st, &next) == 0);
	CHECK(next == 5000);
	store_close(st);
	free(path);
}

TEST(accounts)
{
	char *path = db_path("accounts");
	struct store *st = open_store(path);
	char hash[65];
	bool admin = true;
	const char *h1 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	const char *h2 = "0000000000000000000000000000000000000000000000000000000000000001";
	CHECK(store_account_get(st, "dave", hash, &admin) == OPUS_ERR_NOTFOUND);
	CHECK(store_account_put(st, "dave", h1, false) == 0);
	CHECK(store_account_get(st, "dave", hash, &admin) == 0);
	CHECK_STR(hash, h1);
	CHECK(!admin);
	CHECK(store_account_put(st, "dave", h2, true) == 0);
	CHECK(store_account_get(st, "dave", hash, &admin) == 0);
	CHECK_STR(hash, h2);
	CHECK(admin);
	CHECK(store_account_put(st, "", h2, true) == OPUS_ERR_INVAL);
	store_close(st);
	free(path);
}

/* The database file is in WAL mode (readers never wait for the writer). */
TEST(wal_mode)
{
	char *path = db_path("wal");
	struct store *st = open_store(path);
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(stmt) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_close(st);
	free(path);
}

TEST(open_errors)
{
	struct store_config cfg = {.backend = "oracle", .path = "/nonexistent/x.db"};
	struct store *st = (struct store *)&cfg;
	CHECK(store_open(&cfg, &st) == OPUS_ERR_INVAL);
	CHECK(st == NULL);
	cfg.backend = "sqlite";
	CHECK(store_open(&cfg, &st) == OPUS_ERR_IO);
	CHECK(st == NULL);
	store_close(NULL);
}

/* Not an assertion: prints throughput so regressions are visible. */
TEST(performance)
{
	char *path = db_path("perf");
	struct store *st = open_store(path);
	struct store_filter f = {.jobdef = "perf", .last = 100};
	struct uws_job *jobs = NULL;
	size_t n = 0;
	uint64_t c0 = store_sqlite_commit_count(st);
	int64_t ms = run_workers(st, "perf", 16, 1250);
	uint64_t commits = store_sqlite_commit_count(st) - c0;
	int64_t t0 = time_mono_ms();
	CHECK(store_job_list(st, &f, &jobs, &n) == 0);
	int64_t list_ms = time_mono_ms() - t0;
	CHECK(n == 100);
	store_jobs_free(jobs, n);
	f.last = 0;
	CHECK(list_count(st, &f) == 20000);
	printf("perf: 20000 creates from 16 threads in %lld ms (%llu commits, %.0f/s); "
	       "LAST=100 list in %lld ms\n",
	       (long long)ms, (unsigned long long)commits, ms ? 20000.0 * 1000 / (double)ms : 0.0,
	       (long long)list_ms);
	store_close(st);
	free(path);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-test-store-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	memcpy(test_dir, tmpl, sizeof(tmpl));
	log_set_level(LOG_WARN);
	RUN(round_trip_every_field);
	RUN(errors_exists_notfound);
	RUN(save_params_finish_delete);
	RUN(list_filters);
	RUN(group_commit_and_reopen);
	RUN(expiry_and_phase_order);
	RUN(accounts);
	RUN(wal_mode);
	RUN(open_errors);
	RUN(performance);
	if (rm_rf(test_dir) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
	return CHECK_DONE();
}
