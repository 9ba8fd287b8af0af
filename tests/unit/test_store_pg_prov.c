/*
 * Unit tests for the provenance part of the PostgreSQL store backend
 * (store_pg_prov.c) against a real server started by scripts/pg.sh: input
 * recognition (per owner, anonymous apart, and one entity for concurrent
 * uploads of the same bytes from two handles), usages replaced and
 * cleared, a job's end in one transaction (conditional on the phase it was
 * in: a lost race writes nothing), retirement invalidating entities and
 * listing blobs, and the lineage walk back and forth with hops, the
 * max_activities cap, a cycle, and a 1,000-job chain in a bounded number of
 * statements (store_pg_statement_count).
 */
#include "check.h"
#include "pg_server.h"
#include "store/store_pg-int.h"

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

static struct store *open_fresh(char **url_out)
{
	char *url = pg_server_fresh_db(&server);
	*url_out = url;
	return open_url(url);
}

/* An integer answer of a query with one text parameter (ids: hex only). */
static int64_t sql_count(const char *url, const char *sql, const char *id)
{
	char *q = id ? xasprintf(sql, id) : xstrdup(sql);
	int64_t v = pg_sql_int(url, q);
	free(q);
	return v;
}

static void fake_sha(char out[65], char digit)
{
	memset(out, digit, 64);
	out[64] = '\0';
}

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

static void create_job(struct store *st, struct uws_job *j, const char *owner)
{
	memset(j, 0, sizeof(*j));
	uws_id_new(j->id);
	j->jobdef = xstrdup("prov");
	j->owner = xstrdup(owner);
	j->phase = UWS_PENDING;
	j->creation_time = time_now_ms();
	CHECK(store_job_create(st, j) == 0);
}

/* Ends a PENDING job COMPLETED with one result of bytes `digit` (its entity
 * into gen_out; none when digit is 0), a given and a default parameter. */
static int end_job(struct store *st, struct uws_job *j, char digit,
		   char gen_out[STORE_ENTITY_ID_LEN + 1])
{
	struct store_activity a = {0};
	struct store_param_rec params[2] = {{"x", "1", false}, {"y", "default-y", true}};
	struct store_entity g = {0};
	enum uws_phase from = j->phase;
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
	return store_job_end(st, j, &a, &g, digit ? 1 : 0, from);
}

static bool entity_live(struct store *st, const char *id)
{
	struct store_entity e = {0};
	bool live;
	CHECK(store_entity_get(st, id, &e) == 0);
	live = e.invalidation_time == 0;
	store_entity_release(&e);
	return live;
}

TEST(input_recognition)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	char j1[UWS_ID_LEN + 1], j2[UWS_ID_LEN + 1], j3[UWS_ID_LEN + 1], j4[UWS_ID_LEN + 1];
	char a1[STORE_ENTITY_ID_LEN + 1], a2[STORE_ENTITY_ID_LEN + 1], b1[STORE_ENTITY_ID_LEN + 1];
	char n1[STORE_ENTITY_ID_LEN + 1], n2[STORE_ENTITY_ID_LEN + 1], sha[65];
	struct store_entity got = {0};
	if (!st)
		return;
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
	CHECK(use_input(st, j4, "", 'a', "in", 1, n2));	   /* "" is anonymous */
	CHECK_STR(n2, n1);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM entities") == 3);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM usages") == 5);
	CHECK(store_entity_find(st, "alice", sha, &got) == 0);
	CHECK_STR(got.id, a1);
	store_entity_release(&got);
	CHECK(store_entity_find(st, NULL, sha, &got) == 0);
	CHECK_STR(got.id, n1);
	CHECK(got.owner == NULL);
	store_entity_release(&got);
	CHECK(store_entity_find(st, "carol", sha, &got) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_get(st, a1, &got) == 0);
	CHECK(got.size == 100);
	CHECK_STR(got.content_type, "text/plain");
	CHECK_STR(got.source, "upload:in.txt");
	CHECK(got.generated_by == NULL && got.invalidation_time == 0);
	store_entity_release(&got);
	CHECK(store_entity_get(st, "e00000000000000000000000000000000", &got) == OPUS_ERR_NOTFOUND);
	store_close(st);
	free(url);
}

