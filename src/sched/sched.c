/*
 * sched: opening (with restart recovery, which asks the backend to adopt
 * what an earlier daemon handed it), closing (requeueing what runs, or, for
 * a backend whose jobs outlive the daemon, leaving them), and the job
 * operations the HTTP layer calls. Every phase change follows
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
	ret = OPUS_ERR_BUSY;
	if (sched_stopping(s))
		goto done;
	ret = OPUS_ERR_INVAL;
	if (job->execution_duration < 0 || (job->destruction_set && job->destruction_time < 0))
		goto done;
	if (!job->id[0])
		uws_id_new(job->id);
	else if (!sched_id_ok(job->id))
		goto done;
	job->phase = run ? UWS_QUEUED : UWS_PENDING;
	job->creation_time = now;
	job->run_request_time = run ? now : 0;
	job->start_time = job->end_time = 0;
	job->exec_handle[0] = '\0';
	job->quote = j->quote;
	free(job->error_summary);
	job->error_summary = NULL;
	free(job->jdl_hash);
	job->jdl_hash = xstrdup(j->hash);
	if (job->execution_duration == 0)
		job->execution_duration = j->execution_duration ? j->execution_duration
								: s->cfg.default_execution_duration;
	job->execution_duration = clamp_duration(s, job->execution_duration);
	if (!job->destruction_set && s->cfg.default_destruction > 0)
		job->destruction_time = now + s->cfg.default_destruction * 1000;
	else if (!job->destruction_set && s->cfg.max_destruction > 0)
		job->destruction_time = now + s->cfg.max_destruction * 1000;
	else if (!job->destruction_set)
		job->destruction_time = 0;
	if (job->destruction_set || job->destruction_time != 0)
		job->destruction_time = clamp_destruction(s, job->destruction_time, now);
	ret = store_job_create(s->st, job);
	if (ret)
		goto done;
	sched_destruction_note(s, job->destruction_time);
	log_debug("job %s (%s) created %s", job->id, job->jobdef, run ? "QUEUED" : "PENDING");
	if (run) {
		int64_t limit = sched_owner_limit(s, job->owner);
		int slot = sched_slot_of_jdl(s, j);
		pthread_mutex_lock(&s->lock);
		sched_queue_push(s, job->id, job->owner, limit, slot);
		pthread_cond_signal(&s->work_cond);
		pthread_mutex_unlock(&s->lock);
	}
done:
	jdl_unref(j);
	return ret;
}

bool sched_stopping(struct sched *s)
{
	bool stopping;
	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
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

/* Applies c's parameters to job (set or replace, names case-insensitive). */
static void apply_params(struct uws_job *job, const struct sched_change *c)
{
	for (size_t i = 0; i < c->nparams; i++) {
		const struct uws_param *np = &c->params[i];
		struct uws_param *p = NULL;
		for (size_t k = 0; k < job->nparams && !p; k++) {
			if (strcasecmp(job->params[k].name, np->name) == 0)
				p = &job->params[k];
		}
		if (!p) {
			uws_job_add_param(job, np->name, np->value, np->by_ref);
			continue;
		}
		free(p->name);
		free(p->value);
		p->name = xstrdup(np->name);
		p->value = xstrdup(np->value);
		p->by_ref = np->by_ref;
	}
}

/* Does the change touch what may change only while PENDING? */
static bool change_needs_pending(const struct sched_change *c)
{
	return c->nparams > 0 || c->run_id || c->set_duration;
}

/* Applies the change to job in memory; OPUS_ERR_PHASE when the phase forbids it. */
static int change_apply(struct sched *s, const struct sched_change *c, struct uws_job *job)
{
	if (change_needs_pending(c) && job->phase != UWS_PENDING)
		return OPUS_ERR_PHASE;
	apply_params(job, c);
	if (c->run_id) {
		free(job->run_id);
		job->run_id = *c->run_id ? xstrdup(c->run_id) : NULL;
	}
	if (c->set_duration)
		job->execution_duration = clamp_duration(s, c->duration);
	if (c->set_destruction)
		job->destruction_time = clamp_destruction(s, c->destruction, job->creation_time);
	if (c->action == SCHED_ACTION_RUN && job->phase != UWS_QUEUED &&
	    job->phase != UWS_EXECUTING) {
		if (sched_set_phase(job, UWS_QUEUED) != 0)
			return OPUS_ERR_PHASE;
		job->run_request_time = time_now_ms();
	}
	if (c->action == SCHED_ACTION_ABORT) {
		if (sched_set_phase(job, UWS_ABORTED) != 0)
			return OPUS_ERR_PHASE;
		job->end_time = time_now_ms(); /* an EXECUTING job gets its own at its end */
	}
	return 0;
}

