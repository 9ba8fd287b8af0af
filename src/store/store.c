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

/* ---- provenance ---- */

void store_entity_id_new(char out[STORE_ENTITY_ID_LEN + 1])
{
	out[0] = 'e';
	rand_hex(out + 1, (STORE_ENTITY_ID_LEN - 1) / 2);
}

static bool store_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[len] == '\0';
}

bool store_entity_id_is_valid(const char *s)
{
	return s && s[0] == 'e' && strnlen(s, STORE_ENTITY_ID_LEN + 1) == STORE_ENTITY_ID_LEN &&
	       store_is_hex(s + 1, STORE_ENTITY_ID_LEN - 1);
}

static bool store_sha256_is_valid(const char *s)
{
	return s && strnlen(s, 65) == 64 && store_is_hex(s, 64);
}

static bool store_job_id_is_valid(const char *s)
{
	return s && uws_id_is_valid(s);
}

void store_entity_release(struct store_entity *e)
{
	if (!e)
		return;
	free(e->content_type);
	free(e->file_name);
	free(e->generated_by);
	free(e->role);
	free(e->result_id);
	free(e->source);
	free(e->owner);
	free(e->invalidated_by);
	memset(e, 0, sizeof(*e));
}

void store_activity_release(struct store_activity *a)
{
	if (!a)
		return;
	free(a->jobdef);
	free(a->jdl_hash);
	free(a->owner);
	free(a->run_id);
	free(a->error_summary);
	for (size_t i = 0; a->params && i < a->nparams; i++) {
		free(a->params[i].name);
		free(a->params[i].value);
	}
	free(a->params);
	memset(a, 0, sizeof(*a));
}

static const char *store_owner_norm(const char *owner)
{
	return owner && *owner ? owner : NULL;
}

/* A usage's (job, role, k) as every write of one takes it. */
static bool store_usage_key_is_valid(const char *job_id, const char *role, int k)
{
	return store_job_id_is_valid(job_id) && role && *role && k >= 0;
}

int store_input_use(struct store *st, const struct store_entity *e, const char *job_id,
		    const char *role, int k, char id_out[STORE_ENTITY_ID_LEN + 1],
		    bool *recognised_out)
{
	struct store_entity norm;
	if (id_out)
		id_out[0] = '\0';
	if (recognised_out)
		*recognised_out = false;
	if (!st || !e || !id_out || !recognised_out || !store_usage_key_is_valid(job_id, role, k) ||
	    !store_sha256_is_valid(e->sha256) || e->size < 0)
		return OPUS_ERR_INVAL;
	norm = *e; /* shallow: the backend copies what it keeps */
	if (!norm.id[0])
		store_entity_id_new(norm.id);
	else if (!store_entity_id_is_valid(norm.id))
		return OPUS_ERR_INVAL;
	norm.owner = (char *)store_owner_norm(e->owner);
	return st->ops->input_use(st, &norm, job_id, role, k, id_out, recognised_out);
}

int store_usage_put(struct store *st, const char *job_id, const char *role, int k,
		    const char *entity_id)
{
	if (!st || !entity_id || !store_usage_key_is_valid(job_id, role, k))
		return OPUS_ERR_INVAL;
	if (!store_entity_id_is_valid(entity_id))
		return OPUS_ERR_NOTFOUND;
	return st->ops->usage_put(st, job_id, role, k, entity_id);
}

int store_usages_clear(struct store *st, const char *job_id, const char *role)
{
	if (!st || !store_job_id_is_valid(job_id) || !role)
		return OPUS_ERR_INVAL;
	return st->ops->usages_clear(st, job_id, role);
}

int store_entity_get(struct store *st, const char *id, struct store_entity *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !id || !out)
		return OPUS_ERR_INVAL;
	if (!store_entity_id_is_valid(id))
		return OPUS_ERR_NOTFOUND;
	return st->ops->entity_get(st, id, out);
}

int store_entity_find(struct store *st, const char *owner, const char *sha256,
		      struct store_entity *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !sha256 || !out)
		return OPUS_ERR_INVAL;
	if (!store_sha256_is_valid(sha256))
		return OPUS_ERR_NOTFOUND;
	return st->ops->entity_find(st, store_owner_norm(owner), sha256, out);
}

int store_blob_refs(struct store *st, const char *sha256, int64_t *n_out)
{
	if (n_out)
		*n_out = 0;
	if (!st || !n_out || !store_sha256_is_valid(sha256))
		return OPUS_ERR_INVAL;
	return st->ops->blob_refs(st, sha256, n_out);
}

