/*
 * sched: the one place where a job's phase changes. It creates jobs, queues
 * them under a concurrency limit, starts them through exec, enforces the
 * execution duration (SIGTERM, then SIGKILL after a grace period, phase
 * ERROR "execution duration exceeded"), aborts, collects results when a job
 * ends, deletes jobs and their files (on request and when their destruction
 * time passes), recovers after a restart, and wakes blocked WAIT requests.
 * Each owner's quota max_running (store_quota: the account's own, or the
 * most generous of its roles') holds beside the global limit: a job of an
 * owner at its limit stays QUEUED, passed over in the queue, until one of
 * that owner's runs ends.
 *
 * Job directory: {data_dir}/jobs/{id}/ is the job's working directory.
 * Uploaded files are written there by the caller before sched_job_create().
 * sched keeps its own files in {data_dir}/jobs/{id}/.opusd/ (script.sh,
 * stdout, stderr). The job's environment: PATH, HOME (= the job dir), LANG,
 * OPUS_JOB_ID, every parameter by its declared name (a file parameter: the
 * absolute path of its file), every Used entity by its name (path of its
 * file), every Generated entity by its name (its default file name).
 *
 * Threading: every sched_* function is thread-safe and never waits on a
 * process, a file tree or a cluster command: starts (directory, script,
 * spawn), job ends (phase, results, end time; retried while the store refuses
 * them), directory removal and purges of expired jobs run on sched's own
 * worker threads (sched_work.c). One internal thread handles deadlines
 * (execution duration, WAIT timeouts, destruction times); exec's events
 * (sched_on_event, on a backend thread) only hand starts and ends over.
 * Phase changes of one job are serialised.
 * Ownership: sched copies what it keeps; callers keep their arguments.
 * Included by: http, main.
 */
#ifndef OPUS_SCHED_H
#define OPUS_SCHED_H

#include "base/base.h"
#include "exec/exec.h"
#include "fetch/fetch.h"
#include "jdl/jdl.h"
#include "prov/prov.h"
#include "store/store.h"
#include "uws/uws.h"

struct sched;

/* Why sched stops a run itself; decides the phase at its end (sched_end_outcome). */
enum sched_kill {
	SCHED_KILL_NONE = 0,
	SCHED_KILL_TIMEOUT,  /* execution duration exceeded: ERROR */
	SCHED_KILL_ABORT,    /* aborted or deleted: the phase is already set */
	SCHED_KILL_FAILED,   /* its start could not be recorded: ERROR */
	SCHED_KILL_SHUTDOWN, /* sched_close: the end is ignored, the job is requeued */
};

/*
 * The end table: the phase a run ends in, from sched's own kill reason (it
 * wins) and the backend's ENDED event, and in *why_out (malloc'd, or NULL)
 * its error summary. stderr_tail (NULL: none) is the summary of a non-zero
 * exit. SCHED_KILL_SHUTDOWN gives QUEUED (requeued), SCHED_KILL_ABORT ABORTED.
 * A pure function.
 */
enum uws_phase sched_end_outcome(enum sched_kill kill, const struct exec_event *ev,
				 const char *stderr_tail, char **why_out);

struct sched_config {
	const char *data_dir;
	const char *exec_backend;	    /* "local" (NULL: exec->backend, else local) */
	const struct exec_config *exec;	    /* the backend's configuration; NULL: none.
					     * sched sets on_event and ctx itself */
	int max_running;		    /* concurrency limit, >= 1 */
	int64_t default_execution_duration; /* s, when the description has none; 0 = unlimited */
	int64_t max_execution_duration;	    /* s, cap on what clients ask; 0 = no cap */
	int64_t default_destruction;	    /* s after creation */
	int64_t max_destruction;	    /* s after creation, cap; 0 = no cap */
	int64_t kill_grace_ms;		    /* SIGTERM -> SIGKILL delay */
	const struct fetch_policy *fetch;   /* inputs by reference; borrowed */
	int fetch_threads;		    /* stager threads, >= 1 */
	const struct exec_user *job_user;   /* NULL: the daemon's own; borrowed */
	const char *cgroup;		    /* exec_spec.cgroup */
	struct exec_limits job_limits;	    /* caps of what descriptions ask */
	struct prov *prov;		    /* entities and provenance; borrowed */
	/* The job event key (AUTH_EVENT_KEY_LEN bytes, borrowed): every job gets
	 * OPUS_EVENT_TOKEN = auth_event_token(key, id). NULL: none. */
	const unsigned char *event_key;
	/* Several instances on one shared store (store_is_shared): this
	 * daemon's name (non-empty; borrowed) and its lease, s: an instance
	 * whose heartbeat is older is dead, its jobs settled by the leader
	 * (sched_multi.c). Unused with a store of one daemon. */
	const char *instance;
	int64_t lease_s;
};

