/*
 * sched_run: the run queue, starting a job (directory, script, environment,
 * exec_submit, EXECUTING at once or at its STARTED event), stopping one
 * (SIGTERM, SIGKILL after the grace, then asking the backend when no end
 * comes), and its end (the end table sched_end_outcome; final phase, results
 * via sched_results.c, their entities and the job's activity via prov, in
 * one commit). A job with inputs by reference starts as a staging run
 * (sched_stage.c).
 *
 * Starts and ends run on sched's workers (sched_work.c). A slot is taken
 * (nstarting) under s->lock before the job is read, becomes a run when the
 * job is launched, and is released only once the job's end is committed, so
 * max_running holds and a job is final once, with its results. The job is
 * submitted with no lock held; EXECUTING is committed (with exec's handle)
 * right after, under the job's stripe, or, when the backend queues it, the
 * handle alone (the job stays QUEUED, holding its slot) and EXECUTING at its
 * STARTED event. Events reported while the launch is still in progress are
 * held back until the launcher has recorded the submission, so an end is
 * never recorded before its start.
 */
#include "auth/auth.h"
#include "sched/sched-int.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STDERR_TAIL 1000
/* How often a run whose end is overdue (SIGKILL sent, no ENDED) makes sched
 * ask the backend (exec_poll). */
#define OVERDUE_POLL_MS 60000

_Static_assert(EXEC_HANDLE_MAX == UWS_HANDLE_MAX, "a job stores exec's handle");

/* The environment a job starts with before its parameters; never overridden. */
/* OPUS_EVENT_URL is the backend's to add (exec_slurm.c); jdl_check.c refuses
 * every OPUS_ name as a parameter name. */
static const char *const base_env_names[] = {"PATH", "HOME", "LANG", "OPUS_JOB_ID",
					     "OPUS_EVENT_TOKEN"};

void sched_queue_push(struct sched *s, const char *id, const char *owner, int64_t max_running,
		      int slot)
{
	struct sched_qent *q = xcalloc(1, sizeof(*q));
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->slot = slot >= 0 && slot < EXEC_BACKENDS_MAX ? slot : 0;
	s->hold[q->slot].nqueued++;
	q->own = sched_owner_get_locked(s, owner);
	q->own->max_running = max_running; /* the latest look-up wins */
	q->own->queued++;
	if (s->qtail)
		s->qtail->next = q;
	else
		s->qhead = q;
	s->qtail = q;
	s->nqueued++;
}

/* Unlinks *pp (prev: the entry before it, NULL at the head). s->lock held. */
static struct sched_qent *queue_unlink(struct sched *s, struct sched_qent **pp,
				       struct sched_qent *prev)
{
	struct sched_qent *q = *pp;

	*pp = q->next;
	if (s->qtail == q)
		s->qtail = prev;
	s->nqueued--;
	s->hold[q->slot].nqueued--;
	q->own->queued--;
	return q;
}

void sched_queue_remove(struct sched *s, const char *id)
{
	struct sched_qent **pp = &s->qhead, *prev = NULL;

	while (*pp && strcmp((*pp)->id, id) != 0) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		struct sched_qent *q = queue_unlink(s, pp, prev);
		sched_owner_put_locked(s, q->own);
		free(q);
	}
}

bool sched_queue_pop(struct sched *s, char id_out[UWS_ID_LEN + 1], struct sched_owner **own_out)
{
	struct sched_qent **pp = &s->qhead, *prev = NULL, *q;
	int64_t now = time_mono_ms();

	/* In order; the jobs of an owner at its limit wait for one of its runs
	 * to end, those of a held backend for its cluster (sched_retry.c). */
	while (*pp && (!sched_owner_may_start((*pp)->own) ||
		       sched_slot_held_locked(s, (*pp)->slot, now))) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return false;
	q = queue_unlink(s, pp, prev);
	q->own->running++;
	*own_out = q->own;
	memcpy(id_out, q->id, sizeof(q->id));
	free(q);
	return true;
}

struct sched_run *sched_run_find(struct sched *s, const char *id)
{
	struct sched_run *r;
	for (r = s->runs; r && strcmp(r->id, id) != 0; r = r->next)
		;
	return r;
}

void sched_run_signal(struct sched *s, struct sched_run *run, int sig)
{
	if (run->ended)
		return; /* nothing left to signal; its group id may be reused */
	if (run->staging)
		atomic_store(&run->cancel, 1);
	else if (run->handle[0])
		(void)exec_cancel(s->ex, run->handle, sig);
	/* else launching: the launcher sees run->kill and kills what it started */
}

static void run_term(struct sched *s, struct sched_run *run)
{
	sched_run_signal(s, run, SIGTERM);
	run->term_sent = true;
	if (sched_heap_arm(&s->heap, &run->timer, time_mono_ms() + s->cfg.kill_grace_ms))
		pthread_cond_signal(&s->tick);
}

void sched_run_stop(struct sched *s, struct sched_run *run, enum sched_kill why)
{
	if (run->kill == SCHED_KILL_NONE || why == SCHED_KILL_SHUTDOWN)
		run->kill = why;
	if (!run->term_sent)
		run_term(s, run);
}

