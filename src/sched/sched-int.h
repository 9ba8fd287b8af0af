/*
 * sched-int: the scheduler's shared state and the functions its files call
 * in one another (sched.c: open/close and the job operations; sched_run.c:
 * queue, start, end; sched_stage.c: fetching inputs by reference before a
 * start; sched_results.c: results at job end; sched_wait.c: waiters, the
 * deadline thread and destruction; sched_timer.c: the deadline heap;
 * sched_work.c: the worker threads that start and end jobs and remove files).
 *
 * Locking, always in this order, never the other way round:
 *   1. a job's stripe (stripes[hash(id)]): serialises the phase changes of
 *      that job: read it, check uws_phase_can(), save it durably, take its
 *      waiters. Held across store writes, never across a spawn or a file
 *      tree (a start spawns with no lock held, then records EXECUTING).
 *   2. s->lock: the in-memory state below; never held across a store write,
 *      a file operation or a callback (exec_cancel() never blocks: fine).
 * Waiter callbacks are called with no lock held.
 * Included by: the .c files of src/sched only.
 */
#ifndef OPUS_SCHED_INT_H
#define OPUS_SCHED_INT_H

#include "exec/exec.h"
#include "sched/sched.h"

#include <pthread.h>
#include <stddef.h>

#define SCHED_STRIPES	    64
#define SCHED_WAIT_BUCKETS  256
#define SCHED_DESTROY_BATCH 32
#define SCHED_NEVER	    INT64_MAX
#define SCHED_WORKERS	    4
#define SCHED_OWNER_BUCKETS 256
/* Back-off of a job end the store refused: doubling from MIN up to MAX. */
#define SCHED_END_RETRY_MIN_MS 100
#define SCHED_END_RETRY_MAX_MS 5000
/* Back-off of submissions while the backend's cluster does not answer. */
#define SCHED_HOLD_MIN_MS 1000
#define SCHED_HOLD_MAX_MS 60000

#define sched_container_of(ptr, type, member)                                                      \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A deadline on CLOCK_MONOTONIC, embedded in what it belongs to. */
enum sched_timer_kind { SCHED_TIMER_RUN, SCHED_TIMER_WAIT };
struct sched_timer {
	int64_t when; /* time_mono_ms() */
	size_t idx;   /* index in the heap; SCHED_TIMER_IDLE when not armed */
	enum sched_timer_kind kind;
};
#define SCHED_TIMER_IDLE SIZE_MAX

/* A binary min-heap of armed timers (sched_timer.c); guarded by s->lock. */
struct sched_heap {
	struct sched_timer **v;
	size_t n, alloc;
};
void sched_timer_init(struct sched_timer *t, enum sched_timer_kind kind);
/* Arms t at `when` (re-arms it when armed). True when t is now the earliest. */
bool sched_heap_arm(struct sched_heap *h, struct sched_timer *t, int64_t when);
void sched_heap_disarm(struct sched_heap *h, struct sched_timer *t); /* idle: no-op */
struct sched_timer *sched_heap_top(const struct sched_heap *h);	     /* NULL when empty */
void sched_heap_release(struct sched_heap *h);

/*
 * A job sched handed to exec and whose end is not recorded yet. It holds a
 * slot (nrunning) from its start until its end is committed: launching (a
 * worker is in exec_submit, or recovery in exec_adopt: no handle yet, or
 * events held back), pending (the backend holds it QUEUED: STARTED comes
 * later), running, then `ended` (ENDED came, or it never started: fail_why)
 * with its end queued for a worker, or waiting for a retry (the timer)
 * while the store refuses it.
 */