TEST(usages_replace_and_clear)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	char j1[UWS_ID_LEN + 1], j2[UWS_ID_LEN + 1];
	char x[STORE_ENTITY_ID_LEN + 1], y[STORE_ENTITY_ID_LEN + 1], z[STORE_ENTITY_ID_LEN + 1];
	struct store_entity got = {0};
	if (!st)
		return;
	uws_id_new(j1);
	uws_id_new(j2);
	CHECK(!use_input(st, j1, "alice", '1', "in", 0, x));
	CHECK(!use_input(st, j1, "alice", '2', "in", 0, y)); /* replaces x as (in, 0) */
	CHECK(pg_sql_int(url, "SELECT count(*) FROM usages") == 1);
	CHECK(store_entity_get(st, x, &got) == 0);
	CHECK(got.invalidation_time > 0);
	CHECK_STR(got.invalidated_by, j1);
	store_entity_release(&got);
	CHECK(!use_input(st, j2, "alice", '1', "in", 0, z)); /* x is not live: not recognised */
	CHECK(strcmp(z, x) != 0);
	CHECK(store_usage_put(st, j2, "in", 1, y) == 0);
	CHECK(store_usage_put(st, j2, "in", 2, "e11111111111111111111111111111111") ==
	      OPUS_ERR_NOTFOUND);
	CHECK(store_usage_put(st, j2, "in", 2, "bad") == OPUS_ERR_NOTFOUND);
	CHECK(store_usages_clear(st, j1, "in") == 0);
	CHECK(entity_live(st, y)); /* j2's still */
	CHECK(store_usages_clear(st, j2, "in") == 0);
	CHECK(!entity_live(st, y));
	CHECK(pg_sql_int(url, "SELECT count(*) FROM entities WHERE invalidation_time = 0") == 0);
	store_close(st);
	free(url);
}

/* One transaction, conditional on the phase: a lost race or a bad activity
 * leaves the job, its results, the activity and the entities as they were. */
TEST(job_end_conditional_one_commit)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct uws_job j, got = {0}, ghost, raced;
	struct store_activity act = {0};
	struct store_entity ent = {0};
	char gen[STORE_ENTITY_ID_LEN + 1];
	if (!st)
		return;
	create_job(st, &j, "alice");
	CHECK(end_job(st, &j, '9', gen) == 0);
	CHECK(store_job_get(st, j.id, &got) == 0);
	CHECK(got.phase == UWS_COMPLETED);
	CHECK(got.metrics.known && got.metrics.wall_ms == 10 && got.metrics.max_rss_kb == 2048);
	CHECK(got.nresults == 1);
	if (got.nresults == 1)
		CHECK_STR(got.results[0].entity_id, gen);
	uws_job_release(&got);
	CHECK(store_activity_get(st, j.id, &act) == 0);
	CHECK_STR(act.jobdef, "prov");
	CHECK_STR(act.jdl_hash, "abcd");
	CHECK(act.phase == UWS_COMPLETED && act.metrics.cpu_ms == 7);
	CHECK(act.nparams == 2);
	if (act.nparams == 2) {
		CHECK_STR(act.params[0].name, "x");
		CHECK(!act.params[0].is_default);
		CHECK_STR(act.params[1].name, "y");
		CHECK(act.params[1].is_default);
	}
	store_activity_release(&act);
	CHECK(store_entity_get(st, gen, &ent) == 0);
	CHECK_STR(ent.generated_by, j.id);
	CHECK_STR(ent.owner, "alice");
	store_entity_release(&ent);

	/* Gone: NOTFOUND. In another phase than the caller saw: PHASE. Either
	 * way nothing of it is written. */
	memset(&ghost, 0, sizeof(ghost));
	uws_id_new(ghost.id);
	ghost.jobdef = xstrdup("prov");
	ghost.phase = UWS_PENDING;
	CHECK(end_job(st, &ghost, '8', gen) == OPUS_ERR_NOTFOUND);
	CHECK(store_activity_get(st, ghost.id, &act) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_get(st, gen, &ent) == OPUS_ERR_NOTFOUND);
	create_job(st, &raced, NULL);
	raced.phase = UWS_EXECUTING; /* what the caller believes; the row is PENDING */
	CHECK(end_job(st, &raced, '7', gen) == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, raced.id, &got) == 0);
	CHECK(got.phase == UWS_PENDING && got.nresults == 0 && !got.metrics.known);
	uws_job_release(&got);
	CHECK(store_activity_get(st, raced.id, &act) == OPUS_ERR_NOTFOUND);
	CHECK(store_entity_get(st, gen, &ent) == OPUS_ERR_NOTFOUND);
	/* A parameter twice: bad input, rolled back whole. */
	struct store_param_rec twice[2] = {{"p", "1", false}, {"p", "2", false}};
	struct store_activity bad = {.params = twice, .nparams = 2};
	struct uws_job tx;
	uws_job_release(&raced);
	create_job(st, &raced, NULL);
	uws_job_copy(&tx, &raced);
	tx.phase = UWS_ABORTED;
	uws_job_add_result(&tx, "r", "r.txt", NULL, 1);
	CHECK(store_job_end(st, &tx, &bad, NULL, 0, UWS_PENDING) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, raced.id, &got) == 0);
	CHECK(got.phase == UWS_PENDING && got.nresults == 0);
	uws_job_release(&got);
	bad.nparams = 0;
	CHECK(store_job_end(st, &tx, &bad, NULL, 0, UWS_PENDING) == 0);
	CHECK(store_activity_get(st, raced.id, &act) == 0);
	CHECK(act.phase == UWS_ABORTED && act.nparams == 0);
	CHECK_STR(act.jobdef, "prov");
	store_activity_release(&act);
	uws_job_release(&tx);
	uws_job_release(&raced);
	uws_job_release(&ghost);
	uws_job_release(&j);
	store_close(st);
	free(url);
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