void sched_run_deadline(struct sched *s, struct sched_run *run)
{
	if (run->ended) {
		sched_work_end_locked(s, run); /* retry an end the store refused */
		return;
	}
	if (!run->term_sent) {
		log_info("job %s: execution duration exceeded, stopping it", run->id);
		sched_run_stop(s, run, SCHED_KILL_TIMEOUT);
		return;
	}
	if (!run->kill_sent) {
		log_info("job %s: still running %lld ms after SIGTERM, killing it", run->id,
			 (long long)s->cfg.kill_grace_ms);
		sched_run_signal(s, run, SIGKILL);
		run->kill_sent = true;
	} else {
		/* Its end is overdue: a signal of the backend's may have been lost. */
		log_warn("job %s: no end reported %lld s after SIGKILL; asking the backend",
			 run->id, (long long)(OVERDUE_POLL_MS / 1000));
		exec_poll(s->ex);
	}
	if (sched_heap_arm(&s->heap, &run->timer, time_mono_ms() + OVERDUE_POLL_MS))
		pthread_cond_signal(&s->tick);
}

void sched_run_arm_duration_locked(struct sched *s, struct sched_run *run, int64_t duration_s,
				   int64_t start_time)
{
	int64_t left;

	if (duration_s <= 0 || run->ended || run->term_sent)
		return;
	left = duration_s * 1000;
	if (start_time > 0) {
		left -= time_now_ms() - start_time;
		if (left < 0)
			left = 0;
	}
	if (sched_heap_arm(&s->heap, &run->timer, time_mono_ms() + left))
		pthread_cond_signal(&s->tick);
}

/* Does the environment already hold NAME (the bytes of entry up to '=')? */
static bool env_has(char **env, size_t n, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return true;
	}
	return false;
}

bool sched_param_is_input(const struct jdl *j, const char *name, const struct jdl_entity **used_out)
{
	const struct jdl_param *jp = jdl_find_param(j, name);
	*used_out = jp ? NULL : jdl_find_used(j, name);
	return *used_out || (jp && jp->type == JDL_FILE);
}

char *sched_input_name(const char *name, size_t k, size_t n)
{
	return n == 1 ? xstrdup(name) : xasprintf("%s_%zu", name, k + 1);
}

/* An input's value for the script: the absolute paths of its files, separated
 * by spaces (an upload: its path; references: the files they were fetched to). */
static char *input_paths(const char *dir, const char *name, const struct uws_param *p)
{
	struct sbuf sb = SBUF_INIT;
	size_t n;
	char **refs;

	if (p->by_ref)
		return xstrdup(p->value);
	refs = fetch_refs_split(p->value, &n);
	for (size_t k = 0; k < n; k++) {
		char *local = sched_input_name(name, k, n);
		sbuf_addf(&sb, "%s%s/%s", k ? " " : "", dir, local);
		free(local);
	}
	fetch_refs_free(refs, n);
	return sbuf_detach(&sb, NULL);
}

/*
 * The job's environment (see sched.h): NULL-terminated, every string and the
 * array malloc'd. Names are the declared ones; a name that is not declared,
 * or that is one of the base names, is left out.
 */
static char **build_env(const struct sched *s, const struct uws_job *job, const struct jdl *j,
			const char *dir)
{
	size_t cap = OPUS_ARRAY_LEN(base_env_names) + job->nparams + j->ngenerated + 1, n = 0;
	char **env = xcalloc(cap, sizeof(*env));

	env[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[n++] = xasprintf("HOME=%s", dir);
	env[n++] = xstrdup("LANG=C.UTF-8");
	env[n++] = xasprintf("OPUS_JOB_ID=%s", job->id);
	if (s->cfg.event_key) {
		char tok[AUTH_TOKEN_LEN + 1];
		auth_event_token(s->cfg.event_key, job->id, tok);
		env[n++] = xasprintf("OPUS_EVENT_TOKEN=%s", tok);
	}
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *p = &job->params[i];
		const struct jdl_param *jp = jdl_find_param(j, p->name);
		const struct jdl_entity *used = NULL;
		bool input = sched_param_is_input(j, p->name, &used);
		const char *name = jp ? jp->name : used ? used->name : NULL;
		char *path;

		if (!name || !name_is_identifier(name) || env_has(env, n, name)) {
			log_debug("job %s: parameter %s not passed to the script", job->id,
				  p->name);
			continue;
		}
		if (p->by_ref || input) {
			path = input_paths(dir, name, p);
			env[n++] = xasprintf("%s=%s", name, path);
			free(path);
		} else {
			env[n++] = xasprintf("%s=%s", name, p->value ? p->value : "");
		}
	}
	for (size_t i = 0; i < j->ngenerated; i++) {
		const struct jdl_entity *g = &j->generated[i];
		if (g->default_value && name_is_identifier(g->name) && !env_has(env, n, g->name))
			env[n++] = xasprintf("%s=%s", g->name, g->default_value);
	}
	env[n] = NULL;
	return env;
}