struct sched_run {
	struct sched_run *next;
	char id[UWS_ID_LEN + 1];
	char handle[EXEC_HANDLE_MAX]; /* exec's; "" while launching or staging */
	struct jdl *jdl;	      /* the description it runs (a reference) */
	enum sched_kill kill;
	bool term_sent;	   /* SIGTERM sent: the timer now means SIGKILL */
	bool kill_sent;	   /* SIGKILL sent: the timer now means "ask the backend" */
	bool launching;	   /* exec_submit or exec_adopt in progress: events wait for it */
	bool pending;	   /* submitted, not started: the job is QUEUED */
	bool started_seen; /* STARTED came during the launch */
	bool ended;	   /* ev holds how it ended; the timer means "retry the end" */
	bool end_failed;   /* its end was refused by the store at least once */
	bool end_queued;   /* a task for its end is queued or running (sched_work.c) */
	int64_t retry_ms;
	/* ENDED as reported: ev.job_id, ev.handle and ev.reason point into the run. */
	struct exec_event ev;
	char *reason;
	struct sched_timer timer;
	struct sched_owner *own; /* counts this run's slot in own->running */
	/* Its end as prepared on a worker before the stripe is taken
	 * (sched_end_run): results collected, hashed and registered once, kept
	 * across retries of the end. */
	bool end_prepared;
	struct uws_result *results;
	size_t nresults;
	struct store_entity *generated;
	size_t ngenerated;
	/* Fetching inputs (sched_stage.c): nothing submitted yet, no handle; signals
	 * become `cancel`. A stager thread owns the run until it launches it
	 * or ends it with fail_why. */
	bool staging;
	fetch_cancel_flag cancel;
	char *fail_why;
	struct sched_run *stage_next; /* s->stage_head list, under s->lock */
};

/* A blocked WAIT. Owned by whoever unlinks it (under s->lock): that one calls fn. */
struct sched_waiter {
	struct sched_waiter *prev, *next;
	char id[UWS_ID_LEN + 1];
	enum uws_phase seen; /* the phase it waits to change */
	sched_wake_fn fn;
	void *ctx;
	struct sched_timer timer;
};

/* An owner with jobs queued or slots held (sched_owner.c); under s->lock. */
struct sched_owner {
	struct sched_owner *next; /* in its bucket */
	char *name;		  /* NULL: anonymous */
	int64_t max_running;	  /* its quota as last looked up; 0 = none */
	size_t running;		  /* slots it holds: starting, staging, running, ending */
	size_t queued;		  /* its entries in the queue */
};

struct sched_qent {
	struct sched_qent *next;
	char id[UWS_ID_LEN + 1];
	struct sched_owner *own; /* counts this entry in own->queued */
	int slot;		 /* the backend its start goes to (exec_backend_slot) */
};

/* sched_retry.c: one backend's cluster that does not answer. */
struct sched_hold {
	int64_t until;	/* no start on this backend before (time_mono_ms) */
	int64_t ms;	/* the current back-off (0: none, and then no job waits for it) */
	char why[256];	/* the submission's words */
	size_t nqueued; /* queue entries of this backend */
};

struct sched {
	struct sched_config cfg;
	char *data_dir; /* absolute */
	struct store *st;
	struct jdl_registry *reg;
	struct exec *ex;
	pthread_mutex_t stripes[SCHED_STRIPES];

	pthread_mutex_t lock;
	pthread_cond_t tick;		  /* wakes the deadline thread (CLOCK_MONOTONIC) */
	pthread_cond_t idle;		  /* a start ended or a run exited (CLOCK_MONOTONIC) */
	struct sched_qent *qhead, *qtail; /* FIFO of QUEUED ids */
	size_t nqueued;
	struct sched_owner *owners[SCHED_OWNER_BUCKETS];
	struct sched_run *runs;
	size_t nrunning;  /* entries of runs */
	size_t nstarting; /* slots taken by starts in progress */
	struct sched_waiter *waiters[SCHED_WAIT_BUCKETS];
	size_t nwaiters;
	struct sched_heap heap;
	int64_t next_destruction; /* wall ms, a lower bound; SCHED_NEVER when none */
	bool stopping;		  /* sched_close began: no start, no new waiter */
	bool thread_stop;
	bool thread_started;
	pthread_t deadline_thread;

	/* sched_work.c: tasks for the workers (s->lock) */
	pthread_cond_t work_cond;
	struct sched_task *task_head, *task_tail;
	size_t ntasks;
	size_t nend_failed; /* runs whose end the store refused: /availability */
	/* sched_retry.c: per backend slot (s->lock) */
	struct sched_hold hold[EXEC_BACKENDS_MAX];
	bool purge_pending;
	bool work_stop;
	pthread_t *workers;
	size_t nworkers;

	/* sched_stage.c: runs waiting for a stager thread (s->lock) */
	struct sched_run *stage_head, *stage_tail;
	pthread_cond_t stage_cond;
	bool stage_stop;
	pthread_t *stagers;
	size_t nstagers;

