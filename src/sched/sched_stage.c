/*
 * sched_stage: inputs given by reference (a URL, an ID through the url
 * template, a stored entity) are fetched into the job's directory after the
 * job became EXECUTING and before its process starts, by a small pool of
 * stager threads (downloads block; request threads and exec's threads must
 * not). Each input becomes an entity as it is placed (prov_input_add; a
 * stored entity is linked from the entity store, never copied). The run is in s->runs from the
 * start with no handle and `staging` set, so the execution duration, ABORT, DELETE and shutdown
 * reach it: they set run->cancel, which stops the transfer. A stager then either launches the
 * process (the run becomes an ordinary one, ended by its ENDED) or hands the run's end to a
 * worker with the reason (ERROR "input x: ..."). When the cluster does not answer the
 * submission (OPUS_ERR_BUSY) the stager keeps the run, EXECUTING with its slot, waits out the
 * server's back-off (sched_retry.c) and submits it again, until it goes through or the run is
 * cancelled.
 */
#include "sched/sched-int.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How soon a staged run waiting for the cluster sees that it was aborted. */
#define STAGE_RETRY_POLL_MS 100

bool sched_needs_staging(const struct uws_job *job, const struct jdl *j)
{
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *p = &job->params[i];
		const struct jdl_entity *used;
		if (!p->by_ref && p->value && *p->value && sched_param_is_input(j, p->name, &used))
			return true;
	}
	return false;
}

void sched_stage_push(struct sched *s, struct sched_run *run)
{
	run->stage_next = NULL;
	if (s->stage_tail)
		s->stage_tail->stage_next = run;
	else
		s->stage_head = run;
	s->stage_tail = run;
	pthread_cond_signal(&s->stage_cond);
}

static struct sched_run *stage_pop(struct sched *s)
{
	struct sched_run *run = s->stage_head;
	if (run) {
		s->stage_head = run->stage_next;
		if (!s->stage_head)
			s->stage_tail = NULL;
	}
	return run;
}

/* Where one reference of an input goes, and whose it is. */
struct stage_input {
	const struct uws_job *job;
	const struct jdl_entity *used; /* NULL for a file parameter */
	const char *role;	       /* the parameter's name */
	int k;			       /* which of its references */
	const char *value;	       /* the reference as given */
	const char *dest;
};

/* The entity a stored reference names into id_out: an entity id as it
 * is, an earlier job's result by its entity (*legacy_out gets the file of a
 * result from before the entity store, which has none). */
static int stored_entity(struct sched *s, const struct fetch_ref *ref,
			 char id_out[STORE_ENTITY_ID_LEN + 1], char **legacy_out, char **mime_out)
{
	struct uws_job src = {0};
	const struct uws_result *res;
	int ret = OPUS_ERR_NOTFOUND;

	if (ref->entity_id[0]) {
		snprintf(id_out, STORE_ENTITY_ID_LEN + 1, "%s", ref->entity_id);
		return 0;
	}
	if (store_job_get(s->st, ref->job_id, &src) == 0 &&
	    (res = uws_job_result(&src, ref->result_id))) {
		if (res->entity_id)
			snprintf(id_out, STORE_ENTITY_ID_LEN + 1, "%s", res->entity_id);
		else
			*legacy_out = sched_path(s, src.id, res->path);
		*mime_out = res->mime ? xstrdup(res->mime) : NULL;
		ret = 0;
	}
	uws_job_release(&src);
	return ret;
}

/* A stored entity: linked from the entity store (no copy, no download) and
 * used as itself; a result from before the entity store is copied. */
