/*
 * sched_work: the scheduler's own worker threads. Everything that may wait on
 * a process, a file tree or (later) a cluster command runs here, never on a
 * request thread, exec's threads (its reaper, a backend's) or the deadline thread:
 *   - starting queued jobs while slots are free (sched_run.c start_one);
 *   - recording that a job the backend queued has started (STARTED:
 *     QUEUED -> EXECUTING, sched_run.c sched_record_started);
 *   - ending runs: a job's end (phase, results, end time) is committed here,
 *     retried with back-off while the store refuses it, and only then is the
 *     run's slot released (sched_run.c sched_end_run);
 *   - removing job directories (deleted and destroyed jobs), then the blobs
 *     of the entity store only they held;
 *   - purging jobs whose destruction time passed;
 *   - with several instances on one store (sched_multi.c): the periodic
 *     round (heartbeat, claims, the leader's sweep) and claims.
 * Others hand work over with sched_work_kick() (a start may be possible) or a
 * task; the workers take tasks before starts, so that ends free slots first.
 */
#include "sched/sched-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum sched_task_kind {
	SCHED_TASK_END,
	SCHED_TASK_STARTED,
	SCHED_TASK_RMTREE,
	SCHED_TASK_PURGE,
	SCHED_TASK_MULTI,
	SCHED_TASK_CLAIM,
	SCHED_TASK_RESYNC,
};

struct sched_task {
	struct sched_task *next;
	enum sched_task_kind kind;
	struct sched_run *run;	      /* SCHED_TASK_END */
	char id[UWS_ID_LEN + 1];      /* SCHED_TASK_STARTED: by id, the run may end first */
	char handle[EXEC_HANDLE_MAX]; /* SCHED_TASK_STARTED */
	char *path;		      /* SCHED_TASK_RMTREE, owned */
	char **blobs;		      /* SCHED_TASK_RMTREE: blobs to collect after, owned */
	size_t nblobs;
};

static void task_push_locked(struct sched *s, struct sched_task *t)
{
	t->next = NULL;
	if (s->task_tail)
		s->task_tail->next = t;
	else
		s->task_head = t;
	s->task_tail = t;
	s->ntasks++;
	pthread_cond_signal(&s->work_cond);
}

static struct sched_task *task_pop_locked(struct sched *s)
{
	struct sched_task *t = s->task_head;
	if (t) {
		s->task_head = t->next;
		if (!s->task_head)
			s->task_tail = NULL;
		s->ntasks--;
	}
	return t;
}

void sched_work_kick(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->work_cond);
	pthread_mutex_unlock(&s->lock);
}

void sched_work_end_locked(struct sched *s, struct sched_run *run)
{
	struct sched_task *t;
	if (run->end_queued)
		return;
	run->end_queued = true;
	sched_heap_disarm(&s->heap, &run->timer);
	t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_END;
	t->run = run;
	task_push_locked(s, t);
}

void sched_work_started_locked(struct sched *s, const char *id, const char *handle)
{
	struct sched_task *t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_STARTED;
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->handle, sizeof(t->handle), "%s", handle);
	task_push_locked(s, t);
}

void sched_work_rmtree(struct sched *s, char *path)
{
	sched_work_rmtree_blobs(s, path, NULL, 0);
}

void sched_work_rmtree_blobs(struct sched *s, char *path, char **blobs, size_t nblobs)
{
	struct sched_task *t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_RMTREE;
	t->path = path;
	t->blobs = blobs;
	t->nblobs = nblobs;
	pthread_mutex_lock(&s->lock);
	task_push_locked(s, t);
	pthread_mutex_unlock(&s->lock);
}

void sched_work_purge_locked(struct sched *s)
{
	struct sched_task *t;
	if (s->purge_pending)
		return;
	s->purge_pending = true;
	t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_PURGE;
	task_push_locked(s, t);
}

