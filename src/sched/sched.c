/*
 * sched: opening (with restart recovery), closing (requeueing what runs),
 * and the job operations the HTTP layer calls. Every phase change follows
 * the same steps under the job's stripe: read, uws_phase_can(), save
 * durably, take the job's waiters; the waiters are called after unlocking.
 */
#include "sched/sched-int.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* After the grace of sched_close(), how long to wait for SIGKILLed jobs. */
#define CLOSE_KILL_WAIT_MS 1000

pthread_mutex_t *sched_stripe(struct sched *s, const char *id)
{
	uint32_t h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return &s->stripes[h % SCHED_STRIPES];
}

bool sched_id_ok(const char *id)
{
	return name_is_safe(id, UWS_ID_LEN);
}

char *sched_job_dir(const struct sched *s, const char *id)
{
	return xasprintf("%s/jobs/%s", s->data_dir, id);
}

char *sched_path(const struct sched *s, const char *id, const char *rel)
{
	return xasprintf("%s/jobs/%s/%s", s->data_dir, id, rel);
}

int sched_set_phase(struct uws_job *job, enum uws_phase to)
{
	if (!uws_phase_can(job->phase, to)) {
		log_debug("job %s: %s -> %s refused", job->id, uws_phase_name(job->phase),
			  uws_phase_name(to));
		return OPUS_ERR_PHASE;
	}
	job->phase = to;
	return 0;
}

void sched_set_error(struct uws_job *job, const char *summary)
{
	free(job->error_summary);
	job->error_summary = xstrdup(summary);
	job->error_type = UWS_ERROR_FATAL;
}

/* Seconds asked for (0: unlimited) within the cap (which unlimited exceeds). */
static int64_t clamp_duration(const struct sched *s, int64_t secs)
{
	int64_t max = s->cfg.max_execution_duration;
	if (max > 0 && (secs == 0 || secs > max))
		return max;
	return secs;
}

/* A destruction time: not in the past, not past the cap counted from creation. */
static int64_t clamp_destruction(const struct sched *s, int64_t ms, int64_t creation)
{
	int64_t now = time_now_ms();
	if (ms < now)
		ms = now;
	if (s->cfg.max_destruction > 0 && ms > creation + s->cfg.max_destruction * 1000)
		ms = creation + s->cfg.max_destruction * 1000;
	return ms < now ? now : ms;
}

int sched_job_create(struct sched *s, struct uws_job *job, bool run)
{
	struct jdl *j = jdl_registry_get(s->reg, job->jobdef ? job->jobdef : "");
	int64_t now = time_now_ms();
	int ret = OPUS_ERR_NOTFOUND;

	if (!j)
		return ret;
	ret = OPUS_ERR_INVAL;
	if (job->execution_duration < 0 || job->destruction_time < 0)
		goto done;
	if (!job->id[0])
		uws_id_new(job->id);
	else if (!sched_id_ok(job->id))
		goto done;
	job->phase = run ? UWS_QUEUED : UWS_PENDING;
	job->creation_time = now;
	job->run_request_time = run ? now : 0;
	job->start_time = job->end_time = 0;
	job->pgid = 0;
	job->quote = j->quote;
	free(job->error_summary);
	job->error_summary = NULL;
	free(job->jdl_hash);
	job->jdl_hash = xstrdup(j->hash);
	if (job->execution_duration == 0)
		job->execution_duration = j->execution_duration ? j->execution_duration
								: s->cfg.default_execution_duration;
	job->execution_duration = clamp_duration(s, job->execution_duration);
	if (job->destruction_time == 0 && s->cfg.default_destruction > 0)
		job->destruction_time = now + s->cfg.default_destruction * 1000;
	else if (job->destruction_time == 0 && s->cfg.max_destruction > 0)
		job->destruction_time = now + s->cfg.max_destruction * 1000;
	if (job->destruction_time != 0)
		job->destruction_time = clamp_destruction(s, job->destruction_time, now);
	ret = store_job_create(s->st, job);
	if (ret)
		goto done;
	sched_destruction_note(s, job->destruction_time);
	log_debug("job %s (%s) created %s", job->id, job->jobdef, run ? "QUEUED" : "PENDING");
	if (run) {
		pthread_mutex_lock(&s->lock);
		sched_queue_push(s, job->id);
		pthread_mutex_unlock(&s->lock);
		sched_try_start(s);
	}
done:
	jdl_unref(j);
	return ret;
}