	/* sched_multi.c: several instances on one store (s->lock) */
	bool multi;	     /* the store is shared: claims, heartbeat, leader work */
	char *instance;	     /* its name (cfg.instance copied); NULL without multi */
	int64_t multi_next;  /* time_mono_ms() of the next periodic round */
	bool multi_pending;  /* a round is queued for a worker */
	bool claim_pending;  /* a claim of unclaimed queued jobs is queued */
	bool resync_pending; /* a resync (missed notifications) is queued */
};

/* sched.c */
pthread_mutex_t *sched_stripe(struct sched *s, const char *id);
bool sched_stopping(struct sched *s); /* takes s->lock */
bool sched_id_ok(const char *id);     /* safe to use in a path */
char *sched_path(const struct sched *s, const char *id, const char *rel); /* caller frees */
/* Sets job->phase when the UWS table allows it; OPUS_ERR_PHASE otherwise. */
int sched_set_phase(struct uws_job *job, enum uws_phase to);
void sched_set_error(struct uws_job *job, const char *summary);
/* Deletes a job (stripe not held): kills it, removes record and directory. */
int sched_delete(struct sched *s, const char *id);
/* Destroys a job whose destruction time passed (stripe not held): ARCHIVED,
 * files gone, record and provenance kept. 0; SCHED_RETIRE_LATER when it was
 * still running (it is stopped: the next purge archives it). */
#define SCHED_RETIRE_LATER 1
int sched_archive(struct sched *s, const char *id);
/* A job that never ran (PENDING, QUEUED, HELD; a start that failed) reaches
 * a final phase: its scalars and its activity in one commit, if the stored
 * job is still in phase `from` (the one read under the stripe; else
 * OPUS_ERR_PHASE and nothing written, see store_job_end). Stripe held. */
int sched_end_unrun(struct sched *s, const struct uws_job *job, enum uws_phase from) OPUS_WUR;

/* sched_owner.c: per-owner counts and limits (quota max_running) */
/* The owner's limit from the store (0 = none). No lock held. */
int64_t sched_owner_limit(struct sched *s, const char *owner);
/* The entry of an owner (NULL: anonymous), made when missing. s->lock held. */
struct sched_owner *sched_owner_get_locked(struct sched *s, const char *name);
/* Frees the entry when it counts nothing any more. s->lock held; NULL ok. */
void sched_owner_put_locked(struct sched *s, struct sched_owner *o);
/* May one more of its jobs take a slot? (NULL: yes.) s->lock held. */
bool sched_owner_may_start(const struct sched_owner *o);
/* A slot it held is free (a start that did not happen, a run's end). s->lock held. */
void sched_owner_slot_end_locked(struct sched *s, struct sched_owner *o);
void sched_owners_free(struct sched *s);

/* sched_run.c (the caller holds the job's stripe where it says so) */
/* Queues a job of owner (NULL: anonymous) whose limit is max_running (from
 * sched_owner_limit, looked up with no lock held). s->lock held. */
void sched_queue_push(struct sched *s, const char *id, const char *owner, int64_t max_running,
		      int slot);
void sched_queue_remove(struct sched *s, const char *id);	   /* s->lock held */
struct sched_run *sched_run_find(struct sched *s, const char *id); /* s->lock held */
/* Asks a running job to stop: SIGTERM now, SIGKILL after the grace. s->lock held. */
void sched_run_stop(struct sched *s, struct sched_run *run, enum sched_kill why);
/* Its timer fired: duration exceeded or grace over. s->lock held. */
void sched_run_deadline(struct sched *s, struct sched_run *run);
/* The first queued job whose owner is below its limit: its owner now holds
 * a slot (*own_out). False when none may start. s->lock held. */
bool sched_queue_pop(struct sched *s, char id_out[UWS_ID_LEN + 1], struct sched_owner **own_out);
/* Starts one job popped from the queue; its slot is taken (nstarting, and
 * own->running). A worker. */
void sched_start_one(struct sched *s, const char *id, struct sched_owner *own);
/* Records the end of an ended run (its phase, results and end time in one
 * commit), then releases its slot and frees it; while the store refuses the
 * end, retries later with back-off instead. A worker. */
void sched_end_run(struct sched *s, struct sched_run *run);
/* The run ended (ee, or fail_why when it never started): queue its end,
 * unless its launch is still in progress (the launcher queues it). s->lock held. */
void sched_run_ended_locked(struct sched *s, struct sched_run *run);
/* Frees a run and what its end prepared. */
void sched_run_free(struct sched_run *run);
/* Restart recovery: follows a job an earlier daemon submitted (its
 * exec_handle) as a run again, through exec_adopt: 0, or OPUS_ERR_NOTFOUND
 * when the backend cannot (no run is left). No lock held. */