static void env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* The script as a file: OPUS descriptions carry \r\n (&#13;&#10;), bash wants \n. */
static int write_script(const char *path, const char *script)
{
	size_t len = strlen(script), o = 0;
	char *buf = xmalloc(len + 1);
	int ret;

	for (size_t i = 0; i < len; i++) {
		if (script[i] == '\r' && script[i + 1] == '\n')
			continue;
		buf[o++] = script[i];
	}
	ret = file_write_all(path, buf, o, 0640);
	free(buf);
	return ret;
}

/* Everything exec_submit needs; owned strings. */
struct start_files {
	char *dir, *priv, *script, *out, *err;
};

static void start_files_release(struct start_files *f)
{
	free(f->dir);
	free(f->priv);
	free(f->script);
	free(f->out);
	free(f->err);
}

static int prepare_files(struct sched *s, const struct uws_job *job, const struct jdl *j,
			 struct start_files *f)
{
	f->dir = sched_job_dir(s, job->id);
	f->priv = sched_path(s, job->id, ".opusd");
	f->script = sched_path(s, job->id, ".opusd/script.sh");
	f->out = sched_path(s, job->id, ".opusd/stdout");
	f->err = sched_path(s, job->id, ".opusd/stderr");
	if (mkdir_p(f->priv, 0750) != 0)
		return OPUS_ERR_IO;
	/* A run again (requeued) writes new files: the old ones may be links to
	 * blobs of the entity store, which must not change. */
	(void)unlink(f->out);
	(void)unlink(f->err);
	return write_script(f->script, j->script);
}

int sched_end_unrun(struct sched *s, const struct uws_job *job, enum uws_phase from)
{
	struct jdl *j = jdl_registry_get_version(s->reg, job->jobdef, job->jdl_hash);
	struct store_activity act;
	int ret;

	prov_activity_of(job, j, &act);
	ret = store_job_end(s->st, job, &act, NULL, 0, from);
	store_activity_release(&act);
	jdl_unref(j);
	return ret;
}

/* Records a failed start: ERROR with a reason. Stripe held; returns waiters. */
static struct sched_waiter *start_failed(struct sched *s, struct uws_job *job, const char *why)
{
	enum uws_phase was = job->phase;

	log_error("job %s: %s", job->id, why);
	if (sched_set_phase(job, UWS_ERROR) != 0)
		return NULL;
	sched_set_error(job, why);
	job->end_time = time_now_ms();
	if (sched_end_unrun(s, job, was) != 0)
		return NULL;
	return sched_waiters_take(s, job->id);
}

/* A run for the job takes over its slot (nstarting -> nrunning), with its
 * duration armed. s->lock held. */
static struct sched_run *run_add_locked(struct sched *s, const struct uws_job *job, struct jdl *j,
					bool staging, struct sched_owner *own)
{
	struct sched_run *run = xcalloc(1, sizeof(*run));

	snprintf(run->id, sizeof(run->id), "%s", job->id);
	run->own = own;
	run->staging = staging;
	run->launching = !staging;
	run->jdl = j;
	sched_timer_init(&run->timer, SCHED_TIMER_RUN);
	run->next = s->runs;
	s->runs = run;
	s->nrunning++;
	s->nstarting--;
	pthread_cond_broadcast(&s->idle);
	/* From now, as for a start; a run the backend queues gets it again at STARTED. */
	sched_run_arm_duration_locked(s, run, job->execution_duration, 0);
	if (staging)
		sched_stage_push(s, run);
	return run;
}

/* A resource the job asked for itself (a control parameter http took only
 * when the configuration allows it), unless the description has a parameter
 * of that name; NULL otherwise. Borrowed from job. */
static const char *job_resource(const struct uws_job *job, const struct jdl *j, int i)
{
	const char *name = jdl_resource_names[i];
	const struct uws_param *p = uws_job_param(job, name);

	if (!p || p->by_ref || !p->value || jdl_find_param(j, name) || jdl_find_used(j, name))
		return NULL;
	return p->value;
}

static int64_t job_count(const struct uws_job *job, const struct jdl *j, int i, int64_t dflt)
{
	const char *v = job_resource(job, j, i);
	int64_t n;

	return v && parse_int64(v, &n) == 0 && n > 0 ? n : dflt;
}

/* The job's value, else the description's; NULL / 0: the backend's default. */
static struct exec_resources resources_of(const struct uws_job *job, const struct jdl *j)
{
	const char *partition = job_resource(job, j, 0), *account = job_resource(job, j, 1),
		   *gres = job_resource(job, j, 2);

	return (struct exec_resources){
	    .partition = partition ? partition : j->partition,
	    .account = account ? account : j->account,
	    .gres = gres ? gres : j->gres,
	    .nodes = job_count(job, j, 3, j->nodes),
	    .tasks_per_node = job_count(job, j, 4, j->tasks_per_node),
	    .cpus_per_task = job_count(job, j, 5, j->cpus_per_task),
	};
}

char *sched_launch(struct sched *s, const struct uws_job *job, const struct jdl *j,
		   struct exec_submitted *sub, int *err)
{
	struct start_files f = {0};
	char *why = NULL;
	char **env = NULL;

	*err = OPUS_ERR_IO;
	if (prepare_files(s, job, j, &f) == 0) {
		env = build_env(s, job, j, f.dir);
		struct exec_spec spec = {
		    .job_id = job->id,
		    .workdir = f.dir,
		    .script_path = f.script,
		    .envp = env,
		    .stdout_path = f.out,
		    .stderr_path = f.err,
		    .user = s->cfg.job_user,
		    .cgroup = s->cfg.cgroup,
		    .limits = exec_limits_min(&s->cfg.job_limits,
					      &(const struct exec_limits){
						  .memory_bytes = j->max_memory,
						  .processes = j->max_processes,
						  .open_files = j->max_open_files,
						  .cpu_seconds = j->max_cpu_time,
					      }),
		    .time_limit_s = job->execution_duration,
		    .res = resources_of(job, j),
		    .backend = j->backend,
		};
		*err = exec_submit(s->ex, &spec, sub, &why);
		if (*err == 0) {
			free(why);
			why = NULL;
		} else if (!why) {
			why = xstrdup("could not start the job");
		}
	} else {
		why = xstrdup("could not prepare the job directory");
	}
	env_free(env);
	start_files_release(&f);
	return why;
}

/* Why a job's description version could not be found: the name went, or
 * only the version the job was created with did. */
static const char *missing_jdl_reason(struct sched *s, const struct uws_job *job)
{
	struct jdl *cur = jdl_registry_get(s->reg, job->jobdef);
	bool exists = cur != NULL;

	jdl_unref(cur);
	return exists ? "job description version no longer available" : "job description removed";
}

/*
 * After the submission: QUEUED -> EXECUTING (or, for a staged run, already
 * EXECUTING) with exec's handle, in one commit under the stripe; a job the
 * backend only queued keeps QUEUED, with its handle (never submitted twice).
 * A job aborted or deleted meanwhile is left as it is: its kill is pending.
 */
static void record_start(struct sched *s, const char *id, const char *handle, bool started,
			 struct sched_run *run)
{
	pthread_mutex_t *stripe = sched_stripe(s, id);
	struct sched_waiter *woken = NULL;
	struct uws_job job = {0};
	enum uws_phase was;
	bool was_queued;
	int err;

	pthread_mutex_lock(stripe);
	if (store_job_get(s->st, id, &job) != 0 ||
	    (job.phase != UWS_QUEUED && job.phase != UWS_EXECUTING))
		goto done;
	was = job.phase;
	was_queued = was == UWS_QUEUED;
	if (was_queued && started) {
		job.phase = UWS_EXECUTING;
		job.start_time = time_now_ms();
	}
	snprintf(job.exec_handle, sizeof(job.exec_handle), "%s", handle);
	err = store_job_save(s->st, &job, was);
	if (err) {
		/* Lost to another writer (it aborted or ended the job): stopped as
		 * an abort, its end keeps the stored one. */
		bool lost = err == OPUS_ERR_PHASE || err == OPUS_ERR_NOTFOUND;
		log_error("job %s: %s; stopping it", id,
			  lost ? "changed by another writer meanwhile"
			       : "could not record its start");
		pthread_mutex_lock(&s->lock);
		if (run->kill == SCHED_KILL_NONE)
			run->kill = lost ? SCHED_KILL_ABORT : SCHED_KILL_FAILED;
		pthread_mutex_unlock(&s->lock);
		goto done;
	}
	if (started)
		log_info("job %s (%s) started, %s handle %s", id, job.jobdef,
			 exec_handle_backend(s->ex, handle), handle);
	else
		log_info("job %s (%s) submitted, %s handle %s; QUEUED until it starts", id,
			 job.jobdef, exec_handle_backend(s->ex, handle), handle);
	if (was_queued && started)
		woken = sched_waiters_take(s, id);
done:
	pthread_mutex_unlock(stripe);
	sched_waiters_fire(woken);
	uws_job_release(&job);
}

void sched_record_started(struct sched *s, const char *id, const char *handle)
{
	pthread_mutex_t *stripe = sched_stripe(s, id);
	struct sched_waiter *woken = NULL;
	struct uws_job job = {0};
	struct sched_run *run;
	bool recorded = false;

	pthread_mutex_lock(stripe);
	if (store_job_get(s->st, id, &job) != 0 || strcmp(job.exec_handle, handle) != 0)
		goto done; /* gone, or another run of it */
	if (job.phase == UWS_QUEUED) {
		job.phase = UWS_EXECUTING;
		job.start_time = time_now_ms();
		if (store_job_save(s->st, &job, UWS_QUEUED) != 0) {
			/* Its end will record it; its duration counts from now anyway. */
			log_error("job %s: could not record its start", id);
		} else {
			recorded = true;
			woken = sched_waiters_take(s, id);
		}
	}
	pthread_mutex_lock(&s->lock);
	run = sched_run_find(s, id);
	if (run && strcmp(run->handle, handle) == 0)
		sched_run_arm_duration_locked(s, run, job.execution_duration, job.start_time);
	pthread_mutex_unlock(&s->lock);
	if (recorded)
		log_info("job %s (%s) started", id, job.jobdef);
done:
	pthread_mutex_unlock(stripe);
	sched_waiters_fire(woken);
	uws_job_release(&job);
}

static void run_unlink_locked(struct sched *s, struct sched_run *run);

bool sched_launch_run(struct sched *s, struct sched_run *run, const struct uws_job *job)
{
	char id[UWS_ID_LEN + 1];
	struct exec_submitted sub = {0};
	char *why;
	bool started, staged;
	int err, slot = sched_slot_of_jdl(s, run->jdl);

	memcpy(id, run->id, sizeof(id));
	pthread_mutex_lock(&s->lock);
	run->launching = true;
	staged = run->staging; /* EXECUTING already: it cannot go back to the queue */
	pthread_mutex_unlock(&s->lock);
	why = sched_launch(s, job, run->jdl, &sub, &err); /* no lock held: it may block */
	if (why && err == OPUS_ERR_BUSY && !staged) {
		/* The cluster did not answer: QUEUED again, its slot released (sched_retry.c). */
		pthread_mutex_lock(&s->lock);
		sched_hold_locked(s, id, run->own, why, slot);
		run_unlink_locked(s, run);
		pthread_mutex_unlock(&s->lock);
		sched_run_free(run);
		free(why);
		return true;
	}
	if (why && err == OPUS_ERR_BUSY) {
		/* Staged: EXECUTING already; its stager submits it again later. */
		pthread_mutex_lock(&s->lock);
		run->launching = false;
		sched_hold_staged_locked(s, id, why, slot);
		pthread_mutex_unlock(&s->lock);
		free(why);
		return false;
	}
	if (why) {
		pthread_mutex_lock(&s->lock);
		run->launching = false;
		run->fail_why = why;
		sched_run_ended_locked(s, run);
		pthread_mutex_unlock(&s->lock);
		return true;
	}
	pthread_mutex_lock(&s->lock);
	sched_hold_clear_locked(s, slot);
	memcpy(run->handle, sub.handle, sizeof(run->handle));
	run->staging = false;
	started = sub.started || run->started_seen;
	run->pending = !started;
	if (run->pending && run->kill == SCHED_KILL_NONE)
		sched_heap_disarm(&s->heap, &run->timer); /* its duration begins at STARTED */
	pthread_mutex_unlock(&s->lock);
	record_start(s, id, sub.handle, started, run);
	pthread_mutex_lock(&s->lock);
	run->launching = false;
	if (run->ended)
		sched_work_end_locked(s, run); /* it ended during the launch */
	else if (run->kill != SCHED_KILL_NONE || run->cancel)
		(void)exec_cancel(s->ex, run->handle, SIGKILL); /* stopped while it was starting */
	else if (run->pending && run->started_seen) {
		run->pending = false; /* STARTED came while its submission was recorded */
		sched_work_started_locked(s, id, run->handle);
	}
	pthread_mutex_unlock(&s->lock); /* run may be gone from here on */
	return true;
}

/* Gives a slot taken for a start that did not happen back. No lock held. */
static void slot_release(struct sched *s, struct sched_owner *own)
{
	pthread_mutex_lock(&s->lock);
	s->nstarting--;
	sched_owner_slot_end_locked(s, own);
	pthread_cond_broadcast(&s->idle);
	pthread_cond_signal(&s->work_cond);
	pthread_mutex_unlock(&s->lock);
}

void sched_start_one(struct sched *s, const char *id, struct sched_owner *own)
{
	pthread_mutex_t *stripe = sched_stripe(s, id);
	struct uws_job job = {0};
	struct sched_waiter *woken = NULL;
	struct sched_run *run = NULL;
	struct jdl *j = NULL;
	bool staging = false;
	int err;

	pthread_mutex_lock(stripe);
	err = store_job_get(s->st, id, &job);
	if (err && err != OPUS_ERR_NOTFOUND)
		log_error("job %s: cannot be read (%s); left QUEUED until the next start", id,
			  opus_strerror(err));
	if (err || job.phase != UWS_QUEUED)
		goto done; /* deleted or aborted since it was queued */
	if (s->multi &&
	    (sched_multi_has_run(s, id) || store_job_claim(s->st, id, s->instance) != 0)) {
		/* Started here already (queued twice: here, then claimed from
		 * the store), or another instance's claim came first. */
		log_debug("job %s: not started here", id);
		goto done;
	}
	j = jdl_registry_get_version(s->reg, job.jobdef, job.jdl_hash);
	if (!j) {
		woken = start_failed(s, &job, missing_jdl_reason(s, &job));
		goto done;
	}
	staging = sched_needs_staging(&job, j);
	if (staging) {
		/* Its inputs are fetched while it is EXECUTING, before any process. */
		job.phase = UWS_EXECUTING;
		job.start_time = time_now_ms();
		job.exec_handle[0] = '\0';
		err = store_job_save(s->st, &job, UWS_QUEUED);
		if (err == OPUS_ERR_PHASE || err == OPUS_ERR_NOTFOUND) {
			log_info("job %s: changed by another writer meanwhile; not started", id);
			goto done;
		}
		if (err) {
			log_error("job %s: could not record its start; left QUEUED until the "
				  "next start",
				  id);
			goto done;
		}
		log_info("job %s (%s) started, fetching its inputs", id, job.jobdef);
		woken = sched_waiters_take(s, id);
	}
	pthread_mutex_lock(&s->lock);
	run = run_add_locked(s, &job, j, staging, own);
	pthread_mutex_unlock(&s->lock);
	j = NULL;
done:
	pthread_mutex_unlock(stripe);
	if (!run)
		slot_release(s, own);
	sched_waiters_fire(woken);
	if (run && !staging)
		(void)sched_launch_run(s, run, &job); /* true: not staged */
	jdl_unref(j);
	uws_job_release(&job);
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The last bytes of the job's stderr as one trimmed line of valid text, or NULL. */
static char *stderr_tail(const struct sched *s, const char *id)
{
	char *path = sched_path(s, id, ".opusd/stderr");
	unsigned char buf[STDERR_TAIL];
	struct sbuf sb = SBUF_INIT;
	ssize_t n = -1;
	size_t i = 0, end;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	free(path);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		off_t off = st.st_size > STDERR_TAIL ? st.st_size - STDERR_TAIL : 0;
		n = pread(fd, buf, sizeof(buf), off);
	}
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return NULL;
	end = (size_t)n;
	while (i < end && (buf[i] & 0xc0) == 0x80)
		i++; /* the tail began inside a character */
	while (i < end && is_blank(buf[i]))
		i++;
	while (end > i && is_blank(buf[end - 1]))
		end--;
	while (i < end) {
		size_t len = utf8_seq_len(buf + i, end - i);
		if (len == 0 || (len == 1 && buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\t') ||
		    buf[i] == 0x7f) {
			sbuf_addc(&sb, '?');
			i++;
			continue;
		}
		sbuf_add(&sb, buf + i, len);
		i += len;
	}
	if (sb.len == 0) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, NULL);
}

/* "{words}", "{words}: {reason}", then " (exit code N)" when there is one. */
static char *end_words_reason(const struct exec_event *ev, bool with_code)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, exec_end_words(ev->end));
	if (ev->reason && *ev->reason)
		sbuf_addf(&sb, ": %s", ev->reason);
	if (with_code && ev->exit_code > 0)
		sbuf_addf(&sb, " (exit code %d)", ev->exit_code);
	return sbuf_detach(&sb, NULL);
}