/* Reads a job under its stripe (locked on success: the caller unlocks). */
static int job_lock_get(struct sched *s, const char *id, struct uws_job *job,
			pthread_mutex_t **stripe_out)
{
	pthread_mutex_t *stripe;
	int ret;

	if (!sched_id_ok(id))
		return OPUS_ERR_NOTFOUND;
	stripe = sched_stripe(s, id);
	pthread_mutex_lock(stripe);
	ret = store_job_get(s->st, id, job);
	if (ret) {
		pthread_mutex_unlock(stripe);
		return ret;
	}
	*stripe_out = stripe;
	return 0;
}

int sched_job_run(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	if (job.phase == UWS_QUEUED || job.phase == UWS_EXECUTING)
		goto done; /* already on its way: not an error */
	ret = sched_set_phase(&job, UWS_QUEUED);
	if (ret)
		goto done;
	job.run_request_time = time_now_ms();
	ret = store_job_save(s->st, &job);
	if (ret)
		goto done;
	pthread_mutex_lock(&s->lock);
	sched_queue_push(s, id);
	pthread_mutex_unlock(&s->lock);
	woken = sched_waiters_take(s, id);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	sched_waiters_fire(woken);
	if (!ret)
		sched_try_start(s);
	return ret;
}

int sched_job_abort(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	enum uws_phase was;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	was = job.phase;
	ret = sched_set_phase(&job, UWS_ABORTED);
	if (ret)
		goto done;
	job.end_time = time_now_ms(); /* an EXECUTING job gets its own at exit */
	ret = store_job_save(s->st, &job);
	if (ret)
		goto done;
	pthread_mutex_lock(&s->lock);
	if (was == UWS_QUEUED)
		sched_queue_remove(s, id);
	if (was == UWS_EXECUTING) {
		struct sched_run *run = sched_run_find(s, id);
		if (run)
			sched_run_stop(s, run, SCHED_KILL_ABORT);
	}
	pthread_mutex_unlock(&s->lock);
	log_info("job %s aborted (was %s)", id, uws_phase_name(was));
	woken = sched_waiters_take(s, id);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	sched_waiters_fire(woken);
	return ret;
}

int sched_delete(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	struct sched_run *run;
	char *dir;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	ret = store_job_delete(s->st, id);
	if (ret)
		goto done;
	pthread_mutex_lock(&s->lock);
	sched_queue_remove(s, id);
	run = sched_run_find(s, id);
	if (run)
		sched_run_stop(s, run, SCHED_KILL_ABORT);
	pthread_mutex_unlock(&s->lock);
	woken = sched_waiters_take(s, id);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	if (!ret) {
		/* A job still stopping may write a little more: its exit removes it again. */
		dir = sched_job_dir(s, id);
		rm_rf(dir);
		free(dir);
	}
	sched_waiters_fire(woken);
	return ret;
}

int sched_job_delete(struct sched *s, const char *id)
{
	return sched_delete(s, id);
}

int sched_job_set_execution_duration(struct sched *s, const char *id, int64_t secs)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;
	int ret;

	if (secs < 0)
		return OPUS_ERR_INVAL;
	ret = job_lock_get(s, id, &job, &stripe);
	if (ret)
		return ret;
	ret = OPUS_ERR_PHASE;
	if (job.phase != UWS_PENDING)
		goto done;
	job.execution_duration = clamp_duration(s, secs);
	ret = store_job_save(s->st, &job);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	return ret;
}

