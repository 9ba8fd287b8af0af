/*
 * store_pg_prov: the provenance ops of the PostgreSQL backend: entities,
 * usages, a job's end and retirement, activities and the lineage walk.
 * Behaviour and error codes are those of store.h and store_sqlite.c.
 *
 * Liveness: whether an entity is live depends on rows of other
 * transactions (the usages and job rows of every job that holds it). SQLite
 * has one writer; here several connections, and several instances, write at
 * once, and READ COMMITTED would let a retirement invalidate an entity that
 * a concurrent input recognises (and whose blob it then deletes). So every
 * write that can invalidate or recognise an entity (input_use, usage_put,
 * usages_clear, job_retire) takes one transaction-level advisory lock,
 * STORE_PG_LOCK_ENTITIES, first: they are short (a handful of indexed
 * statements) and the lock goes at commit. A job's end only adds entities
 * and moves a live job to another live phase: it takes no lock.
 *
 * Lineage: one recursive query (UNION over (id, hop), bounded by max_hops
 * and by a LIMIT on walked rows: cycle-safe, breadth-first since PostgreSQL
 * evaluates a recursive CTE one level at a time and stops at the LIMIT),
 * then four queries selecting by an array of ids, all in one REPEATABLE
 * READ snapshot: seven statements (with the snapshot's and the planner
 * settings') whatever the length of the chain.
 */
#include "store/store_pg-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Walked rows at most, whatever the graph (each (activity, hop) once). */
#define STORE_PG_WALK_ROWS 2000000

#define STORE_PG_ENTITY_COLS                                                                       \
	"id, sha256, size, content_type, file_name, generated_by, role, result_id, source, "       \
	"owner, creation_time, invalidation_time, invalidated_by"
#define STORE_PG_ENTITY_COLS_E                                                                     \
	"e.id, e.sha256, e.size, e.content_type, e.file_name, e.generated_by, e.role, "            \
	"e.result_id, e.source, e.owner, e.creation_time, e.invalidation_time, e.invalidated_by"
#define STORE_PG_METRICS_COLS "metrics_known, wall_ms, cpu_ms, max_rss_kb, exit_code"
#define STORE_PG_ACT_COLS                                                                          \
	"id, jobdef, jdl_hash, owner, run_id, phase, creation_time, start_time, end_time, "        \
	"error_summary, " STORE_PG_METRICS_COLS
#define STORE_PG_ACT_COLS_A                                                                        \
	"a.id, a.jobdef, a.jdl_hash, a.owner, a.run_id, a.phase, a.creation_time, "                \
	"a.start_time, a.end_time, a.error_summary, a.metrics_known, a.wall_ms, a.cpu_ms, "        \
	"a.max_rss_kb, a.exit_code"

/*
 * Does a live job hold the entity (the row `entities` of the statement)? Its
 * generator has a row that is not ARCHIVED, or a job that uses it has one, or
 * has none yet and was never retired (uploads are placed before the row).
 */
#define STORE_PG_HELD                                                                              \
	"(EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = entities.generated_by AND hj.phase <> 9) "   \
	"OR EXISTS (SELECT 1 FROM usages hu WHERE hu.entity_id = entities.id AND "                 \
	"(EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = hu.job_id AND hj.phase <> 9) OR "            \
	"(NOT EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = hu.job_id) AND "                         \
	"NOT EXISTS (SELECT 1 FROM retired hr WHERE hr.job_id = hu.job_id)))))"

/* The walk: $1 the start activities, $2 the start entities (arrays of ids),
 * $3 max_hops, $4 the cap on walked rows. */
#define STORE_PG_WALK_HEAD                                                                         \
	"WITH RECURSIVE walk(id, hop) AS ("                                                        \
	"SELECT a.id, 0 FROM activities a WHERE a.id = ANY($1::text[]) "                           \
	"UNION "
#define STORE_PG_WALK_TAIL ") SELECT id, hop FROM walk LIMIT $4::bigint"
#define STORE_PG_SQL_WALK_BACK                                                                     \
	STORE_PG_WALK_HEAD                                                                         \
	"SELECT e.generated_by, 1 FROM entities e JOIN activities a ON a.id = e.generated_by "     \
	"WHERE e.id = ANY($2::text[]) AND $3::int >= 1 "                                           \
	"UNION "                                                                                   \
	"SELECT e.generated_by, w.hop + 1 FROM walk w JOIN usages u ON u.job_id = w.id "           \
	"JOIN entities e ON e.id = u.entity_id JOIN activities a ON a.id = e.generated_by "        \
	"WHERE w.hop < $3::int" STORE_PG_WALK_TAIL
#define STORE_PG_SQL_WALK_FORTH                                                                    \
	STORE_PG_WALK_HEAD                                                                         \
	"SELECT u.job_id, 1 FROM usages u JOIN activities a ON a.id = u.job_id "                   \
	"WHERE u.entity_id = ANY($2::text[]) AND $3::int >= 1 "                                    \
	"UNION "                                                                                   \
	"SELECT u.job_id, w.hop + 1 FROM walk w JOIN entities e ON e.generated_by = w.id "         \
	"JOIN usages u ON u.entity_id = e.id JOIN activities a ON a.id = u.job_id "                \
	"WHERE w.hop < $3::int" STORE_PG_WALK_TAIL

