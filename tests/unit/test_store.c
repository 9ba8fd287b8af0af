/*
 * Unit tests for src/store (SQLite backend): round trips of every field,
 * error codes, list filters and their query plans, group commit under
 * concurrency, durability across reopen, expiry, accounts (the rest of
 * issue 13 is in test_store_accounts.c); provenance (recognition, usages,
 * job ends, retirement, lineage, the migrations from v1); and printed (not
 * asserted) performance figures.
 */
#include "check.h"
#include "store/store-int.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	snprintf(j.exec_handle, sizeof(j.exec_handle), "12345");
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
	CHECK_STR(got.exec_handle, "12345");
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
	CHECK(store_job_save(st, &ghost, UWS_PENDING) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_set_params(st, &ghost) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_finish(st, &ghost, UWS_PENDING) == OPUS_ERR_NOTFOUND);
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
	snprintf(s.exec_handle, sizeof(s.exec_handle), "slurm:c:77");
	CHECK(store_job_save(st, &s, UWS_PENDING) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_QUEUED);
	CHECK_STR(got.run_id, "later");
	CHECK(got.run_request_time == 150 && got.destruction_time == 999);
	CHECK_STR(got.exec_handle, "slurm:c:77");
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
	CHECK(store_job_finish(st, &s, UWS_QUEUED) == 0);
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
	CHECK(store_job_finish(st, &s2, UWS_COMPLETED) == 0);
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
		if (f->last || f->before || f->since)
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
	/* newest first, ties by id: only the ties of one millisecond are sorted */
	CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE FOR ORDER BY") == NULL);
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

/* Reads every job of `f` page by page with BEFORE positions, then back up
 * with SINCE; returns how many pages down were read. ids[] gets the ids in
 * the order seen going down. */
static int page_through(struct store *st, struct store_filter f, char ids[][UWS_ID_LEN + 1],
			size_t max, size_t *n_out)
{
	struct uws_job *jobs = NULL;
	size_t n = 0, total = 0;
	char pos_id[UWS_ID_LEN + 1];
	int pages = 0;
	for (;;) {
		CHECK(store_job_list(st, &f, &jobs, &n) == 0);
		for (size_t i = 0; i < n && total < max; i++)
			memcpy(ids[total++], jobs[i].id, UWS_ID_LEN + 1);
		if (n == 0) {
			store_jobs_free(jobs, n);
			break;
		}
		pages++;
		f.before = jobs[n - 1].creation_time;
		memcpy(pos_id, jobs[n - 1].id, sizeof(pos_id));
		f.before_id = pos_id;
		store_jobs_free(jobs, n);
	}
	*n_out = total;
	return pages;
}

/* Keyset paging (BEFORE / SINCE): with many jobs created in the same
 * millisecond no job is lost or repeated, going down or back up; the query
 * stays on the index at any depth. */
TEST(list_paging)
{
	char *path = db_path("paging");
	struct store *st = open_store(path);
	enum { N = 53 };
	static char want[N][UWS_ID_LEN + 1], got[N + 5][UWS_ID_LEN + 1];
	struct uws_job j;
	for (int i = 0; i < N; i++) {
		/* 5 distinct times: runs of 10 or 11 jobs created "at once" */
		make_job(&j, "pg", (i % 3) ? "alice" : NULL, (i % 4) ? UWS_PENDING : UWS_COMPLETED,
			 5000 + (int64_t)(i / 11));
		memcpy(want[i], j.id, sizeof(want[i]));
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
	}
	struct store_filter f = {.jobdef = "pg", .last = 4};
	size_t n = 0;
	CHECK(page_through(st, f, got, N + 5, &n) == (N + 3) / 4);
	CHECK(n == N);
	for (size_t a = 0; a < n; a++) {
		int seen = 0;
		for (size_t k = 0; k < N; k++)
			seen += strcmp(got[a], want[k]) == 0;
		CHECK(seen == 1);
		for (size_t k = 0; k < a; k++)
			CHECK(strcmp(got[a], got[k]) != 0);
	}
	/* with an owner and a phase, the pages are those of the filtered list */
	f.owner = "alice";
	f.phases = 1u << UWS_PENDING;
	struct store_filter all = f;
	all.last = 0;
	CHECK(page_through(st, f, got, N + 5, &n) >= 1);
	CHECK(n == list_count(st, &all));

	/* back up with SINCE from the oldest: the nearest page, newest first */
	struct uws_job *jobs = NULL, *up = NULL;
	size_t nj = 0, nu = 0;
	struct store_filter d = {.jobdef = "pg", .last = 0, .before = 1 << 30};
	CHECK(store_job_list(st, &d, &jobs, &nj) == 0); /* all, newest first */
	CHECK(nj == N);
	if (nj == N) {
		struct store_filter u = {.jobdef = "pg", .last = 7};
		u.since = jobs[30].creation_time;
		u.since_id = jobs[30].id;
		CHECK(store_job_list(st, &u, &up, &nu) == 0);
		CHECK(nu == 7);
		for (size_t i = 0; i < nu && i < 7; i++)
			CHECK_STR(up[i].id, jobs[23 + i].id);
		store_jobs_free(up, nu);
		/* time alone is a strict bound */
		u = (struct store_filter){.jobdef = "pg", .before = 5001};
		CHECK(list_count(st, &u) == 11);
		u = (struct store_filter){.jobdef = "pg", .since = 5003};
		CHECK(list_count(st, &u) == N - 44);
	}
	store_jobs_free(jobs, nj);
	/* a malformed position id is refused */
	d = (struct store_filter){.jobdef = "pg", .before = 5000, .before_id = "nothex"};
	CHECK(store_job_list(st, &d, &jobs, &nj) == OPUS_ERR_INVAL);
	d = (struct store_filter){.jobdef = "pg", .since_id = want[0]};
	CHECK(store_job_list(st, &d, &jobs, &nj) == OPUS_ERR_INVAL);

	/* the plans: a range of the (jobdef[, owner], creation_time) index, no
	 * full scan, no sort of the whole list */
	struct sbuf plan = SBUF_INIT;
	struct store_filter pf = {.jobdef = "pg", .last = 20, .before = 5002, .before_id = want[3]};
	const char *names[] = {"admin, BEFORE", "owner, BEFORE", "anonymous, SINCE"};
	for (int k = 0; k < 3; k++) {
		if (k == 1)
			pf.owner = "alice";
		if (k == 2) {
			pf = (struct store_filter){.jobdef = "pg",
						   .owner_is_null = true,
						   .last = 20,
						   .since = 5002,
						   .since_id = want[3],
						   .phases = 3};
		}
		sbuf_reset(&plan);
		CHECK(store_sqlite_list_plan(st, &pf, &plan) == 0);
		printf("plan (%s): %s", names[k], sbuf_str(&plan));
		CHECK(strstr(sbuf_str(&plan),
			     k ? "jobs_jobdef_owner_ctime" : "jobs_jobdef_ctime") != NULL);
		CHECK(strstr(sbuf_str(&plan), "creation_time<") != NULL ||
		      strstr(sbuf_str(&plan), "creation_time>") != NULL);
		CHECK(strstr(sbuf_str(&plan), "SCAN") == NULL);
		CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE FOR ORDER BY") == NULL);
	}
	sbuf_release(&plan);
	store_close(st);
	free(path);
}

/* Has the plan of this filter's list statement the index, a range on
 * creation_time, and neither a full scan nor a sort of the whole list? */
static void check_list_plan(struct store *st, const struct store_filter *f, const char *index)
{
	struct sbuf plan = SBUF_INIT;
	CHECK(store_sqlite_list_plan(st, f, &plan) == 0);
	printf("plan (%s): %s", index, sbuf_str(&plan));
	CHECK(strstr(sbuf_str(&plan), index) != NULL);
	CHECK(strstr(sbuf_str(&plan), "creation_time<") != NULL ||
	      strstr(sbuf_str(&plan), "creation_time>") != NULL);
	CHECK(strstr(sbuf_str(&plan), "SCAN jobs") == NULL);
	CHECK(strstr(sbuf_str(&plan), "TEMP B-TREE") == NULL);
	sbuf_release(&plan);
}

/* A list across every description (jobdef NULL): the same paging as one
 * description's list, the jobs of every description merged newest first,
 * `jobdefs` keeping only the ones named; each order on its own index. */