/*
 * Opens the scheduler: starts exec and the deadline thread, then recovers:
 * QUEUED jobs without an executor handle queue again (in their run order);
 * jobs already in the executor's hands (EXECUTING, or QUEUED with a handle)
 * are offered to exec_adopt: followed again when it takes them, else ERROR
 * "server restarted" with their results (the local executor kills a
 * left-over process group and takes none). PENDING stay.
 */
int sched_open(const struct sched_config *cfg, struct store *st, struct jdl_registry *reg,
	       struct sched **out) OPUS_WUR;
/*
 * Begins the stop: no job starts any more, creates and RUNs answer
 * OPUS_ERR_BUSY, every WAIT is woken and none registers from now on.
 * Idempotent; sched_close() begins with it. The HTTP server calls it before
 * it stops, so that no request is left suspended.
 */
void sched_shutdown_begin(struct sched *s);
/*
 * Clean stop: wakes every WAIT, stops starting jobs, terminates running jobs
 * and returns them to QUEUED so they run again after the next start (no job is
 * lost), then stops threads. With an executor whose jobs outlive the daemon
 * (exec_keeps() EXEC_KEEP_ALL) the jobs it holds are left running, their
 * phases and handles as they are, for the next start to adopt. NULL ok.
 */
void sched_close(struct sched *s);

/* The directory of a job: "{data_dir}/jobs/{id}". Caller frees. */
char *sched_job_dir(const struct sched *s, const char *id);

/*
 * Creates a job from a caller-filled record: jobdef, owner, run_id, params
 * (validated by the caller against the description; defaults included),
 * execution_duration (0: the description's, else clamped to the cap) and
 * destruction_time (job->destruction_set: the client's, a past time clamped
 * to now; else the default). If job->id is
 * empty a new id is made. sched fills id, phase, creation_time, quote,
 * jdl_hash. With `run`, the job goes straight to QUEUED. On return the job is
 * durably stored and job->id is set.
 * OPUS_ERR_NOTFOUND: unknown jobdef; OPUS_ERR_BUSY: stopping.
 */
int sched_job_create(struct sched *s, struct uws_job *job, bool run) OPUS_WUR;

enum sched_action { SCHED_ACTION_NONE, SCHED_ACTION_RUN, SCHED_ACTION_ABORT };

/*
 * One change to a job (a POST to it): checked whole and applied in one
 * commit, or not at all. Parameters, run id and execution duration may
 * change only while PENDING (else OPUS_ERR_PHASE, nothing changed); the
 * destruction time in any phase.
 */
struct sched_change {
	const struct uws_param *params; /* set or replace these (names case-insensitive) */
	size_t nparams;
	const char *run_id; /* non-NULL: the new runId ("" clears it) */
	bool set_duration;  /* duration: s, 0 = unlimited; clamped to the cap */
	int64_t duration;
	bool set_destruction; /* destruction: ms; a past time is clamped to now */
	int64_t destruction;
	enum sched_action action; /* RUN: as sched_job_run; ABORT: as sched_job_abort */
	/* Called under the job's lock with the job as it would be after the
	 * change, and the description version it was created with (NULL when
	 * gone), before anything is saved; a negative return refuses the whole
	 * change with that code. NULL: no check. */
	int (*check)(void *ctx, const struct uws_job *job, const struct jdl *j);
	void *check_ctx;
};
/* OPUS_ERR_NOTFOUND, OPUS_ERR_PHASE, OPUS_ERR_INVAL, OPUS_ERR_BUSY (stopping),
 * the check's code, or a store error. */