/*
 * What a committed change sets going: a RUN queues the job, an ABORT takes it
 * off the queue or stops its run. True when the job's waiters are to be woken
 * now: not for an abort of a run, whose waiters wake once its end (results,
 * end time) is recorded. s->lock held.
 */
static bool change_effects_locked(struct sched *s, const struct uws_job *job, enum uws_phase was,
				  int64_t limit, int slot)
{
	const char *id = job->id;
	struct sched_run *run;

	if (was == job->phase)
		return false;
	if (job->phase == UWS_QUEUED) {
		sched_queue_push(s, id, job->owner, limit, slot);
		pthread_cond_signal(&s->work_cond);
		return true;
	}
	sched_queue_remove(s, id);
	run = sched_run_find(s, id);
	if (!run)
		return true;
	sched_run_stop(s, run, SCHED_KILL_ABORT);
	return false;
}

/* Does the job have a run (starting, staging, running, ending)? Its stripe
 * held: runs appear and go only under it. */
static bool has_run(struct sched *s, const char *id)
{
	bool yes;

	pthread_mutex_lock(&s->lock);
	yes = sched_run_find(s, id) != NULL;
	pthread_mutex_unlock(&s->lock);
	return yes;
}

/* Saves a checked change. An abort is the job's end, with its activity,
 * since the job is final from now on; a running job's end, once its
 * processes are gone, replaces that record with what the run left. */
static int change_save(struct sched *s, const struct sched_change *c, enum uws_phase was,
		       const struct uws_job *job)
{
	int ret;

	if (job->phase != UWS_ABORTED || was == UWS_ABORTED)
		return c->nparams ? store_job_update(s->st, job, was)
				  : store_job_save(s->st, job, was);
	/* The end first: lost to another writer, it leaves the parameters too. */
	ret = sched_end_unrun(s, job, was);
	return ret || !c->nparams ? ret : store_job_set_params(s->st, job);
}

/* How often a change that lost its race (another writer changed the job
 * between its read and its write) is checked again against the newer job. */
#define CHANGE_TRIES 4

static int job_update(struct sched *s, const char *id, const struct sched_change *c, bool *lost)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	struct jdl *j = NULL;
	enum uws_phase was;
	int64_t limit = 0;
	bool wake;
	int ret, slot = 0;

	if ((c->set_duration && c->duration < 0) || (c->nparams && !c->params))
		return OPUS_ERR_INVAL;
	if (sched_stopping(s) && (c->action == SCHED_ACTION_RUN || change_needs_pending(c)))
		return OPUS_ERR_BUSY;
	ret = job_lock_get(s, id, &job, &stripe);
	if (ret)
		return ret;
	was = job.phase;
	if (c->action == SCHED_ACTION_RUN && (was == UWS_QUEUED || was == UWS_EXECUTING) &&
	    !change_needs_pending(c) && !c->set_destruction)
		goto done; /* already on its way: not an error */
	ret = change_apply(s, c, &job);
	if (ret == 0 && c->check) {
		j = jdl_registry_get_version(s->reg, job.jobdef, job.jdl_hash);
		ret = c->check(c->check_ctx, &job, j);
	}
	if (ret == 0) {
		ret = change_save(s, c, was, &job);
		*lost = ret == OPUS_ERR_PHASE;
	}
	if (ret)
		goto done;
	if (job.phase == UWS_QUEUED && was != UWS_QUEUED) {
		limit = sched_owner_limit(s, job.owner); /* the store, before s->lock */
		slot = sched_slot_of(s, job.jobdef);
	}
	pthread_mutex_lock(&s->lock);
	wake = change_effects_locked(s, &job, was, limit, slot);
	pthread_mutex_unlock(&s->lock);
	if (c->action == SCHED_ACTION_ABORT)
		log_info("job %s aborted (was %s)", id, uws_phase_name(was));
	if (wake)
		woken = sched_waiters_take(s, id);