/* clang-format off */
const struct store_pg_stmt store_pg_prov_stmts[] = {
    {"prov_snapshot", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0},
    /* The walk's recursive step is planned once, for a work table the planner
     * guesses small: with a hash join it scans all of usages at every hop
     * (450 ms for a 1,000-job chain on fresh statistics); nested loops on
     * the indexes take 24 ms. For the lineage transaction only. */
    {"prov_walk_plan", "SELECT set_config('enable_hashjoin', 'off', true), "
		       "set_config('enable_mergejoin', 'off', true)", 0},
    {"entity_insert", "INSERT INTO entities (" STORE_PG_ENTITY_COLS ") VALUES ($1, $2, $3, "
		      "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", 13},
    {"entity_insert_keep", "INSERT INTO entities (" STORE_PG_ENTITY_COLS ") VALUES ($1, $2, "
			   "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
			   "ON CONFLICT (id) DO NOTHING", 13},
    {"entity_get", "SELECT " STORE_PG_ENTITY_COLS " FROM entities WHERE id = $1", 1},
    /* Two texts so that both use entities_owner_sha (IS NOT DISTINCT FROM would not). */
    {"entity_find", "SELECT " STORE_PG_ENTITY_COLS " FROM entities WHERE owner = $1 AND "
		    "sha256 = $2 AND invalidation_time = 0 ORDER BY creation_time, seq LIMIT 1", 2},
    {"entity_find_anon", "SELECT " STORE_PG_ENTITY_COLS " FROM entities WHERE owner IS NULL "
			 "AND sha256 = $1 AND invalidation_time = 0 "
			 "ORDER BY creation_time, seq LIMIT 1", 1},
    {"entity_exists", "SELECT 1 FROM entities WHERE id = $1", 1},
    {"blob_refs", "SELECT count(*) FROM entities WHERE sha256 = $1 AND invalidation_time = 0",
     1},
    {"entity_orphan", "UPDATE entities SET invalidation_time = $2, invalidated_by = $3 "
		      "WHERE id = $1 AND invalidation_time = 0 AND NOT " STORE_PG_HELD, 3},
    {"usage_get", "SELECT entity_id FROM usages WHERE job_id = $1 AND role = $2 AND k = $3", 3},
    {"usage_put", "INSERT INTO usages (job_id, role, k, entity_id) VALUES ($1, $2, $3, $4) "
		  "ON CONFLICT (job_id, role, k) DO UPDATE SET entity_id = excluded.entity_id", 4},
    {"usages_of_role", "SELECT DISTINCT entity_id FROM usages WHERE job_id = $1 AND role = $2",
     2},
    {"usages_clear", "DELETE FROM usages WHERE job_id = $1 AND role = $2", 2},
    {"retired_mark", "INSERT INTO retired (job_id, time) VALUES ($1, $2) "
		     "ON CONFLICT (job_id) DO NOTHING", 2},
    {"prov_job_archive", "UPDATE jobs SET phase = 9 WHERE id = $1", 1},
    {"prov_job_delete", "DELETE FROM jobs WHERE id = $1", 1},
    {"retire_invalidate", "UPDATE entities SET invalidation_time = $2, invalidated_by = $1 "
			  "WHERE invalidation_time = 0 AND id IN (SELECT g.id FROM entities g "
			  "WHERE g.generated_by = $1 UNION SELECT u.entity_id FROM usages u "
			  "WHERE u.job_id = $1) AND NOT " STORE_PG_HELD, 2},
    {"retire_blobs", "SELECT DISTINCT d.sha256 FROM entities d WHERE d.invalidated_by = $1 "
		     "AND d.invalidation_time > 0 AND NOT EXISTS (SELECT 1 FROM entities l "
		     "WHERE l.sha256 = d.sha256 AND l.invalidation_time = 0) ORDER BY 1", 1},
    /* A job's end: the scalars and metrics, only from the phase the caller saw. */
    {"end_update", "UPDATE jobs SET jobdef = $2, owner = $3, run_id = $4, phase = $5, "
		   "creation_time = $6, start_time = $7, end_time = $8, destruction_time = $9, "
		   "execution_duration = $10, quote = $11, error_summary = $12, "
		   "error_type = $13, run_request_time = $14, exec_handle = $15, jdl_hash = $16, "
		   "metrics_known = $17, wall_ms = $18, cpu_ms = $19, max_rss_kb = $20, "
		   "exit_code = $21 WHERE id = $1 AND phase = $22", 22},
    {"end_job_phase", "SELECT phase FROM jobs WHERE id = $1", 1},
    {"end_results_delete", "DELETE FROM results WHERE job_id = $1", 1},
    {"end_result_insert", "INSERT INTO results (job_id, rid, path, mime, size, entity_id, "
			  "sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)", 7},
    {"activity_put", "INSERT INTO activities (" STORE_PG_ACT_COLS ") VALUES ($1, $2, $3, $4, "
		     "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO "
		     "UPDATE SET jobdef = excluded.jobdef, jdl_hash = excluded.jdl_hash, "
		     "owner = excluded.owner, run_id = excluded.run_id, phase = excluded.phase, "
		     "creation_time = excluded.creation_time, start_time = excluded.start_time, "
		     "end_time = excluded.end_time, error_summary = excluded.error_summary, "
		     "metrics_known = excluded.metrics_known, wall_ms = excluded.wall_ms, "
		     "cpu_ms = excluded.cpu_ms, max_rss_kb = excluded.max_rss_kb, "
		     "exit_code = excluded.exit_code", 15},
    {"act_params_delete", "DELETE FROM activity_params WHERE activity_id = $1", 1},
    {"act_param_insert", "INSERT INTO activity_params (activity_id, name, value, is_default) "
			 "VALUES ($1, $2, $3, $4)", 4},
    {"activity_get", "SELECT " STORE_PG_ACT_COLS " FROM activities WHERE id = $1", 1},
    {"act_params_get", "SELECT name, value, is_default FROM activity_params "
		       "WHERE activity_id = $1 ORDER BY seq", 1},
    {"walk_back", STORE_PG_SQL_WALK_BACK, 4},
    {"walk_forth", STORE_PG_SQL_WALK_FORTH, 4},
    {"lin_activities", "SELECT j.ord - 1, " STORE_PG_ACT_COLS_A " FROM unnest($1::text[]) "
		       "WITH ORDINALITY j(id, ord) JOIN activities a ON a.id = j.id", 1},
    {"lin_params", "SELECT j.ord - 1, p.name, p.value, p.is_default FROM unnest($1::text[]) "
		   "WITH ORDINALITY j(id, ord) JOIN activity_params p ON p.activity_id = j.id "
		   "ORDER BY j.ord, p.seq", 1},
    /* What the activities generated or used, and the start entities: a
     * semi-join on the primary key over three indexed lookups. */
    {"lin_entities", "SELECT " STORE_PG_ENTITY_COLS_E " FROM entities e WHERE e.id IN ("
		     "SELECT g.id FROM entities g WHERE g.generated_by = ANY($1::text[]) "
		     "UNION SELECT u.entity_id FROM usages u WHERE u.job_id = ANY($1::text[]) "
		     "UNION SELECT unnest($2::text[])) ORDER BY e.creation_time, e.seq", 2},
    {"lin_usages", "SELECT job_id, entity_id, role, k FROM usages "
		   "WHERE job_id = ANY($1::text[]) ORDER BY job_id, role, k", 1},
    {NULL, NULL, 0},
};
/* clang-format on */