static int link_entity(struct sched *s, struct sched_run *run, const struct stage_input *in,
		       const struct fetch_ref *ref, char **mime_out, char **why_out)
{
	char *legacy = NULL, *ctype = NULL, sha[65], id[STORE_ENTITY_ID_LEN + 1] = "";
	int ret = stored_entity(s, ref, id, &legacy, mime_out);

	if (ret == 0 && legacy) {
		ret = fetch_copy_file(legacy, in->dest, s->cfg.fetch->max_bytes, &run->cancel, sha,
				      why_out);
		if (ret == 0) {
			struct store_entity ne = {.content_type = *mime_out,
						  .source = (char *)in->value,
						  .owner = in->job->owner};
			ret = prov_input_add(s->cfg.prov, in->job->id, in->role, in->k, in->dest,
					     sha, &ne, id);
		}
	} else if (ret == 0) {
		ret =
		    prov_input_use(s->cfg.prov, in->job->id, in->role, in->k, in->dest, id, &ctype);
		if (ret == 0 && !*mime_out) {
			*mime_out = ctype;
			ctype = NULL;
		}
	}
	if (ret && !*why_out)
		*why_out = xstrdup(ret == OPUS_ERR_NOTFOUND ? "the stored entity no longer exists"
							    : "cannot record the input");
	free(ctype);
	free(legacy);
	return ret;
}

/* A download or a file:// copy, hashed as it came, becomes an entity. */
static int download(struct sched *s, struct sched_run *run, const struct stage_input *in,
		    const struct fetch_ref *ref, char **mime_out, char **why_out)
{
	char sha[65], id[STORE_ENTITY_ID_LEN + 1];
	int ret = fetch_download(s->cfg.fetch, ref, in->dest, &run->cancel, mime_out, sha, why_out);

	if (ret == 0) {
		struct store_entity e = {.content_type = *mime_out,
					 .source = (char *)in->value,
					 .owner = in->job->owner};
		ret = prov_input_add(s->cfg.prov, in->job->id, in->role, in->k, in->dest, sha, &e,
				     id);
		if (ret)
			*why_out = xstrdup("cannot record the input in the entity store");
	}
	return ret;
}

/* Fetches one reference to its place; checks the declared content type. */
static int fetch_one(struct sched *s, struct sched_run *run, const struct stage_input *in,
		     char **why_out)
{
	const struct jdl_entity *used = in->used;
	struct fetch_ref ref;
	char *mime = NULL;
	int ret;

	(void)unlink(in->dest); /* a requeued job fetches again */
	ret = fetch_ref_parse(s->cfg.fetch, in->value, used ? used->url : NULL, &ref, why_out);
	if (ret == 0 && ref.kind == FETCH_ENTITY)
		ret = link_entity(s, run, in, &ref, &mime, why_out);
	else if (ret == 0)
		ret = download(s, run, in, &ref, &mime, why_out);
	if (ret == 0 && used && used->content_type && mime &&
	    !fetch_media_type_eq(mime, used->content_type)) {
		*why_out = xasprintf("content type %s, expected %s", mime, used->content_type);
		(void)unlink(in->dest);
		ret = OPUS_ERR_INVAL;
	}
	fetch_ref_release(&ref);
	free(mime);
	return ret;
}

/* Fetches every input of p into dir; NULL, or the job's error. Its usages
 * are set afresh (a requeued job, a parameter that had more references). */
static char *stage_param(struct sched *s, struct sched_run *run, const char *dir,
			 const struct uws_job *job, const struct uws_param *p)
{
	struct stage_input in = {.job = job, .role = p->name};
	char *why = NULL, **refs;
	size_t n;

	if (p->by_ref || !sched_param_is_input(run->jdl, p->name, &in.used))
		return NULL;
	if (store_usages_clear(s->st, job->id, p->name) != 0)
		return xasprintf("input %s: cannot record it", p->name);
	refs = fetch_refs_split(p->value, &n);
	for (size_t k = 0; k < n && !why && !run->cancel; k++) {
		char *local = sched_input_name(p->name, k, n);
		char *dest = xasprintf("%s/%s", dir, local);
		char *reason = NULL;
		in.k = (int)k;
		in.value = refs[k];
		in.dest = dest;
		if (fetch_one(s, run, &in, &reason) != 0) {
			why = xasprintf("input %s: %s: %s", p->name, refs[k],
					reason ? reason : "cannot fetch");
			free(reason);
		}
		free(dest);
		free(local);
	}
	fetch_refs_free(refs, n);
	return why;
}

