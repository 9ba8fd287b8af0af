/*
 * uws_json: the JSON view of the UWS 1.1 documents, built with jansson. The
 * shape mirrors the XML (same names, same order, same hrefs); what is
 * xsi:nil or absent there is null here. docs/json.md documents it.
 */
#include "uws/uws-int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

/* Remembers the first failed set/append, like struct sbuf. */
struct jb {
	int err;
};

static void jset(struct jb *b, json_t *obj, const char *key, json_t *value)
{
	/* jansson drops value on failure, also when obj is NULL (out of memory). */
	if (json_object_set_new(obj, key, value) < 0)
		b->err = OPUS_ERR_INTERNAL;
}

static void jappend(struct jb *b, json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, value) < 0)
		b->err = OPUS_ERR_INTERNAL;
}

/* A string even when NULL or empty (parameter values, messages). */
static json_t *jstr_always(const char *s)
{
	char *clean = uws_text_clean(s ? s : "");
	json_t *v = json_string(clean);
	free(clean);
	return v;
}

/* A string, or null when NULL or "". */
static json_t *jstr(const char *s)
{
	return uws_str_set(s) ? jstr_always(s) : json_null();
}

static json_t *jtime(int64_t ms)
{
	char t[TIME_STR_MAX];
	if (ms == 0)
		return json_null();
	time_format(ms, t);
	return json_string(t);
}

/* Takes the reference to root; appends its compact text to out. */
static int jfinish(struct jb *b, json_t *root, struct sbuf *out)
{
	char *text = NULL;
	if (!root)
		b->err = OPUS_ERR_INTERNAL;
	if (!b->err)
		text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!b->err && !text)
		b->err = OPUS_ERR_INTERNAL;
	if (text)
		sbuf_adds(out, text);
	free(text);
	json_decref(root);
	return b->err ? b->err : out->err;
}

/* {"name": "value", "file": {"byReference": true, "href": url}, ...} */
static json_t *json_params(struct jb *b, const struct uws_render *r, const struct uws_job *job)
{
	json_t *obj = json_object();
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *p = &job->params[i];
		char *name = uws_text_clean(p->name ? p->name : "");
		if (uws_param_by_ref(p)) {
			json_t *ref = json_object();
			char *href = uws_href(r, job, "parameters", p->name);
			jset(b, ref, "byReference", json_true());
			jset(b, ref, "href", jstr(href));
			jset(b, obj, name, ref);
			free(href);
		} else {
			jset(b, obj, name, jstr_always(p->value));
		}
		free(name);
	}
	return obj;
}

/* The ctx of a provenance link appended to a results array. */
struct jlinks {
	struct jb *b;
	json_t *arr;
};

static void json_prov_link(void *ctx, const char *id, const char *mime, const char *href)
{
	struct jlinks *l = ctx;
	json_t *o = json_object();
	jset(l->b, o, "id", jstr_always(id));
	jset(l->b, o, "href", jstr(href));
	jset(l->b, o, "mime-type", jstr(mime));
	jset(l->b, o, "size", json_null());
	jset(l->b, o, "entity_id", json_null());
	jset(l->b, o, "sha256", json_null());
	jappend(l->b, l->arr, o);
}

/* [{"id", "href", "mime-type", "size", "entity_id", "sha256"}, ...]; none
 * for an ARCHIVED job (its files are gone), then the provenance links. */
static json_t *json_results(struct jb *b, const struct uws_render *r, const struct uws_job *job)
{
	json_t *arr = json_array();
	struct jlinks links = {b, arr};
	for (size_t i = 0; i < job->nresults && uws_results_shown(job); i++) {
		const struct uws_result *res = &job->results[i];
		json_t *o = json_object();
		char *href = uws_href(r, job, "results", res->id);
		jset(b, o, "id", jstr_always(res->id));
		jset(b, o, "href", jstr(href));
		jset(b, o, "mime-type", jstr(res->mime));
		jset(b, o, "size", res->size >= 0 ? json_integer(res->size) : json_null());
		jset(b, o, "entity_id", jstr(res->entity_id));
		jset(b, o, "sha256", jstr(res->sha256));
		jappend(b, arr, o);
		free(href);
	}
	uws_prov_links_each(r, job, json_prov_link, &links);
	return arr;
}

