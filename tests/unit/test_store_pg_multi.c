/*
 * Unit tests for several instances on one PostgreSQL database (store.h,
 * "Several daemons on one database") against a real server started by
 * scripts/pg.sh: claims (one instance's, refused to another, the claim of
 * the next unclaimed jobs, disjoint under two stores claiming at once, the
 * unclaim of a requeue), the instances' heartbeats and the dead ones,
 * notifications of phase changes and deletes to another store's listener,
 * and the leader lock moving when its holder stops listening. A SQLite
 * store answers as a single daemon.
 */
#include "check.h"
#include "pg_server.h"
#include "store/store-int.h"

#include <pthread.h>
#include <time.h>

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

/* A QUEUED job (or PENDING), stored; its id into id. */
static void add_job(struct store *st, enum uws_phase phase, int64_t t, char id[UWS_ID_LEN + 1])
{
	struct uws_job j = {0};
	uws_id_new(j.id);
	j.jobdef = xstrdup("echo");
	j.phase = phase;
	j.creation_time = t;
	j.run_request_time = t;
	CHECK(store_job_create(st, &j) == 0);
	memcpy(id, j.id, UWS_ID_LEN + 1);
	uws_job_release(&j);
}

static void set_phase(struct store *st, const char *id, enum uws_phase from, enum uws_phase to)
{
	struct uws_job j = {0};
	CHECK(store_job_get(st, id, &j) == 0);
	j.phase = to;
	CHECK(store_job_save(st, &j, from) == 0);
	uws_job_release(&j);
}

static bool has_id(char **ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

TEST(claims)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	char a[UWS_ID_LEN + 1], b[UWS_ID_LEN + 1], p[UWS_ID_LEN + 1], ids5[5][UWS_ID_LEN + 1];
	char **ids = NULL;
	size_t n = 0;
	if (!st)
		goto out;
	CHECK(store_is_shared(st));
	add_job(st, UWS_QUEUED, 100, a);
	add_job(st, UWS_PENDING, 101, p);
	CHECK(store_job_claim(st, a, "A") == 0);
	CHECK(store_job_claim(st, a, "A") == 0); /* its own already */
	CHECK(store_job_claim(st, a, "B") == OPUS_ERR_PHASE);
	CHECK(store_job_claim(st, p, "B") == OPUS_ERR_PHASE); /* not QUEUED */
	CHECK(store_job_claim(st, "0123456789abcdef0123456789abcdef", "B") == OPUS_ERR_NOTFOUND);
	CHECK(store_job_claim(st, a, "") == OPUS_ERR_INVAL);
	for (int i = 0; i < 5; i++)
		add_job(st, UWS_QUEUED, 200 + i, ids5[i]);
	/* none requested before 200 yet; then the oldest run requests first, never A's */
	CHECK(store_job_claim_next(st, "B", 3, 199, &ids, &n) == 0);
	CHECK(n == 0);
	store_ids_free(ids, n);
	CHECK(store_job_claim_next(st, "B", 3, 1000, &ids, &n) == 0);
	CHECK(n == 3);
	for (int i = 0; i < 3; i++)
		CHECK(has_id(ids, n, ids5[i]));
	CHECK(!has_id(ids, n, a));
	store_ids_free(ids, n);
	CHECK(store_job_claim_next(st, "C", 10, 1000, &ids, &n) == 0);
	CHECK(n == 2 && has_id(ids, n, ids5[3]) && has_id(ids, n, ids5[4]));
	store_ids_free(ids, n);
	CHECK(store_job_claim(st, ids5[0], "C") == OPUS_ERR_PHASE);
	/* who holds what; restart recovery sees its own and nobody's */
	CHECK(store_job_ids_of(st, "B", &ids, &n) == 0);
	CHECK(n == 3);
	store_ids_free(ids, n);
	add_job(st, UWS_QUEUED, 300, b); /* nobody's */
	CHECK(store_job_ids_mine(st, UWS_QUEUED, "A", &ids, &n) == 0);
	CHECK(n == 2 && has_id(ids, n, a) && has_id(ids, n, b));
	store_ids_free(ids, n);
	/* a requeue (EXECUTING -> QUEUED) makes the job nobody's again */
	set_phase(st, a, UWS_QUEUED, UWS_EXECUTING);
	CHECK(store_job_claim(st, a, "B") == OPUS_ERR_PHASE);
	set_phase(st, a, UWS_EXECUTING, UWS_QUEUED);
	CHECK(store_job_claim(st, a, "B") == 0);
	/* unclaim: only a job claimed for the queue, never one claimed for a start */
	CHECK(store_job_unclaim(st, a, "B") == OPUS_ERR_PHASE);	      /* store_job_claim'd */
	CHECK(store_job_unclaim(st, ids5[0], "C") == OPUS_ERR_PHASE); /* B's */
	CHECK(store_job_unclaim(st, ids5[0], "B") == 0);
	CHECK(store_job_claim(st, ids5[0], "C") == 0);
	/* reassign (adoption): only from the holder, in the phase said */
	CHECK(store_job_reassign(st, a, "A", "D", UWS_QUEUED) == OPUS_ERR_PHASE);
	CHECK(store_job_reassign(st, a, "B", "D", UWS_EXECUTING) == OPUS_ERR_PHASE);
	CHECK(store_job_reassign(st, a, "B", NULL, UWS_QUEUED) == OPUS_ERR_INVAL);
	CHECK(store_job_reassign(st, a, "B", "D", UWS_QUEUED) == 0);
	CHECK(store_job_ids_of(st, "D", &ids, &n) == 0);
	CHECK(n == 1 && has_id(ids, n, a));
	store_ids_free(ids, n);
out:
	store_close(st);
	free(url);
}