int sched_job_set_destruction(struct sched *s, const char *id, int64_t ms)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	job.destruction_time = clamp_destruction(s, ms, job.creation_time);
	ret = store_job_save(s->st, &job);
	pthread_mutex_unlock(stripe);
	if (!ret)
		sched_destruction_note(s, job.destruction_time);
	uws_job_release(&job);
	return ret;
}

int sched_job_set_params(struct sched *s, const char *id, const struct uws_param *params, size_t n)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	ret = OPUS_ERR_PHASE;
	if (job.phase != UWS_PENDING)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct uws_param *p = NULL;
		for (size_t k = 0; k < job.nparams && !p; k++) {
			if (strcasecmp(job.params[k].name, params[i].name) == 0)
				p = &job.params[k];
		}
		if (!p) {
			uws_job_add_param(&job, params[i].name, params[i].value, params[i].by_ref);
			continue;
		}
		free(p->name);
		free(p->value);
		p->name = xstrdup(params[i].name);
		p->value = xstrdup(params[i].value);
		p->by_ref = params[i].by_ref;
	}
	ret = store_job_set_params(s->st, &job);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	return ret;
}

/* Restart recovery of one job left EXECUTING by an earlier daemon. */
static void recover_executing(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;
	struct jdl *j;

	if (job_lock_get(s, id, &job, &stripe) != 0)
		return;
	if (job.phase != UWS_EXECUTING)
		goto done;
	if (job.pgid > 0 && exec_signal_orphan_job(job.pgid, job.id, SIGKILL) == 0)
		log_warn("job %s: killed process group %lld left by the previous run", id,
			 (long long)job.pgid);
	if (sched_set_phase(&job, UWS_ERROR) != 0)
		goto done;
	sched_set_error(&job, "server restarted");
	job.end_time = time_now_ms();
	job.pgid = 0;
	j = jdl_registry_get_version(s->reg, job.jobdef, job.jdl_hash);
	sched_collect_results(s, &job, j);
	jdl_unref(j);
	if (store_job_finish(s->st, &job) != 0)
		log_error("job %s: could not record its recovery", id);
done:
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
}

static int recover(struct sched *s)
{
	char **ids = NULL;
	size_t n = 0;
	int ret = store_job_ids_in_phase(s->st, UWS_QUEUED, &ids, &n);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		if (sched_id_ok(ids[i]))
			sched_queue_push(s, ids[i]);
	}
	pthread_mutex_unlock(&s->lock);
	if (n)
		log_info("sched: %zu queued job(s) queued again", n);
	store_ids_free(ids, n);
	ids = NULL;
	n = 0;
	ret = store_job_ids_in_phase(s->st, UWS_EXECUTING, &ids, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		recover_executing(s, ids[i]);
	if (n)
		log_warn("sched: %zu job(s) were executing when the server stopped: ERROR", n);
	store_ids_free(ids, n);
	return 0;
}

static void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
}

static struct sched *sched_new(const struct sched_config *cfg, struct store *st,
			       struct jdl_registry *reg)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	s->cfg.data_dir = NULL;
	s->cfg.exec_backend = NULL;
	if (s->cfg.max_running < 1)
		s->cfg.max_running = 1;
	if (s->cfg.kill_grace_ms < 0)
		s->cfg.kill_grace_ms = 0;
	s->st = st;
	s->reg = reg;
	s->next_destruction = SCHED_NEVER;
	for (size_t i = 0; i < SCHED_STRIPES; i++)
		pthread_mutex_init(&s->stripes[i], NULL);
	pthread_mutex_init(&s->lock, NULL);
	cond_init_monotonic(&s->tick);
	cond_init_monotonic(&s->idle);
	pthread_cond_init(&s->stage_cond, NULL);
	return s;
}

