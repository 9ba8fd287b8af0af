/*
 * store-int.h: what a store backend implements, plus the debug hooks of the
 * SQLite backend that its unit test uses.
 *
 * store.c checks and normalises every argument before dispatching, so a
 * backend may rely on: non-NULL pointers, a job with an id and a jobdef, a
 * filter whose `phases` is a non-zero mask of valid phase bits (or zero after
 * masking: nothing matches), whose anonymous selection is always spelled
 * owner == NULL && owner_is_null, and whose `last` is >= 0. An owner ""
 * is stored and matched as anonymous (NULL).
 *
 * Threading and ownership are those of store.h.
 * Included by: the .c files of src/store and tests/unit/test_store.c only.
 */
#ifndef OPUS_STORE_INT_H
#define OPUS_STORE_INT_H

#include "store/store.h"

/* Every backend's handle starts with this member; callers only see it. */
struct store {
	const struct store_ops *ops;
};

/*
 * One table as `opusd db copy` sees it (store_copy.c's table of tables):
 * the columns both backends share, spelled the same. Every text here is a
 * constant of store_copy.c, never input: the backends build the copy's
 * statements from it, the values are always bound.
 */
struct store_table {
	const char *name;
	const char *cols; /* "a, b, c" */
	size_t ncols;
	const char *sqlite_order, *pg_order; /* ORDER BY of a dump (insertion order) */
	/* The rows a fresh store holds already (roles: the built-in ones): the
	 * load deletes them first; NULL: a fresh store's table is empty. */
	const char *fresh;
	/* Kept by triggers from the other tables: compared after the load, not
	 * loaded; `where` selects the rows that matter (not all zero). */
	bool derived;
	const char *where;
	const char *pg_serial; /* a column whose sequence goes past the loaded values */
};
extern const struct store_table store_tables[];
extern const size_t store_ntables;
/* Statement texts for a table (malloc'd): mark is '?' (SQLite) or '$' (PostgreSQL). */
char *store_table_select_sql(const struct store_table *t, const char *order);
char *store_table_insert_sql(const struct store_table *t, char mark);
char *store_table_probe_sql(const struct store_table *t); /* a row that is not fresh */
/* Compares a derived table read back with the source's rows: 0 or
 * OPUS_ERR_INTERNAL with *why. */
int store_rows_compare(const struct store_table *t, const struct store_rows *want,
		       const struct store_rows *got, char **why);

struct store_ops {
	const char *name; /* store_config.backend */
	int (*open)(const struct store_config *cfg, struct store **out);
	void (*close)(struct store *st);

	int (*job_create)(struct store *st, const struct uws_job *job);
	int (*job_get)(struct store *st, const char *id, struct uws_job *out);
	/* The four scalar writes: applied only while the row is in phase `from`
	 * (a valid phase), else OPUS_ERR_PHASE (or OPUS_ERR_NOTFOUND) and
	 * nothing of the call is written; see store.h. */
	int (*job_save)(struct store *st, const struct uws_job *job, enum uws_phase from);
	int (*job_set_params)(struct store *st, const struct uws_job *job);
	int (*job_update)(struct store *st, const struct uws_job *job, enum uws_phase from);
	int (*job_finish)(struct store *st, const struct uws_job *job, enum uws_phase from);
	int (*job_delete)(struct store *st, const char *id);
	int (*job_list)(struct store *st, const struct store_filter *f, struct uws_job **jobs_out,
			size_t *n_out);
	int (*job_ids_in_phase)(struct store *st, enum uws_phase phase, char ***ids_out,
				size_t *n_out);
	int (*job_ids_expired)(struct store *st, int64_t now_ms, size_t max, char ***ids_out,
			       size_t *n_out);
	int (*next_destruction)(struct store *st, int64_t *ms_out);

