/*
 * store_pg-int.h: the internal API of the PostgreSQL backend, shared by its
 * files: store_pg.c (the pool, the schema, the job ops: helper B),
 * store_pg_accounts.c and store_pg_prov.c (accounts and provenance ops).
 *
 * NOTE (B2, branch h16-pgacc): the first part is the lead's proposal from
 * helper B's brief, written here only so that the accounts and provenance
 * files compile; store_pg.c implements it. At merge, B's header wins for
 * that part; keep the second part ("accounts and provenance").
 *
 * Threading: a PGconn from store_pg_acquire is the caller's alone until
 * store_pg_release. Ownership: a PGresult from store_pg_exec is the
 * caller's (PQclear); column helpers return copies the caller frees.
 * Included by: src/store/store_pg*.c and tests/unit/test_store_pg*.c only.
 */
#ifndef OPUS_STORE_PG_INT_H
#define OPUS_STORE_PG_INT_H

#include "store/store-int.h"

#include <libpq-fe.h>

/* ---- the core (store_pg.c) ---- */

/* A prepared statement: prepared once per connection, by name. */
struct store_pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* A pooled connection, exclusive to the caller until released. Blocks
 * (bounded wait, then OPUS_ERR_BUSY) when every connection is in use;
 * reconnects a broken one. */
int store_pg_acquire(struct store *st, PGconn **out) OPUS_WUR;
void store_pg_release(struct store *st, PGconn *c);
/* Runs one parameterised statement (text params, NULL = SQL NULL) by name,
 * from the statement tables (store_pg_accounts_stmts, store_pg_prov_stmts
 * and store_pg.c's own). Unique violation -> OPUS_ERR_EXISTS, connection
 * lost -> OPUS_ERR_BUSY, others -> OPUS_ERR_IO (logged). res_out may be
 * NULL (the result is cleared). */
int store_pg_exec(PGconn *c, const char *name, int nparams, const char *const *values,
		  PGresult **res_out) OPUS_WUR;
int store_pg_begin(PGconn *c) OPUS_WUR;
int store_pg_commit(PGconn *c) OPUS_WUR;
void store_pg_rollback(PGconn *c);
char *store_pg_col_str(const PGresult *r, int row, int col); /* copy, NULL for SQL NULL */
int64_t store_pg_col_i64(const PGresult *r, int row, int col);

/* ---- accounts and provenance (store_pg_accounts.c, store_pg_prov.c) ---- */

/* Their statements, each table ending with {NULL, NULL, 0}: store_pg.c
 * prepares them like its own. Column types they rely on: a boolean column
 * may be boolean or integer (written as "1"/"0", read either way);
 * entities and activity_params have an insertion-order column `seq`
 * (SQLite's rowid order); the triggers that keep account and app names and
 * token hashes unique across the two tables raise unique_violation
 * (SQLSTATE 23505). */
extern const struct store_pg_stmt store_pg_accounts_stmts[];
extern const struct store_pg_stmt store_pg_prov_stmts[];

/* A statement's parameters as text: numbers are formatted in place. */
#define STORE_PG_ARGS_MAX 24
struct store_pg_args {
	const char *v[STORE_PG_ARGS_MAX];
	char num[STORE_PG_ARGS_MAX][24];
	int n;
};
void store_pg_arg_text(struct store_pg_args *a, const char *s); /* borrowed until the run */
void store_pg_arg_int(struct store_pg_args *a, int64_t x);
int store_pg_run(PGconn *c, const char *name, const struct store_pg_args *a,
		 PGresult **res_out) OPUS_WUR;
/* A statement that changes rows: how many into *n_out. */
int store_pg_run_count(PGconn *c, const char *name, const struct store_pg_args *a,
		       int64_t *n_out) OPUS_WUR;
/* Statements run through store_pg_run since the program started (a lineage
 * walk costs a bounded handful, whatever its length). */
uint64_t store_pg_statement_count(void);
void store_pg_count_statement(void); /* one more, for a statement sent otherwise (pipelines) */

/*
 * Transaction-level advisory locks (pg_advisory_xact_lock(class, key)),
 * held to the end of the transaction, across every instance on the
 * database: ACCOUNTS serialises account, role, app, audit and description
 * writes (cross-table uniqueness, audit ids committed in order); ENTITIES
 * the writes that decide whether an entity is live (store_pg_prov.c).
 */
enum {
	STORE_PG_LOCK_CLASS = 0x6f707573, /* "opus" */
	STORE_PG_LOCK_ACCOUNTS = 1,
	STORE_PG_LOCK_ENTITIES = 2,
};
int store_pg_lock(PGconn *c, int key) OPUS_WUR;
/* BEGIN, the lock `key` (0: none), run(c, arg), COMMIT on a pooled
 * connection; everything rolls back when run or the commit fails. */