TEST(list_across_descriptions)
{
	char *path = db_path("across");
	struct store *st = open_store(path);
	static const char *const defs[] = {"da", "db", "dc"};
	enum { N = 41 };
	static char got[N + 5][UWS_ID_LEN + 1];
	struct uws_job j, *jobs = NULL;
	size_t n = 0, nj = 0;
	for (int i = 0; i < N; i++) {
		make_job(&j, defs[i % 3], (i % 2) ? "alice" : "bob", UWS_PENDING,
			 7000 + (int64_t)(i / 4)); /* ties: 4 jobs per millisecond */
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
	}
	struct store_filter f = {.last = 5};
	CHECK(page_through(st, f, got, N + 5, &n) == (N + 4) / 5);
	CHECK(n == N);
	for (size_t a = 0; a < n; a++)
		for (size_t k = 0; k < a; k++)
			CHECK(strcmp(got[a], got[k]) != 0);
	CHECK(store_job_list(st, &f, &jobs, &nj) == 0);
	CHECK(nj == 5);
	for (size_t i = 1; i < nj; i++)
		CHECK(jobs[i - 1].creation_time > jobs[i].creation_time ||
		      (jobs[i - 1].creation_time == jobs[i].creation_time &&
		       strcmp(jobs[i - 1].id, jobs[i].id) > 0));
	store_jobs_free(jobs, nj);
	/* every description, oldest first without paging */
	struct store_filter all = {0};
	CHECK(list_count(st, &all) == N);
	/* an owner: her jobs of every description */
	all.owner = "alice";
	CHECK(list_count(st, &all) == N / 2);
	f.owner = "alice";
	CHECK(page_through(st, f, got, N + 5, &n) >= 1);
	CHECK(n == N / 2);
	/* only the descriptions named; none named: nothing */
	static const char *const two[] = {"da", "dc"};
	struct store_filter some = {.jobdefs = two, .njobdefs = 2};
	size_t want = 0;
	for (int i = 0; i < N; i++)
		want += i % 3 != 1;
	CHECK(list_count(st, &some) == want);
	some.njobdefs = 0;
	CHECK(list_count(st, &some) == 0);
	/* SINCE upwards: the page just newer, newest first */
	struct store_filter d = {.before = 1 << 30};
	CHECK(store_job_list(st, &d, &jobs, &nj) == 0);
	CHECK(nj == N);
	if (nj == N) {
		struct uws_job *up = NULL;
		size_t nu = 0;
		struct store_filter u = {
		    .last = 6, .since = jobs[20].creation_time, .since_id = jobs[20].id};
		CHECK(store_job_list(st, &u, &up, &nu) == 0);
		CHECK(nu == 6);
		for (size_t i = 0; i < nu && i < 6; i++)
			CHECK_STR(up[i].id, jobs[14 + i].id);
		store_jobs_free(up, nu);
	}
	store_jobs_free(jobs, nj);
	/* a name that is not a description name is refused */
	static const char *const bad[] = {"da", "x\"y"};
	struct store_filter b = {.jobdefs = bad, .njobdefs = 2};
	CHECK(store_job_list(st, &b, &jobs, &nj) == OPUS_ERR_INVAL);

	/* the plans, at any depth: the owner's or everyone's time index */
	struct store_filter pf = {.last = 20, .before = 7005, .before_id = got[3]};
	check_list_plan(st, &pf, "jobs_ctime");
	pf.jobdefs = two;
	pf.njobdefs = 2;
	check_list_plan(st, &pf, "jobs_ctime");
	pf.owner = "alice";
	check_list_plan(st, &pf, "jobs_owner_ctime");
	pf = (struct store_filter){
	    .owner_is_null = true, .last = 20, .since = 7002, .since_id = got[3], .phases = 3};
	check_list_plan(st, &pf, "jobs_owner_ctime");
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
	struct store_account acct = {.name = "alice", .active = true, .roles = "user"};
	memset(acct.token_hash, 'a', 64);
	CHECK(store_account_create(st, &acct, NULL) == 0);
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
	struct store_account a = {.name = "dave", .active = true, .roles = "user"};
	struct store_account got = {0};
	struct store_actor by = {.name = "root", .address = "127.0.0.1"};
	const char *h1 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	const char *h2 = "0000000000000000000000000000000000000000000000000000000000000001";
	CHECK(store_account_get(st, "dave", &got) == OPUS_ERR_NOTFOUND);
	memcpy(a.token_hash, h1, 65);
	a.quota = (struct store_quota){-1, -1, -1};
	CHECK(store_account_create(st, &a, &by) == 0);
	CHECK(store_account_create(st, &a, &by) == OPUS_ERR_EXISTS);
	CHECK(store_account_get(st, "dave", &got) == 0);
	CHECK_STR(got.token_hash, h1);
	CHECK_STR(got.roles, "user");
	CHECK(got.active && got.created > 0 && got.modified >= got.created);
	store_account_release(&got);
	memcpy(a.token_hash, h2, 65);
	a.roles = "admin";
	CHECK(store_account_update(st, &a, "token", NULL, &by) == 0);
	CHECK(store_account_by_token(st, h2, &got) == 0);
	CHECK_STR(got.name, "dave");
	CHECK_STR(got.roles, "admin");
	store_account_release(&got);
	CHECK(store_account_by_token(st, h1, &got) == OPUS_ERR_NOTFOUND);
	memset(a.name, 0, sizeof(a.name));
	CHECK(store_account_create(st, &a, &by) == OPUS_ERR_INVAL);
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

/* ---- provenance ---- */

/* A sha256 made of one repeated hex digit. */
static void fake_sha(char out[65], char digit)
{
	memset(out, digit, 64);
	out[64] = '\0';
}

/* An input entity (no id: the store gives it one). */
static void make_input(struct store_entity *e, const char *owner, char digit)
{
	memset(e, 0, sizeof(*e));
	fake_sha(e->sha256, digit);
	e->size = 100;
	e->content_type = xstrdup("text/plain");
	e->file_name = xstrdup("in.txt");
	e->source = xstrdup("upload:in.txt");
	e->owner = xstrdup(owner);
	e->creation_time = time_now_ms();
}

/* Registers an input of `owner` with bytes `digit` for job_id; returns recognised. */
static bool use_input(struct store *st, const char *job_id, const char *owner, char digit,
		      const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1])
{
	struct store_entity e;
	bool recognised = true;
	make_input(&e, owner, digit);
	CHECK(store_input_use(st, &e, job_id, role, k, id_out, &recognised) == 0);
	CHECK(store_entity_id_is_valid(id_out));
	store_entity_release(&e);
	return recognised;
}

/* Creates a job row (PENDING). */
static void create_job(struct store *st, struct uws_job *j, const char *owner)
{
	make_job(j, "prov", owner, UWS_PENDING, time_now_ms());
	CHECK(store_job_create(st, j) == 0);
}

/*
 * Ends a job COMPLETED with one result generated with bytes `digit` (its
 * entity id into gen_out, unless digit is 0: no result), a parameter given
 * and a default one, and metrics.
 */
static int end_job(struct store *st, struct uws_job *j, char digit,
		   char gen_out[STORE_ENTITY_ID_LEN + 1])
{
	struct store_activity a = {0};
	struct store_param_rec params[2] = {{"x", "1", false}, {"y", "default-y", true}};
	struct store_entity g = {0};
	int ret;
	j->phase = UWS_COMPLETED;
	j->start_time = j->creation_time + 10;
	j->end_time = j->creation_time + 20;
	j->metrics = (struct uws_metrics){true, 10, 7, 2048, 0};
	if (digit) {
		store_entity_id_new(g.id);
		fake_sha(g.sha256, digit);
		g.size = 5;
		g.file_name = "out.txt";
		g.role = "out";
		g.result_id = "out";
		g.owner = j->owner;
		g.creation_time = j->end_time;
		uws_job_add_result(j, "out", "out.txt", "text/plain", 5);
		j->results[j->nresults - 1].entity_id = xstrdup(g.id);
		j->results[j->nresults - 1].sha256 = xstrdup(g.sha256);
		if (gen_out)
			memcpy(gen_out, g.id, sizeof(g.id));
	}
	a.jobdef = j->jobdef;
	a.jdl_hash = "abcd";
	a.owner = j->owner;
	a.creation_time = j->creation_time;
	a.start_time = j->start_time;
	a.end_time = j->end_time;
	a.metrics = j->metrics;
	a.params = params;
	a.nparams = 2;
	ret = store_job_end(st, j, &a, &g, digit ? 1 : 0, UWS_PENDING);
	return ret;
}

