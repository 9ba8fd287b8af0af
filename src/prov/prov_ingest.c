/*
 * prov_ingest: files becoming entities. An input is registered when it is
 * placed in a job's directory (an upload at create or parameter change, a
 * fetched reference before the start), a result when its job ends; either
 * way its bytes go to their blob (prov_blob.c) and its file in the job
 * directory becomes a link to it. And the activity record of a job that
 * reaches a final phase, with its configuration.
 */
#include "prov/prov-int.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A deep copy of e's strings into a zeroed out. */
static void entity_copy(struct store_entity *out, const struct store_entity *e)
{
	*out = *e;
	out->content_type = dup_or_null(e->content_type);
	out->file_name = dup_or_null(e->file_name);
	out->generated_by = dup_or_null(e->generated_by);
	out->role = dup_or_null(e->role);
	out->result_id = dup_or_null(e->result_id);
	out->source = dup_or_null(e->source);
	out->owner = dup_or_null(e->owner);
	out->invalidated_by = dup_or_null(e->invalidated_by);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int prov_input_add(struct prov *p, const char *job_id, const char *role, int k, const char *dest,
		   const char *sha256, const struct store_entity *e,
		   char id_out[STORE_ENTITY_ID_LEN + 1])
{
	struct store_entity ent;
	char hex[65];
	int64_t size = 0;
	bool recognised = false;
	struct stat st;
	int ret;

	id_out[0] = '\0';
	if (sha256) {
		if (!prov_sha256_ok(sha256) || lstat(dest, &st) != 0 || !S_ISREG(st.st_mode))
			return OPUS_ERR_IO;
		memcpy(hex, sha256, sizeof(hex));
		size = (int64_t)st.st_size;
	} else if (sha256_file(dest, hex, &size) != 0) {
		log_error("job %s: input %s: cannot read %s", job_id, role, dest);
		return OPUS_ERR_IO;
	}
	ret = prov_blob_adopt(p, dest, hex);
	if (ret)
		return ret;
	entity_copy(&ent, e);
	store_entity_id_new(ent.id);
	memcpy(ent.sha256, hex, sizeof(ent.sha256));
	ent.size = size;
	ent.creation_time = time_now_ms();
	ent.invalidation_time = 0;
	if (!ent.file_name)
		ent.file_name = xstrdup(base_name(dest));
	ret = store_input_use(p->st, &ent, job_id, role, k, id_out, &recognised);
	if (ret == 0)
		log_debug("job %s: input %s[%d] is entity %s%s", job_id, role, k, id_out,
			  recognised ? " (recognised)" : "");
	store_entity_release(&ent);
	return ret;
}

int prov_input_use(struct prov *p, const char *job_id, const char *role, int k, const char *dest,
		   const char *entity_id, char **ctype_out)
{
	struct store_entity e = {0};
	int ret = store_entity_get(p->st, entity_id, &e);

	if (ctype_out)
		*ctype_out = NULL;
	if (ret == 0 && e.invalidation_time != 0)
		ret = OPUS_ERR_NOTFOUND; /* its bytes went with the last job that held it */
	if (ret == 0)
		ret = prov_blob_link_to(p, e.sha256, dest);
	if (ret == 0)
		ret = store_usage_put(p->st, job_id, role, k, e.id);
	if (ret == 0 && ctype_out && e.content_type)
		*ctype_out = xstrdup(e.content_type);
	store_entity_release(&e);
	return ret;
}

/* The Generated name a result belongs to: its own id when a Generated entity
 * has that name, else the first pattern its file matches. */
static const char *generation_role(const struct jdl *j, const struct uws_result *r)
{
	for (size_t i = 0; j && i < j->ngenerated; i++) {
		if (strcmp(j->generated[i].name, r->id) == 0)
			return j->generated[i].name;
	}
	for (size_t i = 0; j && i < j->ngenerated; i++) {
		const char *pat = j->generated[i].default_value;
		if (pat && strpbrk(pat, "*?[") && fnmatch(pat, r->id, FNM_PERIOD) == 0)
			return j->generated[i].name;
	}
	return r->id;
}

/* Hashes one result, links it to its blob and fills its entity into g. */
static int result_register(struct prov *p, const struct uws_job *job, const struct jdl *j,
			   const char *job_dir, struct uws_result *r, struct store_entity *g)
{
	char *path = xasprintf("%s/%s", job_dir, r->path);
	char hex[65];
	int64_t size = 0;
	int ret = sha256_file(path, hex, &size);

	if (ret == 0)
		ret = prov_blob_adopt(p, path, hex);
	free(path);
	if (ret) {
		log_warn("job %s: result %s not stored: cannot read it", job->id, r->id);
		return ret;
	}
	memset(g, 0, sizeof(*g));
	store_entity_id_new(g->id);
	memcpy(g->sha256, hex, sizeof(g->sha256));
	g->size = size;
	g->content_type = dup_or_null(r->mime);
	g->file_name = xstrdup(base_name(r->path));
	g->generated_by = xstrdup(job->id);
	g->role = xstrdup(generation_role(j, r));
	g->result_id = xstrdup(r->id);
	g->owner = dup_or_null(job->owner);
	g->creation_time = time_now_ms();
	free(r->entity_id);
	free(r->sha256);
	r->entity_id = xstrdup(g->id);
	r->sha256 = xstrdup(hex);
	r->size = size;
	return 0;
}

int prov_results_register(struct prov *p, struct uws_job *job, const char *job_dir,
			  struct store_entity **generated_out, size_t *n_out)
{
	struct jdl *j = jdl_registry_get_version(p->reg, job->jobdef, job->jdl_hash);
	struct store_entity *gen = xcalloc(job->nresults + 1, sizeof(*gen));
	size_t n = 0;

	for (size_t i = 0; i < job->nresults; i++) {
		if (result_register(p, job, j, job_dir, &job->results[i], &gen[n]) == 0)
			n++;
	}
	jdl_unref(j);
	*generated_out = gen;
	*n_out = n;
	return 0;
}

static void param_rec_add(struct store_activity *a, const char *name, const char *value,
			  bool is_default)
{
	struct store_param_rec *r;

	a->params = xrealloc(a->params, (a->nparams + 1) * sizeof(*a->params));
	r = &a->params[a->nparams++];
	r->name = xstrdup(name);
	r->value = xstrdup(value ? value : "");
	r->is_default = is_default;
}

static bool has_param(const struct uws_job *job, const char *name)
{
	for (size_t i = 0; i < job->nparams; i++) {
		if (strcasecmp(job->params[i].name, name) == 0)
			return true;
	}
	return false;
}

/* The configuration: every parameter of the job (an upload by its file
 * name), a value equal to the description's default marked as one, and the
 * description's defaults the job lacks. */
static void activity_params(const struct uws_job *job, const struct jdl *j,
			    struct store_activity *out)
{
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *up = &job->params[i];
		const struct jdl_param *jp = j ? jdl_find_param(j, up->name) : NULL;
		const char *v = up->by_ref && up->value ? base_name(up->value) : up->value;
		bool def = jp && jp->default_value && !up->by_ref && up->value &&
			   strcmp(jp->default_value, up->value) == 0;
		param_rec_add(out, up->name, v, def);
	}
	for (size_t i = 0; j && i < j->nparams; i++) {
		const struct jdl_param *jp = &j->params[i];
		if (jp->default_value && !has_param(job, jp->name))
			param_rec_add(out, jp->name, jp->default_value, true);
	}
}

void prov_activity_of(const struct uws_job *job, const struct jdl *j, struct store_activity *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, job->id, sizeof(out->id));
	out->jobdef = dup_or_null(job->jobdef);
	out->jdl_hash = dup_or_null(job->jdl_hash);
	out->owner = dup_or_null(job->owner);
	out->run_id = dup_or_null(job->run_id);
	out->phase = job->phase;
	out->creation_time = job->creation_time;
	out->start_time = job->start_time;
	out->end_time = job->end_time;
	out->error_summary = dup_or_null(job->error_summary);
	out->metrics = job->metrics;
	activity_params(job, j, out);
}