	/* Several instances (store.h); NULL in a backend that serves one daemon
	 * (store.c answers as for a single daemon). Names are non-empty. */
	int (*job_claim)(struct store *st, const char *id, const char *instance);
	int (*job_claim_next)(struct store *st, const char *instance, size_t max, int64_t before,
			      char ***ids_out, size_t *n_out);
	int (*job_ids_mine)(struct store *st, enum uws_phase phase, const char *instance,
			    char ***ids_out, size_t *n_out);
	int (*job_ids_of)(struct store *st, const char *instance, char ***ids_out, size_t *n_out);
	int (*job_reassign)(struct store *st, const char *id, const char *from, const char *to,
			    enum uws_phase phase);
	int (*job_unclaim)(struct store *st, const char *id, const char *instance);
	int (*instance_beat)(struct store *st, const char *instance, int64_t pid);
	int (*instances_dead)(struct store *st, const char *me, int64_t lease_ms, char ***names_out,
			      size_t *n_out);
	int (*instance_forget)(struct store *st, const char *instance);
	int (*listen)(struct store *st, const struct store_listener *l);
	void (*unlisten)(struct store *st);
	bool (*is_leader)(struct store *st);

	/* Accounts, roles, applications, audit, description state, usage. Names
	 * and token hashes are valid; an account's roles are "" or valid names,
	 * its email and display name NULL or text, its created and modified set;
	 * a role's and an app's run is never NULL. Every change carries its audit
	 * row (`log`: time, actor and action set, app, address and detail NULL or
	 * text, id ignored), written in the same commit. An owner is NULL for
	 * anonymous, never "". */
	int (*account_create)(struct store *st, const struct store_account *a,
			      const struct store_audit *log);
	int (*account_get)(struct store *st, const char *name, struct store_account *out);
	int (*account_by_token)(struct store *st, const char *token_hash,
				struct store_account *out);
	int (*account_update)(struct store *st, const struct store_account *a,
			      const struct store_audit *log);
	int (*account_delete)(struct store *st, const char *name, const struct store_audit *log);
	int (*account_list)(struct store *st, const char *after, size_t max,
			    struct store_account **out, size_t *n_out, size_t *total_out);
	int (*role_put)(struct store *st, const struct store_role *r,
			const struct store_audit *log);
	int (*role_get)(struct store *st, const char *name, struct store_role *out);
	/* Never called for a built-in role. */
	int (*role_delete)(struct store *st, const char *name, const struct store_audit *log);
	int (*role_list)(struct store *st, struct store_role **out, size_t *n_out);
	int (*app_put)(struct store *st, const struct store_app *a, bool replace,
		       const struct store_audit *log);
	int (*app_get)(struct store *st, const char *name, struct store_app *out);
	int (*app_by_token)(struct store *st, const char *token_hash, struct store_app *out);
	int (*app_delete)(struct store *st, const char *name, const struct store_audit *log);
	int (*app_list)(struct store *st, struct store_app **out, size_t *n_out);
	int (*audit_add)(struct store *st, const struct store_audit *log);
	/* max >= 1. */
	int (*audit_list)(struct store *st, int64_t after, size_t max, struct store_audit **out,
			  size_t *n_out);
	int (*jdl_set_enabled)(struct store *st, const char *jobdef, bool enabled,
			       const struct store_audit *log);
	int (*jdl_is_enabled)(struct store *st, const char *jobdef, bool *enabled_out);
	int (*jdl_disabled)(struct store *st, char ***names_out, size_t *n_out);
	int (*owner_usage)(struct store *st, const char *owner, struct store_usage_totals *out);
	int (*usage_sum)(struct store *st, struct store_usage_totals *out);