static void sched_free(struct sched *s)
{
	struct sched_run *run;

	while ((run = s->runs)) {
		s->runs = run->next;
		jdl_unref(run->jdl);
		free(run);
	}
	while (s->qhead) {
		struct sched_qent *q = s->qhead;
		s->qhead = q->next;
		free(q);
	}
	sched_heap_release(&s->heap);
	for (size_t i = 0; i < SCHED_STRIPES; i++)
		pthread_mutex_destroy(&s->stripes[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->tick);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->stage_cond);
	free(s->data_dir);
	free(s);
}

int sched_open(const struct sched_config *cfg, struct store *st, struct jdl_registry *reg,
	       struct sched **out)
{
	struct sched *s = sched_new(cfg, st, reg);
	char *jobs = NULL, real[PATH_MAX];
	int ret = OPUS_ERR_IO;

	*out = NULL;
	jobs = xasprintf("%s/jobs", cfg->data_dir);
	if (mkdir_p(jobs, 0750) != 0)
		goto done;
	if (!realpath(cfg->data_dir, real)) {
		log_error("sched: %s: %s", cfg->data_dir, strerror(errno));
		goto done;
	}
	s->data_dir = xstrdup(real);
	ret = exec_open(cfg->exec_backend ? cfg->exec_backend : "local", sched_on_exit, s, &s->ex);
	if (ret)
		goto done;
	ret = sched_stage_start(s);
	if (ret)
		goto done;
	ret = recover(s);
	if (ret)
		goto done;
	ret = sched_deadline_start(s);
	if (ret)
		goto done;
	sched_try_start(s);
	*out = s;
	s = NULL;
done:
	if (s) {
		sched_stage_stop(s);
		exec_close(s->ex);
		sched_free(s);
	}
	free(jobs);
	return ret;
}

/* Waits until no run is left or the monotonic deadline passes. s->lock held. */
static void wait_runs(struct sched *s, int64_t until)
{
	struct timespec ts;
	while (s->nrunning > 0 && time_mono_ms() < until) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		pthread_cond_timedwait(&s->idle, &s->lock, &ts);
	}
}

/* Puts a job stopped by sched_close() back to QUEUED, as if it never started. */
static void requeue(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	pthread_mutex_t *stripe;

	if (job_lock_get(s, id, &job, &stripe) != 0)
		return;
	if (job.phase == UWS_EXECUTING && sched_set_phase(&job, UWS_QUEUED) == 0) {
		job.start_time = job.end_time = 0;
		job.pgid = 0;
		free(job.error_summary);
		job.error_summary = NULL;
		sched_results_clear(&job);
		if (store_job_finish(s->st, &job) != 0)
			log_error("job %s: could not put it back in the queue", id);
		else
			log_info("job %s stopped by shutdown; QUEUED again", id);
	}
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
}

void sched_close(struct sched *s)
{
	struct sched_waiter *woken;
	char(*ids)[UWS_ID_LEN + 1] = NULL;
	size_t n = 0;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	while (s->nstarting > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	woken = sched_waiters_take_all_locked(s);
	ids = xcalloc(s->nrunning + 1, sizeof(*ids));
	for (struct sched_run *r = s->runs; r; r = r->next) {
		memcpy(ids[n++], r->id, sizeof(ids[0]));
		sched_run_stop(s, r, SCHED_KILL_SHUTDOWN);
	}
	pthread_mutex_unlock(&s->lock);
	sched_deadline_stop(s);
	sched_waiters_fire(woken);

	pthread_mutex_lock(&s->lock);
	wait_runs(s, time_mono_ms() + s->cfg.kill_grace_ms);
	for (struct sched_run *r = s->runs; r; r = r->next)
		sched_run_signal(s, r, SIGKILL);
	wait_runs(s, time_mono_ms() + CLOSE_KILL_WAIT_MS);
	if (s->nrunning)
		log_warn("sched: %zu job(s) did not stop; requeued anyway", s->nrunning);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		requeue(s, ids[i]);
	free(ids);
	sched_stage_stop(s);
	exec_close(s->ex);
	sched_free(s);
}