TEST(entity_ids)
{
	char a[STORE_ENTITY_ID_LEN + 1], b[STORE_ENTITY_ID_LEN + 1];
	char job[UWS_ID_LEN + 1];
	store_entity_id_new(a);
	store_entity_id_new(b);
	CHECK(store_entity_id_is_valid(a));
	CHECK(strlen(a) == STORE_ENTITY_ID_LEN && a[0] == 'e');
	CHECK(strcmp(a, b) != 0);
	uws_id_new(job);
	CHECK(!store_entity_id_is_valid(job)); /* the forms never collide */
	CHECK(!uws_id_is_valid(a));
	CHECK(!store_entity_id_is_valid(NULL));
	CHECK(!store_entity_id_is_valid(""));
	CHECK(!store_entity_id_is_valid("e0123"));
	CHECK(!store_entity_id_is_valid("E0123456789abcdef0123456789abcdef"));
	CHECK(!store_entity_id_is_valid("e0123456789ABCDEF0123456789abcdef"));
	CHECK(!store_entity_id_is_valid("e0123456789abcdef0123456789abcdef0"));
	CHECK(store_entity_id_is_valid("e0123456789abcdef0123456789abcdef"));
	store_entity_release(NULL);
	store_activity_release(NULL);
	store_lineage_release(NULL);
}

/* Recognition: the same owner's live entity with the same bytes; never another owner's;
 * anonymous (NULL or "") is an owner of its own. */