enum uws_phase sched_end_outcome(enum sched_kill kill, const struct exec_event *ev,
				 const char *stderr_tail, char **why_out)
{
	*why_out = NULL;
	switch (kill) {
	case SCHED_KILL_TIMEOUT:
		*why_out = xstrdup("execution duration exceeded");
		return UWS_ERROR;
	case SCHED_KILL_FAILED:
		*why_out = xstrdup("could not record the job start");
		return UWS_ERROR;
	case SCHED_KILL_ABORT:
		return UWS_ABORTED;
	case SCHED_KILL_SHUTDOWN:
		return UWS_QUEUED;
	case SCHED_KILL_NONE:
		break;
	}
	switch (ev->end) {
	case EXEC_END_EXITED:
		if (ev->exit_code == 0)
			return UWS_COMPLETED;
		*why_out = stderr_tail && *stderr_tail ? xstrdup(stderr_tail)
						       : xasprintf("exit code %d", ev->exit_code);
		return UWS_ERROR;
	case EXEC_END_SIGNALLED:
		*why_out = ev->term_signal > 0 ? xasprintf("killed by signal %d", ev->term_signal)
					       : xstrdup("exit status lost");
		return UWS_ERROR;
	case EXEC_END_TIMEOUT:
		*why_out = xstrdup(exec_end_words(ev->end));
		return UWS_ERROR;
	case EXEC_END_CANCELLED:
		/* Not by sched (its kill reason would say so): someone else's. */
		*why_out = end_words_reason(ev, false);
		return UWS_ABORTED;
	case EXEC_END_NODE_FAIL:
	case EXEC_END_PREEMPTED:
	case EXEC_END_OUT_OF_MEMORY:
	case EXEC_END_FAILED:
		*why_out = end_words_reason(ev, true);
		return UWS_ERROR;
	case EXEC_END_LOST:
	case EXEC_END_COUNT:
		break;
	}
	*why_out = xstrdup(exec_end_words(EXEC_END_LOST));
	return UWS_ERROR;
}