static bool store_phase_is_end(enum uws_phase p)
{
	return p == UWS_COMPLETED || p == UWS_ERROR || p == UWS_ABORTED;
}

/* Shallow copies of the generated entities, each generated_by the job. NULL
 * (after freeing) when one is malformed or generated by another job. */
static struct store_entity *store_generated_norm(const struct uws_job *job,
						 const struct store_entity *generated, size_t n)
{
	struct store_entity *g = xcalloc(n ? n : 1, sizeof(*g));
	for (size_t i = 0; i < n; i++) {
		g[i] = generated[i];
		if (!store_entity_id_is_valid(g[i].id) || !store_sha256_is_valid(g[i].sha256) ||
		    (g[i].generated_by && strcmp(g[i].generated_by, job->id) != 0)) {
			free(g);
			return NULL;
		}
		g[i].generated_by = (char *)job->id;
		g[i].owner = (char *)store_owner_norm(g[i].owner);
	}
	return g;
}

int store_job_end(struct store *st, const struct uws_job *job, const struct store_activity *act,
		  const struct store_entity *generated, size_t ngenerated)
{
	struct store_activity a;
	struct store_entity *g;
	int ret;
	if (!st || !store_job_is_valid(job) || !store_phase_is_end(job->phase) || !act ||
	    (act->id[0] && strcmp(act->id, job->id) != 0) || (!act->params && act->nparams) ||
	    (!generated && ngenerated))
		return OPUS_ERR_INVAL;
	for (size_t i = 0; i < act->nparams; i++) {
		if (!act->params[i].name)
			return OPUS_ERR_INVAL;
	}
	g = store_generated_norm(job, generated, ngenerated);
	if (!g)
		return OPUS_ERR_INVAL;
	a = *act; /* shallow, normalised: the job's id, jobdef, owner and phase */
	memcpy(a.id, job->id, sizeof(a.id));
	a.jobdef = act->jobdef ? act->jobdef : job->jobdef;
	a.owner = (char *)store_owner_norm(act->owner);
	a.phase = job->phase;
	ret = st->ops->job_end(st, job, &a, g, ngenerated);
	free(g);
	return ret;
}

int store_job_retire(struct store *st, const char *job_id, bool archive, int64_t now_ms,
		     char ***blobs_out, size_t *n_out)
{
	if (blobs_out)
		*blobs_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !job_id || !blobs_out || !n_out)
		return OPUS_ERR_INVAL;
	if (!store_job_id_is_valid(job_id))
		return OPUS_ERR_NOTFOUND;
	return st->ops->job_retire(st, job_id, archive, now_ms, blobs_out, n_out);
}

int store_activity_get(struct store *st, const char *id, struct store_activity *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !id || !out)
		return OPUS_ERR_INVAL;
	if (!store_job_id_is_valid(id))
		return OPUS_ERR_NOTFOUND;
	return st->ops->activity_get(st, id, out);
}

static bool store_ids_are_valid(const char *const *ids, size_t n, bool (*valid)(const char *))
{
	if (!ids && n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!valid(ids[i]))
			return false;
	}
	return true;
}

int store_lineage_get(struct store *st, const struct store_lineage_query *q,
		      struct store_lineage *out)
{
	struct store_lineage_query norm;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !q || !out || q->max_hops < 0 ||
	    !store_ids_are_valid(q->activity_ids, q->nactivity_ids, store_job_id_is_valid) ||
	    !store_ids_are_valid(q->entity_ids, q->nentity_ids, store_entity_id_is_valid))
		return OPUS_ERR_INVAL;
	norm = *q;
	if (!norm.max_activities)
		norm.max_activities = SIZE_MAX;
	return st->ops->lineage_get(st, &norm, out);
}

void store_lineage_release(struct store_lineage *l)
{
	if (!l)
		return;
	for (size_t i = 0; l->activities && i < l->nactivities; i++)
		store_activity_release(&l->activities[i]);
	free(l->activities);
	free(l->hops);
	for (size_t i = 0; l->entities && i < l->nentities; i++)
		store_entity_release(&l->entities[i]);
	free(l->entities);
	for (size_t i = 0; l->usages && i < l->nusages; i++)
		free(l->usages[i].role);
	free(l->usages);
	memset(l, 0, sizeof(*l));
}