TEST(input_recognition)
{
	char *path = db_path("recognition");
	struct store *st = open_store(path);
	char j1[UWS_ID_LEN + 1], j2[UWS_ID_LEN + 1], j3[UWS_ID_LEN + 1], j4[UWS_ID_LEN + 1];
	char a1[STORE_ENTITY_ID_LEN + 1], a2[STORE_ENTITY_ID_LEN + 1], b1[STORE_ENTITY_ID_LEN + 1];
	char n1[STORE_ENTITY_ID_LEN + 1], n2[STORE_ENTITY_ID_LEN + 1];
	char sha[65];
	struct store_entity got = {0}, e;
	bool rec = true;
	uws_id_new(j1);
	uws_id_new(j2);
	uws_id_new(j3);
	uws_id_new(j4);
	fake_sha(sha, 'a');

	CHECK(!use_input(st, j1, "alice", 'a', "in", 0, a1));
	CHECK(use_input(st, j2, "alice", 'a', "in", 0, a2));
	CHECK_STR(a2, a1);
	CHECK(!use_input(st, j3, "bob", 'a', "in", 0, b1)); /* never across owners */
	CHECK(strcmp(b1, a1) != 0);
	CHECK(!use_input(st, j4, NULL, 'a', "in", 0, n1)); /* anonymous is not alice */
	CHECK(strcmp(n1, a1) != 0 && strcmp(n1, b1) != 0);
	CHECK(use_input(st, j4, "", 'a', "in", 1, n2)); /* "" is anonymous */
	CHECK_STR(n2, n1);
	CHECK(sql_int(path, "SELECT count(*) FROM entities", NULL) == 3);
	CHECK(sql_int(path, "SELECT count(*) FROM usages", NULL) == 5);

	/* find: the owner's entity, or nothing. */
	CHECK(store_entity_find(st, "alice", sha, &got) == 0);
	CHECK_STR(got.id, a1);
	CHECK_STR(got.owner, "alice");
	store_entity_release(&got);
	CHECK(store_entity_find(st, NULL, sha, &got) == 0);
	CHECK_STR(got.id, n1);
	CHECK(got.owner == NULL);
	store_entity_release(&got);
	CHECK(store_entity_find(st, "carol", sha, &got) == OPUS_ERR_NOTFOUND);
	CHECK(got.owner == NULL && got.id[0] == '\0');
	fake_sha(sha, 'b');
	CHECK(store_entity_find(st, "alice", sha, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_find(st, "alice", "not-a-sha", &got) == OPUS_ERR_NOTFOUND);

	/* get: every field as stored. */
	CHECK(store_entity_get(st, a1, &got) == 0);
	CHECK_STR(got.id, a1);
	fake_sha(sha, 'a');
	CHECK_STR(got.sha256, sha);
	CHECK(got.size == 100);
	CHECK_STR(got.content_type, "text/plain");
	CHECK_STR(got.file_name, "in.txt");
	CHECK_STR(got.source, "upload:in.txt");
	CHECK(got.generated_by == NULL && got.role == NULL && got.result_id == NULL);
	CHECK(got.creation_time > 0 && got.invalidation_time == 0 && got.invalidated_by == NULL);
	store_entity_release(&got);
	CHECK(store_entity_get(st, "e00000000000000000000000000000000", &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_get(st, "../etc", &got) == OPUS_ERR_NOTFOUND);

	/* An id given by the caller is kept; a bad one is refused. */
	make_input(&e, "dave", 'c');
	store_entity_id_new(e.id);
	CHECK(store_input_use(st, &e, j1, "other", 0, a2, &rec) == 0);
	CHECK(!rec);
	CHECK_STR(a2, e.id);
	memcpy(e.id, "x", 2);
	CHECK(store_input_use(st, &e, j1, "other", 0, a2, &rec) == OPUS_ERR_INVAL);
	e.id[0] = '\0';
	CHECK(store_input_use(st, &e, "nojob", "other", 0, a2, &rec) == OPUS_ERR_INVAL);
	CHECK(store_input_use(st, &e, j1, "", 0, a2, &rec) == OPUS_ERR_INVAL);
	CHECK(store_input_use(st, &e, j1, "other", -1, a2, &rec) == OPUS_ERR_INVAL);
	memcpy(e.sha256, "AB", 3);
	CHECK(store_input_use(st, &e, j1, "other", 0, a2, &rec) == OPUS_ERR_INVAL);
	store_entity_release(&e);
	store_close(st);
	free(path);
}

/* A usage (job, role, k) is replaced; what nothing holds any more is invalidated. */
TEST(usages_replace_and_clear)
{
	char *path = db_path("usages");
	struct store *st = open_store(path);
	char j1[UWS_ID_LEN + 1], j2[UWS_ID_LEN + 1];
	char x[STORE_ENTITY_ID_LEN + 1], y[STORE_ENTITY_ID_LEN + 1], z[STORE_ENTITY_ID_LEN + 1];
	struct store_entity got = {0};
	uws_id_new(j1);
	uws_id_new(j2);

	CHECK(!use_input(st, j1, "alice", '1', "in", 0, x));
	CHECK(!use_input(st, j1, "alice", '2', "in", 0, y)); /* replaces x as (in, 0) */
	CHECK(sql_int(path, "SELECT count(*) FROM usages", NULL) == 1);
	CHECK(store_entity_get(st, x, &got) == 0);
	CHECK(got.invalidation_time > 0);
	CHECK_STR(got.invalidated_by, j1);
	store_entity_release(&got);
	CHECK(store_entity_get(st, y, &got) == 0);
	CHECK(got.invalidation_time == 0);
	store_entity_release(&got);
	/* x is no longer live: its bytes are not recognised. */
	CHECK(!use_input(st, j2, "alice", '1', "in", 0, z));
	CHECK(strcmp(z, x) != 0);

	/* usage_put: an existing entity only; it replaces too. */
	CHECK(store_usage_put(st, j2, "in", 1, y) == 0); /* j2 holds y as well */
	CHECK(store_usage_put(st, j2, "in", 2, "e11111111111111111111111111111111") ==
	      OPUS_ERR_NOTFOUND);
	CHECK(store_usage_put(st, j2, "in", 2, "bad") == OPUS_ERR_NOTFOUND);
	CHECK(store_usage_put(st, j2, "in", 2, NULL) == OPUS_ERR_INVAL);
	CHECK(store_usage_put(st, "bad", "in", 2, y) == OPUS_ERR_INVAL);
	CHECK(sql_int(path, "SELECT count(*) FROM usages WHERE job_id = ?1", j2) == 2);

	/* clear: j1's role goes; y is still j2's, so it stays live. */
	CHECK(store_usages_clear(st, j1, "in") == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM usages WHERE job_id = ?1", j1) == 0);
	CHECK(store_entity_get(st, y, &got) == 0);
	CHECK(got.invalidation_time == 0);
	store_entity_release(&got);
	/* clearing j2's role leaves y and z held by nobody: both invalidated by j2. */
	CHECK(store_usages_clear(st, j2, "other") == 0); /* nothing to clear */
	CHECK(store_usages_clear(st, j2, "in") == 0);
	CHECK(store_entity_get(st, y, &got) == 0);
	CHECK(got.invalidation_time > 0);
	CHECK_STR(got.invalidated_by, j2);
	store_entity_release(&got);
	CHECK(sql_int(path, "SELECT count(*) FROM entities WHERE invalidation_time = 0", NULL) ==
	      0);
	CHECK(store_usages_clear(st, "bad", "in") == OPUS_ERR_INVAL);
	store_close(st);
	free(path);
}

/* store_job_end: one commit with the scalars, metrics, results, activity, entities. */
TEST(job_end_records_everything)
{
	char *path = db_path("jobend");
	struct store *st = open_store(path);
	struct uws_job j, got = {0}, ghost, bad;
	struct store_activity act = {0};
	struct store_entity ent = {0};
	char gen[STORE_ENTITY_ID_LEN + 1], used[STORE_ENTITY_ID_LEN + 1];
	uint64_t c0;

	create_job(st, &j, "alice");
	j.error_summary = NULL;
	CHECK(!use_input(st, j.id, "alice", '1', "in", 0, used));
	c0 = store_sqlite_commit_count(st);
	CHECK(end_job(st, &j, '9', gen) == 0);
	CHECK(store_sqlite_commit_count(st) - c0 == 1);

	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED);
	CHECK(got.metrics.known && got.metrics.wall_ms == 10 && got.metrics.cpu_ms == 7);
	CHECK(got.metrics.max_rss_kb == 2048 && got.metrics.exit_code == 0);
	CHECK(got.nresults == 1);
	if (got.nresults == 1) {
		CHECK_STR(got.results[0].entity_id, gen);
		CHECK_STR(got.results[0].sha256, j.results[0].sha256);
	}
	uws_job_release(&got);

	CHECK(store_activity_get(st, j.id, &act) == 0);
	CHECK_STR(act.id, j.id);
	CHECK_STR(act.jobdef, "prov");
	CHECK_STR(act.jdl_hash, "abcd");
	CHECK_STR(act.owner, "alice");
	CHECK(act.run_id == NULL);
	CHECK(act.phase == UWS_COMPLETED);
	CHECK(act.creation_time == j.creation_time && act.start_time == j.start_time &&
	      act.end_time == j.end_time);
	CHECK(act.metrics.known && act.metrics.cpu_ms == 7 && act.metrics.max_rss_kb == 2048);
	CHECK(act.nparams == 2);
	if (act.nparams == 2) {
		CHECK_STR(act.params[0].name, "x");
		CHECK_STR(act.params[0].value, "1");
		CHECK(!act.params[0].is_default);
		CHECK_STR(act.params[1].name, "y");
		CHECK(act.params[1].is_default);
	}
	store_activity_release(&act);
	CHECK(store_entity_get(st, gen, &ent) == 0);
	CHECK_STR(ent.generated_by, j.id);
	CHECK_STR(ent.role, "out");
	CHECK_STR(ent.result_id, "out");
	CHECK_STR(ent.owner, "alice");
	CHECK(ent.invalidation_time == 0);
	store_entity_release(&ent);
	memcpy(ent.id, gen, sizeof(gen));
	CHECK(store_entity_get(st, ent.id, &ent) == 0); /* the id may be the output's */
	CHECK_STR(ent.id, gen);
	store_entity_release(&ent);

	/* The job row gone: OPUS_ERR_NOTFOUND, and nothing of it is written. */
	make_job(&ghost, "prov", NULL, UWS_PENDING, 1);
	CHECK(end_job(st, &ghost, '8', gen) == OPUS_ERR_NOTFOUND);
	CHECK(store_activity_get(st, ghost.id, &act) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_get(st, gen, &ent) == OPUS_ERR_NOTFOUND);
	CHECK(store_activity_get(st, "nope", &act) == OPUS_ERR_NOTFOUND);

	/* A job that is not final, an activity of another job, an entity
	 * generated by another job: bad input. */
	create_job(st, &bad, NULL);
	act.params = NULL;
	act.nparams = 0;
	CHECK(store_job_end(st, &bad, &act, NULL, 0, UWS_PENDING) == OPUS_ERR_INVAL); /* PENDING */
	bad.phase = UWS_ABORTED;
	CHECK(store_job_end(st, &bad, NULL, NULL, 0, UWS_PENDING) == OPUS_ERR_INVAL);
	memcpy(act.id, j.id, sizeof(act.id));
	CHECK(store_job_end(st, &bad, &act, NULL, 0, UWS_PENDING) == OPUS_ERR_INVAL);
	act.id[0] = '\0';
	store_entity_id_new(ent.id);
	fake_sha(ent.sha256, '7');
	ent.generated_by = j.id;
	CHECK(store_job_end(st, &bad, &act, &ent, 1, UWS_PENDING) == OPUS_ERR_INVAL);
	ent.generated_by = NULL;
	memset(&ent, 0, sizeof(ent));
	/* One transaction: a bad activity (a parameter twice) leaves the job
	 * as it was, with no result, activity or entity. */
	struct store_param_rec twice[2] = {{"p", "1", false}, {"p", "2", false}};
	struct uws_job tx;
	uws_job_copy(&tx, &bad);
	uws_job_add_result(&tx, "r", "r.txt", NULL, 1);
	store_entity_id_new(ent.id);
	fake_sha(ent.sha256, '6');
	act.params = twice;
	act.nparams = 2;
	CHECK(store_job_end(st, &tx, &act, &ent, 1, UWS_PENDING) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, bad.id, &got) == 0);
	CHECK(got.phase == UWS_PENDING && got.nresults == 0);
	uws_job_release(&got);
	CHECK(store_activity_get(st, bad.id, &act) == OPUS_ERR_NOTFOUND);
	memcpy(gen, ent.id, sizeof(gen));
	CHECK(store_entity_get(st, gen, &ent) == OPUS_ERR_NOTFOUND);
	uws_job_release(&tx);
	act.params = NULL;
	act.nparams = 0;
	/* An ABORTED job that never ran: an activity with no entity. */
	CHECK(store_job_end(st, &bad, &act, NULL, 0, UWS_PENDING) == 0);
	CHECK(store_activity_get(st, bad.id, &act) == 0);
	CHECK(act.phase == UWS_ABORTED && act.nparams == 0 && !act.metrics.known);
	CHECK_STR(act.jobdef, "prov"); /* taken from the job */
	store_activity_release(&act);

	uws_job_release(&j);
	uws_job_release(&ghost);
	uws_job_release(&bad);
	store_close(st);
	free(path);
}

/* The stored job is as it was: PENDING, parameter a=1, no result, no activity. */
static void check_untouched(struct store *st, const char *id)
{
	struct uws_job got = {0};
	struct store_activity act;

	CHECK(store_job_get(st, id, &got) == 0);
	CHECK(got.phase == UWS_PENDING && got.run_id == NULL && got.nresults == 0);
	CHECK(got.nparams == 1 && strcmp(got.params[0].value, "1") == 0);
	uws_job_release(&got);
	CHECK(store_activity_get(st, id, &act) == OPUS_ERR_NOTFOUND);
}

/* Each conditional write: a wrong `from` changes nothing (OPUS_ERR_PHASE),
 * the right one lands, a deleted job is OPUS_ERR_NOTFOUND, a bad `from`
 * OPUS_ERR_INVAL. */
TEST(conditional_writes)
{
	char *path = db_path("cond");
	struct store *st = open_store(path);
	struct store_activity act = {.jobdef = NULL};
	struct store_entity ent = {0};
	struct uws_job j, w, got = {0};

	make_job(&j, "c", "dora", UWS_PENDING, 10);
	uws_job_add_param(&j, "a", "1", false);
	CHECK(store_job_create(st, &j) == 0);
	uws_job_copy(&w, &j);
	w.phase = UWS_QUEUED;
	w.run_id = xstrdup("lost");
	free(w.params[0].value);
	w.params[0].value = xstrdup("2");
	uws_job_add_result(&w, "r", "r.txt", NULL, 1);
	CHECK(store_job_save(st, &w, UWS_QUEUED) == OPUS_ERR_PHASE);
	check_untouched(st, j.id);
	CHECK(store_job_update(st, &w, UWS_EXECUTING) == OPUS_ERR_PHASE);
	check_untouched(st, j.id);
	CHECK(store_job_finish(st, &w, UWS_ABORTED) == OPUS_ERR_PHASE);
	check_untouched(st, j.id);
	w.phase = UWS_COMPLETED;
	store_entity_id_new(ent.id);
	fake_sha(ent.sha256, '3');
	CHECK(store_job_end(st, &w, &act, &ent, 1, UWS_EXECUTING) == OPUS_ERR_PHASE);
	check_untouched(st, j.id);
	{
		struct store_entity none;
		CHECK(store_entity_get(st, ent.id, &none) == OPUS_ERR_NOTFOUND);
	}
	CHECK(store_job_save(st, &w, UWS_PHASE_COUNT) == OPUS_ERR_INVAL);
	CHECK(store_job_save(st, &w, (enum uws_phase) - 1) == OPUS_ERR_INVAL);
	CHECK(store_job_end(st, &w, &act, NULL, 0, UWS_PHASE_COUNT) == OPUS_ERR_INVAL);
	check_untouched(st, j.id);

	/* The matching phase: each lands. */
	w.phase = UWS_QUEUED;
	CHECK(store_job_save(st, &w, UWS_PENDING) == 0);
	w.phase = UWS_EXECUTING;
	CHECK(store_job_update(st, &w, UWS_QUEUED) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_EXECUTING && got.nresults == 0);
	CHECK(got.nparams == 1 && strcmp(got.params[0].value, "2") == 0);
	uws_job_release(&got);
	w.phase = UWS_COMPLETED;
	CHECK(store_job_end(st, &w, &act, &ent, 1, UWS_EXECUTING) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED && got.nresults == 1);
	uws_job_release(&got);
	CHECK(store_activity_get(st, j.id, &act) == 0);
	store_activity_release(&act);
	memset(&act, 0, sizeof(act));
	/* An end already recorded: a second one from EXECUTING loses. */
	w.phase = UWS_ERROR;
	CHECK(store_job_finish(st, &w, UWS_EXECUTING) == OPUS_ERR_PHASE);
	CHECK(store_job_end(st, &w, &act, NULL, 0, UWS_EXECUTING) == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED);
	uws_job_release(&got);
	CHECK(store_job_finish(st, &w, UWS_COMPLETED) == 0); /* re-recorded on purpose */

	/* Gone: OPUS_ERR_NOTFOUND, whatever the phase. */
	CHECK(store_job_delete(st, j.id) == 0);
	CHECK(store_job_save(st, &w, UWS_ERROR) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_update(st, &w, UWS_ERROR) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_finish(st, &w, UWS_ERROR) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_end(st, &w, &act, NULL, 0, UWS_ERROR) == OPUS_ERR_NOTFOUND);
	uws_job_release(&w);
	uws_job_release(&j);
	store_close(st);
	free(path);
}

struct race_writer {
	struct store *st;
	struct uws_job job;
	bool end; /* store_job_end, else store_job_update */
	int result;
};

static void *race_writer_main(void *arg)
{
	struct race_writer *w = arg;
	struct store_activity act = {.jobdef = NULL};

	w->result = w->end ? store_job_end(w->st, &w->job, &act, NULL, 0, UWS_PENDING)
			   : store_job_update(w->st, &w->job, UWS_PENDING);
	return NULL;
}

static void *race_blocker_main(void *arg)
{
	struct race_writer *w = arg;

	w->result = store_job_save(w->st, &w->job, UWS_PENDING);
	return NULL;
}

/* Waits (bounded: 3 s, less than the writer's busy timeout) until the store
 * has n writes queued behind a writer running a batch. */
static bool wait_queued(struct store *st, size_t n)
{
	for (int i = 0; i < 3000; i++) {
		bool writing;
		if (store_sqlite_queued(st, &writing) == n && writing)
			return true;
		sched_yield();
		usleep(1000);
	}
	return false;
}

/*
 * Two writers of one job in one batch of the group commit, both having read
 * it PENDING: the first lands, the second loses its race (OPUS_ERR_PHASE)
 * and only its own work is undone. A third job's write, taken first while an
 * outside connection holds the database, keeps the writer busy until both
 * are queued, so that they share the next batch (one commit).
 */
TEST(group_commit_lost_race)
{
	char *path = db_path("race");
	struct store *st = open_store(path);
	struct race_writer blk = {.st = st}, w[2] = {{.st = st}, {.st = st}};
	struct store_activity act;
	struct uws_job j, got = {0};
	pthread_t tb, tw[2];
	sqlite3 *db = NULL;
	uint64_t commits;

	make_job(&j, "race", "eve", UWS_PENDING, 1);
	uws_job_add_param(&j, "a", "1", false);
	CHECK(store_job_create(st, &j) == 0);
	make_job(&blk.job, "race", "eve", UWS_PENDING, 2);
	CHECK(store_job_create(st, &blk.job) == 0);
	blk.job.quote = 7;
	uws_job_copy(&w[0].job, &j);
	w[0].end = true;
	w[0].job.phase = UWS_ABORTED;
	uws_job_copy(&w[1].job, &j);
	w[1].job.phase = UWS_QUEUED;
	free(w[1].job.params[0].value);
	w[1].job.params[0].value = xstrdup("2");

	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	commits = store_sqlite_commit_count(st);
	CHECK(pthread_create(&tb, NULL, race_blocker_main, &blk) == 0);
	CHECK(wait_queued(st, 0)); /* taken: the writer waits for the lock */
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&tw[i], NULL, race_writer_main, &w[i]) == 0);
	CHECK(wait_queued(st, 2));
	CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(pthread_join(tb, NULL) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(tw[i], NULL) == 0);
	CHECK(blk.result == 0);
	CHECK(store_sqlite_commit_count(st) == commits + 2); /* both in one batch */
	CHECK((w[0].result == 0) != (w[1].result == 0));
	CHECK(w[0].result == 0 || w[0].result == OPUS_ERR_PHASE);
	CHECK(w[1].result == 0 || w[1].result == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.nparams == 1);
	if (w[0].result == 0) { /* the end landed; the update left nothing */
		CHECK(got.phase == UWS_ABORTED && strcmp(got.params[0].value, "1") == 0);
		CHECK(store_activity_get(st, j.id, &act) == 0);
		store_activity_release(&act);
	} else { /* the update landed; the end left nothing */
		CHECK(got.phase == UWS_QUEUED && strcmp(got.params[0].value, "2") == 0);
		CHECK(store_activity_get(st, j.id, &act) == OPUS_ERR_NOTFOUND);
	}
	uws_job_release(&got);
	CHECK(store_job_get(st, blk.job.id, &got) == 0);
	CHECK(got.quote == 7);
	uws_job_release(&got);
	for (int i = 0; i < 2; i++)
		uws_job_release(&w[i].job);
	uws_job_release(&blk.job);
	uws_job_release(&j);
	store_close(st);
	free(path);
}