int sched_job_update(struct sched *s, const char *id, const struct sched_change *c) OPUS_WUR;

/* PENDING -> QUEUED (then EXECUTING when a slot is free). Already QUEUED or
 * EXECUTING: 0 (no change). A final phase: OPUS_ERR_PHASE. */
int sched_job_run(struct sched *s, const char *id) OPUS_WUR;
/* PENDING, QUEUED, EXECUTING -> ABORTED (killing the job's processes).
 * A final phase: OPUS_ERR_PHASE. The phase is ABORTED at once; a job that
 * was running gets its results and end time when its processes are gone,
 * and its WAITs wake only then. */
int sched_job_abort(struct sched *s, const char *id) OPUS_WUR;
/* Kills the job if it runs, removes its record, then its directory (on a
 * worker: the tree may be large); wakes WAITs. */
int sched_job_delete(struct sched *s, const char *id) OPUS_WUR;
/* Removes a job directory left by a create that failed (on a worker). */
void sched_job_dir_remove(struct sched *s, const char *id);
/* Seconds >= 0 (0 = unlimited), clamped to the cap. PENDING only, else OPUS_ERR_PHASE. */
int sched_job_set_execution_duration(struct sched *s, const char *id, int64_t secs) OPUS_WUR;
/* Any phase. A time in the past is clamped to now (the daemon then deletes it). */
int sched_job_set_destruction(struct sched *s, const char *id, int64_t ms) OPUS_WUR;
/* Sets/replaces the given parameters (others kept). PENDING only, else OPUS_ERR_PHASE. */
int sched_job_set_params(struct sched *s, const char *id, const struct uws_param *params,
			 size_t n) OPUS_WUR;

/*
 * WAIT support. Registers `fn(ctx)` to be called exactly once, from another
 * thread, at the job's first phase change after `seen`, when `timeout_ms`
 * elapses, when the job is deleted, or at sched_close().
 * Returns 0 when registered; 1 when there is nothing to wait for (the job is
 * no longer in phase `seen`, or `seen` is not PENDING/QUEUED/EXECUTING) — fn
 * is then never called; OPUS_ERR_NOTFOUND for an unknown job.
 */
typedef void (*sched_wake_fn)(void *ctx);
int sched_wait(struct sched *s, const char *id, enum uws_phase seen, int64_t timeout_ms,
	       sched_wake_fn fn, void *ctx) OPUS_WUR;

/* Counters for /availability and logs. */
struct sched_stats {
	size_t queued;
	size_t running;
	size_t waiters;
	size_t ends_unrecorded; /* job ends the store refused so far (retried) */
	/* The backend: its name, whether it reaches its cluster (exec_reachable,
	 * the last answer seen: never blocks) and why not. */
	const char *executor;
	bool reachable;
	char unreachable_why[256];
	/* Queued jobs held because their submission found the cluster
	 * unreachable (0 when starts are not held), and that reason. */
	size_t waiting_for_cluster;
	char waiting_why[256];
};
/*
 * A job's own signal (POST /handler/job_event), checked by the caller.
 * Never blocks; idempotent; phases only forward. EXECUTING for a run the
 * backend still holds QUEUED: recorded as a STARTED event would be.
 * COMPLETED and ERROR: the backend reconciles now (exec_poll); the end is
 * recorded from the backend's own ENDED event (its state and exit code).
 * A job sched does not follow (ended, never started, unknown): nothing.
 */
enum sched_signal { SCHED_SIGNAL_EXECUTING, SCHED_SIGNAL_COMPLETED, SCHED_SIGNAL_ERROR };
void sched_job_signal(struct sched *s, const char *id, enum sched_signal sig);

void sched_get_stats(struct sched *s, struct sched_stats *out);
/* While the starts of the backend of this description's jobs are held
 * because its cluster does not answer: true with the reason in buf (every
 * job QUEUED without an exec handle bound for it waits for it). Never
 * blocks, reads no queue. */
bool sched_queue_reason(struct sched *s, const char *jobdef, char *buf, size_t len);

#endif