	/* Provenance. Entities arrive with valid ids and sha256s and a NULL (never "")
	 * owner for anonymous; a job end's activity has the job's id, jobdef and
	 * phase, and each generated entity generated_by the job. */
	int (*input_use)(struct store *st, const struct store_entity *e, const char *job_id,
			 const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1],
			 bool *recognised_out);
	int (*usage_put)(struct store *st, const char *job_id, const char *role, int k,
			 const char *entity_id);
	int (*usages_clear)(struct store *st, const char *job_id, const char *role);
	int (*entity_get)(struct store *st, const char *id, struct store_entity *out);
	int (*entity_find)(struct store *st, const char *owner, const char *sha256,
			   struct store_entity *out);
	int (*blob_refs)(struct store *st, const char *sha256, int64_t *n_out);
	int (*job_end)(struct store *st, const struct uws_job *job,
		       const struct store_activity *act, const struct store_entity *generated,
		       size_t ngenerated, enum uws_phase from);
	int (*job_retire)(struct store *st, const char *job_id, bool archive, int64_t now_ms,
			  char ***blobs_out, size_t *n_out);
	int (*activity_get)(struct store *st, const char *id, struct store_activity *out);
	/* max_activities >= 1 (store.c turns 0 into SIZE_MAX); every id valid. */
	int (*lineage_get)(struct store *st, const struct store_lineage_query *q,
			   struct store_lineage *out);

	/* `opusd db copy` (store.h). Dump: every table of t[0..n) in one read
	 * snapshot, out[i] for t[i] (derived ones filtered by `where`). Load, in
	 * one transaction: OPUS_ERR_EXISTS (and *why naming the table) unless
	 * each table holds only `fresh` rows; those are deleted, rows[i] go into
	 * each table that is not derived, in order; derived tables are read back
	 * and compared (store_rows_compare); then the commit. */
	int (*rows_dump)(struct store *st, const struct store_table *t, size_t n,
			 struct store_rows *out, char **why);
	int (*rows_load)(struct store *st, const struct store_table *t, size_t n,
			 const struct store_rows *rows, char **why);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* The copy ops of each backend (store_sqlite_copy.c, store_pg_copy.c). */
const char *store_sqlite_path(const struct store *st); /* the database file */
int store_sqlite_rows_dump(struct store *st, const struct store_table *t, size_t n,
			   struct store_rows *out, char **why);
int store_sqlite_rows_load(struct store *st, const struct store_table *t, size_t n,
			   const struct store_rows *rows, char **why);
int store_pg_rows_dump(struct store *st, const struct store_table *t, size_t n,
		       struct store_rows *out, char **why);
int store_pg_rows_load(struct store *st, const struct store_table *t, size_t n,
		       const struct store_rows *rows, char **why);

/* Debug hooks of the SQLite backend; `st` must be a SQLite store. */
/* Transactions committed by the writer thread since the store was opened. */
uint64_t store_sqlite_commit_count(const struct store *st);
/* Writes queued for the writer thread and not yet taken into a batch, and
 * (*writing_out) whether the writer is running a batch now: a test waits
 * for several writes to be queued behind a busy writer, so that they share
 * the next batch. */
size_t store_sqlite_queued(struct store *st, bool *writing_out);
/* The schema version of the newest migration (PRAGMA user_version). */
int store_sqlite_schema_version(void);
/* Appends the EXPLAIN QUERY PLAN of the statement store_job_list would run
 * for a normalised filter, one detail line per plan row. */
/* Statements fetched for running on any SQLite store since the program
 * started (a lineage walk must cost a bounded handful, whatever its length). */
uint64_t store_sqlite_statement_count(void);
/* The SQL of one schema migration (a test builds a database of an old
 * version with it), NULL when there is no such version. */
const char *store_sqlite_migration_sql(int version);
/* Appends the EXPLAIN QUERY PLAN of a provenance statement: "find" (the
 * recognition lookup), "refs" (store_blob_refs), "back" or "forth" (the
 * lineage walk), one detail line per plan row. */
int store_sqlite_prov_plan(struct store *st, const char *which, struct sbuf *out) OPUS_WUR;
int store_sqlite_list_plan(struct store *st, const struct store_filter *f,
			   struct sbuf *out) OPUS_WUR;
/* Appends the EXPLAIN QUERY PLAN of an account statement by its name in
 * store_sqlite.c's table ("ACCOUNT_GET", "AUDIT_LIST", ...; every one that
 * store_sqlite_account_stmt_name lists). */
int store_sqlite_account_plan(struct store *st, const char *which, struct sbuf *out) OPUS_WUR;
/* The i-th account, role, app, audit, description or usage statement's name,
 * NULL past the last (a test checks each one's plan). */
const char *store_sqlite_account_stmt_name(size_t i);

#endif