int sched_run_adopt(struct sched *s, const struct uws_job *job);
/* Stops following a run (shutdown of a backend that keeps its jobs): its
 * slot is released, it is unlinked and freed. Not for an ended run. s->lock held. */
void sched_run_abandon_locked(struct sched *s, struct sched_run *run);
/* exec's event callback. */
void sched_on_event(void *ctx, const struct exec_event *ev);
/* Results a job left: Generated files that exist, stdout, stderr. j may be NULL. */
void sched_collect_results(const struct sched *s, struct uws_job *job, const struct jdl *j);
void sched_results_clear(struct uws_job *job);

/* Sends sig to a run through exec_cancel; a staging run is cancelled instead. s->lock held. */
void sched_run_signal(struct sched *s, struct sched_run *run, int sig);
/* Submits a run (no lock held), records the start, and hands an end seen
 * meanwhile to a worker. The run may be gone on return. */
/* Submits the run; true when it is launched or ended. False only for a
 * staged run the cluster did not take (OPUS_ERR_BUSY): still the caller's,
 * to submit again after the back-off (sched_hold_staged_locked). */
bool sched_launch_run(struct sched *s, struct sched_run *run, const struct uws_job *job);
/* sched_retry.c */
/* Puts back at the head of the queue a job whose submission found the
 * cluster unreachable (why), and holds every start for the next back-off.
 * s->lock held; the caller then releases the run's slot. */
void sched_hold_locked(struct sched *s, const char *id, struct sched_owner *own, const char *why,
		       int slot);
/* A submission went through: the back-off starts again from its minimum. s->lock held. */
void sched_hold_clear_locked(struct sched *s, int slot);
/* The backend's cluster answers again (EXEC_EV_REACHABLE): the held starts
 * go now instead of at the end of the back-off. Takes s->lock. */
void sched_hold_resume(struct sched *s, int slot);
/* The same back-off for a staged job (EXECUTING: it stays with its stager). */
void sched_hold_staged_locked(struct sched *s, const char *id, const char *why, int slot);
/* Is this backend's start held at now (time_mono_ms)? s->lock held. */
bool sched_slot_held_locked(const struct sched *s, int slot, int64_t now);
/* How long until a held backend with queued jobs may start again: 0 when
 * none is held. s->lock held. */
int64_t sched_held_ms_locked(const struct sched *s);
/* The backend slot of a description (its current version, in memory: a job
 * created with an older one that named another backend waits on this one's
 * hold, and still goes to its own); 0, the default, when it is gone or names
 * a backend not open (its start then fails saying so). No lock held. */
int sched_slot_of(struct sched *s, const char *jobdef);
int sched_slot_of_jdl(const struct sched *s, const struct jdl *j);
/* Queued jobs that wait for a held backend, and the first held one's words. s->lock held. */
void sched_hold_stats_locked(const struct sched *s, size_t *waiting, char *why, size_t len);

/* Prepares the job's files and submits it: NULL, or why it could not
 * (malloc'd) with exec_submit's code in *err (OPUS_ERR_BUSY: the cluster
 * did not answer). No lock held. */
char *sched_launch(struct sched *s, const struct uws_job *job, const struct jdl *j,
		   struct exec_submitted *sub, int *err);
/* A run that the backend started later (STARTED): QUEUED -> EXECUTING with
 * its start time, waiters woken, its duration armed. A worker. */
void sched_record_started(struct sched *s, const char *id, const char *handle);
/* Arms a running run's duration, counted from the job's start_time (wall
 * ms; 0: from now). s->lock held. */
void sched_run_arm_duration_locked(struct sched *s, struct sched_run *run, int64_t duration_s,
				   int64_t start_time);
/* Records the end of a run. Stripe held; 0 with the waiters to wake in
 * *woken, or the store's error (nothing recorded: try again later). */
int sched_finish(struct sched *s, const struct sched_run *run, struct sched_waiter **woken);
/* Is the parameter an input entity (a Used entity or a file parameter)? Its
 * Used description (NULL for a file parameter) in *used_out. */
bool sched_param_is_input(const struct jdl *j, const char *name,
			  const struct jdl_entity **used_out);
/* The local file of the k-th (0-based) of n references of an input: "{name}"
 * when n is 1, else "{name}_{k+1}". Caller frees. */