/* Every input of the job; NULL, or the job's error. */
static char *stage_inputs(struct sched *s, struct sched_run *run)
{
	struct uws_job job = {0};
	char *dir = sched_job_dir(s, run->id), *why = NULL;

	if (!s->cfg.fetch)
		why = xstrdup("inputs by reference are not enabled");
	else if (store_job_get(s->st, run->id, &job) != 0)
		why = xstrdup("cannot read the job");
	else if (mkdir_p(dir, 0750) != 0)
		why = xstrdup("could not prepare the job directory");
	for (size_t i = 0; !why && i < job.nparams && !run->cancel; i++)
		why = stage_param(s, run, dir, &job, &job.params[i]);
	if (!why && run->cancel)
		why = xstrdup("cancelled");
	if (why)
		log_info("job %s: %s", run->id, why);
	uws_job_release(&job);
	free(dir);
	return why;
}

/* Waits out the back-off of a cluster that did not answer (or until starts
 * resume); false when the run was cancelled or sched stops meanwhile. Polls
 * the cancel flag (as fetching does), never longer than STAGE_RETRY_POLL_MS. */
static bool stage_wait_hold(struct sched *s, struct sched_run *run)
{
	for (;;) {
		int64_t until, now = time_mono_ms();
		bool stop;

		pthread_mutex_lock(&s->lock);
		until = s->hold[sched_slot_of_jdl(s, run->jdl)].until;
		stop = s->stage_stop || s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop || atomic_load(&run->cancel))
			return false;
		if (now >= until)
			return true;
		(void)poll(
		    NULL, 0,
		    (int)(until - now < STAGE_RETRY_POLL_MS ? until - now : STAGE_RETRY_POLL_MS));
	}
}

/* The job as it is now, when it is still to be submitted (EXECUTING). */
static bool stage_still_wanted(struct sched *s, const struct sched_run *run, struct uws_job *job)
{
	return store_job_get(s->st, run->id, job) == 0 && job->phase == UWS_EXECUTING;
}

static void stage_one(struct sched *s, struct sched_run *run)
{
	char *why = stage_inputs(s, run);
	struct uws_job job = {0};

	if (!why && !stage_still_wanted(s, run, &job))
		why = xstrdup("cancelled"); /* deleted or aborted meanwhile */
	/* an ordinary run now; while the cluster does not answer it waits here,
	 * EXECUTING with its slot, and is submitted again */
	while (!why && !sched_launch_run(s, run, &job)) {
		uws_job_release(&job);
		job = (struct uws_job){0};
		if (!stage_wait_hold(s, run) || !stage_still_wanted(s, run, &job))
			why = xstrdup("cancelled");
	}
	if (!why) {
		uws_job_release(&job);
		return;
	}
	uws_job_release(&job);
	pthread_mutex_lock(&s->lock);
	run->fail_why = why;
	sched_run_ended_locked(s, run); /* a worker records its end */
	pthread_mutex_unlock(&s->lock);
}

static void *stager_main(void *arg)
{
	struct sched *s = arg;
	struct sched_run *run;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stage_head && !s->stage_stop)
			pthread_cond_wait(&s->stage_cond, &s->lock);
		run = stage_pop(s);
		if (!run)
			break; /* stopping, and nothing left to end */
		pthread_mutex_unlock(&s->lock);
		stage_one(s, run);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sched_stage_start(struct sched *s)
{
	size_t n = s->cfg.fetch_threads > 0 ? (size_t)s->cfg.fetch_threads : 1;

	s->stagers = xcalloc(n, sizeof(*s->stagers));
	for (; s->nstagers < n; s->nstagers++) {
		if (pthread_create(&s->stagers[s->nstagers], NULL, stager_main, s) != 0) {
			log_error("sched: cannot start a stager thread");
			return OPUS_ERR_INTERNAL;
		}
	}
	return 0;
}

void sched_stage_stop(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->stage_stop = true;
	pthread_cond_broadcast(&s->stage_cond);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nstagers; i++)
		pthread_join(s->stagers[i], NULL);
	free(s->stagers);
	s->stagers = NULL;
	s->nstagers = 0;
}
