/*
 * sched_multi: several opusd instances on one shared store (PostgreSQL),
 * each with its own executor, sharing data_dir.
 *
 *   - A job runs once: sched_start_one claims it (store_job_claim) before
 *     anything is submitted; a lost claim drops the local queue entry. With
 *     free slots, an instance claims unclaimed queued jobs (created on
 *     another instance, waiting for SCHED_CLAIM_AGE_MS at least) when a
 *     "QUEUED" notification comes, and at each periodic round. max_running holds per instance.
 *   - Wake-ups cross instances: every committed phase change is notified
 *     (store_listen); sched_multi_notify wakes the local waiters whose seen
 *     phase differs from the job's phase now (read from the store: never a
 *     spurious return for a stale notification), and stops a local run that another instance
 * aborted, archived or deleted (its end then keeps the stored phase). When the listener lost
 * its connection (notifications missed), a worker makes them up (sched_multi_resync): every local
 * waiter and run looks at its job's stored phase, as a notification would have made it.
 *   - The store's listener writes the heartbeat (every lease/3, at most
 *     2 s): an instance is alive while its listener is, however busy its
 *     workers. The periodic round (as often) claims; on the leader (store_is_leader) it also purges
 * expired jobs and settles dead instances: their QUEUED jobs claimed for the queue and never
 * started are unclaimed (safe: nothing ran); those claimed for a start (it may have begun: the
 * process may exist before EXECUTING is written) end like running ones; those the backend keeps
 * (SLURM) are adopted by the leader, the others (local processes) end ERROR "server lost" with what
 * they left: requeueing a job that ran is not safe (side effects; it may even still run). A
 * falsely-declared-dead instance loses its later writes conditionally (OPUS_ERR_PHASE: logged,
 * never written over).
 *
 * Threading: the notification callback runs on the store's listener thread
 * and takes a job's stripe then s->lock (the order of sched-int.h); rounds
 * and claims run on workers. Nothing here runs on a request thread.
 */
#include "sched/sched-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHED_ROUND_MAX_MS 2000 /* the fallback poll for claims, at least this often */
/* A job queued on another instance is claimed here only once it waited
 * this long: its own instance starts it first when it has a free slot. */
#define SCHED_CLAIM_AGE_MS 500

const char *sched_instance(const struct sched *s)
{
	return s->instance ? s->instance : "";
}

static int64_t round_ms(const struct sched *s)
{
	int64_t ms = s->cfg.lease_s * 1000 / 3;
	return ms > 0 && ms < SCHED_ROUND_MAX_MS ? ms : SCHED_ROUND_MAX_MS;
}

int sched_multi_start(struct sched *s)
{
	int ret;

	if (!store_is_shared(s->st))
		return 0;
	if (!s->cfg.instance || !*s->cfg.instance || s->cfg.lease_s <= 0) {
		log_error("sched: a shared store needs an instance name and a lease > 0");
		return OPUS_ERR_INVAL;
	}
	s->instance = xstrdup(s->cfg.instance);
	s->multi = true;
	ret = store_instance_beat(s->st, s->instance, (int64_t)getpid());
	if (ret == 0)
		ret = store_listen(s->st, &(struct store_listener){.fn = sched_multi_notify,
								   .ctx = s,
								   .instance = s->instance,
								   .pid = (int64_t)getpid(),
								   .beat_ms = round_ms(s)});
	if (ret) {
		log_error("sched: instance %s cannot join the shared store: %s", s->instance,
			  opus_strerror(ret));
		return ret;
	}
	log_info("sched: instance %s on a shared store (lease %lld s)", s->instance,
		 (long long)s->cfg.lease_s);
	return 0;
}

/* Free slots not promised to a local queue entry. s->lock held. */
static size_t free_slots_locked(const struct sched *s)
{
	size_t busy = s->nrunning + s->nstarting + s->nqueued;
	size_t max = (size_t)s->cfg.max_running;
	return busy < max ? max - busy : 0;
}

/* The job's phase now (STORE_JOB_DELETED when gone): a notification may
 * arrive after later changes made here, and a waiter that saw the newer
 * phase must not wake for the older one. The notified phase when the store
 * cannot say. Stripe held. */
static int phase_now(struct sched *s, const char *id, int notified)
{
	struct uws_job job = {0};
	int err = store_job_get(s->st, id, &job);
	int phase = err == 0		       ? (int)job.phase
		    : err == OPUS_ERR_NOTFOUND ? STORE_JOB_DELETED
					       : notified;

	uws_job_release(&job);
	return phase;
}

