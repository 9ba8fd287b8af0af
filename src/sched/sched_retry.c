/*
 * sched_retry: a cluster that does not answer. A submission that failed
 * because the backend could not reach its cluster (exec_submit's
 * OPUS_ERR_BUSY), not because the job was refused, puts the job back at the
 * head of the queue, still QUEUED, its slot released; every start then waits
 * for a back-off (SCHED_HOLD_MIN_MS doubling to SCHED_HOLD_MAX_MS) and the
 * next submission tries again, until one goes through; the back-off ends
 * early when the backend sees its cluster answer again (EXEC_EV_REACHABLE,
 * from its periodic squeue). Meanwhile every job
 * of the queue waits for the cluster, with the reason visible: the job's
 * JSON (queueReason), /availability and /admin/status.
 * Holding every start, not only that job's: one backend serves them all, so
 * the next submission would meet the same cluster; and no more than the
 * workers already in sbatch wait for its timeout, the others stay free for
 * ends, STARTED and file removal. A job whose inputs were fetched first is
 * EXECUTING already and cannot go back to the queue: its stager keeps it,
 * with its slot, and submits it again when the back-off ends (sched_stage.c),
 * unless it is aborted meanwhile. With several backends open (jobs.backends)
 * the hold is still the server's: local jobs wait out a cluster's outage too,
 * for a back-off at a time (a hold per backend is not done yet).
 */
#include "sched/sched-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next back-off, and why (logged). s->lock held. */
static void hold_backoff_locked(struct sched *s, const char *id, const char *why, const char *what)
{
	s->hold_ms = s->hold_ms ? s->hold_ms * 2 : SCHED_HOLD_MIN_MS;
	if (s->hold_ms > SCHED_HOLD_MAX_MS)
		s->hold_ms = SCHED_HOLD_MAX_MS;
	s->hold_until = time_mono_ms() + s->hold_ms;
	snprintf(s->hold_why, sizeof(s->hold_why), "%s", why);
	log_warn("job %s: %s; %s, submitted again in %lld ms", id, why, what,
		 (long long)s->hold_ms);
}

void sched_hold_locked(struct sched *s, const char *id, struct sched_owner *own, const char *why)
{
	struct sched_qent *q = xcalloc(1, sizeof(*q));

	snprintf(q->id, sizeof(q->id), "%s", id);
	q->own = own;
	q->own->queued++;
	q->next = s->qhead; /* it keeps its place */
	s->qhead = q;
	if (!s->qtail)
		s->qtail = q;
	s->nqueued++;
	hold_backoff_locked(s, id, why, "left QUEUED");
}

void sched_hold_staged_locked(struct sched *s, const char *id, const char *why)
{
	hold_backoff_locked(s, id, why, "its inputs are fetched (EXECUTING)");
}

void sched_hold_resume(struct sched *s)
{
	int64_t now = time_mono_ms();

	pthread_mutex_lock(&s->lock);
	if (s->hold_ms && s->hold_until > now) {
		log_info("sched: the cluster answers again; held starts resume now (%lld ms early)",
			 (long long)(s->hold_until - now));
		s->hold_until = now; /* the back-off stays, should it fail again */
		pthread_cond_broadcast(&s->work_cond);
		pthread_cond_signal(&s->tick);
	}
	pthread_mutex_unlock(&s->lock);
}

void sched_hold_clear_locked(struct sched *s)
{
	if (s->hold_ms)
		log_info("sched: the cluster answers again; starts resume");
	s->hold_ms = 0;
	s->hold_until = 0;
	s->hold_why[0] = '\0';
}

int64_t sched_held_ms_locked(const struct sched *s)
{
	int64_t left;

	if (!s->hold_until)
		return 0;
	left = s->hold_until - time_mono_ms();
	return left > 0 ? left : 0;
}

bool sched_queue_reason(struct sched *s, char *buf, size_t len)
{
	bool held;

	/* No look at the queue: while starts are held every job still to be
	 * submitted waits for the cluster, whatever its place. */
	pthread_mutex_lock(&s->lock);
	held = s->hold_ms != 0;
	if (held)
		snprintf(buf, len, "waiting for the cluster: %s", s->hold_why);
	pthread_mutex_unlock(&s->lock);
	return held;
}
