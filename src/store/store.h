/*
 * store: persistence of jobs and accounts behind one interface, so that a
 * PostgreSQL backend (store_pg.c) can replace SQLite (store_sqlite.c)
 * without changing callers. Every statement is parameterised.
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
	const char *backend; /* "sqlite" (the only one for now) */
	const char *path;    /* sqlite: database file, created when missing */
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
 * Saves every scalar field of the job (phase, run_id, times, durations,
 * error, run_request_time, pgid); parameters and results are untouched.
 * OPUS_ERR_NOTFOUND if the job is gone.
 */
int store_job_save(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Saves the scalar fields AND replaces the parameters with job->params, atomically. */
int store_job_update(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Replaces all parameters of a job with job->params. */
int store_job_set_params(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Saves the scalar fields AND replaces the results with job->results, atomically. */
int store_job_finish(struct store *st, const struct uws_job *job) OPUS_WUR;
/* Deletes a job, its parameters and results. OPUS_ERR_NOTFOUND. */
int store_job_delete(struct store *st, const char *id) OPUS_WUR;

/* List filters; all combine with AND. */
struct store_filter {
	const char *jobdef; /* required */
	const char *owner;  /* NULL: every owner (admin); "" would match anonymous jobs */
	bool owner_is_null; /* true: only anonymous jobs (owner IS NULL) */
	uint32_t phases;    /* bit (1u << phase); 0 = every phase but ARCHIVED */
	int64_t after;	    /* ms; 0 = none: creation_time > after */
	int64_t last;	    /* 0 = no limit; else the newest `last`, newest first */
};
/*
 * Job summaries (id, jobdef, owner, run_id, phase, creation_time filled;
 * no params/results), oldest first unless `last` is set (newest first).
 * Uses indexes; never a full-table scan for a given jobdef+owner.
 */
int store_job_list(struct store *st, const struct store_filter *f, struct uws_job **jobs_out,
		   size_t *n_out) OPUS_WUR;
void store_jobs_free(struct uws_job *jobs, size_t n);

/* Ids of jobs in a phase, ordered by run_request_time then creation_time
 * (restart recovery: re-queue QUEUED, fail EXECUTING). Caller frees each and the array. */
int store_job_ids_in_phase(struct store *st, enum uws_phase phase, char ***ids_out,
			   size_t *n_out) OPUS_WUR;
/* Up to `max` ids whose destruction_time is set and <= now_ms. */
int store_job_ids_expired(struct store *st, int64_t now_ms, size_t max, char ***ids_out,
			  size_t *n_out) OPUS_WUR;
/* The smallest destruction_time set (ms), or 0 when none. */
int store_next_destruction(struct store *st, int64_t *ms_out) OPUS_WUR;
void store_ids_free(char **ids, size_t n);

/* Accounts: a name, the sha256 (hex) of its token, and an admin flag. */
int store_account_put(struct store *st, const char *name, const char *token_hash,
		      bool admin) OPUS_WUR; /* insert or replace */
int store_account_get(struct store *st, const char *name, char hash_out[65],
		      bool *admin_out) OPUS_WUR; /* OPUS_ERR_NOTFOUND */

#endif