/* store_job_finish keeps working, with result entity ids and metrics. */
TEST(job_finish_keeps_entity_columns)
{
	char *path = db_path("finish");
	struct store *st = open_store(path);
	struct uws_job j, got = {0};
	create_job(st, &j, NULL);
	j.phase = UWS_ERROR;
	j.metrics = (struct uws_metrics){true, 1, 2, 3, 137};
	uws_job_add_result(&j, "stdout", "stdout", NULL, 0);
	j.results[0].entity_id = xstrdup("e0123456789abcdef0123456789abcdef");
	CHECK(store_job_finish(st, &j, UWS_PENDING) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.metrics.known && got.metrics.exit_code == 137 && got.metrics.max_rss_kb == 3);
	CHECK(got.nresults == 1);
	if (got.nresults == 1) {
		CHECK_STR(got.results[0].entity_id, "e0123456789abcdef0123456789abcdef");
		CHECK(got.results[0].sha256 == NULL);
	}
	uws_job_release(&got);
	uws_job_release(&j);
	store_close(st);
	free(path);
}

/* Is the entity live? */
static bool entity_live(struct store *st, const char *id)
{
	struct store_entity e = {0};
	bool live;
	CHECK(store_entity_get(st, id, &e) == 0);
	live = e.invalidation_time == 0;
	store_entity_release(&e);
	return live;
}

static bool blobs_have(char **blobs, size_t n, char digit)
{
	char sha[65];
	fake_sha(sha, digit);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(blobs[i], sha) == 0)
			return true;
	}
	return false;
}

/*
 * Archive and delete: files go, provenance stays; an entity is invalidated
 * only when no other live job holds it; the orphaned blobs are listed.
 */