/* The phase and error a job ends with, from how it ended. */
static void end_outcome(const struct sched *s, const struct sched_run *run, struct uws_job *job)
{
	char *why = NULL, *tail = NULL;
	enum uws_phase to;

	if (job->phase == UWS_ABORTED)
		return; /* set at abort time; only results and end time change */
	if (run->fail_why && run->kill != SCHED_KILL_TIMEOUT && run->kill != SCHED_KILL_FAILED) {
		to = UWS_ERROR;
		why = xstrdup(run->fail_why);
	} else {
		if (run->kill == SCHED_KILL_NONE && run->ev.end == EXEC_END_EXITED &&
		    run->ev.exit_code != 0)
			tail = stderr_tail(s, job->id);
		to = sched_end_outcome(run->kill, &run->ev, tail, &why);
	}
	if (to == UWS_QUEUED) {
		/* A shutdown's stop: requeue() puts it back, not its end. */
		free(why);
		return;
	}
	if (to == UWS_COMPLETED && job->phase == UWS_QUEUED) {
		/* It ran between two looks of the backend: never seen EXECUTING. */
		job->phase = UWS_EXECUTING;
		if (job->start_time == 0)
			job->start_time = time_now_ms();
	}
	if (sched_set_phase(job, to) == 0) {
		free(job->error_summary);
		job->error_summary = NULL;
		if (why)
			sched_set_error(job, why);
	}
	free(tail);
	free(why);
}

