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
    &store_pg_ops,
};

#define STORE_PHASES_ALL     ((uint32_t)((1u << UWS_PHASE_COUNT) - 1u))
#define STORE_PHASES_DEFAULT (STORE_PHASES_ALL & ~(1u << UWS_ARCHIVED))

int store_open(const struct store_config *cfg, struct store **out)
{
	const char *name;
	if (out)
		*out = NULL;
	if (!cfg || !out)
		return OPUS_ERR_INVAL;
	name = cfg->backend ? cfg->backend : "sqlite";
	if (!strcmp(name, "sqlite") && (!cfg->path || !*cfg->path))
		return OPUS_ERR_INVAL;
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

int store_job_save(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	if (!st || !store_job_is_valid(job) || (unsigned)from >= UWS_PHASE_COUNT)
		return OPUS_ERR_INVAL;
	return st->ops->job_save(st, job, from);
}

int store_job_update(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	if (!st || !store_job_is_valid(job) || (unsigned)from >= UWS_PHASE_COUNT)
		return OPUS_ERR_INVAL;
	return st->ops->job_update(st, job, from);
}

int store_job_set_params(struct store *st, const struct uws_job *job)
{
	if (!st || !store_job_is_valid(job))
		return OPUS_ERR_INVAL;
	return st->ops->job_set_params(st, job);
}

int store_job_finish(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	if (!st || !store_job_is_valid(job) || (unsigned)from >= UWS_PHASE_COUNT)
		return OPUS_ERR_INVAL;
	return st->ops->job_finish(st, job, from);
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
	if (!st || !f || f->last < 0 || !jobs_out || !n_out)
		return OPUS_ERR_INVAL;
	for (size_t i = 0; !f->jobdef && f->jobdefs && i < f->njobdefs; i++)
		if (!name_is_safe(f->jobdefs[i], 255)) /* nothing to escape in SQL text or JSON */
			return OPUS_ERR_INVAL;
	if ((f->before_id && (!f->before || !uws_id_is_valid(f->before_id))) ||
	    (f->since_id && (!f->since || !uws_id_is_valid(f->since_id))))
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

/* ---- several instances ---- */

static bool instance_ok(const char *name)
{
	return name && *name && strlen(name) <= 255;
}

static int ids_init(char ***ids_out, size_t *n_out)
{
	if (ids_out)
		*ids_out = NULL;
	if (n_out)
		*n_out = 0;
	return ids_out && n_out ? 0 : OPUS_ERR_INVAL;
}

bool store_is_shared(const struct store *st)
{
	return st && st->ops->listen != NULL;
}

int store_job_claim(struct store *st, const char *id, const char *instance)
{
	if (!st || !id || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	return st->ops->job_claim ? st->ops->job_claim(st, id, instance) : 0;
}

int store_job_claim_next(struct store *st, const char *instance, size_t max, int64_t before,
			 char ***ids_out, size_t *n_out)
{
	if (ids_init(ids_out, n_out) || !st || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	if (max == 0 || !st->ops->job_claim_next)
		return 0;
	return st->ops->job_claim_next(st, instance, max, before, ids_out, n_out);
}

int store_job_ids_mine(struct store *st, enum uws_phase phase, const char *instance,
		       char ***ids_out, size_t *n_out)
{
	if (ids_init(ids_out, n_out) || !st || (unsigned)phase >= UWS_PHASE_COUNT ||
	    !instance_ok(instance))
		return OPUS_ERR_INVAL;
	if (!st->ops->job_ids_mine)
		return st->ops->job_ids_in_phase(st, phase, ids_out, n_out);
	return st->ops->job_ids_mine(st, phase, instance, ids_out, n_out);
}

int store_job_ids_of(struct store *st, const char *instance, char ***ids_out, size_t *n_out)
{
	if (ids_init(ids_out, n_out) || !st || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	return st->ops->job_ids_of ? st->ops->job_ids_of(st, instance, ids_out, n_out) : 0;
}

int store_job_reassign(struct store *st, const char *id, const char *from, const char *to,
		       enum uws_phase phase)
{
	if (!st || !id || !instance_ok(from) || !instance_ok(to) ||
	    (unsigned)phase >= UWS_PHASE_COUNT)
		return OPUS_ERR_INVAL;
	return st->ops->job_reassign ? st->ops->job_reassign(st, id, from, to, phase) : 0;
}

int store_job_unclaim(struct store *st, const char *id, const char *instance)
{
	if (!st || !id || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	return st->ops->job_unclaim ? st->ops->job_unclaim(st, id, instance) : 0;
}

int store_instance_beat(struct store *st, const char *instance, int64_t pid)
{
	if (!st || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	return st->ops->instance_beat ? st->ops->instance_beat(st, instance, pid) : 0;
}

int store_instances_dead(struct store *st, const char *me, int64_t lease_ms, char ***names_out,
			 size_t *n_out)
{
	if (ids_init(names_out, n_out) || !st || !instance_ok(me) || lease_ms <= 0)
		return OPUS_ERR_INVAL;
	if (!st->ops->instances_dead)
		return 0;
	return st->ops->instances_dead(st, me, lease_ms, names_out, n_out);
}

int store_instance_forget(struct store *st, const char *instance)
{
	if (!st || !instance_ok(instance))
		return OPUS_ERR_INVAL;
	return st->ops->instance_forget ? st->ops->instance_forget(st, instance) : 0;
}

int store_listen(struct store *st, const struct store_listener *l)
{
	if (!st || !l || !l->fn || (l->instance && (!instance_ok(l->instance) || l->beat_ms <= 0)))
		return OPUS_ERR_INVAL;
	return st->ops->listen ? st->ops->listen(st, l) : 0;
}

void store_unlisten(struct store *st)
{
	if (st && st->ops->unlisten)
		st->ops->unlisten(st);
}

bool store_is_leader(struct store *st)
{
	return !st || !st->ops->is_leader || st->ops->is_leader(st);
}

void store_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
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
	char key[STORE_ENTITY_ID_LEN + 1]; /* id may be out->id */
	bool valid = store_entity_id_is_valid(id);
	if (valid)
		memcpy(key, id, sizeof(key));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !id || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->entity_get(st, key, out);
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
		  const struct store_entity *generated, size_t ngenerated, enum uws_phase from)
{
	struct store_activity a;
	struct store_entity *g;
	int ret;
	if (!st || !store_job_is_valid(job) || !store_phase_is_end(job->phase) || !act ||
	    (unsigned)from >= UWS_PHASE_COUNT || (act->id[0] && strcmp(act->id, job->id) != 0) ||
	    (!act->params && act->nparams) || (!generated && ngenerated))
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
	ret = st->ops->job_end(st, job, &a, g, ngenerated, from);
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
	char key[UWS_ID_LEN + 1]; /* id may be out->id */
	bool valid = store_job_id_is_valid(id);
	if (valid)
		memcpy(key, id, sizeof(key));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !id || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->activity_get(st, key, out);
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

/* ---- accounts, roles, applications, audit, description state, usage ---- */

static bool store_name_is_valid(const char *s)
{
	size_t n = s ? strnlen(s, STORE_NAME_MAX + 1) : 0;
	if (n == 0 || n > STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-'))
			return false;
	}
	return true;
}

/* "" or comma-separated valid names, no spaces. */
static bool store_roles_are_valid(const char *roles)
{
	char name[STORE_NAME_MAX + 1];
	const char *p = roles;
	if (!roles)
		return false;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n > STORE_NAME_MAX)
			return false;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!store_name_is_valid(name))
			return false;
		p += n;
		if (*p == ',' && !*++p)
			return false; /* a trailing comma */
	}
	return true;
}

static bool store_quota_is_valid(const struct store_quota *q, bool may_be_unset)
{
	int64_t min = may_be_unset ? INT64_MIN : 0;
	return q->max_running >= min && q->max_jobs >= min && q->max_bytes >= min;
}

/* Text that is NULL or nothing is NULL (optional account fields, the audit's
 * app and address). */
static const char *store_opt(const char *s)
{
	return s && *s ? s : NULL;
}

/* The audit row of a change: who (the CLI when unnamed), what, on what, when. */
static struct store_audit store_audit_of(const struct store_actor *by, const char *action,
					 const char *target, const char *detail)
{
	struct store_audit a = {.time = time_now_ms()};
	a.actor = (char *)(by && by->name && *by->name ? by->name : "cli");
	a.app = (char *)store_opt(by ? by->app : NULL);
	a.address = (char *)store_opt(by ? by->address : NULL);
	a.action = (char *)action;
	a.target = (char *)(target ? target : "");
	a.detail = (char *)store_opt(detail);
	return a;
}

/* Appends s as a JSON string. */
static void store_json_str(struct sbuf *sb, const char *s)
{
	sbuf_addc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_addf(sb, "\\%c", *p);
		else if (*p < 0x20)
			sbuf_addf(sb, "\\u%04x", *p);
		else
			sbuf_addc(sb, (char)*p);
	}
	sbuf_addc(sb, '"');
}

/* {"key":"value"} for an audit detail; caller frees. */
static char *store_detail1(const char *key, const char *value)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "{\"%s\":", key);
	store_json_str(&sb, value);
	sbuf_addc(&sb, '}');
	return sbuf_detach(&sb, NULL);
}

/*
 * The audit action of an account or app change: `what` as given when it has
 * a dot ("user.roles"), else prefixed ("roles" → "user.roles"); "token" is
 * spelled "rotate", NULL is "update". Caller frees.
 */
static char *store_action(const char *prefix, const char *what)
{
	if (!what || !*what)
		what = "update";
	else if (strcmp(what, "token") == 0)
		what = "rotate";
	if (strchr(what, '.'))
		return xstrdup(what);
	return xasprintf("%s.%s", prefix, what);
}

static bool store_account_is_valid(const struct store_account *a)
{
	return a && store_name_is_valid(a->name) && store_sha256_is_valid(a->token_hash) &&
	       store_roles_are_valid(a->roles ? a->roles : "") &&
	       store_quota_is_valid(&a->quota, true);
}

/* A shallow copy with the optional fields normalised and the times set. */
static struct store_account store_account_norm(const struct store_account *a, int64_t now)
{
	struct store_account n = *a;
	n.roles = (char *)(a->roles ? a->roles : "");
	n.email = (char *)store_opt(a->email);
	n.display_name = (char *)store_opt(a->display_name);
	if (!n.created)
		n.created = now;
	n.modified = now;
	return n;
}

void store_account_release(struct store_account *a)
{
	if (!a)
		return;
	free(a->roles);
	free(a->email);
	free(a->display_name);
	memset(a, 0, sizeof(*a));
}

void store_accounts_free(struct store_account *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		store_account_release(&a[i]);
	free(a);
}

int store_account_create(struct store *st, const struct store_account *a,
			 const struct store_actor *by)
{
	struct store_account n;
	struct store_audit log;
	char *detail;
	int ret;
	if (!st || !store_account_is_valid(a))
		return OPUS_ERR_INVAL;
	n = store_account_norm(a, time_now_ms());
	detail = store_detail1("roles", n.roles);
	log = store_audit_of(by, "user.create", n.name, detail);
	ret = st->ops->account_create(st, &n, &log);
	free(detail);
	return ret;
}

/* Copies a name key first: it may be a member of *out, which is cleared. */
static bool store_key_copy(char key[STORE_NAME_MAX + 1], const char *name)
{
	if (!store_name_is_valid(name))
		return false;
	memcpy(key, name, strlen(name) + 1);
	return true;
}

int store_account_get(struct store *st, const char *name, struct store_account *out)
{
	char key[STORE_NAME_MAX + 1];
	bool valid = store_key_copy(key, name);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !name || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->account_get(st, key, out);
}

int store_account_by_token(struct store *st, const char *token_hash, struct store_account *out)
{
	char key[65];
	bool valid = store_sha256_is_valid(token_hash);
	if (valid)
		memcpy(key, token_hash, sizeof(key));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !token_hash || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->account_by_token(st, key, out);
}

int store_account_update(struct store *st, const struct store_account *a, const char *what,
			 const char *detail, const struct store_actor *by)
{
	struct store_account n;
	struct store_audit log;
	char *action;
	int ret;
	if (!st || !store_account_is_valid(a))
		return OPUS_ERR_INVAL;
	n = store_account_norm(a, time_now_ms());
	action = store_action("user", what);
	log = store_audit_of(by, action, n.name, detail);
	ret = st->ops->account_update(st, &n, &log);
	free(action);
	return ret;
}

int store_account_delete(struct store *st, const char *name, const struct store_actor *by)
{
	struct store_audit log;
	if (!st || !name)
		return OPUS_ERR_INVAL;
	if (!store_name_is_valid(name))
		return OPUS_ERR_NOTFOUND;
	log = store_audit_of(by, "user.delete", name, NULL);
	return st->ops->account_delete(st, name, &log);
}

int store_account_list(struct store *st, const char *after, size_t max, struct store_account **out,
		       size_t *n_out, size_t *total_out)
{
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (total_out)
		*total_out = 0;
	if (!st || !out || !n_out)
		return OPUS_ERR_INVAL;
	return st->ops->account_list(st, after ? after : "", max, out, n_out, total_out);
}

/* The roles the migration makes; editable, never deletable. */
static const char *const store_builtin_roles[] = {"admin", "user", "anonymous"};

static bool store_role_is_builtin(const char *name)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(store_builtin_roles); i++) {
		if (strcmp(store_builtin_roles[i], name) == 0)
			return true;
	}
	return false;
}