/* ---- columns ---- */

static bool store_pg_prov_bool(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	return v[0] == 't' || (v[0] && v[0] != 'f' && strtoll(v, NULL, 10) != 0);
}

static enum uws_phase store_pg_col_phase(const PGresult *r, int row, int col)
{
	int64_t p = store_pg_col_i64(r, row, col);
	return p >= 0 && p < UWS_PHASE_COUNT ? (enum uws_phase)p : UWS_ERROR;
}

/* An entity from STORE_PG_ENTITY_COLS at column 0. */
static void store_pg_read_entity(const PGresult *r, int i, struct store_entity *e)
{
	store_pg_col_buf(r, i, 0, e->id, sizeof(e->id));
	store_pg_col_buf(r, i, 1, e->sha256, sizeof(e->sha256));
	e->size = store_pg_col_i64(r, i, 2);
	e->content_type = store_pg_col_str(r, i, 3);
	e->file_name = store_pg_col_str(r, i, 4);
	e->generated_by = store_pg_col_str(r, i, 5);
	e->role = store_pg_col_str(r, i, 6);
	e->result_id = store_pg_col_str(r, i, 7);
	e->source = store_pg_col_str(r, i, 8);
	e->owner = store_pg_col_str(r, i, 9);
	e->creation_time = store_pg_col_i64(r, i, 10);
	e->invalidation_time = store_pg_col_i64(r, i, 11);
	e->invalidated_by = store_pg_col_str(r, i, 12);
}

static void store_pg_read_metrics(const PGresult *r, int i, int first, struct uws_metrics *m)
{
	m->known = store_pg_prov_bool(r, i, first);
	m->wall_ms = store_pg_col_i64(r, i, first + 1);
	m->cpu_ms = store_pg_col_i64(r, i, first + 2);
	m->max_rss_kb = store_pg_col_i64(r, i, first + 3);
	m->exit_code = (int)store_pg_col_i64(r, i, first + 4);
}

/* An activity's scalars from STORE_PG_ACT_COLS at column `first`. */
static void store_pg_read_activity(const PGresult *r, int i, int first, struct store_activity *a)
{
	store_pg_col_buf(r, i, first, a->id, sizeof(a->id));
	a->jobdef = store_pg_col_str(r, i, first + 1);
	a->jdl_hash = store_pg_col_str(r, i, first + 2);
	a->owner = store_pg_col_str(r, i, first + 3);
	a->run_id = store_pg_col_str(r, i, first + 4);
	a->phase = store_pg_col_phase(r, i, first + 5);
	a->creation_time = store_pg_col_i64(r, i, first + 6);
	a->start_time = store_pg_col_i64(r, i, first + 7);
	a->end_time = store_pg_col_i64(r, i, first + 8);
	a->error_summary = store_pg_col_str(r, i, first + 9);
	store_pg_read_metrics(r, i, first + 10, &a->metrics);
}