/* What the run cost (uws_metrics): wall time from its start to its end,
 * and what exec measured; unknown when nothing ran. */
static void run_metrics(const struct sched_run *run, struct uws_job *job)
{
	const struct exec_event *ev = &run->ev;

	memset(&job->metrics, 0, sizeof(job->metrics));
	if (!run->handle[0] || run->fail_why)
		return;
	job->metrics.known = true;
	job->metrics.wall_ms = job->start_time > 0 && job->end_time >= job->start_time
				   ? job->end_time - job->start_time
				   : 0;
	job->metrics.cpu_ms = ev->cpu_ms;
	job->metrics.max_rss_kb = ev->max_rss_kb;
	job->metrics.exit_code = ev->end == EXEC_END_EXITED ? ev->exit_code
				 : ev->end == EXEC_END_SIGNALLED && ev->term_signal > 0
				     ? 128 + ev->term_signal
				     : -1;
}

/* The prepared results into job (copies: a refused end keeps them). */
static void results_from_run(const struct sched_run *run, struct uws_job *job)
{
	sched_results_clear(job);
	for (size_t i = 0; i < run->nresults; i++) {
		const struct uws_result *r = &run->results[i];
		struct uws_result *d;
		uws_job_add_result(job, r->id, r->path, r->mime, r->size);
		d = &job->results[job->nresults - 1];
		d->entity_id = r->entity_id ? xstrdup(r->entity_id) : NULL;
		d->sha256 = r->sha256 ? xstrdup(r->sha256) : NULL;
	}
}

/* The sha256 of what the run generated (free with store_ids_free). */
static char **generated_blobs(const struct sched_run *run)
{
	char **v = xcalloc(run->ngenerated + 1, sizeof(*v));
	for (size_t i = 0; i < run->ngenerated; i++)
		v[i] = xstrdup(run->generated[i].sha256);
	return v;
}