void store_role_release(struct store_role *r)
{
	if (!r)
		return;
	free(r->run);
	memset(r, 0, sizeof(*r));
}

void store_roles_free(struct store_role *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		store_role_release(&r[i]);
	free(r);
}

static char *store_role_detail(const struct store_role *r)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "{\"run\":");
	store_json_str(&sb, r->run);
	sbuf_addf(&sb,
		  ",\"submit\":%s,\"admin\":%s,\"quota\":{\"max_running\":%lld,"
		  "\"max_jobs\":%lld,\"max_bytes\":%lld}}",
		  r->submit ? "true" : "false", r->admin ? "true" : "false",
		  (long long)r->quota.max_running, (long long)r->quota.max_jobs,
		  (long long)r->quota.max_bytes);
	return sbuf_detach(&sb, NULL);
}

int store_role_put(struct store *st, const struct store_role *r, const struct store_actor *by)
{
	struct store_role n;
	struct store_audit log;
	char *detail;
	int ret;
	if (!st || !r || !store_name_is_valid(r->name) || !store_quota_is_valid(&r->quota, false))
		return OPUS_ERR_INVAL;
	n = *r;
	n.run = (char *)(r->run ? r->run : "");
	n.modified = time_now_ms();
	detail = store_role_detail(&n);
	log = store_audit_of(by, "role.put", n.name, detail);
	ret = st->ops->role_put(st, &n, &log);
	free(detail);
	return ret;
}