done:
	pthread_mutex_unlock(stripe);
	if (ret == 0 && c->set_destruction)
		sched_destruction_note(s, job.destruction_time);
	uws_job_release(&job);
	jdl_unref(j);
	sched_waiters_fire(woken);
	return ret;
}

/*
 * A change is checked against the job as read under its stripe and written
 * only if the stored job is still in that phase. Another writer (another
 * daemon on the same database) may have changed it in between: the write is
 * then refused (OPUS_ERR_PHASE from the store, nothing written) and the
 * change is checked again against the newer job, so that the answer is the
 * one for the phase the job has now (a RUN of a job aborted meanwhile is
 * refused as for an ABORTED job), never a write over the other's.
 */
int sched_job_update(struct sched *s, const char *id, const struct sched_change *c)
{
	int ret = OPUS_ERR_BUSY;

	for (int i = 0; i < CHANGE_TRIES; i++) {
		bool lost = false;
		ret = job_update(s, id, c, &lost);
		if (!lost)
			return ret;
		log_info("job %s: changed by another writer meanwhile; checking again", id);
	}
	return OPUS_ERR_BUSY;
}

int sched_job_run(struct sched *s, const char *id)
{
	struct sched_change c = {.action = SCHED_ACTION_RUN};
	return sched_job_update(s, id, &c);
}

int sched_job_abort(struct sched *s, const char *id)
{
	struct sched_change c = {.action = SCHED_ACTION_ABORT};
	return sched_job_update(s, id, &c);
}

/* Retires a job under its stripe: store_job_retire, its queue entry and
 * run stopped, its waiters taken; the blobs it alone held into *blobs. */
static int retire_locked(struct sched *s, const char *id, bool archive, char ***blobs,
			 size_t *nblobs, struct sched_waiter **woken)
{
	struct sched_run *run;
	int ret = store_job_retire(s->st, id, archive, time_now_ms(), blobs, nblobs);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	sched_queue_remove(s, id);
	run = sched_run_find(s, id);
	if (run)
		sched_run_stop(s, run, SCHED_KILL_ABORT);
	pthread_mutex_unlock(&s->lock);
	*woken = sched_waiters_take(s, id);
	return 0;
}

int sched_delete(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	char **blobs = NULL;
	size_t nblobs = 0;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	/* The record goes, the provenance stays. */
	ret = retire_locked(s, id, false, &blobs, &nblobs, &woken);
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	/* A job still stopping may write a little more: its end removes it again. */
	if (!ret)
		sched_work_rmtree_blobs(s, sched_job_dir(s, id), blobs, nblobs);
	sched_waiters_fire(woken);
	return ret;
}

/* A job to archive that has not ended ends ABORTED now, with its activity;
 * a running one is stopped too, and archived by a later purge once its
 * run's end is recorded (SCHED_RETIRE_LATER). */
static int archive_end_first(struct sched *s, struct uws_job *job)
{
	struct sched_run *run;
	bool running;
	int ret;

	if (uws_phase_is_final(job->phase) && !has_run(s, job->id))
		return 0;
	pthread_mutex_lock(&s->lock);
	sched_queue_remove(s, job->id);
	run = sched_run_find(s, job->id);
	running = run != NULL;
	if (run)
		sched_run_stop(s, run, SCHED_KILL_ABORT);
	pthread_mutex_unlock(&s->lock);
	if (!uws_phase_is_final(job->phase)) {
		enum uws_phase was = job->phase;

		job->phase = UWS_ABORTED;
		sched_set_error(job, "destruction time reached");
		job->end_time = time_now_ms();
		/* Final from now on, so with its activity; a running job's end
		 * replaces that record with what the run left. */
		ret = sched_end_unrun(s, job, was);
		if (ret)
			return ret;
	}
	return running ? SCHED_RETIRE_LATER : 0;
}