int store_pg_in_tx(struct store *st, int key, int (*run)(PGconn *c, void *arg), void *arg) OPUS_WUR;
/* One read statement on a pooled connection, its result handed to read(). */
int store_pg_read(struct store *st, const char *name, const struct store_pg_args *a,
		  int (*read)(const PGresult *res, void *arg), void *arg) OPUS_WUR;
/* A text column into a fixed buffer ("" for SQL NULL). */
void store_pg_col_buf(const PGresult *r, int row, int col, char *out, size_t cap);
/* Column 0 of every row as strings (free with store_ids_free). */
struct store_pg_ids {
	char **v;
	size_t n;
};
int store_pg_read_ids(const PGresult *res, struct store_pg_ids *ids) OPUS_WUR;

/*
 * A job's files go, inside the caller's transaction on c: the job is marked
 * retired, its row archived or deleted (OPUS_ERR_NOTFOUND when there is
 * none), what it generated or used that nothing live holds is invalidated,
 * and (blobs non-NULL) the blobs no live entity refers to are listed. Takes
 * STORE_PG_LOCK_ENTITIES: run it first in the transaction, before touching
 * any of the job's rows (a writer holding a job row never waits for that
 * lock, so no cycle forms). store_pg.c's job_delete runs it with blobs NULL.
 */
int store_pg_retire_in(PGconn *c, const char *job_id, bool archive, int64_t now_ms,
		       struct store_pg_ids *blobs) OPUS_WUR;

/* The store_ops entries (store-int.h has their contracts). */
int store_pg_account_create(struct store *st, const struct store_account *a,
			    const struct store_audit *log);
int store_pg_account_get(struct store *st, const char *name, struct store_account *out);
int store_pg_account_by_token(struct store *st, const char *token_hash, struct store_account *out);
int store_pg_account_update(struct store *st, const struct store_account *a,
			    const struct store_audit *log);
int store_pg_account_delete(struct store *st, const char *name, const struct store_audit *log);
int store_pg_account_list(struct store *st, const char *after, size_t max,
			  struct store_account **out, size_t *n_out, size_t *total_out);
int store_pg_role_put(struct store *st, const struct store_role *r, const struct store_audit *log);
int store_pg_role_get(struct store *st, const char *name, struct store_role *out);
int store_pg_role_delete(struct store *st, const char *name, const struct store_audit *log);
int store_pg_role_list(struct store *st, struct store_role **out, size_t *n_out);
int store_pg_app_put(struct store *st, const struct store_app *a, bool replace,
		     const struct store_audit *log);
int store_pg_app_get(struct store *st, const char *name, struct store_app *out);
int store_pg_app_by_token(struct store *st, const char *token_hash, struct store_app *out);
int store_pg_app_delete(struct store *st, const char *name, const struct store_audit *log);
int store_pg_app_list(struct store *st, struct store_app **out, size_t *n_out);
int store_pg_audit_add(struct store *st, const struct store_audit *log);
int store_pg_audit_list(struct store *st, int64_t after, size_t max, struct store_audit **out,
			size_t *n_out);
int store_pg_jdl_set_enabled(struct store *st, const char *jobdef, bool enabled,
			     const struct store_audit *log);
int store_pg_jdl_is_enabled(struct store *st, const char *jobdef, bool *enabled_out);
int store_pg_jdl_disabled(struct store *st, char ***names_out, size_t *n_out);
int store_pg_owner_usage(struct store *st, const char *owner, struct store_usage_totals *out);
int store_pg_usage_sum(struct store *st, struct store_usage_totals *out);

int store_pg_input_use(struct store *st, const struct store_entity *e, const char *job_id,
		       const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1],
		       bool *recognised_out);
int store_pg_usage_put(struct store *st, const char *job_id, const char *role, int k,
		       const char *entity_id);
int store_pg_usages_clear(struct store *st, const char *job_id, const char *role);
int store_pg_entity_get(struct store *st, const char *id, struct store_entity *out);
int store_pg_entity_find(struct store *st, const char *owner, const char *sha256,
			 struct store_entity *out);
int store_pg_blob_refs(struct store *st, const char *sha256, int64_t *n_out);
int store_pg_job_end(struct store *st, const struct uws_job *job, const struct store_activity *act,
		     const struct store_entity *generated, size_t ngenerated, enum uws_phase from);
int store_pg_job_retire(struct store *st, const char *job_id, bool archive, int64_t now_ms,
			char ***blobs_out, size_t *n_out);
int store_pg_activity_get(struct store *st, const char *id, struct store_activity *out);
int store_pg_lineage_get(struct store *st, const struct store_lineage_query *q,
			 struct store_lineage *out);

#endif