/* Appends a parameter from (name, value, is_default) at column `first`. */
static void store_pg_activity_add_param(struct store_activity *a, const PGresult *r, int i,
					int first)
{
	struct store_param_rec *p;
	a->params = xrealloc(a->params, (a->nparams + 1) * sizeof(*a->params));
	p = &a->params[a->nparams++];
	p->name = store_pg_col_str(r, i, first);
	p->value = store_pg_col_str(r, i, first + 1);
	p->is_default = store_pg_prov_bool(r, i, first + 2);
}

/* Runs a statement whose column 0 of its first row (or "") goes into out. */
static int store_pg_run_text(PGconn *c, const char *name, const struct store_pg_args *a, char *out,
			     size_t cap)
{
	PGresult *res = NULL;
	int ret = store_pg_run(c, name, a, &res);
	out[0] = '\0';
	if (ret == 0 && PQntuples(res) > 0)
		store_pg_col_buf(res, 0, 0, out, cap);
	PQclear(res);
	return ret;
}

/* ---- usages and inputs ---- */

/* A usage write: the usage (job_id, role, k) and what it is set to. */
struct store_pg_use {
	const struct store_entity *e; /* input_use: the input */
	const char *job_id, *role, *entity_id;
	int k;
	int64_t now_ms;
	char used[STORE_ENTITY_ID_LEN + 1]; /* the entity used */
	bool recognised;
};

/* Invalidates an entity that no live job holds any more (a usage of it was
 * replaced or cleared by job_id). */
static int store_pg_orphan(PGconn *c, const char *entity_id, const char *job_id, int64_t now_ms)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, entity_id);
	store_pg_arg_int(&a, now_ms);
	store_pg_arg_text(&a, job_id);
	return store_pg_run(c, "entity_orphan", &a, NULL);
}

static void store_pg_usage_key(struct store_pg_args *a, const struct store_pg_use *u)
{
	store_pg_arg_text(a, u->job_id);
	store_pg_arg_text(a, u->role);
	store_pg_arg_int(a, u->k);
}

/* Sets the usage to u->used; the entity it replaces is invalidated when
 * nothing live holds it any more. */
static int store_pg_set_usage(PGconn *c, const struct store_pg_use *u)
{
	char old[STORE_ENTITY_ID_LEN + 1];
	struct store_pg_args a = {0};
	int ret;
	store_pg_usage_key(&a, u);
	ret = store_pg_run_text(c, "usage_get", &a, old, sizeof(old));
	if (ret < 0)
		return ret;
	store_pg_arg_text(&a, u->used);
	ret = store_pg_run(c, "usage_put", &a, NULL);
	if (ret == 0 && old[0] && strcmp(old, u->used) != 0)
		ret = store_pg_orphan(c, old, u->job_id, u->now_ms);
	return ret;
}

static void store_pg_entity_args(struct store_pg_args *a, const struct store_entity *e)
{
	store_pg_arg_text(a, e->id);
	store_pg_arg_text(a, e->sha256);
	store_pg_arg_int(a, e->size);
	store_pg_arg_text(a, e->content_type);
	store_pg_arg_text(a, e->file_name);
	store_pg_arg_text(a, e->generated_by);
	store_pg_arg_text(a, e->role);
	store_pg_arg_text(a, e->result_id);
	store_pg_arg_text(a, e->source);
	store_pg_arg_text(a, e->owner);
	store_pg_arg_int(a, e->creation_time);
	store_pg_arg_int(a, e->invalidation_time);
	store_pg_arg_text(a, e->invalidated_by);
}

/* Recognition: the owner's oldest live entity with these bytes, else e. */
static int store_pg_run_input_use(PGconn *c, void *arg)
{
	struct store_pg_use *u = arg;
	struct store_pg_args a = {0};
	int ret;
	if (u->e->owner)
		store_pg_arg_text(&a, u->e->owner);
	store_pg_arg_text(&a, u->e->sha256);
	ret = store_pg_run_text(c, u->e->owner ? "entity_find" : "entity_find_anon", &a, u->used,
				sizeof(u->used));
	if (ret < 0)
		return ret;
	u->recognised = u->used[0] != '\0';
	if (!u->recognised) {
		a = (struct store_pg_args){0};
		store_pg_entity_args(&a, u->e);
		ret = store_pg_run(c, "entity_insert", &a, NULL);
		memcpy(u->used, u->e->id, sizeof(u->used));
	}
	return ret == 0 ? store_pg_set_usage(c, u) : ret;
}

int store_pg_input_use(struct store *st, const struct store_entity *e, const char *job_id,
		       const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1],
		       bool *recognised_out)
{
	struct store_pg_use u = {
	    .e = e, .job_id = job_id, .role = role, .k = k, .now_ms = time_now_ms()};
	int ret = store_pg_in_tx(st, STORE_PG_LOCK_ENTITIES, store_pg_run_input_use, &u);
	if (ret == 0) {
		memcpy(id_out, u.used, sizeof(u.used));
		*recognised_out = u.recognised;
	}
	return ret;
}

static int store_pg_run_usage_put(PGconn *c, void *arg)
{
	struct store_pg_use *u = arg;
	struct store_pg_args a = {0};
	char found[2];
	int ret;
	store_pg_arg_text(&a, u->entity_id);
	ret = store_pg_run_text(c, "entity_exists", &a, found, sizeof(found));
	if (ret == 0 && !found[0])
		ret = OPUS_ERR_NOTFOUND;
	if (ret == 0) {
		snprintf(u->used, sizeof(u->used), "%s", u->entity_id);
		ret = store_pg_set_usage(c, u);
	}
	return ret;
}