static bool stops_run(int phase)
{
	return phase == STORE_JOB_DELETED || phase == UWS_ABORTED || phase == UWS_ARCHIVED;
}

/* A committed change of job id to phase, as notified (or read after a gap). */
static void notified(struct sched *s, const char *id, int phase)
{
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	struct sched_run *run;

	if (!sched_id_ok(id))
		return;
	/* Under the stripe: a WAIT registering now has read the job either
	 * before this change's commit (then it is registered before we look)
	 * or after it (then it does not register). */
	stripe = sched_stripe(s, id);
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&s->lock);
	run = sched_run_find(s, id);
	if (stops_run(phase)) {
		sched_queue_remove(s, id);
		if (run && !run->ended && run->kill == SCHED_KILL_NONE) {
			log_info("job %s: %s by another instance; stopping it", id,
				 phase == STORE_JOB_DELETED ? "deleted" : uws_phase_name(phase));
			sched_run_stop(s, run, SCHED_KILL_ABORT);
		}
	}
	pthread_mutex_unlock(&s->lock);
	/* A local run's waiters wake at its recorded end, as on one daemon. */
	if ((!run || phase == STORE_JOB_DELETED) && sched_waiters_any(s, id))
		woken = sched_waiters_take_changed(s, id, phase_now(s, id, phase));
	pthread_mutex_unlock(stripe);
	sched_waiters_fire(woken);
}

void sched_multi_notify(void *ctx, const char *id, int phase)
{
	struct sched *s = ctx;

	if (!id || phase == UWS_QUEUED) {
		/* A job to claim, or notifications missed: look for work, and
		 * (on a worker: the listener keeps beating) at the local jobs. */
		pthread_mutex_lock(&s->lock);
		if (!s->stopping && free_slots_locked(s) > 0)
			sched_work_claim_locked(s);
		if (!id && !s->stopping)
			sched_work_resync_locked(s);
		pthread_mutex_unlock(&s->lock);
		if (!id)
			return;
	}
	notified(s, id, phase);
}

/* The ids of the jobs with local waiters or runs (a job may come twice).
 * s->lock held; the caller frees them (store_ids_free). */
static char **watched_ids_locked(struct sched *s, size_t *n_out)
{
	char **ids = xcalloc(s->nwaiters + s->nrunning + 1, sizeof(*ids));
	size_t n = 0;

	for (size_t b = 0; b < SCHED_WAIT_BUCKETS; b++)
		for (const struct sched_waiter *w = s->waiters[b]; w; w = w->next)
			ids[n++] = xstrdup(w->id);
	for (const struct sched_run *r = s->runs; r; r = r->next)
		ids[n++] = xstrdup(r->id);
	*n_out = n;
	return ids;
}

#define PHASE_UNKNOWN (-100) /* phase_now's answer when the store failed */

void sched_multi_resync(struct sched *s)
{
	char **ids;
	size_t n, nread = 0;

	pthread_mutex_lock(&s->lock);
	s->resync_pending = false;
	ids = s->stopping ? NULL : watched_ids_locked(s, &n);
	pthread_mutex_unlock(&s->lock);
	if (!ids)
		return;
	for (size_t i = 0; i < n; i++) {
		int phase = phase_now(s, ids[i], PHASE_UNKNOWN);
		if (phase == PHASE_UNKNOWN)
			continue; /* the store failed: it stays as it is, until its timeout */
		notified(s, ids[i], phase);
		nread++;
	}
	log_info("sched: notifications may have been missed; %zu local job(s) looked at again",
		 nread);
	store_ids_free(ids, n);
}

int64_t sched_multi_tick_locked(struct sched *s, int64_t now)
{
	if (!s->multi || s->stopping)
		return SCHED_NEVER;
	if (now >= s->multi_next) {
		sched_work_multi_locked(s);
		s->multi_next = now + round_ms(s);
	}
	return s->multi_next;
}

bool sched_multi_has_run(struct sched *s, const char *id)
{
	bool yes;

	pthread_mutex_lock(&s->lock);
	yes = sched_run_find(s, id) != NULL;
	pthread_mutex_unlock(&s->lock);
	return yes;
}

/* Is id in the local queue? s->lock held. */
static bool queued_here_locked(const struct sched *s, const char *id)
{
	for (const struct sched_qent *q = s->qhead; q; q = q->next)
		if (strcmp(q->id, id) == 0)
			return true;
	return false;
}

