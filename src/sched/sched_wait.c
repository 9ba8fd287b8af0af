/*
 * sched_wait: blocked WAIT requests and the deadline thread.
 *
 * A waiter costs no thread: it is a callback in a hash of job ids plus a
 * timer in the heap. A phase change takes the job's waiters under the job's
 * stripe (the same lock sched_wait() holds while it checks the phase and
 * registers), so no wake-up is lost; the callbacks run after every lock is
 * released. Whoever unlinks a waiter calls it, so it is called exactly once.
 *
 * The deadline thread sleeps on a CLOCK_MONOTONIC condition until the
 * earliest timer or the next destruction time, never on a fixed period. It
 * fires timers and hands the jobs whose destruction time passed to a worker
 * (sched_work.c), which deletes them a batch at a time, so that a purge
 * never holds up WAIT timeouts and kills.
 */
#include "sched/sched-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A wall-clock destruction time is re-read at least this often, so that a
 * step of the system clock is noticed. */
#define DESTROY_MAX_SLEEP_MS (10 * 60 * 1000)
/* After a failed purge, try again this much later instead of spinning. */
#define DESTROY_RETRY_MS 5000
#define DESTROY_AGAIN_MS 100

static size_t waiter_bucket(const char *id)
{
	uint32_t h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % SCHED_WAIT_BUCKETS;
}

static void waiter_unlink(struct sched *s, struct sched_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->waiters[waiter_bucket(w->id)] = w->next;
	if (w->next)
		w->next->prev = w->prev;
	sched_heap_disarm(&s->heap, &w->timer);
	s->nwaiters--;
	w->prev = NULL;
	w->next = NULL;
}

int sched_wait(struct sched *s, const char *id, enum uws_phase seen, int64_t timeout_ms,
	       sched_wake_fn fn, void *ctx)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;
	int ret = OPUS_ERR_NOTFOUND;

	if (!sched_id_ok(id))
		return ret;
	stripe = sched_stripe(s, id);
	pthread_mutex_lock(stripe);
	ret = store_job_get(s->st, id, &job);
	if (ret)
		goto done;
	ret = 1;
	if (!uws_phase_is_active(seen) || timeout_ms <= 0 || !fn)
		goto done;
	pthread_mutex_lock(&s->lock);
	/* An aborted job whose run is still ending is not final yet for a
	 * waiter: it wakes once the end (results, end time) is recorded. */
	if (!s->stopping &&
	    (job.phase == seen || (uws_phase_is_final(job.phase) && sched_run_find(s, id)))) {
		struct sched_waiter *w = xcalloc(1, sizeof(*w));
		size_t b = waiter_bucket(id);
		snprintf(w->id, sizeof(w->id), "%s", id);
		w->seen = seen;
		w->fn = fn;
		w->ctx = ctx;
		sched_timer_init(&w->timer, SCHED_TIMER_WAIT);
		w->next = s->waiters[b];
		if (w->next)
			w->next->prev = w;
		s->waiters[b] = w;
		s->nwaiters++;
		if (timeout_ms > INT64_MAX / 2)
			timeout_ms = INT64_MAX / 2;
		if (sched_heap_arm(&s->heap, &w->timer, time_mono_ms() + timeout_ms))
			pthread_cond_signal(&s->tick);
		ret = 0;
	}
	pthread_mutex_unlock(&s->lock);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	return ret;
}

struct sched_waiter *sched_waiters_take(struct sched *s, const char *id)
{
	struct sched_waiter *list = NULL, *w, *next;