char *sched_input_name(const char *name, size_t k, size_t n);

/* sched_stage.c: fetching inputs by reference before a job's process starts */
bool sched_needs_staging(const struct uws_job *job, const struct jdl *j);
void sched_stage_push(struct sched *s, struct sched_run *run); /* s->lock held */
int sched_stage_start(struct sched *s) OPUS_WUR;
void sched_stage_stop(struct sched *s); /* after every staging run ended */

/* sched_wait.c */
/* Unlinks the waiters of job id (takes s->lock); fire them with no lock held. */
struct sched_waiter *sched_waiters_take(struct sched *s, const char *id);
struct sched_waiter *sched_waiters_take_all_locked(struct sched *s);
/* The same for a change to `phase` notified by the store: only the waiters
 * that saw another phase (every one when phase is STORE_JOB_DELETED). */
struct sched_waiter *sched_waiters_take_changed(struct sched *s, const char *id, int phase);
/* Is anyone waiting on job id? Takes s->lock. */
bool sched_waiters_any(struct sched *s, const char *id);
void sched_waiters_fire(struct sched_waiter *list);
/* A destruction time was set: the deadline thread must look at it. No lock held. */
void sched_destruction_note(struct sched *s, int64_t ms);
int sched_deadline_start(struct sched *s);
void sched_deadline_stop(struct sched *s);
/* Archives one batch of jobs whose destruction time passed. A worker. */
void sched_destroy_expired(struct sched *s);

/* sched_multi.c: several instances on one store */
/* The instance's name ("" with a store of one daemon). */
const char *sched_instance(const struct sched *s);
/* Registers the instance and starts listening (sched_open). No lock held. */
int sched_multi_start(struct sched *s) OPUS_WUR;
/* The store's notification callback (store_listen). */
void sched_multi_notify(void *ctx, const char *id, int phase);
/* Does this instance have a run of id (starting, running, ending)? Takes s->lock. */
bool sched_multi_has_run(struct sched *s, const char *id);
/* The deadline thread's share: when a periodic round (heartbeat, claims,
 * the leader's work) is due, queues it; the next time one is due
 * (time_mono_ms), SCHED_NEVER without multi. s->lock held. */
int64_t sched_multi_tick_locked(struct sched *s, int64_t now);
/* One periodic round (a worker). */
void sched_multi_round(struct sched *s);
/* Claims unclaimed queued jobs for the free slots (a worker). */
void sched_multi_claim(struct sched *s);
/* After notifications were missed: the local waiters and runs look at their
 * jobs' phases now, as a notification would have made them (a worker). */
void sched_multi_resync(struct sched *s);
/* A job an instance ran and that nobody follows any more ends ERROR with
 * the results it left (why: "server restarted", "server lost"). No lock held. */
void sched_recover_lost(struct sched *s, const char *id, const char *why);
/* Follows a job again that the backend keeps (exec_keeps), else ends it as
 * lost; true when adopted. No lock held. */
bool sched_recover_submitted(struct sched *s, const struct uws_job *job, const char *why);

/* sched_work.c */
int sched_work_start(struct sched *s) OPUS_WUR;
/* After every run ended: drains the tasks, then joins the workers. */
void sched_work_stop(struct sched *s);
/* A queued job may be able to start now. No lock held. */
void sched_work_kick(struct sched *s);
/* Queues the end of an ended run. s->lock held. */
void sched_work_end_locked(struct sched *s, struct sched_run *run);
/* Queues the record of a STARTED event (sched_record_started). s->lock held. */
void sched_work_started_locked(struct sched *s, const char *id, const char *handle);
/* Removes the directory tree at path (owned by the task from now on). No lock held. */
void sched_work_rmtree(struct sched *s, char *path);
/* The same, then collects the blobs (store_job_retire's list, owned by the task). */
void sched_work_rmtree_blobs(struct sched *s, char *path, char **blobs, size_t nblobs);
/* Queues a purge of expired jobs, unless one is queued already. s->lock held. */
void sched_work_purge_locked(struct sched *s);
/* Queues a periodic round of sched_multi.c, unless one is queued. s->lock held. */
void sched_work_multi_locked(struct sched *s);
/* Queues a claim of unclaimed queued jobs, unless one is queued. s->lock held. */
void sched_work_claim_locked(struct sched *s);
/* Queues a resync after missed notifications, unless one is queued. s->lock held. */
void sched_work_resync_locked(struct sched *s);

#endif