/* A job this instance claimed joins its local queue, under its owner's limit. */
static void queue_claimed(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	int64_t limit;
	int slot;

	if (!sched_id_ok(id) || store_job_get(s->st, id, &job) != 0)
		return;
	limit = sched_owner_limit(s, job.owner);
	slot = sched_slot_of(s, job.jobdef);
	pthread_mutex_lock(&s->lock);
	if (!queued_here_locked(s, id) && !sched_run_find(s, id))
		sched_queue_push(s, id, job.owner, limit, slot);
	pthread_cond_signal(&s->work_cond);
	pthread_mutex_unlock(&s->lock);
	uws_job_release(&job);
}

void sched_multi_claim(struct sched *s)
{
	char **ids = NULL;
	size_t n = 0, want;
	bool stopping;

	pthread_mutex_lock(&s->lock);
	s->claim_pending = false;
	want = free_slots_locked(s);
	stopping = s->stopping || !s->multi;
	pthread_mutex_unlock(&s->lock);
	if (stopping || want == 0)
		return;
	if (store_job_claim_next(s->st, s->instance, want, time_now_ms() - SCHED_CLAIM_AGE_MS, &ids,
				 &n) != 0) {
		log_warn("sched: could not claim queued jobs; trying again at the next round");
		return;
	}
	for (size_t i = 0; i < n; i++)
		queue_claimed(s, ids[i]);
	if (n)
		log_debug("sched: %zu queued job(s) claimed", n);
	store_ids_free(ids, n);
}

/* One job of a dead instance: unclaimed when nothing of it ran, adopted
 * when the backend keeps it, else ERROR "server lost". False when the
 * store failed (the sweep tries again). */
static bool settle_job(struct sched *s, const char *dead, const char *id, size_t *nrequeued)
{
	struct uws_job job = {0};
	bool ok = true;
	int err;

	if (!sched_id_ok(id) || store_job_get(s->st, id, &job) != 0)
		return true; /* gone meanwhile */
	err = job.phase == UWS_QUEUED && !job.exec_handle[0] ? store_job_unclaim(s->st, id, dead)
							     : OPUS_ERR_PHASE;
	if (err == 0 || err == OPUS_ERR_NOTFOUND) {
		*nrequeued += err == 0;
	} else if (err != OPUS_ERR_PHASE) {
		ok = false;
	} else if (job.exec_handle[0] &&
		   exec_keeps_handle(s->ex, job.exec_handle) == EXEC_KEEP_ALL) {
		err = store_job_reassign(s->st, id, dead, s->instance, job.phase);
		if (err == 0)
			(void)sched_recover_submitted(s, &job, "server lost");
		ok = err == 0 || err == OPUS_ERR_PHASE || err == OPUS_ERR_NOTFOUND;
	} else {
		sched_recover_lost(s, id, "server lost");
	}
	uws_job_release(&job);
	return ok;
}

/* Settles every job a dead instance held, then forgets it. */
static void settle_instance(struct sched *s, const char *dead)
{
	char **ids = NULL;
	size_t n = 0, nrequeued = 0;
	bool ok = true;

	if (store_job_ids_of(s->st, dead, &ids, &n) != 0)
		return;
	log_warn("sched: instance %s is gone (no heartbeat for %lld s); settling its %zu job(s)",
		 dead, (long long)s->cfg.lease_s, n);
	for (size_t i = 0; i < n; i++)
		ok = settle_job(s, dead, ids[i], &nrequeued) && ok;
	store_ids_free(ids, n);
	if (nrequeued)
		log_info("sched: %zu queued job(s) of %s may run elsewhere now", nrequeued, dead);
	if (ok && store_instance_forget(s->st, dead) != 0)
		log_warn("sched: instance %s could not be forgotten", dead);
}

static void sweep_dead(struct sched *s)
{
	char **names = NULL;
	size_t n = 0;

	if (store_instances_dead(s->st, s->instance, s->cfg.lease_s * 1000, &names, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		settle_instance(s, names[i]);
	store_ids_free(names, n);
}

void sched_multi_round(struct sched *s)
{
	bool leader;

	pthread_mutex_lock(&s->lock);
	s->multi_pending = false;
	pthread_mutex_unlock(&s->lock);
	sched_multi_claim(s);
	leader = store_is_leader(s->st);
	if (!leader)
		return;
	sweep_dead(s);
	/* Destruction times set on other instances are not noted here: the
	 * leader looks at the store each round. */
	pthread_mutex_lock(&s->lock);
	if (s->next_destruction > time_now_ms())
		s->next_destruction = time_now_ms();
	pthread_cond_signal(&s->tick);
	pthread_mutex_unlock(&s->lock);
}