int store_pg_usage_put(struct store *st, const char *job_id, const char *role, int k,
		       const char *entity_id)
{
	struct store_pg_use u = {.job_id = job_id,
				 .role = role,
				 .k = k,
				 .entity_id = entity_id,
				 .now_ms = time_now_ms()};
	/* Not an entity id at all: nothing can match it (and it would not fit). */
	if (strlen(entity_id) > STORE_ENTITY_ID_LEN)
		return OPUS_ERR_NOTFOUND;
	return store_pg_in_tx(st, STORE_PG_LOCK_ENTITIES, store_pg_run_usage_put, &u);
}

static int store_pg_run_usages_clear(PGconn *c, void *arg)
{
	struct store_pg_use *u = arg;
	struct store_pg_args a = {0};
	struct store_pg_ids used = {0};
	PGresult *res = NULL;
	int ret;
	store_pg_arg_text(&a, u->job_id);
	store_pg_arg_text(&a, u->role);
	ret = store_pg_run(c, "usages_of_role", &a, &res);
	if (ret == 0)
		ret = store_pg_read_ids(res, &used);
	PQclear(res);
	if (ret == 0)
		ret = store_pg_run(c, "usages_clear", &a, NULL);
	for (size_t i = 0; ret == 0 && i < used.n; i++)
		ret = store_pg_orphan(c, used.v[i], u->job_id, u->now_ms);
	store_ids_free(used.v, used.n);
	return ret;
}

int store_pg_usages_clear(struct store *st, const char *job_id, const char *role)
{
	struct store_pg_use u = {.job_id = job_id, .role = role, .now_ms = time_now_ms()};
	return store_pg_in_tx(st, STORE_PG_LOCK_ENTITIES, store_pg_run_usages_clear, &u);
}

/* ---- single reads ---- */

static int store_pg_read_entity_cb(const PGresult *res, void *arg)
{
	if (PQntuples(res) < 1)
		return OPUS_ERR_NOTFOUND;
	store_pg_read_entity(res, 0, arg);
	return 0;
}

int store_pg_entity_get(struct store *st, const char *id, struct store_entity *out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, id);
	return store_pg_read(st, "entity_get", &a, store_pg_read_entity_cb, out);
}

int store_pg_entity_find(struct store *st, const char *owner, const char *sha256,
			 struct store_entity *out)
{
	struct store_pg_args a = {0};
	if (owner)
		store_pg_arg_text(&a, owner);
	store_pg_arg_text(&a, sha256);
	return store_pg_read(st, owner ? "entity_find" : "entity_find_anon", &a,
			     store_pg_read_entity_cb, out);
}

static int store_pg_read_count_cb(const PGresult *res, void *arg)
{
	*(int64_t *)arg = PQntuples(res) > 0 ? store_pg_col_i64(res, 0, 0) : 0;
	return 0;
}

int store_pg_blob_refs(struct store *st, const char *sha256, int64_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, sha256);
	return store_pg_read(st, "blob_refs", &a, store_pg_read_count_cb, n_out);
}

/* ---- a job's end ---- */

struct store_pg_end {
	const struct uws_job *job;
	const struct store_activity *act;
	const struct store_entity *gen;
	size_t ngen;
	enum uws_phase from;
};

/* The conditional write of the scalars and metrics: OPUS_ERR_PHASE when
 * the row is in another phase than `from`, OPUS_ERR_NOTFOUND when gone. */
static int store_pg_end_scalars(PGconn *c, const struct uws_job *job, enum uws_phase from)
{
	const char *owner = job->owner && *job->owner ? job->owner : NULL;
	struct store_pg_args a = {0};
	char phase[8];
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, job->id);
	store_pg_arg_text(&a, job->jobdef);
	store_pg_arg_text(&a, owner);
	store_pg_arg_text(&a, job->run_id);
	store_pg_arg_int(&a, job->phase);
	store_pg_arg_int(&a, job->creation_time);
	store_pg_arg_int(&a, job->start_time);
	store_pg_arg_int(&a, job->end_time);
	store_pg_arg_int(&a, job->destruction_time);
	store_pg_arg_int(&a, job->execution_duration);
	store_pg_arg_int(&a, job->quote);
	store_pg_arg_text(&a, job->error_summary);
	store_pg_arg_int(&a, job->error_type);
	store_pg_arg_int(&a, job->run_request_time);
	store_pg_arg_text(&a, job->exec_handle);
	store_pg_arg_text(&a, job->jdl_hash);
	store_pg_arg_int(&a, job->metrics.known);
	store_pg_arg_int(&a, job->metrics.wall_ms);
	store_pg_arg_int(&a, job->metrics.cpu_ms);
	store_pg_arg_int(&a, job->metrics.max_rss_kb);
	store_pg_arg_int(&a, job->metrics.exit_code);
	store_pg_arg_int(&a, from);
	ret = store_pg_run_count(c, "end_update", &a, &n);
	if (ret < 0 || n > 0)
		return ret;
	a = (struct store_pg_args){0};
	store_pg_arg_text(&a, job->id);
	ret = store_pg_run_text(c, "end_job_phase", &a, phase, sizeof(phase));
	if (ret < 0)
		return ret;
	return phase[0] ? OPUS_ERR_PHASE : OPUS_ERR_NOTFOUND;
}

