/*
 * sched_retry: a cluster that does not answer. A submission that failed
 * because the backend could not reach its cluster (exec_submit's
 * OPUS_ERR_BUSY), not because the job was refused, puts the job back at the
 * head of the queue, still QUEUED, its slot released; every start on that
 * backend then waits for a back-off (SCHED_HOLD_MIN_MS doubling to
 * SCHED_HOLD_MAX_MS) and the next submission tries again, until one goes
 * through; the back-off ends early when the backend sees its cluster answer
 * again (EXEC_EV_REACHABLE, from its periodic squeue). Meanwhile every job
 * of the queue bound for that backend waits for the cluster, with the reason
 * visible: the job's JSON (queueReason), /availability and /admin/status.
 * Holding every start of the backend, not only that job's: the next
 * submission would meet the same cluster; and no more than the workers
 * already in sbatch wait for its timeout, the others stay free for ends,
 * STARTED and file removal. The hold is per backend (exec_backend_slot):
 * with several open (jobs.backends), jobs of the others pass the held ones
 * in the queue and start as usual. A job whose inputs were fetched first is
 * EXECUTING already and cannot go back to the queue: its stager keeps it,
 * with its slot, and submits it again when its backend's back-off ends
 * (sched_stage.c), unless it is aborted meanwhile.
 */
#include "sched/sched-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sched_hold *hold_of(struct sched *s, int slot)
{
	return &s->hold[slot >= 0 && slot < EXEC_BACKENDS_MAX ? slot : 0];
}

/* The next back-off of the slot, and why (logged). s->lock held. */
static void hold_backoff_locked(struct sched *s, int slot, const char *id, const char *why,
				const char *what)
{
	struct sched_hold *h = hold_of(s, slot);

	h->ms = h->ms ? h->ms * 2 : SCHED_HOLD_MIN_MS;
	if (h->ms > SCHED_HOLD_MAX_MS)
		h->ms = SCHED_HOLD_MAX_MS;
	h->until = time_mono_ms() + h->ms;
	snprintf(h->why, sizeof(h->why), "%s", why);
	log_warn("job %s: %s; %s, submitted again in %lld ms", id, why, what, (long long)h->ms);
}

void sched_hold_locked(struct sched *s, const char *id, struct sched_owner *own, const char *why,
		       int slot)
{
	struct sched_qent *q = xcalloc(1, sizeof(*q));

	snprintf(q->id, sizeof(q->id), "%s", id);
	q->own = own;
	q->own->queued++;
	q->slot = slot >= 0 && slot < EXEC_BACKENDS_MAX ? slot : 0;
	q->next = s->qhead; /* it keeps its place */
	s->qhead = q;
	if (!s->qtail)
		s->qtail = q;
	s->nqueued++;
	hold_of(s, q->slot)->nqueued++;
	hold_backoff_locked(s, slot, id, why, "left QUEUED");
}

void sched_hold_staged_locked(struct sched *s, const char *id, const char *why, int slot)
{
	hold_backoff_locked(s, slot, id, why, "its inputs are fetched (EXECUTING)");
}

void sched_hold_resume(struct sched *s, int slot)
{
	int64_t now = time_mono_ms();
	struct sched_hold *h;

	pthread_mutex_lock(&s->lock);
	h = hold_of(s, slot);
	if (h->ms && h->until > now) {
		log_info("sched: the cluster answers again; held starts resume now (%lld ms early)",
			 (long long)(h->until - now));
		h->until = now; /* the back-off stays, should it fail again */
		pthread_cond_broadcast(&s->work_cond);
		pthread_cond_signal(&s->tick);
	}
	pthread_mutex_unlock(&s->lock);
}

void sched_hold_clear_locked(struct sched *s, int slot)
{
	struct sched_hold *h = hold_of(s, slot);

	if (h->ms)
		log_info("sched: the cluster answers again; starts resume");
	h->ms = 0;
	h->until = 0;
	h->why[0] = '\0';
}

bool sched_slot_held_locked(const struct sched *s, int slot, int64_t now)
{
	return s->hold[slot >= 0 && slot < EXEC_BACKENDS_MAX ? slot : 0].until > now;
}

int64_t sched_held_ms_locked(const struct sched *s)
{
	int64_t now = time_mono_ms(), least = 0;

	for (int i = 0; i < EXEC_BACKENDS_MAX; i++) {
		const struct sched_hold *h = &s->hold[i];
		if (h->nqueued && h->until > now && (!least || h->until - now < least))
			least = h->until - now;
	}
	return least;
}

int sched_slot_of_jdl(const struct sched *s, const struct jdl *j)
{
	int slot = s->ex && j ? exec_backend_slot(s->ex, j->backend) : 0;
	return slot >= 0 && slot < EXEC_BACKENDS_MAX ? slot : 0;
}

int sched_slot_of(struct sched *s, const char *jobdef)
{
	struct jdl *j;
	int slot;

	if (!s->ex || !s->reg || !jobdef)
		return 0;
	j = jdl_registry_get(s->reg, jobdef);
	slot = sched_slot_of_jdl(s, j);
	jdl_unref(j);
	return slot;
}

/* Is any backend's start held? s->lock held. */
static bool any_held_locked(const struct sched *s)
{
	for (int i = 0; i < EXEC_BACKENDS_MAX; i++) {
		if (s->hold[i].ms)
			return true;
	}
	return false;
}

bool sched_queue_reason(struct sched *s, const char *jobdef, char *buf, size_t len)
{
	bool held;
	int slot;

	/* No look at the queue: while a backend's starts are held, every job
	 * still to be submitted to it waits for the cluster, whatever its place. */
	pthread_mutex_lock(&s->lock);
	held = any_held_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (!held)
		return false;
	slot = sched_slot_of(s, jobdef); /* no sched lock: the registry's own */
	pthread_mutex_lock(&s->lock);
	held = s->hold[slot].ms != 0;
	if (held)
		snprintf(buf, len, "waiting for the cluster: %s", s->hold[slot].why);
	pthread_mutex_unlock(&s->lock);
	return held;
}

void sched_hold_stats_locked(const struct sched *s, size_t *waiting, char *why, size_t len)
{
	*waiting = 0;
	why[0] = '\0';
	for (int i = 0; i < EXEC_BACKENDS_MAX; i++) {
		if (!s->hold[i].ms)
			continue;
		*waiting += s->hold[i].nqueued;
		if (!why[0])
			snprintf(why, len, "%s", s->hold[i].why);
	}
}