TEST(job_retire_rules)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct uws_job a, b, c, got = {0};
	char ea[STORE_ENTITY_ID_LEN + 1], eu[STORE_ENTITY_ID_LEN + 1], eu2[STORE_ENTITY_ID_LEN + 1];
	char eb[STORE_ENTITY_ID_LEN + 1], ebob[STORE_ENTITY_ID_LEN + 1];
	char pending[UWS_ID_LEN + 1], bobjob[UWS_ID_LEN + 1], ghost[UWS_ID_LEN + 1], sha[65];
	char **blobs = NULL;
	size_t n = 0;
	int64_t refs = -1;
	struct store_entity e = {0};
	if (!st)
		return;
	create_job(st, &a, "alice");
	CHECK(end_job(st, &a, 'a', ea) == 0);
	create_job(st, &b, "alice");
	CHECK(store_usage_put(st, b.id, "in", 0, ea) == 0);
	CHECK(!use_input(st, b.id, "alice", 'c', "upload", 0, eu));
	CHECK(end_job(st, &b, 'b', eb) == 0);
	create_job(st, &c, "alice");
	CHECK(use_input(st, c.id, "alice", 'c', "upload", 0, eu2));
	CHECK_STR(eu2, eu);
	uws_id_new(bobjob);
	CHECK(!use_input(st, bobjob, "bob", 'a', "in", 0, ebob));

	CHECK(store_job_retire(st, a.id, true, 5000, &blobs, &n) == 0);
	CHECK(n == 0);
	store_ids_free(blobs, n);
	CHECK(store_job_get(st, a.id, &got) == 0);
	CHECK(got.phase == UWS_ARCHIVED && got.nresults == 1);
	uws_job_release(&got);
	CHECK(entity_live(st, ea)); /* B's input still */

	CHECK(store_job_retire(st, b.id, false, 6000, &blobs, &n) == 0);
	CHECK(n == 1 && blobs_have(blobs, n, 'b'));
	store_ids_free(blobs, n);
	CHECK(store_job_get(st, b.id, &got) == OPUS_ERR_NOTFOUND);
	CHECK(sql_count(url, "SELECT count(*) FROM usages WHERE job_id = '%s'", b.id) == 2);
	CHECK(!entity_live(st, ea) && !entity_live(st, eb));
	CHECK(entity_live(st, eu) && entity_live(st, ebob));
	CHECK(store_entity_get(st, ea, &e) == 0);
	CHECK(e.invalidation_time == 6000);
	CHECK_STR(e.invalidated_by, b.id);
	store_entity_release(&e);
	fake_sha(sha, 'a');
	CHECK(store_blob_refs(st, sha, &refs) == 0);
	CHECK(refs == 1); /* bob's */
	fake_sha(sha, 'b');
	CHECK(store_blob_refs(st, sha, &refs) == 0);
	CHECK(refs == 0);

	uws_id_new(pending); /* not created yet: holds what it uses */
	CHECK(use_input(st, pending, "alice", 'c', "upload", 0, eu2));
	CHECK(store_job_retire(st, c.id, false, 7000, &blobs, &n) == 0);
	CHECK(n == 0);
	store_ids_free(blobs, n);
	CHECK(entity_live(st, eu));
	CHECK(store_usages_clear(st, pending, "upload") == 0);
	CHECK(!entity_live(st, eu));

	uws_id_new(ghost);
	CHECK(store_job_retire(st, ghost, false, 1, &blobs, &n) == OPUS_ERR_NOTFOUND);
	CHECK(blobs == NULL && n == 0);
	CHECK(sql_count(url, "SELECT count(*) FROM retired WHERE job_id = '%s'", ghost) == 0);
	CHECK(store_job_retire(st, b.id, true, 1, &blobs, &n) == OPUS_ERR_NOTFOUND);
	uws_job_release(&a);
	uws_job_release(&b);
	uws_job_release(&c);
	store_close(st);
	free(url);
}