/* Prepares the end of a run with no lock held: the job's results collected,
 * hashed and made entities (prov_results_register), kept in the run. A
 * worker: the hashing may take long, and no start or exit waits for it. */
static void end_prepare(struct sched *s, struct sched_run *run)
{
	struct uws_job job = {0};
	char *dir;

	run->end_prepared = true;
	if (store_job_get(s->st, run->id, &job) != 0)
		return; /* deleted: nothing to register */
	dir = sched_job_dir(s, run->id);
	sched_collect_results(s, &job, run->jdl);
	if (prov_results_register(s->cfg.prov, &job, dir, &run->generated, &run->ngenerated) != 0)
		log_error("job %s: its results could not be registered", run->id);
	run->results = job.results;
	run->nresults = job.nresults;
	job.results = NULL;
	job.nresults = 0;
	free(dir);
	uws_job_release(&job);
}

/* How often an end that lost its race is tried again on the newer job. */
#define FINISH_TRIES 4

static int finish_once(struct sched *s, const struct sched_run *run, struct sched_waiter **woken)
{
	struct uws_job job = {0};
	struct store_activity act;
	enum uws_phase was;
	int err = store_job_get(s->st, run->id, &job);

	*woken = NULL;
	if (err == OPUS_ERR_NOTFOUND) {
		/* Deleted while it ran: remove what it wrote during the grace,
		 * and the blobs only its results held. */
		char *dir = sched_job_dir(s, run->id), **blobs = generated_blobs(run);
		rm_rf(dir);
		prov_blobs_collect(s->cfg.prov, blobs, run->ngenerated);
		store_ids_free(blobs, run->ngenerated);
		free(dir);
		return 0;
	}
	if (err)
		goto done;
	if (uws_phase_is_final(job.phase) && job.phase != UWS_ABORTED) {
		log_warn("job %s ended in phase %s; left as is", job.id, uws_phase_name(job.phase));
		goto done;
	}
	was = job.phase;
	end_outcome(s, run, &job);
	job.end_time = time_now_ms();
	results_from_run(run, &job);
	run_metrics(run, &job);
	prov_activity_of(&job, run->jdl, &act);
	err = store_job_end(s->st, &job, &act, run->generated, run->ngenerated, was);
	store_activity_release(&act);
	if (err)
		goto done;
	log_info("job %s ended: %s%s%s", job.id, uws_phase_name(job.phase),
		 job.error_summary ? ": " : "", job.error_summary ? job.error_summary : "");
	*woken = sched_waiters_take(s, job.id);
done:
	uws_job_release(&job);
	return err;
}

/*
 * The end is written only if the stored job is still in the phase it was
 * read in. Another writer (another daemon on the same database) may have
 * changed it meanwhile: the end is then refused by the store, nothing
 * written, and tried again on the newer job; if that one is final (ended by
 * the other), its stored end is kept.
 */
int sched_finish(struct sched *s, const struct sched_run *run, struct sched_waiter **woken)
{
	int err = OPUS_ERR_BUSY;

	for (int i = 0; i < FINISH_TRIES; i++) {
		err = finish_once(s, run, woken);
		if (err != OPUS_ERR_PHASE)
			return err;
		log_info("job %s: changed by another writer meanwhile; its end checked again",
			 run->id);
	}
	return OPUS_ERR_BUSY; /* still racing: the end is retried with back-off */
}

/* The end was refused: try again later, with back-off. Stripe and s->lock held. */
static void end_retry_locked(struct sched *s, struct sched_run *run, int err)
{
	if (!run->end_failed) {
		run->end_failed = true;
		s->nend_failed++;
	}
	run->retry_ms = run->retry_ms ? run->retry_ms * 2 : SCHED_END_RETRY_MIN_MS;
	if (run->retry_ms > SCHED_END_RETRY_MAX_MS)
		run->retry_ms = SCHED_END_RETRY_MAX_MS;
	log_error("job %s: could not record its end (%s); trying again in %lld ms", run->id,
		  opus_strerror(err), (long long)run->retry_ms);
	run->end_queued = false; /* the timer queues it again */
	if (sched_heap_arm(&s->heap, &run->timer, time_mono_ms() + run->retry_ms))
		pthread_cond_signal(&s->tick);
}

/* Unlinks a run whose end is recorded; its slot is free. s->lock held. */
static void run_unlink_locked(struct sched *s, struct sched_run *run)
{
	struct sched_run **pp = &s->runs;

	while (*pp && *pp != run)
		pp = &(*pp)->next;
	if (*pp)
		*pp = run->next;
	sched_heap_disarm(&s->heap, &run->timer);
	if (run->end_failed)
		s->nend_failed--;
	s->nrunning--;
	sched_owner_slot_end_locked(s, run->own); /* one of its queued jobs may start */
	run->own = NULL;
	pthread_cond_broadcast(&s->idle);
	pthread_cond_signal(&s->work_cond);
}

void sched_run_free(struct sched_run *run)
{
	struct uws_job res = {.results = run->results, .nresults = run->nresults};

	sched_results_clear(&res);
	for (size_t i = 0; i < run->ngenerated; i++)
		store_entity_release(&run->generated[i]);
	free(run->generated);
	jdl_unref(run->jdl);
	free(run->fail_why);
	free(run->reason);
	free(run);
}