static int store_pg_end_results(PGconn *c, const struct uws_job *job)
{
	struct store_pg_args a = {0};
	int ret;
	store_pg_arg_text(&a, job->id);
	ret = store_pg_run(c, "end_results_delete", &a, NULL);
	for (size_t i = 0; ret == 0 && i < job->nresults; i++) {
		const struct uws_result *r = &job->results[i];
		a = (struct store_pg_args){0};
		store_pg_arg_text(&a, job->id);
		store_pg_arg_text(&a, r->id);
		store_pg_arg_text(&a, r->path);
		store_pg_arg_text(&a, r->mime);
		store_pg_arg_int(&a, r->size);
		store_pg_arg_text(&a, r->entity_id);
		store_pg_arg_text(&a, r->sha256);
		ret = store_pg_run(c, "end_result_insert", &a, NULL);
		if (ret == OPUS_ERR_EXISTS) /* the same result id twice: bad input */
			ret = OPUS_ERR_INVAL;
	}
	return ret;
}

static int store_pg_put_activity(PGconn *c, const struct store_activity *act)
{
	struct store_pg_args a = {0};
	int ret;
	store_pg_arg_text(&a, act->id);
	store_pg_arg_text(&a, act->jobdef);
	store_pg_arg_text(&a, act->jdl_hash);
	store_pg_arg_text(&a, act->owner);
	store_pg_arg_text(&a, act->run_id);
	store_pg_arg_int(&a, act->phase);
	store_pg_arg_int(&a, act->creation_time);
	store_pg_arg_int(&a, act->start_time);
	store_pg_arg_int(&a, act->end_time);
	store_pg_arg_text(&a, act->error_summary);
	store_pg_arg_int(&a, act->metrics.known);
	store_pg_arg_int(&a, act->metrics.wall_ms);
	store_pg_arg_int(&a, act->metrics.cpu_ms);
	store_pg_arg_int(&a, act->metrics.max_rss_kb);
	store_pg_arg_int(&a, act->metrics.exit_code);
	ret = store_pg_run(c, "activity_put", &a, NULL);
	a = (struct store_pg_args){0};
	store_pg_arg_text(&a, act->id);
	if (ret == 0)
		ret = store_pg_run(c, "act_params_delete", &a, NULL);
	for (size_t i = 0; ret == 0 && i < act->nparams; i++) {
		a = (struct store_pg_args){0};
		store_pg_arg_text(&a, act->id);
		store_pg_arg_text(&a, act->params[i].name);
		store_pg_arg_text(&a, act->params[i].value);
		store_pg_arg_int(&a, act->params[i].is_default);
		ret = store_pg_run(c, "act_param_insert", &a, NULL);
		if (ret == OPUS_ERR_EXISTS) /* the same name twice: bad input */
			ret = OPUS_ERR_INVAL;
	}
	return ret;
}

/* The scalars (conditionally), results, activity and generated entities;
 * a generated entity already there (the same end recorded twice) is kept. */
static int store_pg_run_end(PGconn *c, void *arg)
{
	const struct store_pg_end *e = arg;
	int ret = store_pg_end_scalars(c, e->job, e->from);
	if (ret == 0)
		ret = store_pg_end_results(c, e->job);
	if (ret == 0 && e->act) /* NULL: store_job_finish, no activity */
		ret = store_pg_put_activity(c, e->act);
	for (size_t i = 0; ret == 0 && i < e->ngen; i++) {
		struct store_pg_args a = {0};
		store_pg_entity_args(&a, &e->gen[i]);
		ret = store_pg_run(c, "entity_insert_keep", &a, NULL);
	}
	return ret;
}

int store_pg_job_end(struct store *st, const struct uws_job *job, const struct store_activity *act,
		     const struct store_entity *generated, size_t ngenerated, enum uws_phase from)
{
	struct store_pg_end e = {job, act, generated, ngenerated, from};
	return store_pg_in_tx(st, 0, store_pg_run_end, &e);
}

/* ---- retirement ---- */

int store_pg_retire_in(PGconn *c, const char *job_id, bool archive, int64_t now_ms,
		       struct store_pg_ids *blobs)
{
	struct store_pg_args a = {0};
	PGresult *res = NULL;
	int64_t n = 0;
	int ret = store_pg_lock(c, STORE_PG_LOCK_ENTITIES);
	store_pg_arg_text(&a, job_id);
	store_pg_arg_int(&a, now_ms);
	if (ret == 0)
		ret = store_pg_run(c, "retired_mark", &a, NULL);
	a.n = 1; /* the job id alone */
	if (ret == 0)
		ret =
		    store_pg_run_count(c, archive ? "prov_job_archive" : "prov_job_delete", &a, &n);
	if (ret == 0 && n == 0)
		ret = OPUS_ERR_NOTFOUND;
	store_pg_arg_int(&a, now_ms);
	if (ret == 0)
		ret = store_pg_run(c, "retire_invalidate", &a, NULL);
	if (ret < 0 || !blobs)
		return ret;
	a.n = 1;
	ret = store_pg_run(c, "retire_blobs", &a, &res);
	if (ret == 0)
		ret = store_pg_read_ids(res, blobs);
	PQclear(res);
	return ret;
}