TEST(job_retire_rules)
{
	char *path = db_path("retire");
	struct store *st = open_store(path);
	struct uws_job a, b, c, got = {0};
	char ea[STORE_ENTITY_ID_LEN + 1], eu[STORE_ENTITY_ID_LEN + 1], eu2[STORE_ENTITY_ID_LEN + 1];
	char eb[STORE_ENTITY_ID_LEN + 1], ebob[STORE_ENTITY_ID_LEN + 1];
	char pending[UWS_ID_LEN + 1], bobjob[UWS_ID_LEN + 1], ghost[UWS_ID_LEN + 1];
	struct store_activity act = {0};
	struct store_lineage lin = {0};
	char **blobs = NULL, **ids = NULL;
	size_t n = 0, nids = 0;
	int64_t refs = -1, next = -1;

	/* A generated ea ('a'); B used ea and an upload eu ('u' → 'c'); C used the same upload. */
	create_job(st, &a, "alice");
	a.destruction_time = 1000;
	CHECK(end_job(st, &a, 'a', ea) == 0);
	create_job(st, &b, "alice");
	CHECK(store_usage_put(st, b.id, "in", 0, ea) == 0);
	CHECK(!use_input(st, b.id, "alice", 'c', "upload", 0, eu));
	CHECK(end_job(st, &b, 'b', eb) == 0);
	create_job(st, &c, "alice");
	CHECK(use_input(st, c.id, "alice", 'c', "upload", 0, eu2));
	CHECK_STR(eu2, eu);
	/* bob has the same bytes as ea: his own entity, the same blob. */
	uws_id_new(bobjob);
	CHECK(!use_input(st, bobjob, "bob", 'a', "in", 0, ebob));

	/* Destruction of A: ARCHIVED, results kept, listed as ARCHIVED; ea is B's still. */
	CHECK(store_job_retire(st, a.id, true, 5000, &blobs, &n) == 0);
	CHECK(n == 0);
	store_ids_free(blobs, n);
	CHECK(store_job_get(st, a.id, &got) == 0);
	CHECK(got.phase == UWS_ARCHIVED);
	CHECK(got.nresults == 1 && got.nparams == 0);
	if (got.nresults == 1)
		CHECK_STR(got.results[0].entity_id, ea);
	uws_job_release(&got);
	struct store_filter f = {.jobdef = "prov", .phases = 1u << UWS_ARCHIVED};
	CHECK(list_count(st, &f) == 1);
	CHECK(entity_live(st, ea));
	/* An archived job's destruction is done: it is not expired again. */
	CHECK(store_job_ids_expired(st, 1000000, 10, &ids, &nids) == 0);
	CHECK(nids == 0);
	store_ids_free(ids, nids);
	CHECK(store_next_destruction(st, &next) == 0);
	CHECK(next == 0);
	CHECK(store_activity_get(st, a.id, &act) == 0);
	store_activity_release(&act);

	/* DELETE of B: the row goes; activity, entities and usages stay. ea is
	 * held by nobody live any more (A archived, B gone): invalidated by B,
	 * but its blob is bob's too. eb goes with its blob. eu is C's still. */
	uint64_t c0 = store_sqlite_commit_count(st);
	CHECK(store_job_retire(st, b.id, false, 6000, &blobs, &n) == 0);
	CHECK(store_sqlite_commit_count(st) - c0 == 1); /* all of it in one commit */
	CHECK(n == 1 && blobs_have(blobs, n, 'b'));
	CHECK(!blobs_have(blobs, n, 'a') && !blobs_have(blobs, n, 'c'));
	store_ids_free(blobs, n);
	CHECK(store_job_get(st, b.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(sql_int(path, "SELECT count(*) FROM params WHERE job_id = ?1", b.id) == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM results WHERE job_id = ?1", b.id) == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM usages WHERE job_id = ?1", b.id) == 2);
	CHECK(store_activity_get(st, b.id, &act) == 0);
	store_activity_release(&act);
	CHECK(!entity_live(st, ea) && !entity_live(st, eb));
	CHECK(entity_live(st, eu) && entity_live(st, ebob));
	struct store_entity e = {0};
	CHECK(store_entity_get(st, ea, &e) == 0);
	CHECK(e.invalidation_time == 6000);
	CHECK_STR(e.invalidated_by, b.id);
	store_entity_release(&e);
	char sha[65];
	fake_sha(sha, 'a');
	CHECK(store_blob_refs(st, sha, &refs) == 0);
	CHECK(refs == 1); /* bob's */
	fake_sha(sha, 'b');
	CHECK(store_blob_refs(st, sha, &refs) == 0);
	CHECK(refs == 0);
	CHECK(store_blob_refs(st, "xyz", &refs) == OPUS_ERR_INVAL);
	/* The deleted job's lineage is whole. */
	const char *start[1] = {b.id};
	struct store_lineage_query q = {
	    .activity_ids = start, .nactivity_ids = 1, .max_hops = 5, .max_activities = 10};
	CHECK(store_lineage_get(st, &q, &lin) == 0);
	CHECK(lin.nactivities == 2 && lin.nusages == 2 && lin.nentities == 3);
	store_lineage_release(&lin);

	/* A job not created yet (its uploads are placed first) holds what it uses. */
	uws_id_new(pending);
	CHECK(use_input(st, pending, "alice", 'c', "upload", 0, eu2));
	CHECK(store_job_retire(st, c.id, false, 7000, &blobs, &n) == 0);
	CHECK(n == 0);
	store_ids_free(blobs, n);
	CHECK(entity_live(st, eu));
	/* ... and store_usages_clear lets it go, listed at its own retirement. */
	CHECK(store_usages_clear(st, pending, "upload") == 0);
	CHECK(!entity_live(st, eu));

	/* Unknown and already deleted jobs. */
	uws_id_new(ghost);
	CHECK(store_job_retire(st, ghost, false, 1, &blobs, &n) == OPUS_ERR_NOTFOUND);
	CHECK(blobs == NULL && n == 0);
	CHECK(store_job_retire(st, b.id, true, 1, &blobs, &n) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_retire(st, "junk", true, 1, &blobs, &n) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_retire(st, b.id, true, 1, NULL, &n) == OPUS_ERR_INVAL);
	/* Deleting the archived A: its row goes, nothing else changes. */
	CHECK(store_job_retire(st, a.id, false, 8000, &blobs, &n) == 0);
	store_ids_free(blobs, n);
	CHECK(store_job_get(st, a.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_activity_get(st, a.id, &act) == 0);
	store_activity_release(&act);

	/* store_job_delete retires too (without the list of blobs). */
	struct uws_job d;
	char ed[STORE_ENTITY_ID_LEN + 1];
	create_job(st, &d, NULL);
	CHECK(!use_input(st, d.id, NULL, 'd', "in", 0, ed));
	CHECK(store_job_delete(st, d.id) == 0);
	CHECK(!entity_live(st, ed));
	CHECK(sql_int(path, "SELECT count(*) FROM retired WHERE job_id = ?1", d.id) == 1);
	uws_job_release(&d);

	uws_job_release(&a);
	uws_job_release(&b);
	uws_job_release(&c);
	store_close(st);
	free(path);
}

/* A chain of ended jobs: each uses the previous one's result. ids[i], gens[i]. */
static void make_chain(struct store *st, size_t n, char (*ids)[UWS_ID_LEN + 1],
		       char (*gens)[STORE_ENTITY_ID_LEN + 1])
{
	for (size_t i = 0; i < n; i++) {
		struct uws_job j;
		create_job(st, &j, "alice");
		if (i > 0)
			CHECK(store_usage_put(st, j.id, "in", 0, gens[i - 1]) == 0);
		CHECK(end_job(st, &j, "0123456789abcdef"[i % 16], gens[i]) == 0);
		memcpy(ids[i], j.id, sizeof(ids[i]));
		uws_job_release(&j);
	}
}

static int hop_of(const struct store_lineage *l, const char *id)
{
	for (size_t i = 0; i < l->nactivities; i++) {
		if (strcmp(l->activities[i].id, id) == 0)
			return l->hops[i];
	}
	return -1;
}

static bool has_entity(const struct store_lineage *l, const char *id)
{
	for (size_t i = 0; i < l->nentities; i++) {
		if (strcmp(l->entities[i].id, id) == 0)
			return true;
	}
	return false;
}

static struct store_lineage lineage(struct store *st, const char *act, const char *ent,
				    bool forward, int hops, size_t max)
{
	struct store_lineage l = {0};
	const char *a[1] = {act}, *e[1] = {ent};
	struct store_lineage_query q = {.activity_ids = act ? a : NULL,
					.nactivity_ids = act ? 1 : 0,
					.entity_ids = ent ? e : NULL,
					.nentity_ids = ent ? 1 : 0,
					.forward = forward,
					.max_hops = hops,
					.max_activities = max};
	CHECK(store_lineage_get(st, &q, &l) == 0);
	return l;
}

TEST(lineage_back_forth_hops)
{
	char *path = db_path("lineage");
	struct store *st = open_store(path);
	char ids[3][UWS_ID_LEN + 1], gens[3][STORE_ENTITY_ID_LEN + 1];
	struct store_lineage l;
	make_chain(st, 3, ids, gens);

	/* BACK from the last job: hop 0 alone, then 1, then all. */
	l = lineage(st, ids[2], NULL, false, 0, 100);
	CHECK(l.nactivities == 1 && hop_of(&l, ids[2]) == 0 && !l.truncated);
	CHECK(l.nentities == 2 && has_entity(&l, gens[1]) && has_entity(&l, gens[2]));
	CHECK(l.nusages == 1);
	if (l.nusages == 1) {
		CHECK_STR(l.usages[0].job_id, ids[2]);
		CHECK_STR(l.usages[0].entity_id, gens[1]);
		CHECK_STR(l.usages[0].role, "in");
		CHECK(l.usages[0].k == 0);
	}
	if (l.nactivities == 1) {
		CHECK_STR(l.activities[0].jobdef, "prov");
		CHECK(l.activities[0].nparams == 2);
		CHECK(l.activities[0].phase == UWS_COMPLETED);
	}
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 1, 100);
	CHECK(l.nactivities == 2 && hop_of(&l, ids[1]) == 1 && hop_of(&l, ids[0]) == -1);
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 99, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[0]) == 2);
	CHECK(l.nentities == 3 && l.nusages == 2);
	/* nearest first */
	if (l.nactivities == 3) {
		CHECK_STR(l.activities[0].id, ids[2]);
		CHECK_STR(l.activities[2].id, ids[0]);
		CHECK(l.activities[2].nparams == 2);
	}
	store_lineage_release(&l);
	/* BACK from the first: nothing before it. */
	l = lineage(st, ids[0], NULL, false, 99, 100);
	CHECK(l.nactivities == 1);
	store_lineage_release(&l);

	/* FORTH from the first. */
	l = lineage(st, ids[0], NULL, true, 1, 100);
	CHECK(l.nactivities == 2 && hop_of(&l, ids[1]) == 1);
	store_lineage_release(&l);
	l = lineage(st, ids[0], NULL, true, 99, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[2]) == 2);
	store_lineage_release(&l);

	/* A start entity: its generator (BACK) or its users (FORTH) at hop 1. */
	l = lineage(st, NULL, gens[1], false, 0, 100);
	CHECK(l.nactivities == 0 && l.nentities == 1 && has_entity(&l, gens[1]));
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], false, 1, 100);
	CHECK(l.nactivities == 1 && hop_of(&l, ids[1]) == 1);
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], false, 2, 100);
	CHECK(l.nactivities == 2 && hop_of(&l, ids[0]) == 2);
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], true, 1, 100);
	CHECK(l.nactivities == 1 && hop_of(&l, ids[2]) == 1);
	CHECK(has_entity(&l, gens[1]) && has_entity(&l, gens[2]));
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[2], true, 5, 100); /* nobody used the last result */
	CHECK(l.nactivities == 0 && l.nentities == 1);
	store_lineage_release(&l);

	/* Truncation: nearest first, and said so. */
	l = lineage(st, ids[2], NULL, false, 99, 2);
	CHECK(l.nactivities == 2 && l.truncated);
	CHECK(hop_of(&l, ids[2]) == 0 && hop_of(&l, ids[1]) == 1);
	CHECK(hop_of(&l, ids[0]) == -1 && has_entity(&l, gens[0])); /* ids[1]'s input */
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 99, 3);
	CHECK(l.nactivities == 3 && !l.truncated);
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 99, 0); /* 0: no cap */
	CHECK(l.nactivities == 3 && !l.truncated);
	store_lineage_release(&l);

	/* Unknown starts answer nothing; malformed ones are refused. */
	char ghost[UWS_ID_LEN + 1];
	uws_id_new(ghost);
	l = lineage(st, ghost, NULL, false, 5, 10);
	CHECK(l.nactivities == 0 && l.nentities == 0);
	store_lineage_release(&l);
	const char *badids[1] = {"x'); DROP TABLE jobs; --"};
	struct store_lineage_query bad = {.activity_ids = badids, .nactivity_ids = 1};
	CHECK(store_lineage_get(st, &bad, &l) == OPUS_ERR_INVAL);
	bad.nactivity_ids = 0;
	bad.entity_ids = badids;
	bad.nentity_ids = 1;
	CHECK(store_lineage_get(st, &bad, &l) == OPUS_ERR_INVAL);
	bad.nentity_ids = 0;
	bad.max_hops = -1;
	CHECK(store_lineage_get(st, &bad, &l) == OPUS_ERR_INVAL);

	/* A cycle, put in by hand through a usage: the first job uses the last
	 * one's result. The walk ends (hop bound), each activity once, at its
	 * nearest hop. */
	CHECK(store_usage_put(st, ids[0], "loop", 0, gens[2]) == 0);
	l = lineage(st, ids[0], NULL, false, 1000, 100);
	CHECK(l.nactivities == 3);
	CHECK(hop_of(&l, ids[0]) == 0 && hop_of(&l, ids[2]) == 1 && hop_of(&l, ids[1]) == 2);
	store_lineage_release(&l);
	l = lineage(st, ids[0], NULL, true, 1000, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[2]) == 2);
	store_lineage_release(&l);
	store_close(st);
	free(path);
}

