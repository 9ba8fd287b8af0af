/*
 * store: persistence of jobs and accounts behind one interface: SQLite
 * (store_sqlite.c) or PostgreSQL (store_pg.c, store_pg_accounts.c,
 * store_pg_prov.c), the same for callers. Every statement is parameterised.
 *
 * Durability: a write returns only once it is committed durably. Writes from
 * many threads are batched into shared transactions (group commit): one
 * writer thread per store takes every queued write, runs them in a single
 * BEGIN..COMMIT, then wakes each caller with its own result. A durable
 * commit costs ~0.5 ms, so this is what makes thousands of creates/s possible.
 * Reads run on per-thread read connections (SQLite WAL) and never wait for
 * the writer.
 *
 * Threading: every function is thread-safe.
 * Ownership: results filled into caller-provided structs/arrays belong to the
 * caller (uws_job_release / store_jobs_free / free). Inputs are copied.
 * Included by: sched, auth, http, main.
 */
#ifndef OPUS_STORE_H
#define OPUS_STORE_H

#include "base/base.h"
#include "uws/uws.h"

struct store;

struct store_config {
	const char *backend;	   /* "sqlite" (NULL too) or "postgresql" */
	const char *path;	   /* sqlite: database file, created when missing */
	const char *url;	   /* postgresql: libpq's URI of the database */
	const char *password_file; /* postgresql: its first line is the password; NULL: libpq's */
	int64_t pool_size;	   /* postgresql: connections at most (0: 8) */
};

/* Opens (creating and migrating the schema as needed). */
int store_open(const struct store_config *cfg, struct store **out) OPUS_WUR;
/* Flushes pending writes, stops the writer, closes. NULL ok. */
void store_close(struct store *st);