struct store_pg_retire {
	const char *job_id;
	bool archive;
	int64_t now_ms;
	struct store_pg_ids blobs;
};

static int store_pg_run_retire(PGconn *c, void *arg)
{
	struct store_pg_retire *r = arg;
	return store_pg_retire_in(c, r->job_id, r->archive, r->now_ms, &r->blobs);
}

int store_pg_job_retire(struct store *st, const char *job_id, bool archive, int64_t now_ms,
			char ***blobs_out, size_t *n_out)
{
	struct store_pg_retire r = {.job_id = job_id, .archive = archive, .now_ms = now_ms};
	int ret = store_pg_in_tx(st, 0, store_pg_run_retire, &r);
	if (ret < 0) {
		store_ids_free(r.blobs.v, r.blobs.n);
		return ret;
	}
	*blobs_out = r.blobs.v;
	*n_out = r.blobs.n;
	return 0;
}

/* ---- activities and lineage (one read-only snapshot each) ---- */

/* BEGIN in REPEATABLE READ, READ ONLY on a pooled connection. */
static int store_pg_snapshot(struct store *st, PGconn **out)
{
	int ret = store_pg_acquire(st, out);
	if (ret < 0)
		return ret;
	ret = store_pg_begin(*out);
	if (ret == 0)
		ret = store_pg_run(*out, "prov_snapshot", &(struct store_pg_args){0}, NULL);
	if (ret < 0) {
		store_pg_rollback(*out);
		store_pg_release(st, *out);
		*out = NULL;
	}
	return ret;
}

static void store_pg_snapshot_end(struct store *st, PGconn *c)
{
	store_pg_rollback(c); /* read only: nothing to commit */
	store_pg_release(st, c);
}

int store_pg_activity_get(struct store *st, const char *id, struct store_activity *out)
{
	struct store_pg_args a = {0};
	PGresult *res = NULL;
	PGconn *c = NULL;
	int ret = store_pg_snapshot(st, &c);
	if (ret < 0)
		return ret;
	store_pg_arg_text(&a, id);
	ret = store_pg_run(c, "activity_get", &a, &res);
	if (ret == 0 && PQntuples(res) < 1)
		ret = OPUS_ERR_NOTFOUND;
	if (ret == 0)
		store_pg_read_activity(res, 0, 0, out);
	PQclear(res);
	res = NULL;
	if (ret == 0)
		ret = store_pg_run(c, "act_params_get", &a, &res);
	for (int i = 0; ret == 0 && i < PQntuples(res); i++)
		store_pg_activity_add_param(out, res, i, 0);
	PQclear(res);
	store_pg_snapshot_end(st, c);
	if (ret < 0)
		store_activity_release(out);
	return ret;
}

/* A PostgreSQL array literal of ids (hex and 'e': nothing to quote). */
static void store_pg_array_ids(struct sbuf *sb, const char *const *ids, size_t n)
{
	sbuf_addc(sb, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(sb, ',');
		sbuf_adds(sb, ids[i]);
	}
	sbuf_addc(sb, '}');
}

/* A walked row. */
struct store_pg_walk_row {
	char id[UWS_ID_LEN + 1];
	int hop;
};

static int store_pg_walk_by_id(const void *a, const void *b)
{
	const struct store_pg_walk_row *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->hop > y->hop) - (x->hop < y->hop);
}

static int store_pg_walk_by_hop(const void *a, const void *b)
{
	const struct store_pg_walk_row *x = a, *y = b;
	return x->hop != y->hop ? (x->hop > y->hop) - (x->hop < y->hop) : strcmp(x->id, y->id);
}

/* The walked rows into l: each id once at its smallest hop, nearest first
 * (ties by id), at most max activities (truncated past it). */
static void store_pg_walk_take(const PGresult *res, size_t max, struct store_lineage *l)
{
	size_t rows = (size_t)PQntuples(res), n = 0;
	struct store_pg_walk_row *w = xcalloc(rows ? rows : 1, sizeof(*w));
	for (size_t i = 0; i < rows; i++) {
		store_pg_col_buf(res, (int)i, 0, w[i].id, sizeof(w[i].id));
		w[i].hop = (int)store_pg_col_i64(res, (int)i, 1);
	}
	qsort(w, rows, sizeof(*w), store_pg_walk_by_id);
	for (size_t i = 0; i < rows; i++)
		if (i == 0 || strcmp(w[i].id, w[n - 1].id))
			w[n++] = w[i];
	qsort(w, n, sizeof(*w), store_pg_walk_by_hop);
	if (n > max) {
		n = max;
		l->truncated = true;
	}
	if (rows >= STORE_PG_WALK_ROWS)
		l->truncated = true;
	l->activities = xcalloc(n ? n : 1, sizeof(*l->activities));
	l->hops = xcalloc(n ? n : 1, sizeof(*l->hops));
	for (size_t i = 0; i < n; i++) {
		memcpy(l->activities[i].id, w[i].id, sizeof(l->activities[i].id));
		l->hops[i] = w[i].hop;
	}
	l->nactivities = n;
	free(w);
}