/*
 * DEPTH=ALL over a chain of 1,000 jobs: answered whole, in a bounded number
 * of statements (not one per hop). The chain is written with plain SQL in one
 * transaction (through the API it would take 2,000 commits).
 */
TEST(lineage_long_chain_bounded_queries)
{
	char *path = db_path("chain");
	struct store *st = open_store(path);
	sqlite3 *db = NULL;
	struct store_lineage l;
	char last[UWS_ID_LEN + 1], first[UWS_ID_LEN + 1];
	const size_t n = 1000;
	store_close(st);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "BEGIN;"
			   "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c "
			   "WHERE i < 999) "
			   "INSERT INTO activities (id, jobdef, phase) SELECT printf('%032x', i), "
			   "'chain', 3 FROM c;"
			   "INSERT INTO entities (id, sha256, generated_by) SELECT "
			   "'e' || substr(id, 2), printf('%064x', rowid), id FROM activities;"
			   "INSERT INTO usages (job_id, role, k, entity_id) SELECT "
			   "printf('%032x', rowid), 'in', 0, 'e' || substr(printf('%032x', "
			   "rowid - 1), 2) FROM activities WHERE rowid < 1000;"
			   "COMMIT;",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	snprintf(last, sizeof(last), "%032x", 999);
	snprintf(first, sizeof(first), "%032x", 0);
	st = open_store(path);
	uint64_t s0 = store_sqlite_statement_count();
	int64_t t0 = time_mono_ms();
	l = lineage(st, last, NULL, false, 2000, 5000);
	int64_t ms = time_mono_ms() - t0;
	uint64_t stmts = store_sqlite_statement_count() - s0;
	printf("lineage: 1000-job chain BACK in %lld ms, %llu statements\n", (long long)ms,
	       (unsigned long long)stmts);
	CHECK(stmts <= 8);
	CHECK(l.nactivities == n && !l.truncated);
	CHECK(hop_of(&l, first) == 999);
	CHECK(l.nentities == n && l.nusages == n - 1);
	store_lineage_release(&l);
	s0 = store_sqlite_statement_count();
	l = lineage(st, first, NULL, true, 2000, 5000);
	CHECK(store_sqlite_statement_count() - s0 <= 8);
	CHECK(l.nactivities == n && hop_of(&l, last) == 999);
	store_lineage_release(&l);
	l = lineage(st, last, NULL, false, 10, 5000); /* the hop bound */
	CHECK(l.nactivities == 11);
	store_lineage_release(&l);
	store_close(st);
	free(path);
}