/* Inserts a job with its parameters. OPUS_ERR_EXISTS if the id is taken. */
int store_job_create(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Loads a whole job (parameters and results too). OPUS_ERR_NOTFOUND. */
int store_job_get(struct store *st, const char *id, struct uws_job *out) OPUS_WUR;
/*
 * Conditional writes. store_job_save, store_job_update, store_job_finish and
 * store_job_end take `from`, the phase the caller read the job in (under its
 * lock): the write is applied only when the stored row is still in phase
 * `from` (UPDATE ... WHERE id = ? AND phase = ?), so that of two writers
 * (threads or daemons sharing one database) who read the same phase, only
 * the first changes the job and the other learns it lost. Otherwise nothing
 * of the call changes (no scalar, parameter, result, metric, activity or
 * entity) and it returns OPUS_ERR_PHASE when the job is there in another
 * phase, OPUS_ERR_NOTFOUND when it is gone; the caller reloads the job and
 * acts on what it finds, never writes over it. `from == job->phase` is the
 * normal case for a save that does not change the phase. `from` must be a
 * valid phase, else OPUS_ERR_INVAL.
 */
/*
 * Saves every scalar field of the job (phase, run_id, times, durations,
 * error, run_request_time, exec_handle); parameters and results are untouched.
 */
int store_job_save(struct store *st, const struct uws_job *job, enum uws_phase from) OPUS_WUR;
/* Saves the scalar fields AND replaces the parameters with job->params, atomically. */
int store_job_update(struct store *st, const struct uws_job *job, enum uws_phase from) OPUS_WUR;
/* Replaces all parameters of a job with job->params (unconditional). */
int store_job_set_params(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Saves the scalar fields AND replaces the results with job->results, atomically. */
int store_job_finish(struct store *st, const struct uws_job *job, enum uws_phase from) OPUS_WUR;
/* Deletes a job, its parameters and results. OPUS_ERR_NOTFOUND. Like
 * store_job_retire(archive false), but without the list of blobs. */
int store_job_delete(struct store *st, const char *id) OPUS_WUR;

/* List filters; all combine with AND. */
struct store_filter {
	const char *jobdef; /* NULL: every description (see jobdefs) */
	/* With jobdef NULL: when jobdefs is non-NULL, only these descriptions
	 * (njobdefs names, each name_is_safe; 0 names: nothing matches). */
	const char *const *jobdefs;
	size_t njobdefs;
	const char *owner;  /* NULL: every owner (admin); "" would match anonymous jobs */
	bool owner_is_null; /* true: only anonymous jobs (owner IS NULL) */
	uint32_t phases;    /* bit (1u << phase); 0 = every phase but ARCHIVED */
	int64_t after;	    /* ms; 0 = none: creation_time > after */
	int64_t last;	    /* 0 = no limit; else the newest `last`, newest first */
	/* Keyset paging (opusd extension): positions in the order newest first,
	 * (creation_time, id) descending; ids break ties between jobs created in
	 * the same millisecond. `before` keeps the jobs older than the position
	 * (creation_time < before, or == before and id < before_id); `since` the
	 * jobs newer than it (the mirror). A NULL id makes the time alone the
	 * bound (strictly). With `since` and `last`, the `last` jobs nearest the
	 * position (the page just newer), still newest first. */
	int64_t before;	       /* ms; 0 = none */
	const char *before_id; /* NULL or a job id (uws_id_is_valid) */
	int64_t since;	       /* ms; 0 = none */
	const char *since_id;  /* NULL or a job id */
};
/*
 * Job summaries (id, jobdef, owner, run_id, phase, creation_time, start_time,
 * end_time, destruction_time filled; no params/results), oldest first unless
 * `last`, `before` or `since` is set (then newest first, ties by id).
 * Uses indexes; never a full-table scan for a given jobdef+owner, at any
 * paging depth; across every description (jobdef NULL) the newest-first
 * orders walk the (owner, creation_time, id) or (creation_time, id) index,
 * `jobdefs` filtering the rows walked. OPUS_ERR_INVAL for a negative `last`,
 * a malformed id or an unsafe name in `jobdefs`.
 */
int store_job_list(struct store *st, const struct store_filter *f, struct uws_job **jobs_out,
		   size_t *n_out) OPUS_WUR;
void store_jobs_free(struct uws_job *jobs, size_t n);

/* Ids of jobs in a phase, ordered by run_request_time then creation_time
 * (restart recovery: re-queue QUEUED, fail EXECUTING). Caller frees each and the array. */
int store_job_ids_in_phase(struct store *st, enum uws_phase phase, char ***ids_out,
			   size_t *n_out) OPUS_WUR;
/* Up to `max` ids whose destruction_time is set and <= now_ms (ARCHIVED jobs
 * are left out: their destruction is done). */
int store_job_ids_expired(struct store *st, int64_t now_ms, size_t max, char ***ids_out,
			  size_t *n_out) OPUS_WUR;
/* The smallest destruction_time set (ms) of a job not ARCHIVED, or 0 when none. */
int store_next_destruction(struct store *st, int64_t *ms_out) OPUS_WUR;
void store_ids_free(char **ids, size_t n);

/*
 * Several daemons on one database (PostgreSQL). Each daemon is an instance
 * with a name of its own ([server] instance), stable across its restarts.
 * A job QUEUED to run is claimed by the instance that runs it (the jobs
 * column `instance`), before anything is submitted, so that a job runs
 * once; a phase change to QUEUED from another phase unclaims it (a requeue).
 * Instances write a heartbeat; one of them at a time is the leader (a
 * session advisory lock held by its listener connection): it runs the
 * periodic work (destruction, the dead-instance sweep). SQLite serves one
 * daemon: store_is_shared() is false, every claim succeeds, the leader is
 * always this daemon, there is nothing to listen to, and the instance
 * functions do nothing.
 */
bool store_is_shared(const struct store *st);
/* Claims a QUEUED job for `instance` to start it now: 0 when it is the
 * instance's now (it was unclaimed or its already), OPUS_ERR_PHASE when it
 * is not QUEUED any more or another instance holds it, OPUS_ERR_NOTFOUND.
 * From here on its start may have begun (store_job_unclaim refuses). */
int store_job_claim(struct store *st, const char *id, const char *instance) OPUS_WUR;
/* Claims up to max unclaimed QUEUED jobs for instance whose run was
 * requested at or before `before` (ms: the instance they were queued on
 * gets the time to start them itself), oldest run request first, skipping
 * rows other instances are claiming at the same moment (FOR UPDATE SKIP
 * LOCKED): their ids in *ids_out (store_ids_free). */
int store_job_claim_next(struct store *st, const char *instance, size_t max, int64_t before,
			 char ***ids_out, size_t *n_out) OPUS_WUR;
/* Ids of jobs in `phase` that are instance's own or nobody's (restart
 * recovery of one instance), in store_job_ids_in_phase's order. */
int store_job_ids_mine(struct store *st, enum uws_phase phase, const char *instance,
		       char ***ids_out, size_t *n_out) OPUS_WUR;
/* Ids of the QUEUED and EXECUTING jobs claimed by instance. */
int store_job_ids_of(struct store *st, const char *instance, char ***ids_out,
		     size_t *n_out) OPUS_WUR;
/* Moves a job claimed by `from` in `phase` to instance `to` (adoption of a
 * dead instance's job); OPUS_ERR_PHASE when it is not so any more. */
int store_job_reassign(struct store *st, const char *id, const char *from, const char *to,
		       enum uws_phase phase) OPUS_WUR;
/* Makes a QUEUED job claimed by `instance` nobody's again, only when its
 * start never began (claimed by store_job_claim_next alone, no exec handle):
 * 0, else OPUS_ERR_PHASE (or OPUS_ERR_NOTFOUND). */
int store_job_unclaim(struct store *st, const char *id, const char *instance) OPUS_WUR;
/* The instance's heartbeat, on the database's clock (inserted when missing). */
int store_instance_beat(struct store *st, const char *instance, int64_t pid) OPUS_WUR;
/* Names of the other instances whose heartbeat is older than lease_ms. */
int store_instances_dead(struct store *st, const char *me, int64_t lease_ms, char ***names_out,
			 size_t *n_out) OPUS_WUR;
/* Forgets an instance (after its jobs were settled). */
int store_instance_forget(struct store *st, const char *instance) OPUS_WUR;
/*
 * Phase changes committed by any instance: fn(ctx, id, phase) per change
 * (phase -1: the job was deleted), with id NULL after a reconnection (some
 * may have been missed). One listener thread per store, on a connection of
 * its own (not the pool's), reconnecting with back-off; it also holds the
 * leader lock when it can, and writes the instance's heartbeat every
 * beat_ms (so that a daemon is alive exactly while its listener is, however
 * busy its other threads). fn runs on that thread: it must not block long.
 * Call once; store_close stops it. SQLite: 0, fn is never called.
 */
#define STORE_JOB_DELETED (-1)
typedef void (*store_notify_fn)(void *ctx, const char *id, int phase);
struct store_listener {
	store_notify_fn fn;
	void *ctx;
	const char *instance; /* NULL: no heartbeat; else its name (copied) */
	int64_t pid;	      /* written with the heartbeat */
	int64_t beat_ms;      /* > 0 with an instance */
};
int store_listen(struct store *st, const struct store_listener *l) OPUS_WUR;
/* Stops the listener (the callback is not called once this returns); the
 * leader lock goes with its connection. NULL ok; no-op when not listening. */
void store_unlisten(struct store *st);
/* Is this daemon the leader now? SQLite: always. */
bool store_is_leader(struct store *st);

/*
 * Accounts, roles, application tokens, audit, description state and usage
 * (issue 13, schema v3). Names are 1-64 of [A-Za-z0-9._@-] (checked by
 * auth, refused here with OPUS_ERR_INVAL too). Tokens are never stored:
 * only their sha256 (64 lowercase hex), unique across accounts and apps,
 * so that a Bearer token alone finds its owner.
 *
 * Every change takes a `struct store_actor` and writes its audit row in the
 * same commit as the change: a change is durable and logged, or neither.
 */
#define STORE_NAME_MAX 64

/* Who made a change, for the audit log. name "" = the server's own CLI
 * ("opusd user ..." on the shell records actor "cli"). */
struct store_actor {
	const char *name;    /* the authenticated user (for an app: the user it acts for) */
	const char *app;     /* the application, NULL or "" when none */
	const char *address; /* client address, NULL or "" for the CLI */
};

/* Limits; 0 = none. */
struct store_quota {
	int64_t max_running; /* jobs EXECUTING at once */
	int64_t max_jobs;    /* jobs stored (every phase but ARCHIVED) */
	int64_t max_bytes;   /* bytes of results stored (jobs not ARCHIVED) */
};

struct store_account {
	char name[STORE_NAME_MAX + 1];
	char token_hash[65];
	bool active;		   /* false: deactivated, its requests get 401, its jobs stay */
	char *roles;		   /* role names, comma-separated, no spaces ("" none); owned */
	char *email;		   /* owned, NULL when unset */
	char *display_name;	   /* owned, NULL when unset */
	struct store_quota quota;  /* per-user limits overriding its roles'; a field < 0 = unset */
	int64_t created, modified; /* ms */
};
void store_account_release(struct store_account *a); /* frees members; NULL ok */

/* Inserts; OPUS_ERR_EXISTS when the name is taken (by an account or an app). */
int store_account_create(struct store *st, const struct store_account *a,
			 const struct store_actor *by) OPUS_WUR;
/* OPUS_ERR_NOTFOUND. */
int store_account_get(struct store *st, const char *name, struct store_account *out) OPUS_WUR;
/* The account whose token hash this is; OPUS_ERR_NOTFOUND. */
int store_account_by_token(struct store *st, const char *token_hash,
			   struct store_account *out) OPUS_WUR;
/* Replaces every field but name and created (sets modified). `what` is the
 * audit action ("roles", "token", "deactivate", ...); `detail` a JSON
 * object text or NULL (never a token). OPUS_ERR_NOTFOUND. */
int store_account_update(struct store *st, const struct store_account *a, const char *what,
			 const char *detail, const struct store_actor *by) OPUS_WUR;
/* OPUS_ERR_NOTFOUND. Jobs are untouched (still owned by the name). */
int store_account_delete(struct store *st, const char *name, const struct store_actor *by) OPUS_WUR;
/* Accounts ordered by name, names > after ("" = from the first), at most
 * max (0: none, only the total); *total_out (may be NULL) = the number of
 * accounts. Caller frees with store_accounts_free. */
int store_account_list(struct store *st, const char *after, size_t max, struct store_account **out,
		       size_t *n_out, size_t *total_out) OPUS_WUR;
void store_accounts_free(struct store_account *a, size_t n);

/*
 * A role: what its holders may do. run: space-separated globs (fnmatch) of
 * the job descriptions they may run ("*" every one, "" none); submit: may
 * submit job descriptions for review; admin: may administer. Built in
 * (created by the migration, editable, not deletable): "admin" (run "*",
 * admin), "user" (run "*") and "anonymous" (run "*"), no quotas.
 */
struct store_role {
	char name[STORE_NAME_MAX + 1];
	char *run; /* owned */
	bool submit;
	bool admin;
	struct store_quota quota;
	int64_t modified; /* ms */
};
void store_role_release(struct store_role *r);
/* Insert or replace. */
int store_role_put(struct store *st, const struct store_role *r,
		   const struct store_actor *by) OPUS_WUR;
int store_role_get(struct store *st, const char *name, struct store_role *out) OPUS_WUR;
/* OPUS_ERR_NOTFOUND; OPUS_ERR_FORBIDDEN for a built-in role. The accounts
 * holding it lose it in the same commit (a role made again under the name
 * grants them nothing). */
int store_role_delete(struct store *st, const char *name, const struct store_actor *by) OPUS_WUR;
/* Every role, by name. Caller frees with store_roles_free. */
int store_role_list(struct store *st, struct store_role **out, size_t *n_out) OPUS_WUR;
void store_roles_free(struct store_role *r, size_t n);

/* An application token: `name` may act on behalf of any user it names, for
 * the descriptions matching `run` (space-separated globs) only. */
struct store_app {
	char name[STORE_NAME_MAX + 1];
	char token_hash[65];
	char *run; /* owned */
	bool active;
	int64_t created, modified;
};
void store_app_release(struct store_app *a);
/* Insert (OPUS_ERR_EXISTS when the name is an app's or an account's) or,
 * with replace, update every field but created. */
int store_app_put(struct store *st, const struct store_app *a, bool replace, const char *what,
		  const struct store_actor *by) OPUS_WUR;
int store_app_get(struct store *st, const char *name, struct store_app *out) OPUS_WUR;
int store_app_by_token(struct store *st, const char *token_hash, struct store_app *out) OPUS_WUR;
int store_app_delete(struct store *st, const char *name, const struct store_actor *by) OPUS_WUR;
int store_app_list(struct store *st, struct store_app **out, size_t *n_out) OPUS_WUR;
void store_apps_free(struct store_app *a, size_t n);

/* The audit log: append-only. */
struct store_audit {
	int64_t id;		     /* increasing */
	int64_t time;		     /* ms */
	char *actor, *app, *address; /* owned; app/address NULL when none */
	char *action; /* "user.create", "user.roles", "role.put", "jdl.disable", ... */
	char *target; /* the user, role, app or description changed */
	char *detail; /* JSON object text or NULL */
};
void store_audit_release(struct store_audit *a);
/* A record for a change that has no store write of its own (e.g. an abort by
 * an admin). */
int store_audit_add(struct store *st, const struct store_actor *by, const char *action,
		    const char *target, const char *detail) OPUS_WUR;
/* Entries with id > after, oldest first, at most max. */
int store_audit_list(struct store *st, int64_t after, size_t max, struct store_audit **out,
		     size_t *n_out) OPUS_WUR;
void store_audits_free(struct store_audit *a, size_t n);

/* Job descriptions disabled for new jobs (OPUS's maintenance); a description
 * without a row is enabled. */
int store_jdl_set_enabled(struct store *st, const char *jobdef, bool enabled,
			  const struct store_actor *by) OPUS_WUR;
int store_jdl_is_enabled(struct store *st, const char *jobdef, bool *enabled_out) OPUS_WUR;
/* The disabled descriptions' names. Caller frees with store_ids_free. */
int store_jdl_disabled(struct store *st, char ***names_out, size_t *n_out) OPUS_WUR;

/* What an owner holds, kept by the store as jobs change (triggers or the
 * same commits, never a scan): jobs not ARCHIVED, of them EXECUTING, and the
 * bytes of their results. owner NULL = anonymous. Zeros for an unknown owner. */
struct store_usage_totals {
	int64_t jobs;
	int64_t running;
	int64_t bytes;
};
int store_owner_usage(struct store *st, const char *owner, struct store_usage_totals *out) OPUS_WUR;
/* The same totals over every owner (anonymous, deleted accounts included):
 * one row per owner is read, never the jobs (/admin/status). */
int store_usage_sum(struct store *st, struct store_usage_totals *out) OPUS_WUR;

/*
 * Entities and provenance (issue 12). Tables of their own, with no foreign
 * key to jobs: they outlive job rows (DELETE) and job files (destruction).
 * Append-only but for an entity's invalidation.
 *
 * An entity is a file that entered a job (upload, download, copy, an earlier
 * result) or left it (a result, stdout, stderr). Its bytes are a blob of
 * the content-addressed store (data_dir/store/sha256/ab/abcd...; src/prov).
 * An entity is live while a live job (a row that is not ARCHIVED) generated
 * or used it; store_job_retire() invalidates the others. A job that has
 * no row yet and was never retired counts as live (its uploads are placed
 * before its row is inserted).
 */
#define STORE_ENTITY_ID_LEN 33 /* 'e' and 32 hex digits: 128 random bits (store_entity_id_new) */

struct store_entity {
	char id[STORE_ENTITY_ID_LEN + 1];
	char sha256[65];	   /* lowercase hex */
	int64_t size;		   /* bytes */
	char *content_type;	   /* may be NULL */
	char *file_name;	   /* its name in the job directory */
	char *generated_by;	   /* job id; NULL for an external input */
	char *role;		   /* generation role: the Generated name, "stdout", "stderr" */
	char *result_id;	   /* the UWS result id (a pattern's match: the file name) */
	char *source;		   /* an external input's reference: URL, ID, file:// URL,
				    * or "upload:{client file name}"; NULL otherwise */
	char *owner;		   /* NULL: anonymous */
	int64_t creation_time;	   /* ms */
	int64_t invalidation_time; /* ms; 0 while live */
	char *invalidated_by;	   /* the job whose removal invalidated it */
};
void store_entity_id_new(char out[STORE_ENTITY_ID_LEN + 1]);
bool store_entity_id_is_valid(const char *s);
void store_entity_release(struct store_entity *e); /* frees members, zeroes; NULL ok */

/* A job used an entity, under a role (the Used entity or file parameter
 * name), as the k-th (0-based) of that role's references. */
struct store_usage {
	char job_id[UWS_ID_LEN + 1];
	char entity_id[STORE_ENTITY_ID_LEN + 1];
	char *role;
	int k;
};

/* A parameter value as the job ran with it. */
struct store_param_rec {
	char *name;
	char *value;
	bool is_default; /* not given by the client: the description's default */
};

/* A job as a provenance activity, written once when it reaches a final phase. */
struct store_activity {
	char id[UWS_ID_LEN + 1]; /* the job id */
	char *jobdef;
	char *jdl_hash; /* the description version it ran */
	char *owner;	/* NULL: anonymous */
	char *run_id;
	enum uws_phase phase;			     /* COMPLETED, ERROR or ABORTED */
	int64_t creation_time, start_time, end_time; /* ms; 0 = never */
	char *error_summary;
	struct uws_metrics metrics;
	struct store_param_rec *params;
	size_t nparams;
};
void store_activity_release(struct store_activity *a); /* NULL ok */

/*
 * An input placed into a job's directory: when e->owner has a live entity
 * with e->sha256 (never another owner's), that entity is the one used and
 * e is not stored (*recognised_out true); else e is inserted. Either way
 * the usage (job_id, role, k) is set to it, replacing an earlier one, and
 * id_out gets the entity used. One durable write. e->id may be empty (a
 * new id is made). The entity a usage replaced (here, in store_usage_put)
 * or dropped (store_usages_clear) is invalidated, by job_id, when no live
 * job holds it any more; store_job_retire(job_id) lists its blob.
 */
int store_input_use(struct store *st, const struct store_entity *e, const char *job_id,
		    const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1],
		    bool *recognised_out) OPUS_WUR;
/* Sets the usage (job_id, role, k) to an existing entity (an earlier result,
 * an entity id given as a reference). OPUS_ERR_NOTFOUND if it does not exist. */
int store_usage_put(struct store *st, const char *job_id, const char *role, int k,
		    const char *entity_id) OPUS_WUR;
/* Drops every usage of `role` by job_id (the parameter was replaced). */
int store_usages_clear(struct store *st, const char *job_id, const char *role) OPUS_WUR;

int store_entity_get(struct store *st, const char *id, struct store_entity *out) OPUS_WUR;
/* The live entity owned by `owner` (NULL or "": anonymous) with this sha256, the
 * oldest. OPUS_ERR_NOTFOUND (also for a malformed sha256). */
int store_entity_find(struct store *st, const char *owner, const char *sha256,
		      struct store_entity *out) OPUS_WUR;
/* Number of live entities whose bytes are this blob (0: the blob may go). */
int store_blob_refs(struct store *st, const char *sha256, int64_t *n_out) OPUS_WUR;

/*
 * A job's end, in one commit: the job's scalars and results (each result's
 * entity_id and sha256 included), its metrics, the activity, and the
 * entities it generated. Every transition to a final phase goes through
 * here (ngenerated 0 when it never ran), so that a job is final with its
 * provenance, never before. Conditional on `from` (see store_job_save):
 * OPUS_ERR_PHASE when another writer ended or changed the job first,
 * OPUS_ERR_NOTFOUND if the job row is gone. job->phase must be COMPLETED,
 * ERROR or ABORTED; the activity is stored with the job's id, phase and
 * (when act->jobdef is NULL) jobdef; each generated entity's generated_by is the job (NULL is taken
 * as such). store_job_finish() is the same write without activity and entities.
 */
int store_job_end(struct store *st, const struct uws_job *job, const struct store_activity *act,
		  const struct store_entity *generated, size_t ngenerated,
		  enum uws_phase from) OPUS_WUR;

/*
 * The job's files go (DELETE: archive false, the job row, its parameters
 * and results are deleted; destruction: archive true, the row becomes
 * ARCHIVED and keeps its parameters and results). The activity, entities
 * and usages stay. Every entity the job generated or used that no other
 * live job holds is invalidated (now_ms, by job_id) in the same commit;
 * *blobs_out lists the sha256 of blobs no live entity refers to any more
 * (free with store_ids_free; the caller re-checks with store_blob_refs
 * before unlinking; the list also holds the blobs of entities this job
 * invalidated earlier, through store_usages_clear). OPUS_ERR_NOTFOUND.
 */
int store_job_retire(struct store *st, const char *job_id, bool archive, int64_t now_ms,
		     char ***blobs_out, size_t *n_out) OPUS_WUR;

int store_activity_get(struct store *st, const char *id, struct store_activity *out) OPUS_WUR;

/*
 * Lineage: the activities reachable from the start set, in a bounded number
 * of queries whatever the length of the chain (recursive SQL; cycle-safe).
 * BACK: an activity leads to the activities that generated what it used;
 * FORTH: to the activities that used what it generated. A start entity
 * leads to its generating activity (BACK) or its users (FORTH) at hop 1; a
 * start activity is at hop 0. Answers every activity within max_hops
 * (activity-to-activity steps) with its hop count, the entities those
 * activities used or generated, the start entities, and the usages of
 * those activities; at most max_activities activities (nearest first, ties
 * by id; 0 = no cap), `truncated` telling whether some were left out.
 * Activities are jobs that ended (store_job_end); a start id with no
 * activity or entity adds nothing. OPUS_ERR_INVAL for a malformed id.
 */
struct store_lineage_query {
	const char *const *activity_ids;
	size_t nactivity_ids;
	const char *const *entity_ids;
	size_t nentity_ids;
	bool forward;
	int max_hops; /* >= 0 */
	size_t max_activities;
};
struct store_lineage {
	struct store_activity *activities;
	int *hops; /* per activity */
	size_t nactivities;
	struct store_entity *entities;
	size_t nentities;
	struct store_usage *usages;
	size_t nusages;
	bool truncated;
};
int store_lineage_get(struct store *st, const struct store_lineage_query *q,
		      struct store_lineage *out) OPUS_WUR;
void store_lineage_release(struct store_lineage *l);

/*
 * Copying a whole store into another (`opusd db copy`, store_copy.c): every
 * table (jobs with their parameters, results and executor handles, accounts
 * with their token hashes, roles, applications, audit, description state,
 * provenance) from `from`, read in one snapshot, into `to` in one
 * transaction, any backend to any backend. `to` must be empty (a fresh
 * store: its built-in roles only), else OPUS_ERR_EXISTS and nothing changes;
 * the per-owner usage totals, kept by the destination's own triggers, are
 * compared with the source's before the commit. The whole source is held
 * in memory. Nothing else may write either store meanwhile (stop the
 * daemons). Files (job directories, the entity store) are not copied: they
 * stay in data_dir. On failure *why_out (caller frees) says what happened.
 */
struct store_rows {
	size_t ncols, nrows, cap;
	char **v; /* row-major, NULL for SQL NULL; owned */
};
/* Appends one row of ncols values (copied; NULL for SQL NULL). */
void store_rows_add(struct store_rows *r, const char *const *vals);
/* Borrowed; NULL for SQL NULL or out of range. */
const char *store_rows_get(const struct store_rows *r, size_t row, size_t col);
void store_rows_release(struct store_rows *r);

#define STORE_COPY_TABLES_MAX 24
struct store_copy_report {
	size_t ntables;
	const char *table[STORE_COPY_TABLES_MAX]; /* static names */
	size_t rows[STORE_COPY_TABLES_MAX];
	bool derived[STORE_COPY_TABLES_MAX]; /* compared, not copied */
};
int store_copy(struct store *from, struct store *to, struct store_copy_report *rep,
	       char **why_out) OPUS_WUR;

#endif