void sched_end_run(struct sched *s, struct sched_run *run)
{
	pthread_mutex_t *stripe = sched_stripe(s, run->id);
	struct sched_waiter *woken = NULL;
	enum sched_kill kill;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	kill = run->kill; /* end_queued stays set: no second task while this one runs */
	pthread_mutex_unlock(&s->lock);
	if (kill != SCHED_KILL_SHUTDOWN && !run->end_prepared)
		end_prepare(s, run); /* before the stripe: hashing takes time */
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&s->lock);
	kill = run->kill;
	pthread_mutex_unlock(&s->lock);
	if (kill != SCHED_KILL_SHUTDOWN)
		err = sched_finish(s, run, &woken);
	pthread_mutex_lock(&s->lock);
	if (err && run->kill != SCHED_KILL_SHUTDOWN) {
		end_retry_locked(s, run, err);
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(stripe);
		return;
	}
	run_unlink_locked(s, run);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(stripe);
	sched_waiters_fire(woken);
	sched_run_free(run);
}

void sched_run_ended_locked(struct sched *s, struct sched_run *run)
{
	run->ended = true;
	sched_heap_disarm(&s->heap, &run->timer);
	if (!run->launching)
		sched_work_end_locked(s, run);
}

int sched_run_adopt(struct sched *s, const struct uws_job *job)
{
	struct jdl *j = jdl_registry_get_version(s->reg, job->jobdef, job->jdl_hash);
	int64_t limit = sched_owner_limit(s, job->owner);
	struct sched_owner *own;
	struct sched_run *run;
	int ret;

	pthread_mutex_lock(&s->lock);
	own = sched_owner_get_locked(s, job->owner);
	own->max_running = limit;
	own->running++; /* it runs already: above its owner's limit if need be */
	s->nstarting++;
	run = run_add_locked(s, job, j, false, own);
	memcpy(run->handle, job->exec_handle, sizeof(run->handle));
	run->pending = job->phase == UWS_QUEUED;
	sched_heap_disarm(&s->heap, &run->timer);
	if (!run->pending)
		sched_run_arm_duration_locked(s, run, job->execution_duration, job->start_time);
	pthread_mutex_unlock(&s->lock);
	ret = exec_adopt(s->ex, job->id, job->exec_handle); /* its events wait (launching) */
	pthread_mutex_lock(&s->lock);
	run->launching = false;
	if (ret != 0) {
		bool ended = run->ended;
		if (!ended)
			run_unlink_locked(s, run);
		pthread_mutex_unlock(&s->lock);
		if (ended) {
			/* A backend must not report an end of a job it refused. */
			log_error("job %s: ENDED reported by a refused adoption; recorded",
				  job->id);
			pthread_mutex_lock(&s->lock);
			sched_work_end_locked(s, run);
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		sched_run_free(run);
		return ret == OPUS_ERR_NOTFOUND ? ret : OPUS_ERR_NOTFOUND;
	}
	if (run->ended)
		sched_work_end_locked(s, run); /* over already */
	else if (run->pending && run->started_seen) {
		run->pending = false;
		sched_work_started_locked(s, run->id, run->handle);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void sched_run_abandon_locked(struct sched *s, struct sched_run *run)
{
	run_unlink_locked(s, run);
	sched_run_free(run);
}

/* A STARTED event: EXECUTING is recorded by a worker (a store write). s->lock held. */
static void on_started_locked(struct sched *s, struct sched_run *run)
{
	if (run->launching) {
		run->started_seen = true; /* the launcher records it */
		return;
	}
	if (!run->pending)
		return;
	run->pending = false;
	sched_work_started_locked(s, run->id, run->handle);
}

void sched_on_event(void *ctx, const struct exec_event *ev)
{
	struct sched *s = ctx;
	struct sched_run *run;

	if (ev->kind == EXEC_EV_REACHABLE) {
		sched_hold_resume(s, ev->slot);
		return;
	}
	pthread_mutex_lock(&s->lock);
	run = sched_run_find(s, ev->job_id);
	if (!run || run->ended || (run->handle[0] && strcmp(run->handle, ev->handle) != 0)) {
		pthread_mutex_unlock(&s->lock);
		log_warn("sched: event of unknown job %s (handle %s)", ev->job_id, ev->handle);
		return;
	}
	switch (ev->kind) {
	case EXEC_EV_SUBMITTED:
		log_debug("job %s: held by %s as %s", run->id,
			  exec_handle_backend(s->ex, ev->handle), ev->handle);
		break;
	case EXEC_EV_STARTED:
		on_started_locked(s, run);
		break;
	case EXEC_EV_ENDED:
		run->ev = *ev;
		run->ev.job_id = run->id;
		run->ev.handle = run->handle;
		free(run->reason);
		run->reason = ev->reason ? xstrdup(ev->reason) : NULL;
		run->ev.reason = run->reason;
		if (!run->handle[0])
			snprintf(run->handle, sizeof(run->handle), "%s", ev->handle);
		run->pending = false;
		sched_run_ended_locked(s, run);
		break;
	case EXEC_EV_REACHABLE: /* handled above: no job's */
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

void sched_job_signal(struct sched *s, const char *id, enum sched_signal sig)
{
	struct sched_run *run;
	bool poll = false, followed;

	pthread_mutex_lock(&s->lock);
	run = sched_run_find(s, id);
	followed = run && !run->ended && !run->staging;
	if (followed) {
		if (sig == SCHED_SIGNAL_EXECUTING)
			on_started_locked(s, run); /* nothing unless it is pending */
		else
			poll = true;
	}
	pthread_mutex_unlock(&s->lock);
	log_debug("job %s: signal %d%s", id, (int)sig, followed ? "" : " (not followed)");
	if (poll)
		exec_poll(s->ex); /* never blocks: the backend reconciles on its thread */
}