void sched_work_multi_locked(struct sched *s)
{
	struct sched_task *t;
	if (s->multi_pending)
		return;
	s->multi_pending = true;
	t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_MULTI;
	task_push_locked(s, t);
}

void sched_work_claim_locked(struct sched *s)
{
	struct sched_task *t;
	if (s->claim_pending)
		return;
	s->claim_pending = true;
	t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_CLAIM;
	task_push_locked(s, t);
}

void sched_work_resync_locked(struct sched *s)
{
	struct sched_task *t;
	if (s->resync_pending)
		return;
	s->resync_pending = true;
	t = xcalloc(1, sizeof(*t));
	t->kind = SCHED_TASK_RESYNC;
	task_push_locked(s, t);
}

static void task_run(struct sched *s, struct sched_task *t)
{
	switch (t->kind) {
	case SCHED_TASK_END:
		sched_end_run(s, t->run);
		break;
	case SCHED_TASK_STARTED:
		sched_record_started(s, t->id, t->handle);
		break;
	case SCHED_TASK_RMTREE:
		rm_rf(t->path);
		/* Once the job's links are gone: its blobs may be unused now. */
		prov_blobs_collect(s->cfg.prov, t->blobs, t->nblobs);
		break;
	case SCHED_TASK_PURGE:
		pthread_mutex_lock(&s->lock);
		s->purge_pending = false;
		pthread_mutex_unlock(&s->lock);
		sched_destroy_expired(s);
		break;
	case SCHED_TASK_MULTI:
		sched_multi_round(s);
		break;
	case SCHED_TASK_CLAIM:
		sched_multi_claim(s);
		break;
	case SCHED_TASK_RESYNC:
		sched_multi_resync(s);
		break;
	}
	store_ids_free(t->blobs, t->nblobs);
	free(t->path);
	free(t);
}

/* A queued job may start: a slot is free and sched is not stopping. s->lock held. */
static bool may_start(const struct sched *s)
{
	return !s->stopping && s->qhead && s->nrunning + s->nstarting < (size_t)s->cfg.max_running;
}

/* Waits for work; while a backend with queued jobs is held (sched_retry.c),
 * until its hold ends. */
static void work_wait_locked(struct sched *s)
{
	int64_t held = s->qhead && !s->stopping ? sched_held_ms_locked(s) : 0;
	struct timespec ts;
	int64_t until;

	if (!held) {
		pthread_cond_wait(&s->work_cond, &s->lock);
		return;
	}
	until = time_mono_ms() + held;
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000L;
	pthread_cond_timedwait(&s->work_cond, &s->lock, &ts); /* CLOCK_MONOTONIC */
}

static void *worker_main(void *arg)
{
	struct sched *s = arg;
	char id[UWS_ID_LEN + 1];
	struct sched_owner *own = NULL;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sched_task *t = task_pop_locked(s);
		if (t) {
			pthread_mutex_unlock(&s->lock);
			task_run(s, t);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (may_start(s) && sched_queue_pop(s, id, &own)) {
			s->nstarting++;
			pthread_mutex_unlock(&s->lock);
			sched_start_one(s, id, own);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (s->work_stop)
			break;
		work_wait_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sched_work_start(struct sched *s)
{
	s->workers = xcalloc(SCHED_WORKERS, sizeof(*s->workers));
	for (; s->nworkers < SCHED_WORKERS; s->nworkers++) {
		if (pthread_create(&s->workers[s->nworkers], NULL, worker_main, s) != 0) {
			log_error("sched: cannot start a worker thread");
			return OPUS_ERR_INTERNAL;
		}
	}
	return 0;
}

void sched_work_stop(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->work_stop = true;
	pthread_cond_broadcast(&s->work_cond);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	free(s->workers);
	s->workers = NULL;
	s->nworkers = 0;
	/* Workers drain every task before they stop; nothing may be left. */
	while (s->task_head) {
		struct sched_task *t = task_pop_locked(s);
		store_ids_free(t->blobs, t->nblobs);
		free(t->path);
		free(t);
	}
}
