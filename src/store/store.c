/*
 * store: the public functions of store.h. They check and normalise their
 * arguments once, then dispatch through the backend's struct store_ops, so
 * every backend sees the same guarantees (listed in store-int.h).
 */
#include "store/store-int.h"

#include <stdlib.h>
#include <string.h>

static const struct store_ops *const store_backends[] = {
    &store_sqlite_ops,
};

#define STORE_PHASES_ALL     ((uint32_t)((1u << UWS_PHASE_COUNT) - 1u))
#define STORE_PHASES_DEFAULT (STORE_PHASES_ALL & ~(1u << UWS_ARCHIVED))

int store_open(const struct store_config *cfg, struct store **out)
{
	const char *name;
	if (out)
		*out = NULL;
	if (!cfg || !out || !cfg->path || !*cfg->path)
		return OPUS_ERR_INVAL;
	name = cfg->backend ? cfg->backend : "sqlite";
	for (size_t i = 0; i < OPUS_ARRAY_LEN(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i]->open(cfg, out);
	}
	log_error("store: unknown backend \"%s\"", name);
	return OPUS_ERR_INVAL;
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

static bool store_job_is_valid(const struct uws_job *job)
{
	return job && job->id[0] && job->jobdef && (unsigned)job->phase < UWS_PHASE_COUNT &&
	       (job->params || !job->nparams) && (job->results || !job->nresults);
}

int store_job_create(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_create(st, job);
}

int store_job_get(struct store *st, const char *id, struct uws_job *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !id || !out)
		return OPUS_ERR_INVAL;
	return st->ops->job_get(st, id, out);
}

int store_job_save(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_save(st, job);
}

int store_job_update(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_update(st, job);
}

int store_job_set_params(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_set_params(st, job);
}

int store_job_finish(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_finish(st, job);
}

int store_job_delete(struct store *st, const char *id)
{
	if (!st || !id)
		return OPUS_ERR_INVAL;
	return st->ops->job_delete(st, id);
}

int store_job_list(struct store *st, const struct store_filter *f, struct uws_job **jobs_out,
		   size_t *n_out)
{
	struct store_filter norm;
	if (jobs_out)
		*jobs_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !f || !f->jobdef || f->last < 0 || !jobs_out || !n_out)
		return OPUS_ERR_INVAL;
	norm = *f;
	norm.phases = f->phases ? f->phases & STORE_PHASES_ALL : STORE_PHASES_DEFAULT;
	if (norm.owner_is_null || (norm.owner && !*norm.owner)) {
		norm.owner = NULL;
		norm.owner_is_null = true;
	}
	return st->ops->job_list(st, &norm, jobs_out, n_out);
}

void store_jobs_free(struct uws_job *jobs, size_t n)
{
	for (size_t i = 0; jobs && i < n; i++)
		uws_job_release(&jobs[i]);
	free(jobs);
}

int store_job_ids_in_phase(struct store *st, enum uws_phase phase, char ***ids_out, size_t *n_out)
{
	if (ids_out)
		*ids_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || (unsigned)phase >= UWS_PHASE_COUNT || !ids_out || !n_out)
		return OPUS_ERR_INVAL;
	return st->ops->job_ids_in_phase(st, phase, ids_out, n_out);
}

int store_job_ids_expired(struct store *st, int64_t now_ms, size_t max, char ***ids_out,
			  size_t *n_out)
{
	if (ids_out)
		*ids_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !ids_out || !n_out)
		return OPUS_ERR_INVAL;
	if (max == 0)
		return 0;
	return st->ops->job_ids_expired(st, now_ms, max, ids_out, n_out);
}

int store_next_destruction(struct store *st, int64_t *ms_out)
{
	if (ms_out)
		*ms_out = 0;
	if (!st || !ms_out)
		return OPUS_ERR_INVAL;
	return st->ops->next_destruction(st, ms_out);
}

void store_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int store_account_put(struct store *st, const char *name, const char *token_hash, bool admin)
{
	if (!st || !name || !*name || !token_hash)
		return OPUS_ERR_INVAL;
	return st->ops->account_put(st, name, token_hash, admin);
}

int store_account_get(struct store *st, const char *name, char hash_out[65], bool *admin_out)
{
	if (!st || !name || !hash_out || !admin_out)
		return OPUS_ERR_INVAL;
	return st->ops->account_get(st, name, hash_out, admin_out);
}