/* The activity a row's column 0 (its position in the id array) names. */
static struct store_activity *store_pg_walk_at(const PGresult *r, int i, struct store_lineage *l)
{
	int64_t k = store_pg_col_i64(r, i, 0);
	return k >= 0 && (uint64_t)k < l->nactivities ? &l->activities[k] : NULL;
}

static void store_pg_lin_activities(const PGresult *r, struct store_lineage *l)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_activity *a = store_pg_walk_at(r, i, l);
		if (a)
			store_pg_read_activity(r, i, 1, a);
	}
}

static void store_pg_lin_params(const PGresult *r, struct store_lineage *l)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_activity *a = store_pg_walk_at(r, i, l);
		if (a)
			store_pg_activity_add_param(a, r, i, 1);
	}
}

static void store_pg_lin_entities(const PGresult *r, struct store_lineage *l)
{
	int rows = PQntuples(r);
	l->entities = xcalloc(rows ? (size_t)rows : 1, sizeof(*l->entities));
	for (int i = 0; i < rows; i++)
		store_pg_read_entity(r, i, &l->entities[i]);
	l->nentities = (size_t)rows;
}

static void store_pg_lin_usages(const PGresult *r, struct store_lineage *l)
{
	int rows = PQntuples(r);
	l->usages = xcalloc(rows ? (size_t)rows : 1, sizeof(*l->usages));
	for (int i = 0; i < rows; i++) {
		struct store_usage *u = &l->usages[i];
		store_pg_col_buf(r, i, 0, u->job_id, sizeof(u->job_id));
		store_pg_col_buf(r, i, 1, u->entity_id, sizeof(u->entity_id));
		u->role = store_pg_col_str(r, i, 2);
		u->k = (int)store_pg_col_i64(r, i, 3);
	}
	l->nusages = (size_t)rows;
}

/* One statement of the lineage, read into l by `take`. */
static int store_pg_lin_query(PGconn *c, const char *name, const struct store_pg_args *a,
			      void (*take)(const PGresult *r, struct store_lineage *l),
			      struct store_lineage *l)
{
	PGresult *res = NULL;
	int ret = store_pg_run(c, name, a, &res);
	if (ret == 0)
		take(res, l);
	PQclear(res);
	return ret;
}

static int store_pg_walk(PGconn *c, const struct store_lineage_query *q, const char *starts_a,
			 const char *starts_e, struct store_lineage *l)
{
	struct store_pg_args a = {0};
	PGresult *res = NULL;
	int ret;
	store_pg_arg_text(&a, starts_a);
	store_pg_arg_text(&a, starts_e);
	store_pg_arg_int(&a, q->max_hops);
	store_pg_arg_int(&a, STORE_PG_WALK_ROWS);
	ret = store_pg_run(c, q->forward ? "walk_forth" : "walk_back", &a, &res);
	if (ret == 0)
		store_pg_walk_take(res, q->max_activities, l);
	PQclear(res);
	return ret;
}

static int store_pg_lineage_in(PGconn *c, const struct store_lineage_query *q,
			       struct store_lineage *out, const char *starts_a,
			       const char *starts_e)
{
	struct store_pg_args one = {0}, two = {0};
	struct sbuf ids = SBUF_INIT;
	int ret = store_pg_run(c, "prov_walk_plan", &one, NULL);
	if (ret == 0)
		ret = store_pg_walk(c, q, starts_a, starts_e, out);
	sbuf_addc(&ids, '{');
	for (size_t i = 0; i < out->nactivities; i++) {
		if (i)
			sbuf_addc(&ids, ',');
		sbuf_adds(&ids, out->activities[i].id);
	}
	sbuf_addc(&ids, '}');
	if (ret == 0 && ids.err)
		ret = OPUS_ERR_TOOBIG;
	store_pg_arg_text(&one, sbuf_str(&ids));
	store_pg_arg_text(&two, sbuf_str(&ids));
	store_pg_arg_text(&two, starts_e);
	if (ret == 0)
		ret = store_pg_lin_query(c, "lin_activities", &one, store_pg_lin_activities, out);
	if (ret == 0)
		ret = store_pg_lin_query(c, "lin_params", &one, store_pg_lin_params, out);
	if (ret == 0)
		ret = store_pg_lin_query(c, "lin_entities", &two, store_pg_lin_entities, out);
	if (ret == 0)
		ret = store_pg_lin_query(c, "lin_usages", &one, store_pg_lin_usages, out);
	sbuf_release(&ids);
	return ret;
}

int store_pg_lineage_get(struct store *st, const struct store_lineage_query *q,
			 struct store_lineage *out)
{
	struct sbuf starts_a = SBUF_INIT, starts_e = SBUF_INIT;
	PGconn *c = NULL;
	int ret;
	store_pg_array_ids(&starts_a, q->activity_ids, q->nactivity_ids);
	store_pg_array_ids(&starts_e, q->entity_ids, q->nentity_ids);
	ret = starts_a.err || starts_e.err ? OPUS_ERR_TOOBIG : store_pg_snapshot(st, &c);
	if (ret == 0) {
		ret = store_pg_lineage_in(c, q, out, sbuf_str(&starts_a), sbuf_str(&starts_e));
		store_pg_snapshot_end(st, c);
	}
	sbuf_release(&starts_a);
	sbuf_release(&starts_e);
	if (ret < 0)
		store_lineage_release(out);
	return ret;
}
