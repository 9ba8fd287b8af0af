/*
 * Unit tests for the core of the PostgreSQL store backend (store_pg.c)
 * against a real server started by scripts/pg.sh: the schema made once
 * (and a second open finds it), the job operations (create, get, the
 * conditional writes, parameters, the list with every filter and keyset
 * paging, expiry, delete), the pool under 8 threads, a password file, a
 * clear failure when the server cannot be reached, and a server restart
 * while the store is open (requests fail with OPUS_ERR_BUSY, then work
 * again without reopening).
 */
#include "check.h"
#include "pg_server.h"
#include "store/store-int.h"

#include <pthread.h>

static struct pg_server server;

static struct store *open_url(const char *url)
{
	struct store_config cfg = {.backend = "postgresql", .url = url, .pool_size = 4};
	struct store *st = NULL;
	CHECK(url != NULL);
	if (!url)
		return NULL;
	CHECK(store_open(&cfg, &st) == 0);
	return st;
}

static void make_job(struct uws_job *j, const char *jobdef, const char *owner, enum uws_phase phase,
		     int64_t ctime)
{
	memset(j, 0, sizeof(*j));
	uws_id_new(j->id);
	j->jobdef = xstrdup(jobdef);
	j->owner = owner ? xstrdup(owner) : NULL;
	j->phase = phase;
	j->creation_time = ctime;
}

static size_t list_count(struct store *st, const struct store_filter *f)
{
	struct uws_job *jobs = NULL;
	size_t n = 0;
	CHECK(store_job_list(st, f, &jobs, &n) == 0);
	store_jobs_free(jobs, n);
	return n;
}

TEST(job_round_trip_and_conditional_writes)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	struct store *again = open_url(url); /* the schema is there: no second migration */
	struct uws_job j, got = {0};
	if (!st || !again)
		goto out;
	make_job(&j, "echo", "alice", UWS_PENDING, 1000);
	j.run_id = xstrdup("r1");
	j.execution_duration = 60;
	snprintf(j.exec_handle, sizeof(j.exec_handle), "%s", "slurm:c:12");
	uws_job_add_param(&j, "text", "hello", false);
	uws_job_add_param(&j, "file", "http://x/y", true);
	CHECK(store_job_create(st, &j) == 0);
	CHECK(store_job_create(st, &j) == OPUS_ERR_EXISTS);
	CHECK(store_job_get(again, j.id, &got) == 0);
	CHECK_STR(got.jobdef, "echo");
	CHECK_STR(got.owner, "alice");
	CHECK_STR(got.run_id, "r1");
	CHECK_STR(got.exec_handle, "slurm:c:12");
	CHECK(got.execution_duration == 60 && got.creation_time == 1000);
	CHECK(got.nparams == 2);
	if (got.nparams == 2) {
		CHECK_STR(got.params[0].name, "text");
		CHECK(got.params[1].by_ref);
	}
	uws_job_release(&got);
	/* a save from the phase the row has; then one from a stale phase changes nothing */
	j.phase = UWS_QUEUED;
	CHECK(store_job_save(st, &j, UWS_PENDING) == 0);
	j.phase = UWS_ABORTED;
	free(j.run_id);
	j.run_id = xstrdup("lost");
	CHECK(store_job_save(st, &j, UWS_PENDING) == OPUS_ERR_PHASE);
	CHECK(store_job_update(st, &j, UWS_PENDING) == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_QUEUED);
	CHECK_STR(got.run_id, "r1");
	CHECK(got.nparams == 2);
	uws_job_release(&got);
	/* the end: results replaced, from EXECUTING only */
	j.phase = UWS_COMPLETED;
	j.end_time = 2000;
	j.metrics.known = true;
	j.metrics.exit_code = 3;
	uws_job_add_result(&j, "out", "out.txt", "text/plain", 5);
	CHECK(store_job_finish(st, &j, UWS_EXECUTING) == OPUS_ERR_PHASE);
	CHECK(store_job_finish(st, &j, UWS_QUEUED) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED && got.end_time == 2000);
	CHECK(got.metrics.known && got.metrics.exit_code == 3);
	CHECK(got.nresults == 1 && got.nresults && got.results[0].size == 5);
	uws_job_release(&got);
	/* parameters replaced alone; the same name twice is bad input */
	uws_job_add_param(&j, "text", "again", false);
	CHECK(store_job_set_params(st, &j) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.nparams == 2);
	uws_job_release(&got);
	/* a create (one pipeline) with the same name twice: bad input, nothing
	 * made, the connection usable after; one with more parameters than a
	 * pipeline holds goes statement by statement */
	{
		struct uws_job d, many;
		make_job(&d, "echo", "alice", UWS_PENDING, 1001);
		uws_job_add_param(&d, "x", "1", false);
		uws_job_add_param(&d, "x", "2", false);
		CHECK(store_job_create(st, &d) == OPUS_ERR_INVAL);
		CHECK(store_job_get(st, d.id, &got) == OPUS_ERR_NOTFOUND);
		CHECK(store_job_get(st, j.id, &got) == 0);
		uws_job_release(&got);
		make_job(&many, "echo", "alice", UWS_PENDING, 1002);
		for (int i = 0; i < 100; i++) {
			char name[16];
			snprintf(name, sizeof(name), "p%d", i);
			uws_job_add_param(&many, name, name, false);
		}
		CHECK(store_job_create(st, &many) == 0);
		CHECK(store_job_get(again, many.id, &got) == 0);
		CHECK(got.nparams == 100);
		uws_job_release(&got);
		uws_job_release(&d);
		uws_job_release(&many);
	}
	/* delete; then every write says NOTFOUND */
	CHECK(store_job_delete(st, j.id) == 0);
	CHECK(store_job_get(st, j.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_save(st, &j, UWS_COMPLETED) == OPUS_ERR_NOTFOUND);
	CHECK(store_job_delete(st, j.id) == OPUS_ERR_NOTFOUND);
	uws_job_release(&j);
out:
	store_close(again);
	store_close(st);
	free(url);
}