int sched_archive(struct sched *s, const char *id)
{
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	pthread_mutex_t *stripe;
	char **blobs = NULL;
	size_t nblobs = 0;
	int ret = job_lock_get(s, id, &job, &stripe);

	if (ret)
		return ret;
	if (job.phase != UWS_ARCHIVED)
		ret = archive_end_first(s, &job);
	if (ret == 0 && job.phase != UWS_ARCHIVED)
		ret = retire_locked(s, id, true, &blobs, &nblobs, &woken);
	uws_job_release(&job);
	/* Archived once: the reaper must not list it again. */
	if (ret == 0 && store_job_get(s->st, id, &job) == 0 && job.destruction_time != 0) {
		job.destruction_time = 0;
		ret = store_job_save(s->st, &job, job.phase);
	}
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
	if (ret == 0)
		sched_work_rmtree_blobs(s, sched_job_dir(s, id), blobs, nblobs);
	else
		store_ids_free(blobs, nblobs);
	sched_waiters_fire(woken);
	return ret;
}

int sched_job_delete(struct sched *s, const char *id)
{
	return sched_delete(s, id);
}

void sched_job_dir_remove(struct sched *s, const char *id)
{
	if (sched_id_ok(id))
		sched_work_rmtree(s, sched_job_dir(s, id));
}

int sched_job_set_execution_duration(struct sched *s, const char *id, int64_t secs)
{
	struct sched_change c = {.set_duration = true, .duration = secs};
	return sched_job_update(s, id, &c);
}

int sched_job_set_destruction(struct sched *s, const char *id, int64_t ms)
{
	struct sched_change c = {.set_destruction = true, .destruction = ms};
	return sched_job_update(s, id, &c);
}

int sched_job_set_params(struct sched *s, const char *id, const struct uws_param *params, size_t n)
{
	struct sched_change c = {.params = params, .nparams = n};
	if (n == 0) {
		/* Nothing to change, but the phase rule still holds. */
		struct uws_job job = {0};
		pthread_mutex_t *stripe;
		int ret = job_lock_get(s, id, &job, &stripe);
		if (ret)
			return ret;
		ret = job.phase == UWS_PENDING ? 0 : OPUS_ERR_PHASE;
		pthread_mutex_unlock(stripe);
		uws_job_release(&job);
		return ret;
	}
	return sched_job_update(s, id, &c);
}

/* The results an interrupted job left, hashed and registered before its
 * stripe is taken (as at a job's end). */
static void recover_results(struct sched *s, const char *id, struct uws_job *out,
			    struct store_entity **gen, size_t *ngen)
{
	struct jdl *j;
	char *dir;

	*gen = NULL;
	*ngen = 0;
	if (store_job_get(s->st, id, out) != 0)
		return;
	j = jdl_registry_get_version(s->reg, out->jobdef, out->jdl_hash);
	dir = sched_job_dir(s, id);
	sched_collect_results(s, out, j);
	if (prov_results_register(s->cfg.prov, out, dir, gen, ngen) != 0)
		log_error("job %s: its results could not be registered", id);
	free(dir);
	jdl_unref(j);
}

/* Recovery of a job an earlier daemon (or a dead instance) had submitted
 * (EXECUTING, or QUEUED with a handle) that the backend cannot follow:
 * ERROR `why`, with the results it left. */
void sched_recover_lost(struct sched *s, const char *id, const char *why)
{
	struct uws_job job = {0}, res = {0};
	struct store_entity *gen = NULL;
	size_t ngen = 0;
	pthread_mutex_t *stripe;
	struct store_activity act;
	enum uws_phase was;
	struct jdl *j;
	int ret;

	recover_results(s, id, &res, &gen, &ngen);
	if (job_lock_get(s, id, &job, &stripe) != 0)
		goto out;
	if (job.phase != UWS_EXECUTING && job.phase != UWS_QUEUED)
		goto done;
	was = job.phase;
	if (sched_set_phase(&job, UWS_ERROR) != 0)
		goto done;
	sched_set_error(&job, why);
	job.end_time = time_now_ms();
	job.exec_handle[0] = '\0';
	sched_results_clear(&job);
	job.results = res.results;
	job.nresults = res.nresults;
	res.results = NULL;
	res.nresults = 0;
	j = jdl_registry_get_version(s->reg, job.jobdef, job.jdl_hash);
	prov_activity_of(&job, j, &act);
	jdl_unref(j);
	ret = store_job_end(s->st, &job, &act, gen, ngen, was);
	if (ret == OPUS_ERR_PHASE || ret == OPUS_ERR_NOTFOUND)
		log_info("job %s: changed by another writer meanwhile; left as it is", id);
	else if (ret)
		log_error("job %s: could not record its recovery", id);
	store_activity_release(&act);
done:
	pthread_mutex_unlock(stripe);
out:
	for (size_t i = 0; i < ngen; i++)
		store_entity_release(&gen[i]);
	free(gen);
	uws_job_release(&res);
	uws_job_release(&job);
}