#define RACE_JOBS 200

struct claimer {
	struct store *st;
	const char *name;
	char **got[64];
	size_t ngot[64];
	size_t rounds;
};

static void *claim_main(void *arg)
{
	struct claimer *c = arg;
	for (c->rounds = 0; c->rounds < 64; c->rounds++) {
		CHECK(store_job_claim_next(c->st, c->name, 7, INT64_MAX, &c->got[c->rounds],
					   &c->ngot[c->rounds]) == 0);
		if (c->ngot[c->rounds] == 0)
			break;
	}
	return NULL;
}

TEST(claims_are_disjoint_under_two_stores)
{
	char *url = pg_server_fresh_db(&server);
	struct store *one = open_url(url), *two = open_url(url);
	struct claimer c1 = {.st = one, .name = "one"}, c2 = {.st = two, .name = "two"};
	char id[UWS_ID_LEN + 1];
	size_t total = 0, dup = 0;
	pthread_t t1, t2;
	if (!one || !two)
		goto out;
	for (int i = 0; i < RACE_JOBS; i++)
		add_job(one, UWS_QUEUED, 1000 + i, id);
	pthread_create(&t1, NULL, claim_main, &c1);
	pthread_create(&t2, NULL, claim_main, &c2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	for (size_t r = 0; r <= c1.rounds && r < 64; r++) {
		total += c1.ngot[r];
		for (size_t i = 0; i < c1.ngot[r]; i++)
			for (size_t q = 0; q <= c2.rounds && q < 64; q++)
				dup += has_id(c2.got[q], c2.ngot[q], c1.got[r][i]);
	}
	for (size_t r = 0; r <= c2.rounds && r < 64; r++)
		total += c2.ngot[r];
	CHECK(total == RACE_JOBS);
	CHECK(dup == 0);
	for (size_t r = 0; r < 64; r++) {
		store_ids_free(c1.got[r], c1.ngot[r]);
		store_ids_free(c2.got[r], c2.ngot[r]);
	}
out:
	store_close(one);
	store_close(two);
	free(url);
}

TEST(heartbeats_and_dead_instances)
{
	char *url = pg_server_fresh_db(&server);
	struct store *st = open_url(url);
	char **names = NULL, sql[256];
	size_t n = 0;
	if (!st)
		goto out;
	CHECK(store_instance_beat(st, "A", 11) == 0);
	CHECK(store_instance_beat(st, "B", 12) == 0);
	CHECK(store_instance_beat(st, "A", 11) == 0); /* again: updated, not duplicated */
	CHECK(pg_sql_int(url, "SELECT count(*) FROM instances") == 2);
	CHECK(store_instances_dead(st, "B", 60000, &names, &n) == 0);
	CHECK(n == 0);
	store_ids_free(names, n);
	/* A silent for 2 minutes (on the database's clock) */
	snprintf(sql, sizeof(sql),
		 "UPDATE instances SET heartbeat = heartbeat - 120000 "
		 "WHERE name = 'A'");
	CHECK(pg_sql_int(url, sql) == 0);
	CHECK(store_instances_dead(st, "B", 60000, &names, &n) == 0);
	CHECK(n == 1 && n && strcmp(names[0], "A") == 0);
	store_ids_free(names, n);
	CHECK(store_instances_dead(st, "A", 60000, &names, &n) == 0);
	CHECK(n == 0); /* never itself */
	store_ids_free(names, n);
	CHECK(store_instance_forget(st, "A") == 0);
	CHECK(store_instances_dead(st, "B", 60000, &names, &n) == 0);
	CHECK(n == 0);
	store_ids_free(names, n);
	CHECK(store_instances_dead(st, "B", 0, &names, &n) == OPUS_ERR_INVAL);
out:
	store_close(st);
	free(url);
}

/* What a listener heard, for a test thread to wait on. */
struct heard {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char id[8][UWS_ID_LEN + 1];
	int phase[8];
	size_t n;
};

static void on_notify(void *ctx, const char *id, int phase)
{
	struct heard *h = ctx;
	if (!id)
		return;
	pthread_mutex_lock(&h->lock);
	if (h->n < 8) {
		snprintf(h->id[h->n], sizeof(h->id[0]), "%s", id);
		h->phase[h->n++] = phase;
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Waits (up to 10 s) until the listener heard (id, phase). */
static bool heard_wait(struct heard *h, const char *id, int phase)
{
	struct timespec until;
	bool found = false;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		for (size_t i = 0; i < h->n && !found; i++)
			found = strcmp(h->id[i], id) == 0 && h->phase[i] == phase;
		if (found || pthread_cond_timedwait(&h->cond, &h->lock, &until) != 0)
			break;
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

static bool leader_within(struct store *st, int ms)
{
	for (int t = 0; t < ms && !store_is_leader(st); t += 20)
		(void)nanosleep(&(struct timespec){0, 20000000L}, NULL);
	return store_is_leader(st);
}

TEST(notifications_and_the_leader)
{
	char *url = pg_server_fresh_db(&server);
	struct store *a = open_url(url), *b = open_url(url);
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	char id[UWS_ID_LEN + 1];
	if (!a || !b)
		goto out;
	CHECK(store_listen(a, &(struct store_listener){.fn = on_notify, .ctx = &h}) == 0);
	CHECK(leader_within(a, 5000));
	CHECK(
	    store_listen(
		b, &(struct store_listener){
		       .fn = on_notify, .ctx = &h, .instance = "B", .pid = 7, .beat_ms = 50}) == 0);
	/* b's listener writes its heartbeat */
	for (int t = 0; t < 5000 && pg_sql_int(url, "SELECT count(*) FROM instances "
						    "WHERE name = 'B' AND pid = 7") != 1;
	     t += 20)
		(void)nanosleep(&(struct timespec){0, 20000000L}, NULL);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM instances WHERE name = 'B' AND pid = 7") == 1);
	CHECK(!leader_within(b, 1500)); /* one leader at a time */
	add_job(b, UWS_QUEUED, 500, id);
	CHECK(heard_wait(&h, id, UWS_QUEUED));
	set_phase(b, id, UWS_QUEUED, UWS_EXECUTING);
	CHECK(heard_wait(&h, id, UWS_EXECUTING));
	CHECK(store_job_delete(b, id) == 0);
	CHECK(heard_wait(&h, id, STORE_JOB_DELETED));
	/* the leader goes: the other takes over */
	store_unlisten(a);
	CHECK(!store_is_leader(a));
	CHECK(leader_within(b, 5000));
out:
	store_close(a);
	store_close(b);
	free(url);
}

TEST(sqlite_is_a_single_daemon)
{
	char dir[] = "/tmp/opusd-multi-sqlite-XXXXXX", path[64], id[UWS_ID_LEN + 1];
	struct store_config cfg = {.backend = "sqlite", .path = path};
	struct store *st = NULL;
	char **ids = NULL;
	size_t n = 0;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	CHECK(store_open(&cfg, &st) == 0);
	if (!st)
		goto out;
	CHECK(!store_is_shared(st));
	CHECK(store_is_leader(st));
	add_job(st, UWS_QUEUED, 1, id);
	CHECK(store_job_claim(st, id, "A") == 0);
	CHECK(store_job_claim(st, id, "B") == 0);
	CHECK(store_job_claim_next(st, "A", 5, INT64_MAX, &ids, &n) == 0 && n == 0);
	CHECK(store_job_ids_mine(st, UWS_QUEUED, "B", &ids, &n) == 0);
	CHECK(n == 1);
	store_ids_free(ids, n);
	CHECK(store_instance_beat(st, "A", 1) == 0);
	CHECK(store_listen(st, &(struct store_listener){.fn = on_notify}) == 0);
	store_unlisten(st);
out:
	store_close(st);
	(void)rm_rf(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	RUN(sqlite_is_a_single_daemon);
	if (!pg_server_up(&server, "store-pg-multi"))
		return CHECK_DONE();
	CHECK(server.url[0] != '\0');
	if (server.url[0]) {
		RUN(claims);
		RUN(claims_are_disjoint_under_two_stores);
		RUN(heartbeats_and_dead_instances);
		RUN(notifications_and_the_leader);
	} else {
		check_failed++;
	}
	pg_server_down(&server);
	return CHECK_DONE();
}