/* What the run cost, or null when nothing was measured. */
static json_t *json_metrics(struct jb *b, const struct uws_job *job)
{
	const struct uws_metrics *m = &job->metrics;
	json_t *o;
	if (!m->known)
		return json_null();
	o = json_object();
	jset(b, o, "wall_time_ms", json_integer(m->wall_ms));
	jset(b, o, "cpu_time_ms", json_integer(m->cpu_ms));
	jset(b, o, "peak_memory_kb", json_integer(m->max_rss_kb));
	jset(b, o, "exit_code", json_integer(m->exit_code));
	return o;
}

static json_t *json_error(struct jb *b, const struct uws_job *job)
{
	json_t *o;
	if (!job->error_summary)
		return json_null();
	o = json_object();
	jset(b, o, "type",
	     json_string(job->error_type == UWS_ERROR_TRANSIENT ? "transient" : "fatal"));
	jset(b, o, "hasDetail", json_false());
	jset(b, o, "message", jstr_always(job->error_summary));
	return o;
}

int uws_job_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct jb b = {0};
	json_t *o = json_object();
	jset(&b, o, "jobId", jstr(job->id));
	jset(&b, o, "runId", jstr(job->run_id));
	jset(&b, o, "ownerId", jstr(job->owner));
	jset(&b, o, "phase", json_string(uws_phase_name(job->phase)));
	jset(&b, o, "quote", jtime(uws_job_quote_time(job)));
	jset(&b, o, "creationTime", jtime(job->creation_time));
	jset(&b, o, "startTime", jtime(job->start_time));
	jset(&b, o, "endTime", jtime(job->end_time));
	jset(&b, o, "executionDuration", json_integer(job->execution_duration));
	jset(&b, o, "destruction", jtime(job->destruction_time));
	jset(&b, o, "parameters", json_params(&b, r, job));
	jset(&b, o, "results", json_results(&b, r, job));
	jset(&b, o, "errorSummary", json_error(&b, job));
	jset(&b, o, "metrics", json_metrics(&b, job));
	if (r->queue_reason && job->phase == UWS_QUEUED)
		jset(&b, o, "queueReason", jstr(r->queue_reason));
	return jfinish(&b, o, out);
}

int uws_joblist_json(const struct uws_render *r, const struct uws_job *jobs, size_t n,
		     struct sbuf *out)
{
	struct jb b = {0};
	json_t *root = json_object();
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct uws_job *job = &jobs[i];
		json_t *o = json_object();
		char *href = uws_href(r, job, NULL, NULL);
		jset(&b, o, "jobId", jstr(job->id));
		jset(&b, o, "href", jstr(href));
		jset(&b, o, "jobdef", jstr(job->jobdef)); /* opusd: lists across descriptions */
		jset(&b, o, "phase", json_string(uws_phase_name(job->phase)));
		jset(&b, o, "runId", jstr(job->run_id));
		jset(&b, o, "ownerId", jstr(job->owner));
		jset(&b, o, "creationTime", jtime(job->creation_time));
		/* beyond UWS's ShortJobDescription: what a job list page shows */
		jset(&b, o, "startTime", jtime(job->start_time));
		jset(&b, o, "endTime", jtime(job->end_time));
		jset(&b, o, "destruction", jtime(job->destruction_time));
		jappend(&b, arr, o);
		free(href);
	}
	jset(&b, root, "jobs", arr);
	return jfinish(&b, root, out);
}

int uws_params_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct jb b = {0};
	json_t *root = json_object();
	jset(&b, root, "parameters", json_params(&b, r, job));
	return jfinish(&b, root, out);
}

int uws_results_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct jb b = {0};
	json_t *root = json_object();
	jset(&b, root, "results", json_results(&b, r, job));
	return jfinish(&b, root, out);
}

/* A number must be a whole decimal int64 or a finite decimal real. */
static json_t *json_number(const char *s)
{
	int64_t i;
	char *end;
	double d;
	if (parse_int64(s, &i) == 0)
		return json_integer(i);
	if (!*s || (*s != '-' && *s != '+' && *s != '.' && (*s < '0' || *s > '9')))
		return NULL;
	d = strtod(s, &end);
	if (*end != '\0' || !isfinite(d))
		return NULL;
	return json_real(d);
}

int uws_value_json(const char *key, const char *value, bool is_number, struct sbuf *out)
{
	struct jb b = {0};
	json_t *root, *v;
	char *k;
	if (!key)
		return OPUS_ERR_INVAL;
	if (!value)
		v = json_null();
	else if (is_number)
		v = json_number(value);
	else
		v = jstr_always(value);
	if (!v)
		return OPUS_ERR_INVAL;
	root = json_object();
	k = uws_text_clean(key);
	jset(&b, root, k, v);
	free(k);
	return jfinish(&b, root, out);
}