TEST(list_filters_paging_and_expiry)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	enum { N = 30 };
	char ids[N][UWS_ID_LEN + 1];
	struct uws_job j, *jobs = NULL;
	size_t n = 0;
	if (!st)
		goto out;
	for (int i = 0; i < N; i++) {
		/* 3 descriptions, alice / bob / anonymous, ties: 3 jobs per millisecond */
		make_job(&j, (i % 3) ? "echo" : "sleep",
			 (i % 3 == 0)	? NULL
			 : (i % 3 == 1) ? "alice"
					: "bob",
			 (i % 5) ? UWS_PENDING : UWS_COMPLETED, 5000 + i / 3);
		j.destruction_time = i < 4 ? 100 + i : 0;
		memcpy(ids[i], j.id, sizeof(ids[i]));
		CHECK(store_job_create(st, &j) == 0);
		uws_job_release(&j);
	}
	struct store_filter f = {.jobdef = "echo"};
	CHECK(list_count(st, &f) == 20);
	f.owner = "alice";
	CHECK(list_count(st, &f) == 10);
	f = (struct store_filter){.jobdef = "sleep", .owner_is_null = true};
	CHECK(list_count(st, &f) == 10);
	f = (struct store_filter){.jobdef = "echo", .phases = 1u << UWS_COMPLETED};
	CHECK(list_count(st, &f) == 4);
	f = (struct store_filter){.jobdef = "echo", .after = 5005};
	CHECK(list_count(st, &f) == 8); /* i >= 18, not a multiple of 3 */
	/* every description, and some: the cross-description list */
	f = (struct store_filter){0};
	CHECK(list_count(st, &f) == N);
	static const char *const some[] = {"sleep"};
	f.jobdefs = some;
	f.njobdefs = 1;
	CHECK(list_count(st, &f) == 10);
	/* keyset paging newest first: every job once, ties by id */
	f = (struct store_filter){.last = 4};
	size_t seen = 0;
	char pos_id[UWS_ID_LEN + 1] = "";
	int64_t last_t = INT64_MAX;
	for (int page = 0; page < 20; page++) {
		CHECK(store_job_list(st, &f, &jobs, &n) == 0);
		for (size_t i = 0; i < n; i++) {
			CHECK(jobs[i].creation_time < last_t ||
			      (jobs[i].creation_time == last_t && strcmp(jobs[i].id, pos_id) < 0));
			last_t = jobs[i].creation_time;
			memcpy(pos_id, jobs[i].id, sizeof(pos_id));
		}
		seen += n;
		if (n) {
			f.before = jobs[n - 1].creation_time;
			f.before_id = pos_id;
		}
		store_jobs_free(jobs, n);
		if (!n)
			break;
	}
	CHECK(seen == N);
	/* SINCE with LAST: the page just newer, newest first */
	struct uws_job *all = NULL, *up = NULL;
	size_t na = 0, nu = 0;
	f = (struct store_filter){.before = INT64_MAX / 2};
	CHECK(store_job_list(st, &f, &all, &na) == 0 && na == N);
	if (na == N) {
		f = (struct store_filter){
		    .last = 5, .since = all[20].creation_time, .since_id = all[20].id};
		CHECK(store_job_list(st, &f, &up, &nu) == 0 && nu == 5);
		for (size_t i = 0; i < nu && i < 5; i++)
			CHECK_STR(up[i].id, all[15 + i].id);
		store_jobs_free(up, nu);
	}
	store_jobs_free(all, na);
	/* expiry and the next destruction */
	char **exp = NULL;
	size_t nexp = 0;
	int64_t next = 0;
	CHECK(store_job_ids_expired(st, 102, 10, &exp, &nexp) == 0);
	CHECK(nexp == 3);
	store_ids_free(exp, nexp);
	CHECK(store_next_destruction(st, &next) == 0 && next == 100);
	CHECK(store_job_ids_in_phase(st, UWS_COMPLETED, &exp, &nexp) == 0 && nexp == 6);
	store_ids_free(exp, nexp);