int store_role_get(struct store *st, const char *name, struct store_role *out)
{
	char key[STORE_NAME_MAX + 1];
	bool valid = store_key_copy(key, name);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !name || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->role_get(st, key, out);
}

int store_role_delete(struct store *st, const char *name, const struct store_actor *by)
{
	struct store_audit log;
	if (!st || !name)
		return OPUS_ERR_INVAL;
	if (!store_name_is_valid(name))
		return OPUS_ERR_NOTFOUND;
	if (store_role_is_builtin(name))
		return OPUS_ERR_FORBIDDEN;
	log = store_audit_of(by, "role.delete", name, NULL);
	return st->ops->role_delete(st, name, &log);
}

int store_role_list(struct store *st, struct store_role **out, size_t *n_out)
{
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !out || !n_out)
		return OPUS_ERR_INVAL;
	return st->ops->role_list(st, out, n_out);
}

void store_app_release(struct store_app *a)
{
	if (!a)
		return;
	free(a->run);
	memset(a, 0, sizeof(*a));
}

void store_apps_free(struct store_app *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		store_app_release(&a[i]);
	free(a);
}

int store_app_put(struct store *st, const struct store_app *a, bool replace, const char *what,
		  const struct store_actor *by)
{
	struct store_app n;
	struct store_audit log;
	char *action, *detail;
	int64_t now = time_now_ms();
	int ret;
	if (!st || !a || !store_name_is_valid(a->name) || !store_sha256_is_valid(a->token_hash))
		return OPUS_ERR_INVAL;
	n = *a;
	n.run = (char *)(a->run ? a->run : "");
	if (!n.created)
		n.created = now;
	n.modified = now;
	action = store_action("app", replace ? what : "create");
	detail = store_detail1("run", n.run);
	log = store_audit_of(by, action, n.name, detail);
	ret = st->ops->app_put(st, &n, replace, &log);
	free(action);
	free(detail);
	return ret;
}