	pthread_mutex_lock(&s->lock);
	for (w = s->waiters[waiter_bucket(id)]; w; w = next) {
		next = w->next;
		if (strcmp(w->id, id) == 0) {
			waiter_unlink(s, w);
			w->next = list;
			list = w;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return list;
}

struct sched_waiter *sched_waiters_take_changed(struct sched *s, const char *id, int phase)
{
	struct sched_waiter *list = NULL, *w, *next;

	pthread_mutex_lock(&s->lock);
	for (w = s->waiters[waiter_bucket(id)]; w; w = next) {
		next = w->next;
		if (strcmp(w->id, id) == 0 &&
		    (phase == STORE_JOB_DELETED || (int)w->seen != phase)) {
			waiter_unlink(s, w);
			w->next = list;
			list = w;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return list;
}

bool sched_waiters_any(struct sched *s, const char *id)
{
	bool any = false;

	pthread_mutex_lock(&s->lock);
	for (struct sched_waiter *w = s->waiters[waiter_bucket(id)]; w && !any; w = w->next)
		any = strcmp(w->id, id) == 0;
	pthread_mutex_unlock(&s->lock);
	return any;
}

struct sched_waiter *sched_waiters_take_all_locked(struct sched *s)
{
	struct sched_waiter *list = NULL;

	for (size_t b = 0; b < SCHED_WAIT_BUCKETS; b++) {
		while (s->waiters[b]) {
			struct sched_waiter *w = s->waiters[b];
			waiter_unlink(s, w);
			w->next = list;
			list = w;
		}
	}
	return list;
}

void sched_waiters_fire(struct sched_waiter *list)
{
	while (list) {
		struct sched_waiter *w = list;
		list = w->next;
		w->fn(w->ctx);
		free(w);
	}
}

void sched_destruction_note(struct sched *s, int64_t ms)
{
	if (ms <= 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (ms < s->next_destruction) {
		s->next_destruction = ms;
		pthread_cond_signal(&s->tick);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Lowers next_destruction to ms (SCHED_NEVER-safe). s->lock held. */
static void destruction_lower(struct sched *s, int64_t ms)
{
	if (ms < s->next_destruction)
		s->next_destruction = ms;
}

/*
 * Archives one batch of expired jobs, then re-reads the next destruction time.
 * next_destruction is reset before the reads, so a time lowered meanwhile by
 * a create or a set_destruction is kept by the min. No lock held.
 */
void sched_destroy_expired(struct sched *s)
{
	int64_t now = time_now_ms(), next = 0;
	char **ids = NULL;
	size_t n = 0;
	bool failed = false, later = false;

	pthread_mutex_lock(&s->lock);
	s->next_destruction = SCHED_NEVER;
	pthread_mutex_unlock(&s->lock);
	/* Instances sharing a store: the leader purges (its periodic round in
	 * sched_multi.c wakes a purge); a single daemon always leads. */
	if (!store_is_leader(s->st))
		return;
	if (store_job_ids_expired(s->st, now, SCHED_DESTROY_BATCH, &ids, &n) != 0) {
		failed = true;
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		int err = sched_archive(s, ids[i]);
		if (err == 0)
			log_info("job %s archived (destruction time reached)", ids[i]);
		else if (err == SCHED_RETIRE_LATER)
			later = true;
		else if (err != OPUS_ERR_NOTFOUND)
			failed = true;
	}
	store_ids_free(ids, n);
	if (!failed && n == SCHED_DESTROY_BATCH)
		next = now; /* more to do: after the timers */
	else if (!failed && store_next_destruction(s->st, &next) != 0)
		failed = true;
	else if (!failed && (later || (n == 0 && next > 0 && next <= now)))
		/* runs being stopped end first, or due but not listed yet: no busy loop */
		next = now + DESTROY_AGAIN_MS;
	if (failed) {
		log_error("sched: purge of expired jobs failed; retrying in %d s",
			  DESTROY_RETRY_MS / 1000);
		next = now + DESTROY_RETRY_MS;
	}
	pthread_mutex_lock(&s->lock);
	destruction_lower(s, next > 0 ? next : SCHED_NEVER);
	pthread_cond_signal(&s->tick);
	pthread_mutex_unlock(&s->lock);
}

static void mono_to_timespec(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

/* Fires the timers that are due; returns the waiters to call. s->lock held. */
static struct sched_waiter *fire_due(struct sched *s, int64_t now)
{
	struct sched_waiter *list = NULL;
	struct sched_timer *t;

	while ((t = sched_heap_top(&s->heap)) && t->when <= now) {
		sched_heap_disarm(&s->heap, t);
		if (t->kind == SCHED_TIMER_WAIT) {
			struct sched_waiter *w = sched_container_of(t, struct sched_waiter, timer);
			waiter_unlink(s, w);
			w->next = list;
			list = w;
		} else {
			sched_run_deadline(s, sched_container_of(t, struct sched_run, timer));
		}
	}
	return list;
}

static void *deadline_main(void *arg)
{
	struct sched *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->thread_stop) {
		int64_t now = time_mono_ms(), wall, until = SCHED_NEVER;
		struct sched_waiter *fired = fire_due(s, now);
		struct sched_timer *top;
		struct timespec ts;

		if (fired) {
			pthread_mutex_unlock(&s->lock);
			sched_waiters_fire(fired);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		wall = time_now_ms();
		if (s->next_destruction <= wall) {
			/* A worker purges; it sets the next time when done. */
			s->next_destruction = SCHED_NEVER;
			sched_work_purge_locked(s);
			continue;
		}
		top = sched_heap_top(&s->heap);
		if (top)
			until = top->when;
		{
			int64_t round = sched_multi_tick_locked(s, now);
			if (round < until)
				until = round;
		}
		if (s->next_destruction != SCHED_NEVER) {
			int64_t d = s->next_destruction - wall;
			if (d > DESTROY_MAX_SLEEP_MS)
				d = DESTROY_MAX_SLEEP_MS;
			if (now + d < until)
				until = now + d;
		}
		if (until == SCHED_NEVER) {
			pthread_cond_wait(&s->tick, &s->lock);
		} else {
			mono_to_timespec(until, &ts);
			pthread_cond_timedwait(&s->tick, &s->lock, &ts);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sched_deadline_start(struct sched *s)
{
	int err;

	pthread_mutex_lock(&s->lock);
	s->next_destruction = 0; /* read the store first thing */
	pthread_mutex_unlock(&s->lock);
	err = pthread_create(&s->deadline_thread, NULL, deadline_main, s);
	if (err) {
		log_error("sched: deadline thread: %s", strerror(err));
		return OPUS_ERR_INTERNAL;
	}
	s->thread_started = true;
	return 0;
}

void sched_deadline_stop(struct sched *s)
{
	if (!s->thread_started)
		return;
	pthread_mutex_lock(&s->lock);
	s->thread_stop = true;
	pthread_cond_signal(&s->tick);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->deadline_thread, NULL);
	s->thread_started = false;
}

void sched_get_stats(struct sched *s, struct sched_stats *out)
{
	char *why = NULL;

	pthread_mutex_lock(&s->lock);
	out->queued = s->nqueued;
	out->running = s->nrunning + s->nstarting;
	out->waiters = s->nwaiters;
	out->ends_unrecorded = s->nend_failed;
	sched_hold_stats_locked(s, &out->waiting_for_cluster, out->waiting_why,
				sizeof(out->waiting_why));
	pthread_mutex_unlock(&s->lock);
	/* exec's last answer, read with no sched lock held. */
	out->executor = s->ex ? exec_backend_name(s->ex) : "local";
	out->reachable = !s->ex || exec_reachable(s->ex, &why);
	snprintf(out->unreachable_why, sizeof(out->unreachable_why), "%s", why ? why : "");
	free(why);
}