/* ---- lineage ---- */

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

TEST(lineage_back_forth_hops_cycle)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	char ids[3][UWS_ID_LEN + 1], gens[3][STORE_ENTITY_ID_LEN + 1];
	struct store_lineage l;
	if (!st)
		return;
	make_chain(st, 3, ids, gens);
	l = lineage(st, ids[2], NULL, false, 0, 100);
	CHECK(l.nactivities == 1 && hop_of(&l, ids[2]) == 0 && !l.truncated);
	CHECK(l.nentities == 2 && has_entity(&l, gens[1]) && has_entity(&l, gens[2]));
	CHECK(l.nusages == 1);
	if (l.nusages == 1) {
		CHECK_STR(l.usages[0].entity_id, gens[1]);
		CHECK_STR(l.usages[0].role, "in");
	}
	if (l.nactivities == 1)
		CHECK(l.activities[0].nparams == 2 && l.activities[0].phase == UWS_COMPLETED);
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 1, 100);
	CHECK(l.nactivities == 2 && hop_of(&l, ids[1]) == 1 && hop_of(&l, ids[0]) == -1);
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 99, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[0]) == 2);
	CHECK(l.nentities == 3 && l.nusages == 2);
	if (l.nactivities == 3) {
		CHECK_STR(l.activities[0].id, ids[2]); /* nearest first */
		CHECK_STR(l.activities[2].id, ids[0]);
		CHECK_STR(l.activities[2].jobdef, "prov");
	}
	if (l.nentities == 3) /* by creation time */
		CHECK(strcmp(l.entities[0].id, gens[0]) == 0 &&
		      strcmp(l.entities[2].id, gens[2]) == 0);
	store_lineage_release(&l);
	l = lineage(st, ids[0], NULL, true, 99, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[2]) == 2);
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], false, 0, 100);
	CHECK(l.nactivities == 0 && l.nentities == 1 && has_entity(&l, gens[1]));
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], false, 2, 100);
	CHECK(l.nactivities == 2 && hop_of(&l, ids[1]) == 1 && hop_of(&l, ids[0]) == 2);
	store_lineage_release(&l);
	l = lineage(st, NULL, gens[1], true, 1, 100);
	CHECK(l.nactivities == 1 && hop_of(&l, ids[2]) == 1);
	store_lineage_release(&l);
	/* The cap: nearest first, and said so. */
	l = lineage(st, ids[2], NULL, false, 99, 2);
	CHECK(l.nactivities == 2 && l.truncated);
	CHECK(hop_of(&l, ids[2]) == 0 && hop_of(&l, ids[1]) == 1 && hop_of(&l, ids[0]) == -1);
	store_lineage_release(&l);
	l = lineage(st, ids[2], NULL, false, 99, 3);
	CHECK(l.nactivities == 3 && !l.truncated);
	store_lineage_release(&l);
	const char *badids[1] = {"x'); DROP TABLE jobs; --"};
	struct store_lineage_query bad = {.activity_ids = badids, .nactivity_ids = 1};
	CHECK(store_lineage_get(st, &bad, &l) == OPUS_ERR_INVAL);
	/* A cycle: the first job uses the last one's result. The walk ends,
	 * each activity once at its nearest hop. */
	CHECK(store_usage_put(st, ids[0], "loop", 0, gens[2]) == 0);
	l = lineage(st, ids[0], NULL, false, 1000, 100);
	CHECK(l.nactivities == 3);
	CHECK(hop_of(&l, ids[0]) == 0 && hop_of(&l, ids[2]) == 1 && hop_of(&l, ids[1]) == 2);
	store_lineage_release(&l);
	l = lineage(st, ids[0], NULL, true, 1000, 100);
	CHECK(l.nactivities == 3 && hop_of(&l, ids[2]) == 2);
	store_lineage_release(&l);
	store_close(st);
	free(url);
}