/* The lookups use their indexes (no scan of entities or usages). */
TEST(prov_query_plans)
{
	char *path = db_path("provplans");
	struct store *st = open_store(path);
	static const struct {
		const char *which, *want;
	} plans[] = {
	    {"find", "entities_owner_sha"},
	    {"refs", "entities_live_sha"},
	    {"back", "sqlite_autoindex_usages_1"},
	    {"forth", "entities_generated_by"},
	    {"forth", "usages_entity"},
	    {"retire", "entities_generated_by"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(plans); i++) {
		struct sbuf plan = SBUF_INIT;
		CHECK(store_sqlite_prov_plan(st, plans[i].which, &plan) == 0);
		if (!strstr(sbuf_str(&plan), plans[i].want))
			fprintf(stderr, "plan %s:\n%s", plans[i].which, sbuf_str(&plan));
		CHECK(strstr(sbuf_str(&plan), plans[i].want) != NULL);
		CHECK(strstr(sbuf_str(&plan), "SCAN entities") == NULL);
		CHECK(strstr(sbuf_str(&plan), "SCAN usages") == NULL);
		CHECK(strstr(sbuf_str(&plan), "SCAN e\n") == NULL);
		CHECK(strstr(sbuf_str(&plan), "SCAN u\n") == NULL);
		sbuf_release(&plan);
	}
	struct sbuf none = SBUF_INIT;
	CHECK(store_sqlite_prov_plan(st, "nope", &none) == OPUS_ERR_INVAL);
	sbuf_release(&none);
	store_close(st);
	free(path);
}

/* A database of schema v1 (made with migration 1 only) migrates, data kept. */
TEST(migration_from_v1)
{
	char *path = db_path("v1");
	sqlite3 *db = NULL;
	struct store *st;
	struct uws_job got = {0};
	const char *id = "0123456789abcdef0123456789abcdef";
	CHECK(store_sqlite_migration_sql(1) != NULL);
	CHECK(store_sqlite_migration_sql(store_sqlite_schema_version() + 1) == NULL);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, store_sqlite_migration_sql(1), NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "INSERT INTO jobs (id, jobdef, owner, phase, creation_time, "
			   "destruction_time) VALUES ('0123456789abcdef0123456789abcdef', 'old', "
			   "'alice', 3, 42, 77);"
			   "INSERT INTO params VALUES ('0123456789abcdef0123456789abcdef', 'x', "
			   "'1', 0);"
			   "INSERT INTO results (job_id, rid, path, mime, size) VALUES "
			   "('0123456789abcdef0123456789abcdef', 'out', 'out.txt', NULL, 3);",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sql_int(path, "PRAGMA user_version", NULL) == 1);

	st = open_store(path);
	CHECK(sql_int(path, "PRAGMA user_version", NULL) == store_sqlite_schema_version());
	CHECK(store_sqlite_schema_version() == 5);
	CHECK(store_job_get(st, id, &got) == 0);
	CHECK_STR(got.jobdef, "old");
	CHECK_STR(got.owner, "alice");
	CHECK(got.phase == UWS_COMPLETED && got.creation_time == 42);
	CHECK(!got.metrics.known && got.metrics.exit_code == 0);
	CHECK(got.nparams == 1 && got.nresults == 1);
	if (got.nresults == 1) {
		CHECK_STR(got.results[0].path, "out.txt");
		CHECK(got.results[0].entity_id == NULL && got.results[0].sha256 == NULL);
	}
	uws_job_release(&got);
	int64_t next = 0;
	CHECK(store_next_destruction(st, &next) == 0);
	CHECK(next == 77); /* the new destruction index serves the old rows */
	/* The new tables work on the migrated database. */
	char eid[STORE_ENTITY_ID_LEN + 1];
	CHECK(!use_input(st, id, "alice", 'f', "in", 0, eid));
	char **blobs = NULL;
	size_t n = 0;
	CHECK(store_job_retire(st, id, true, 100, &blobs, &n) == 0);
	CHECK(n == 1);
	store_ids_free(blobs, n);
	store_close(st);
	free(path);
}

/* A database of schema v3 with a process group id in a running job's pgid
 * becomes v4 with that id as the job's executor handle, in decimal. */
TEST(migration_from_v3_pgid_becomes_handle)
{
	char *path = db_path("v3");
	sqlite3 *db = NULL;
	struct store *st;
	struct uws_job got = {0};
	const char *running = "0123456789abcdef0123456789abcde1";
	const char *done = "0123456789abcdef0123456789abcde2";

	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	for (int v = 1; v <= 3; v++)
		CHECK(sqlite3_exec(db, store_sqlite_migration_sql(v), NULL, NULL, NULL) ==
		      SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "INSERT INTO jobs (id, jobdef, phase, creation_time, start_time, pgid) "
			   "VALUES ('0123456789abcdef0123456789abcde1', 'old', 2, 42, 43, 4242),"
			   "('0123456789abcdef0123456789abcde2', 'old', 3, 42, 43, 0);",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sql_int(path, "PRAGMA user_version", NULL) == 3);

	st = open_store(path);
	CHECK(sql_int(path, "PRAGMA user_version", NULL) == store_sqlite_schema_version());
	CHECK(store_job_get(st, running, &got) == 0);
	CHECK(got.phase == UWS_EXECUTING && got.start_time == 43);
	CHECK_STR(got.exec_handle, "4242");
	uws_job_release(&got);
	CHECK(store_job_get(st, done, &got) == 0);
	CHECK_STR(got.exec_handle, "");
	/* The handle is a string from now on, written and read back as one. */
	snprintf(got.exec_handle, sizeof(got.exec_handle), "slurm:cluster:991");
	CHECK(store_job_save(st, &got, got.phase) == 0);
	uws_job_release(&got);
	CHECK(store_job_get(st, done, &got) == 0);
	CHECK_STR(got.exec_handle, "slurm:cluster:991");
	uws_job_release(&got);
	store_close(st);
	free(path);
}

struct use_worker {
	struct store *st;
	char id[STORE_ENTITY_ID_LEN + 1];
	int recognised;
	int failures;
};

static void *use_worker_main(void *arg)
{
	struct use_worker *w = arg;
	for (int i = 0; i < 20; i++) {
		char job[UWS_ID_LEN + 1], id[STORE_ENTITY_ID_LEN + 1];
		struct store_entity e;
		bool rec = false;
		uws_id_new(job);
		make_input(&e, "alice", 'd');
		if (store_input_use(w->st, &e, job, "in", 0, id, &rec) != 0)
			w->failures++;
		w->recognised += rec;
		if (i == 0)
			memcpy(w->id, id, sizeof(id));
		else if (strcmp(w->id, id) != 0)
			w->failures++;
		store_entity_release(&e);
	}
	return NULL;
}

/* Concurrent uploads of the same bytes by one owner: one entity, recognised by all. */
TEST(input_use_concurrent)
{
	char *path = db_path("concurrent_use");
	struct store *st = open_store(path);
	pthread_t tid[8];
	struct use_worker w[8];
	int recognised = 0;
	for (int i = 0; i < 8; i++) {
		w[i] = (struct use_worker){.st = st};
		CHECK(pthread_create(&tid[i], NULL, use_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		CHECK(w[i].failures == 0);
		CHECK_STR(w[i].id, w[0].id);
		recognised += w[i].recognised;
	}
	CHECK(recognised == 8 * 20 - 1);
	CHECK(sql_int(path, "SELECT count(*) FROM entities", NULL) == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM usages", NULL) == 160);
	store_close(st);
	free(path);
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
	RUN(list_paging);
	RUN(list_across_descriptions);
	RUN(group_commit_and_reopen);
	RUN(expiry_and_phase_order);
	RUN(accounts);
	RUN(wal_mode);
	RUN(open_errors);
	RUN(entity_ids);
	RUN(input_recognition);
	RUN(usages_replace_and_clear);
	RUN(job_end_records_everything);
	RUN(job_finish_keeps_entity_columns);
	RUN(conditional_writes);
	RUN(group_commit_lost_race);
	RUN(job_retire_rules);
	RUN(lineage_back_forth_hops);
	RUN(lineage_long_chain_bounded_queries);
	RUN(prov_query_plans);
	RUN(migration_from_v1);
	RUN(migration_from_v3_pgid_becomes_handle);
	RUN(input_use_concurrent);
	RUN(performance);
	if (rm_rf(test_dir) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
	return CHECK_DONE();
}