int store_app_get(struct store *st, const char *name, struct store_app *out)
{
	char key[STORE_NAME_MAX + 1];
	bool valid = store_key_copy(key, name);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !name || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->app_get(st, key, out);
}

int store_app_by_token(struct store *st, const char *token_hash, struct store_app *out)
{
	char key[65];
	bool valid = store_sha256_is_valid(token_hash);
	if (valid)
		memcpy(key, token_hash, sizeof(key));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !token_hash || !out)
		return OPUS_ERR_INVAL;
	if (!valid)
		return OPUS_ERR_NOTFOUND;
	return st->ops->app_by_token(st, key, out);
}

int store_app_delete(struct store *st, const char *name, const struct store_actor *by)
{
	struct store_audit log;
	if (!st || !name)
		return OPUS_ERR_INVAL;
	if (!store_name_is_valid(name))
		return OPUS_ERR_NOTFOUND;
	log = store_audit_of(by, "app.delete", name, NULL);
	return st->ops->app_delete(st, name, &log);
}

int store_app_list(struct store *st, struct store_app **out, size_t *n_out)
{
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !out || !n_out)
		return OPUS_ERR_INVAL;
	return st->ops->app_list(st, out, n_out);
}

void store_audit_release(struct store_audit *a)
{
	if (!a)
		return;
	free(a->actor);
	free(a->app);
	free(a->address);
	free(a->action);
	free(a->target);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

void store_audits_free(struct store_audit *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		store_audit_release(&a[i]);
	free(a);
}

int store_audit_add(struct store *st, const struct store_actor *by, const char *action,
		    const char *target, const char *detail)
{
	struct store_audit log;
	if (!st || !action || !*action)
		return OPUS_ERR_INVAL;
	log = store_audit_of(by, action, target, detail);
	return st->ops->audit_add(st, &log);
}

int store_audit_list(struct store *st, int64_t after, size_t max, struct store_audit **out,
		     size_t *n_out)
{
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !out || !n_out)
		return OPUS_ERR_INVAL;
	if (max == 0)
		return 0;
	return st->ops->audit_list(st, after, max, out, n_out);
}