/* A job already in the backend's hands: adopted (followed as a run again),
 * else ended. True when it was adopted. */
bool sched_recover_submitted(struct sched *s, const struct uws_job *job, const char *why)
{
	if (job->exec_handle[0] && sched_run_adopt(s, job) == 0) {
		log_info("job %s: %s job %s adopted (%s)", job->id,
			 exec_handle_backend(s->ex, job->exec_handle), job->exec_handle,
			 uws_phase_name(job->phase));
		return true;
	}
	sched_recover_lost(s, job->id, why);
	return false;
}

/* The jobs in `phase` this daemon recovers: every one with a store of its
 * own; with a shared store, its instance's and nobody's. */
static int recover_ids(struct sched *s, enum uws_phase phase, char ***ids, size_t *n)
{
	if (s->multi)
		return store_job_ids_mine(s->st, phase, s->instance, ids, n);
	return store_job_ids_in_phase(s->st, phase, ids, n);
}

/* A job QUEUED when the server stopped queues again, under its owner's
 * limit, unless the backend holds it already (never submitted twice). */
static void recover_queued(struct sched *s, const char *id, size_t *nadopted)
{
	struct uws_job job = {0};
	int64_t limit;
	int slot;

	if (!sched_id_ok(id) || store_job_get(s->st, id, &job) != 0)
		return;
	if (job.exec_handle[0]) {
		*nadopted += sched_recover_submitted(s, &job, "server restarted");
		uws_job_release(&job);
		return;
	}
	limit = sched_owner_limit(s, job.owner);
	slot = sched_slot_of(s, job.jobdef);
	pthread_mutex_lock(&s->lock);
	sched_queue_push(s, id, job.owner, limit, slot);
	pthread_mutex_unlock(&s->lock);
	uws_job_release(&job);
}

static int recover(struct sched *s)
{
	char **ids = NULL;
	size_t n = 0, nadopted = 0, nheld = 0;
	int ret = recover_ids(s, UWS_QUEUED, &ids, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		recover_queued(s, ids[i], &nheld);
	if (n)
		log_info("sched: %zu queued job(s) recovered, %zu of them adopted by the backend",
			 n, nheld);
	store_ids_free(ids, n);
	ids = NULL;
	n = 0;
	ret = recover_ids(s, UWS_EXECUTING, &ids, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct uws_job job = {0};
		if (!sched_id_ok(ids[i]) || store_job_get(s->st, ids[i], &job) != 0)
			continue;
		nadopted += sched_recover_submitted(s, &job, "server restarted");
		uws_job_release(&job);
	}
	if (n)
		log_warn("sched: %zu job(s) were executing when the server stopped; "
			 "%zu adopted by the backend, the others ERROR",
			 n, nadopted);
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
	s->cfg.exec = NULL;
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
	cond_init_monotonic(&s->work_cond); /* timed while starts are held */
	return s;
}

static void sched_free(struct sched *s)
{
	struct sched_run *run;

	sched_heap_release(&s->heap); /* first: it may hold the timers of runs left */
	while ((run = s->runs)) {
		s->runs = run->next;
		sched_run_free(run);
	}
	while (s->qhead) {
		struct sched_qent *q = s->qhead;
		s->qhead = q->next;
		free(q);
	}
	sched_owners_free(s);
	for (size_t i = 0; i < SCHED_STRIPES; i++)
		pthread_mutex_destroy(&s->stripes[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->tick);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->stage_cond);
	pthread_cond_destroy(&s->work_cond);
	free(s->data_dir);
	free(s->instance);
	free(s);
}

int sched_open(const struct sched_config *cfg, struct store *st, struct jdl_registry *reg,
	       struct sched **out)
{
	struct sched *s = sched_new(cfg, st, reg);
	char *jobs = NULL, real[PATH_MAX];
	int ret = OPUS_ERR_IO;

	*out = NULL;
	if (!cfg->prov) {
		log_error("sched: no entity store (sched_config.prov)");
		ret = OPUS_ERR_INVAL;
		goto done;
	}
	jobs = xasprintf("%s/jobs", cfg->data_dir);
	if (mkdir_p(jobs, 0750) != 0)
		goto done;
	if (!realpath(cfg->data_dir, real)) {
		log_error("sched: %s: %s", cfg->data_dir, strerror(errno));
		goto done;
	}
	s->data_dir = xstrdup(real);
	{
		struct exec_config ec = {0};
		if (cfg->exec)
			ec = *cfg->exec;
		if (cfg->exec_backend)
			ec.backend = cfg->exec_backend;
		ec.on_event = sched_on_event;
		ec.ctx = s;
		ret = exec_open(&ec, &s->ex);
	}
	if (ret)
		goto done;
	ret = sched_stage_start(s);
	if (ret)
		goto done;
	ret = sched_multi_start(s); /* before the workers: they read s->multi */
	if (ret)
		goto done;
	ret = sched_work_start(s);
	if (ret)
		goto done;
	ret = recover(s);
	if (ret)
		goto done;
	ret = sched_deadline_start(s);
	if (ret)
		goto done;
	sched_work_kick(s);
	*out = s;
	s = NULL;
done:
	if (s) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_mutex_unlock(&s->lock);
		store_unlisten(s->st);
		sched_stage_stop(s);
		exec_close(s->ex);
		sched_work_stop(s);
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
		job.exec_handle[0] = '\0';
		free(job.error_summary);
		job.error_summary = NULL;
		sched_results_clear(&job);
		if (store_job_finish(s->st, &job, UWS_EXECUTING) != 0)
			log_error("job %s: could not put it back in the queue", id);
		else
			log_info("job %s stopped by shutdown; QUEUED again", id);
	}
	pthread_mutex_unlock(stripe);
	uws_job_release(&job);
}