/* A chain of 1,000 ended jobs (written with plain SQL: 2,000 commits through
 * the API): answered whole by seven statements (store_pg_statement_count). */
TEST(lineage_long_chain_bounded_statements)
{
	char *url = NULL;
	struct store *st = open_fresh(&url);
	struct store_lineage l;
	char last[UWS_ID_LEN + 1], first[UWS_ID_LEN + 1];
	if (!st)
		return;
	CHECK(pg_sql_int(url, "INSERT INTO activities (id, jobdef, phase) SELECT "
			      "lpad(to_hex(i), 32, '0'), 'chain', 3 FROM generate_series(0, 999) i;"
			      "INSERT INTO entities (id, sha256, generated_by) SELECT 'e' || "
			      "lpad(to_hex(i), 32, '0'), lpad(to_hex(i), 64, '0'), "
			      "lpad(to_hex(i), 32, '0') FROM generate_series(0, 999) i;"
			      "INSERT INTO usages (job_id, role, k, entity_id) SELECT "
			      "lpad(to_hex(i), 32, '0'), 'in', 0, 'e' || lpad(to_hex(i - 1), 32, "
			      "'0') FROM generate_series(1, 999) i") == 0);
	snprintf(last, sizeof(last), "%032x", 999);
	snprintf(first, sizeof(first), "%032x", 0);
	uint64_t s0 = store_pg_statement_count();
	int64_t t0 = time_mono_ms();
	l = lineage(st, last, NULL, false, 2000, 5000);
	printf("lineage: 1000-job chain BACK in %lld ms, %llu statements\n",
	       (long long)(time_mono_ms() - t0),
	       (unsigned long long)(store_pg_statement_count() - s0));
	CHECK(store_pg_statement_count() - s0 <= 7);
	CHECK(l.nactivities == 1000 && !l.truncated);
	CHECK(hop_of(&l, first) == 999);
	CHECK(l.nentities == 1000 && l.nusages == 999);
	store_lineage_release(&l);
	s0 = store_pg_statement_count();
	l = lineage(st, first, NULL, true, 2000, 5000);
	CHECK(store_pg_statement_count() - s0 <= 7);
	CHECK(l.nactivities == 1000 && hop_of(&l, last) == 999);
	store_lineage_release(&l);
	l = lineage(st, last, NULL, false, 10, 5000); /* the hop bound */
	CHECK(l.nactivities == 11);
	store_lineage_release(&l);
	store_close(st);
	free(url);
}

struct use_worker {
	struct store *st;
	char id[STORE_ENTITY_ID_LEN + 1];
	int recognised, failures;
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

/* Concurrent uploads of the same bytes by one owner, through two handles
 * (two instances): one entity, recognised by all the others. */
TEST(input_use_concurrent_two_handles)
{
	char *url = NULL;
	struct store *st = open_fresh(&url), *other = open_url(url);
	pthread_t tid[8];
	struct use_worker w[8];
	int recognised = 0;
	if (!st || !other)
		return;
	for (int i = 0; i < 8; i++) {
		w[i] = (struct use_worker){.st = i % 2 ? other : st};
		CHECK(pthread_create(&tid[i], NULL, use_worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		CHECK(w[i].failures == 0);
		CHECK_STR(w[i].id, w[0].id);
		recognised += w[i].recognised;
	}
	CHECK(recognised == 8 * 20 - 1);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM entities") == 1);
	CHECK(pg_sql_int(url, "SELECT count(*) FROM usages") == 160);
	store_close(other);
	store_close(st);
	free(url);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (!pg_server_up(&server, "store-pg-prov"))
		return 0;
	CHECK(server.url[0] != '\0');
	if (server.url[0]) {
		RUN(input_recognition);
		RUN(usages_replace_and_clear);
		RUN(job_end_conditional_one_commit);
		RUN(job_retire_rules);
		RUN(lineage_back_forth_hops_cycle);
		RUN(lineage_long_chain_bounded_statements);
		RUN(input_use_concurrent_two_handles);
	} else {
		check_failed++;
	}
	pg_server_down(&server);
	return CHECK_DONE();
}