int store_jdl_set_enabled(struct store *st, const char *jobdef, bool enabled,
			  const struct store_actor *by)
{
	struct store_audit log;
	if (!st || !jobdef || !*jobdef)
		return OPUS_ERR_INVAL;
	log = store_audit_of(by, enabled ? "jdl.enable" : "jdl.disable", jobdef, NULL);
	return st->ops->jdl_set_enabled(st, jobdef, enabled, &log);
}

int store_jdl_is_enabled(struct store *st, const char *jobdef, bool *enabled_out)
{
	if (enabled_out)
		*enabled_out = true;
	if (!st || !jobdef || !enabled_out)
		return OPUS_ERR_INVAL;
	return st->ops->jdl_is_enabled(st, jobdef, enabled_out);
}

int store_jdl_disabled(struct store *st, char ***names_out, size_t *n_out)
{
	if (names_out)
		*names_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!st || !names_out || !n_out)
		return OPUS_ERR_INVAL;
	return st->ops->jdl_disabled(st, names_out, n_out);
}

int store_owner_usage(struct store *st, const char *owner, struct store_usage_totals *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !out)
		return OPUS_ERR_INVAL;
	return st->ops->owner_usage(st, store_opt(owner), out);
}

int store_usage_sum(struct store *st, struct store_usage_totals *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!st || !out)
		return OPUS_ERR_INVAL;
	return st->ops->usage_sum(st, out);
}