void sched_shutdown_begin(struct sched *s)
{
	struct sched_waiter *woken;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	woken = sched_waiters_take_all_locked(s);
	pthread_mutex_unlock(&s->lock);
	sched_waiters_fire(woken);
}

/*
 * The runs of a backend whose jobs outlive the daemon (EXEC_KEEP_ALL) are
 * left as they are (no signal, phase and handle stay: the next daemon adopts
 * them); sched stops following them. The others (a local backend's, and runs
 * no backend holds yet: staging, or a submission in progress) are stopped.
 * s->lock held; the ids of the stopped ones into ids[*n].
 */
static void close_runs_locked(struct sched *s, char (*ids)[UWS_ID_LEN + 1], size_t *n)
{
	struct sched_run *next;
	size_t nleft = 0;

	for (struct sched_run *r = s->runs; r; r = next) {
		next = r->next;
		if (!r->staging && !r->launching && !r->ended && r->handle[0] &&
		    exec_keeps_handle(s->ex, r->handle) == EXEC_KEEP_ALL) {
			sched_run_abandon_locked(s, r);
			nleft++;
			continue;
		}
		memcpy(ids[(*n)++], r->id, sizeof(ids[0]));
		sched_run_stop(s, r, SCHED_KILL_SHUTDOWN);
		if (r->ended && !r->launching)
			sched_work_end_locked(s, r); /* e.g. an end the store refused */
	}
	if (nleft)
		log_info("sched: %zu job(s) left to their backend; the next start adopts them",
			 nleft);
}

void sched_close(struct sched *s)
{
	char(*ids)[UWS_ID_LEN + 1] = NULL;
	size_t n = 0;

	if (!s)
		return;
	sched_shutdown_begin(s);
	pthread_mutex_lock(&s->lock);
	while (s->nstarting > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	ids = xcalloc(s->nrunning + 1, sizeof(*ids));
	close_runs_locked(s, ids, &n);
	pthread_mutex_unlock(&s->lock);
	sched_deadline_stop(s);

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
	if (s->multi) {
		/* No callback into s from now on; the instance left cleanly. */
		store_unlisten(s->st);
		if (store_instance_forget(s->st, s->instance) != 0)
			log_warn("sched: instance %s could not be forgotten", s->instance);
	}
	sched_stage_stop(s);
	exec_close(s->ex);
	sched_work_stop(s);
	sched_free(s);
}