out:
	store_close(st);
	free(url);
}

struct worker {
	struct store *st;
	int failures;
};

static void *create_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 25; i++) {
		struct uws_job j, got = {0};
		make_job(&j, "pool", "w", UWS_PENDING, 9000 + i);
		if (store_job_create(w->st, &j) != 0 || store_job_get(w->st, j.id, &got) != 0 ||
		    strcmp(got.id, j.id) != 0)
			w->failures++;
		uws_job_release(&got);
		uws_job_release(&j);
	}
	return NULL;
}

/* 8 threads on a pool of 4: they wait for a connection, none fails. */
TEST(pool_under_threads)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	pthread_t t[8];
	struct worker w[8];
	struct store_filter f = {.jobdef = "pool"};
	if (!st)
		goto out;
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){st, 0};
		CHECK(pthread_create(&t[i], NULL, create_worker, &w[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].failures == 0);
	}
	CHECK(list_count(st, &f) == 200);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
			      "current_database() AND backend_type = 'client backend'") <= 5);
out:
	store_close(st);
	free(url);
}

/* The server restarts under an open store: calls fail with BUSY while it is
 * down, then work again on fresh connections; nothing committed is lost. */
TEST(server_restart_reconnects)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	struct uws_job j, got = {0};
	if (!st)
		goto out;
	make_job(&j, "echo", NULL, UWS_PENDING, 1);
	CHECK(store_job_create(st, &j) == 0);
	CHECK(pg_server_script(&server, "stop", NULL, 0) == 0);
	CHECK(store_job_get(st, j.id, &got) == OPUS_ERR_BUSY);
	uws_job_release(&got);
	CHECK(pg_server_script(&server, "up", NULL, 0) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_PENDING);
	uws_job_release(&got);
	j.phase = UWS_QUEUED;
	CHECK(store_job_save(st, &j, UWS_PENDING) == 0);
	uws_job_release(&j);
out:
	store_close(st);
	free(url);
}

/* A password from a file; an unreachable server fails at open. */
TEST(password_file_and_unreachable)
{
	char *url = pg_server_fresh_db(&server);
	char *bare = NULL, *pw = xasprintf("%s.pw", server.dir);
	struct store *st = NULL;
	struct store_config cfg = {.backend = "postgresql"};
	const char *at = url ? strchr(url, '@') : NULL;
	if (!url || !at)
		goto out;
	/* postgresql://opusd:PASS@host... -> postgresql://opusd@host... + PASS in a file */
	const char *colon = strchr(url + 13, ':');
	bare = xasprintf("%.*s%s", (int)(colon - url), url, at);
	char *pass = xasprintf("%.*s\n", (int)(at - colon - 1), colon + 1);
	CHECK(file_write_all(pw, pass, strlen(pass), 0600) == 0);
	free(pass);
	cfg.url = bare;
	cfg.password_file = pw;
	CHECK(store_open(&cfg, &st) == 0);
	store_close(st);
	st = NULL;
	cfg.password_file = NULL;
	setenv("PGPASSWORD", "wrong", 1);
	CHECK(store_open(&cfg, &st) == OPUS_ERR_IO);
	unsetenv("PGPASSWORD");
	cfg.url = "postgresql://opusd@127.0.0.1:1/nothing?connect_timeout=2";
	CHECK(store_open(&cfg, &st) == OPUS_ERR_IO);
	CHECK(st == NULL);
out:
	free(bare);
	(void)unlink(pw);
	free(pw);
	free(url);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (!pg_server_up(&server, "store-pg"))
		return 0;
	CHECK(server.url[0] != '\0');
	if (server.url[0]) {
		RUN(job_round_trip_and_conditional_writes);
		RUN(list_filters_paging_and_expiry);
		RUN(pool_under_threads);
		RUN(password_file_and_unreachable);
		RUN(server_restart_reconnects);
	} else {
		check_failed++;
	}
	pg_server_down(&server);
	return CHECK_DONE();
}
