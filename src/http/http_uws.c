/*
 * http_uws: the UWS 1.1 resource tree under /rest/{jobdef}. Reads go to the
 * store, every change to sched, rendering to uws.
 */
#include "http/http-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JOBDEF (req->segs[1])
#define JOBID  (req->segs[2])

static struct uws_render render_ctx(const struct http_request *req)
{
	struct uws_render r = {.base_url = req->srv->deps.conf->base_url,
			       .result_links = req->srv->deps.conf->prov_result_links};
	return r;
}

static bool is_get(const struct http_request *req)
{
	return req->method == HTTP_GET || req->method == HTTP_HEAD;
}

static void reply_405(struct http_request *req, const char *allow)
{
	req->reply.allow = allow;
	http_reply_text(req, 405, "method %s not allowed here (allowed: %s)\n", req->method_name,
			allow);
}

/* Loads the job of the URL and checks it may be seen; 0, or a reply was made. */
static int job_load(struct http_request *req, struct uws_job *job)
{
	int ret = OPUS_ERR_NOTFOUND;
	if (uws_id_is_valid(JOBID))
		ret = store_job_get(req->srv->deps.store, JOBID, job);
	if (ret == 0 && strcmp(job->jobdef, JOBDEF) != 0) {
		uws_job_release(job);
		ret = OPUS_ERR_NOTFOUND;
	}
	if (ret < 0) {
		http_reply_error(req, ret,
				 ret == OPUS_ERR_NOTFOUND ? "no such job" : "cannot read job");
		return ret;
	}
	if (!auth_may_access(&req->who, job->owner)) {
		uws_job_release(job);
		http_reply_error(req, OPUS_ERR_FORBIDDEN, "this job belongs to another user");
		return OPUS_ERR_FORBIDDEN;
	}
	/* every answer about the job points at its provenance */
	http_reply_provenance(req, http_job_prov_url(req, JOBDEF, JOBID));
	return 0;
}

static void reply_job(struct http_request *req, const struct uws_job *job)
{
	struct uws_render r = render_ctx(req);
	struct sbuf doc = SBUF_INIT;
	char reason[300];
	int ret;

	if (req->want_json && job->phase == UWS_QUEUED && !job->exec_handle[0] &&
	    sched_queue_reason(req->srv->deps.sched, job->jobdef, reason, sizeof(reason)))
		r.queue_reason = reason;
	ret = req->want_json ? uws_job_json(&r, job, &doc) : uws_job_xml(&r, job, &doc);
	http_reply_doc(req, &doc, ret);
}

static void redirect_job(struct http_request *req)
{
	http_reply_redirect(req, "/rest/%s/%s", JOBDEF, JOBID);
}

/* ---- parameters from form fields ---- */

/* Control words of UWS that are not job parameters. */
static bool is_control(const char *name)
{
	static const char *const words[] = {"PHASE",	   "RUNID",  "EXECUTIONDURATION",
					    "DESTRUCTION", "ACTION", "WAIT"};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(words); i++) {
		if (strcasecmp(name, words[i]) == 0)
			return true;
	}
	return false;
}

static void set_param(struct uws_job *job, const char *name, const char *value, bool by_ref)
{
	for (size_t i = 0; i < job->nparams; i++) {
		if (strcasecmp(job->params[i].name, name) == 0) {
			free(job->params[i].value);
			job->params[i].value = xstrdup(value);
			job->params[i].by_ref = by_ref;
			return;
		}
	}
	uws_job_add_param(job, name, value, by_ref);
}

/* How many inputs an entity input takes. */
struct input_count {
	size_t min, max;
};

/* A Used entity's multiplicity: "1" (or absent) exactly one, "n" at least
 * one, "*" any number, a number k exactly k. A file parameter: at most one,
 * required unless it is optional. */
static struct input_count input_count_of(const struct jdl_param *p, const struct jdl_entity *used)
{
	struct input_count c = {p && p->required ? 1 : 0, 1};
	const char *m = used ? used->multiplicity : NULL;
	int64_t k;

	if (!used)
		return c;
	c.min = c.max = 1;
	if (m && strcmp(m, "n") == 0)
		c.max = SIZE_MAX;
	else if (m && strcmp(m, "*") == 0)
		c.min = 0, c.max = SIZE_MAX;
	else if (m && parse_int64(m, &k) == 0 && k >= 0)
		c.min = c.max = (size_t)k;
	return c;
}

/* The number of inputs a parameter holds: an upload, or one reference per line. */
static size_t input_values(const struct uws_param *p)
{
	size_t n = 0;
	char **refs;

	if (!p || p->by_ref)
		return p ? 1 : 0;
	refs = fetch_refs_split(p->value, &n);
	fetch_refs_free(refs, n);
	return n;
}

/* An entity a job made is out of reach with the description of that job. */
static bool entity_jobdef_ok(struct http_request *req, const struct store_entity *e)
{
	char *jobdef;
	bool ok;

	if (!e->generated_by || !http_perm_applies(req))
		return true;
	jobdef = http_jobdef_of(req, e->generated_by);
	ok = !jobdef || http_may_run(req, jobdef);
	free(jobdef);
	return ok;
}

/* A stored entity (an earlier job's result, or an entity id) must exist,
 * hold its bytes still, and be the caller's to use. */
static bool entity_usable(struct http_request *req, const struct fetch_ref *ref)
{
	struct uws_job src = {0};
	struct store_entity e = {0};
	bool ok;

	if (ref->entity_id[0]) {
		ok = store_entity_get(req->srv->deps.store, ref->entity_id, &e) == 0 &&
		     e.invalidation_time == 0 && auth_may_access(&req->who, e.owner) &&
		     entity_jobdef_ok(req, &e);
		store_entity_release(&e);
		return ok;
	}
	ok = store_job_get(req->srv->deps.store, ref->job_id, &src) == 0 &&
	     auth_may_access(&req->who, src.owner) && uws_job_result(&src, ref->result_id) &&
	     http_may_run(req, src.jobdef);
	uws_job_release(&src);
	return ok;
}

/* Checks each of the references of an input given in one field. */
static void check_refs(struct http_request *req, const char *name, const struct jdl_entity *used,
		       char **refs, size_t n, struct sbuf *why)
{
	struct fetch_ref ref;

	for (size_t k = 0; k < n; k++) {
		char *reason = NULL;
		if (!req->srv->deps.fetch)
			reason = xstrdup("inputs by reference are not enabled");
		else if (fetch_ref_parse(req->srv->deps.fetch, refs[k], used ? used->url : NULL,
					 &ref, &reason) == 0) {
			if (ref.kind == FETCH_ENTITY && !entity_usable(req, &ref))
				reason = xasprintf("no stored entity %s (no such job or result, "
						   "or not yours)",
						   refs[k]);
			fetch_ref_release(&ref);
		}
		if (reason)
			sbuf_addf(why, "%s: %s\n", name, reason);
		free(reason);
	}
}

/* An upload's declared media type must match the entity's content_type
 * (no type or application/octet-stream from the client says nothing). */
static bool upload_type_ok(const struct http_field *f, const struct jdl_entity *used)
{
	return !used || !used->content_type || !f->content_type || !*f->content_type ||
	       fetch_media_type_eq(f->content_type, "application/octet-stream") ||
	       fetch_media_type_eq(f->content_type, used->content_type);
}

/* The references one input received so far in this request (one per line). */
struct input_acc {
	const char *name; /* the declared name, borrowed from the description */
	struct sbuf refs;
	size_t n;
	bool upload;
};

/*
 * The parameters of one request, read field by field against a description:
 * each field costs time in proportion to its own size (inputs accumulate
 * their references instead of re-joining them), and reading stops at the
 * first field past an input's multiplicity.
 */
struct take {
	struct http_request *req;
	const struct jdl *j;
	struct uws_job *job; /* the parameters collected */
	struct sbuf *why;    /* reasons, one per line */
	struct input_acc *acc;
	size_t nacc;
	bool stop;
};

static struct input_acc *acc_get(struct take *t, const char *name)
{
	for (size_t i = 0; i < t->nacc; i++) {
		if (strcmp(t->acc[i].name, name) == 0)
			return &t->acc[i];
	}
	t->acc = xrealloc(t->acc, (t->nacc + 1) * sizeof(*t->acc));
	t->acc[t->nacc] = (struct input_acc){.name = name};
	sbuf_init(&t->acc[t->nacc].refs, 0);
	return &t->acc[t->nacc++];
}

/* An input (upload or references) of this request. */
static void take_input(struct take *t, const struct http_field *f, const char *name,
		       const struct jdl_param *p, const struct jdl_entity *used)
{
	struct input_count c = input_count_of(p, used);
	struct input_acc *a = acc_get(t, name);
	bool seen = a->upload || uws_job_param(t->job, name);
	char **refs;
	size_t n;

	if (f->path && !upload_type_ok(f, used)) {
		sbuf_addf(t->why, "%s: content type %s, expected %s\n", name, f->content_type,
			  used->content_type);
		return;
	}
	if (seen && (a->upload || f->path)) {
		sbuf_addf(t->why,
			  "%s: give one upload, or references (URLs or IDs, one per line), "
			  "not both nor two uploads\n",
			  name);
		return;
	}
	if (f->path) {
		a->upload = true;
		set_param(t->job, name, f->path, true);
		return;
	}
	refs = fetch_refs_split(sbuf_str(&f->value), &n);
	if (a->n + n > c.max) {
		sbuf_addf(t->why, "%s: takes at most %zu input%s (multiplicity %s)\n", name, c.max,
			  c.max == 1 ? "" : "s",
			  used && used->multiplicity ? used->multiplicity : "1");
		t->stop = true; /* the request is refused: read no further */
	} else {
		check_refs(t->req, name, used, refs, n, t->why);
		for (size_t k = 0; k < n; k++)
			sbuf_addf(&a->refs, "%s%s", a->n + k ? "\n" : "", refs[k]);
		a->n += n;
		if (!seen)
			set_param(t->job, name, "", false); /* its place in the order */
	}
	fetch_refs_free(refs, n);
}

/* Checks one field against the description; adds it to t->job or a reason. */
static void take_param(struct take *t, const struct http_field *f)
{
	const struct jdl_param *p = jdl_find_param(t->j, f->name);
	const struct jdl_entity *used = p ? NULL : jdl_find_used(t->j, f->name);
	const char *name = p ? p->name : used ? used->name : NULL;
	char *reason = NULL;

	if (!name) {
		sbuf_addf(t->why, "%s: unknown parameter of %s\n", f->name, t->j->name);
		return;
	}
	if (used || p->type == JDL_FILE) {
		take_input(t, f, name, p, used);
		return;
	}
	if (f->path) {
		sbuf_addf(t->why, "%s: is not a file parameter\n", name);
		return;
	}
	if (jdl_check_value(p, sbuf_str(&f->value), &reason) < 0) {
		sbuf_addf(t->why, "%s: %s\n", name, reason ? reason : "invalid value");
		free(reason);
		return;
	}
	set_param(t->job, name, sbuf_str(&f->value), false);
}

/* A resource the job asks for itself (partition, ..., cpusPerTask, where the
 * description has no parameter of that name): only when slurm.user_resources
 * lists it. Stored as a parameter of the job under the PARAM's spelling; the
 * script's environment never gets it (build_env passes declared ones only). */
static bool take_resource(struct take *t, const struct http_field *f)
{
	int i = jdl_resource_index(f->name);
	const char *name = i >= 0 ? jdl_resource_names[i] : NULL;
	char *reason;

	if (!name || jdl_find_param(t->j, f->name) || jdl_find_used(t->j, f->name))
		return false;
	if (!conf_user_resource_allowed(t->req->srv->deps.conf, name))
		sbuf_addf(t->why, "%s: not allowed by the server configuration\n", name);
	else if (f->path)
		sbuf_addf(t->why, "%s: is not a file parameter\n", name);
	else if ((reason = jdl_resource_check(i, sbuf_str(&f->value)))) {
		sbuf_addf(t->why, "%s: %s\n", name, reason);
		free(reason);
	} else {
		set_param(t->job, name, sbuf_str(&f->value), false);
	}
	return true;
}

/* Every non-control field becomes a parameter of job; reasons collect in why. */
static void take_params(struct http_request *req, const struct jdl *j, struct uws_job *job,
			struct sbuf *why)
{
	struct take t = {.req = req, .j = j, .job = job, .why = why};

	for (size_t i = 0; i < req->nfields && !t.stop; i++) {
		if (!is_control(req->fields[i].name) && !take_resource(&t, &req->fields[i]))
			take_param(&t, &req->fields[i]);
	}
	for (size_t i = 0; i < t.nacc; i++) {
		if (!t.acc[i].upload)
			set_param(job, t.acc[i].name, sbuf_str(&t.acc[i].refs), false);
		sbuf_release(&t.acc[i].refs);
	}
	free(t.acc);
}

static void add_defaults(const struct jdl *j, struct uws_job *job)
{
	for (size_t i = 0; i < j->nparams; i++) {
		const struct jdl_param *p = &j->params[i];
		if (p->default_value && p->type != JDL_FILE && !uws_job_param(job, p->name))
			uws_job_add_param(job, p->name, p->default_value, false);
	}
}

/* At RUN: every required parameter is there, every input has enough values. */
static void check_required(const struct jdl *j, const struct uws_job *job, struct sbuf *why)
{
	for (size_t i = 0; i < j->nparams; i++) {
		if (j->params[i].required && !uws_job_param(job, j->params[i].name))
			sbuf_addf(why, "%s: required parameter missing\n", j->params[i].name);
	}
	for (size_t i = 0; i < j->nused; i++) {
		const struct jdl_entity *u = &j->used[i];
		struct input_count c = input_count_of(NULL, u);
		size_t n = input_values(uws_job_param(job, u->name));
		if (n < c.min)
			sbuf_addf(why, "%s: %s %zu input%s required (multiplicity %s), %zu given\n",
				  u->name, c.min == c.max ? "exactly" : "at least", c.min,
				  c.min == 1 ? "" : "s", u->multiplicity ? u->multiplicity : "1",
				  n);
	}
}

/* The field that staged the upload at path, or NULL. */
static struct http_field *staged_field(struct http_request *req, const char *path)
{
	for (size_t k = 0; k < req->nfields; k++) {
		if (req->fields[k].path && strcmp(req->fields[k].path, path) == 0)
			return &req->fields[k];
	}
	return NULL;
}

/* An upload just placed at dest becomes the entity the job uses as `role`
 * (its bytes were hashed as they came: no file is read here). */
static int upload_register(struct http_request *req, const struct http_field *f, const char *job_id,
			   const char *owner, const char *role, const char *dest)
{
	char *source = xasprintf("upload:%s", f && f->filename ? f->filename : "");
	struct store_entity e = {
	    .content_type = f ? f->content_type : NULL, .source = source, .owner = (char *)owner};
	char id[STORE_ENTITY_ID_LEN + 1];
	int ret = prov_input_add(req->srv->deps.prov, job_id, role, 0, dest,
				 f && f->sha256[0] ? f->sha256 : NULL, &e, id);

	if (ret)
		log_error("job %s: upload %s not recorded in the entity store", job_id, role);
	free(source);
	return ret;
}

/*
 * Moves staged uploads into the job directory, under the parameter's own
 * name, points the parameter at the absolute path and registers each as
 * an entity the job uses. The staged field forgets its path so it is not
 * unlinked at the end of the request.
 */
static int place_uploads(struct http_request *req, struct uws_job *job)
{
	char *dir = sched_job_dir(req->srv->deps.sched, job->id);
	int ret = 0;
	for (size_t i = 0; i < job->nparams && ret == 0; i++) {
		struct uws_param *p = &job->params[i];
		struct http_field *f;
		char *dest;
		if (!p->by_ref ||
		    strncmp(p->value, req->srv->upload_dir, strlen(req->srv->upload_dir)) != 0)
			continue;
		ret = mkdir_p(dir, 0750);
		dest = xasprintf("%s/%s", dir, p->name);
		if (ret == 0 && rename(p->value, dest) < 0) {
			log_error("rename %s: %s", dest, strerror(errno));
			ret = OPUS_ERR_IO;
		}
		f = staged_field(req, p->value);
		if (ret == 0)
			ret = upload_register(req, f, job->id, job->owner, p->name, dest);
		if (f) {
			free(f->path);
			f->path = NULL;
		}
		free(p->value);
		p->value = dest;
	}
	free(dir);
	return ret;
}

/* ---- control values ---- */

static int parse_duration(struct http_request *req, const char *v, int64_t *out)
{
	if (parse_int64(v, out) < 0 || *out < 0) {
		http_reply_text(req, 400,
				"EXECUTIONDURATION: \"%s\" is not a non-negative integer "
				"number of seconds\n",
				v);
		return OPUS_ERR_INVAL;
	}
	return 0;
}

static int parse_destruction(struct http_request *req, const char *v, int64_t *out)
{
	if (time_parse(v, out) < 0) {
		http_reply_text(req, 400, "DESTRUCTION: \"%s\" is not a date and time (%s)\n", v,
				TIME_PARSE_FORMS);
		return OPUS_ERR_INVAL;
	}
	return 0;
}

/* ---- job list and creation ---- */

/* A paging position (opusd's BEFORE and SINCE): a creationTime as the list
 * shows it, optionally followed by "," and the id of the job at that
 * position, which breaks ties between jobs created in the same millisecond
 * (a "," that is not followed by a job id is the time's decimal comma).
 * *id_out points into v (borrowed, as the field value). */
static int parse_position(const char *v, int64_t *ms_out, const char **id_out)
{
	const char *comma = strrchr(v, ',');
	char t[TIME_STR_MAX + 16];
	size_t tlen = strlen(v);
	*id_out = NULL;
	if (comma && uws_id_is_valid(comma + 1)) {
		tlen = (size_t)(comma - v);
		*id_out = comma + 1;
	}
	if (tlen == 0 || tlen >= sizeof(t))
		return OPUS_ERR_INVAL;
	memcpy(t, v, tlen);
	t[tlen] = '\0';
	if (time_parse(t, ms_out) < 0 || *ms_out <= 0)
		return OPUS_ERR_INVAL;
	return 0;
}

static int list_position(struct http_request *req, const char *name, const char *v, int64_t *ms_out,
			 const char **id_out)
{
	if (parse_position(v, ms_out, id_out) == 0)
		return 0;
	http_reply_text(req, 400,
			"%s: \"%s\" is not a list position: a job's creationTime, optionally "
			"followed by \",\" and its jobId (%s)\n",
			name, v, TIME_PARSE_FORMS);
	return OPUS_ERR_INVAL;
}

static int list_filter(struct http_request *req, struct store_filter *f)
{
	for (size_t i = 0; i < req->nfields; i++) {
		const struct http_field *fl = &req->fields[i];
		const char *v = sbuf_str(&fl->value);
		enum uws_phase ph;
		if (strcasecmp(fl->name, "PHASE") == 0) {
			if (uws_phase_parse(v, &ph) < 0) {
				http_reply_text(req, 400, "PHASE: unknown phase \"%s\"\n", v);
				return OPUS_ERR_INVAL;
			}
			f->phases |= 1u << ph;
		} else if (strcasecmp(fl->name, "AFTER") == 0 && time_parse(v, &f->after) < 0) {
			http_reply_text(req, 400, "AFTER: \"%s\" is not a date and time (%s)\n", v,
					TIME_PARSE_FORMS);
			return OPUS_ERR_INVAL;
		} else if (strcasecmp(fl->name, "LAST") == 0 &&
			   (parse_int64(v, &f->last) < 0 || f->last < 1)) {
			http_reply_text(req, 400, "LAST: \"%s\" is not a positive integer\n", v);
			return OPUS_ERR_INVAL;
		} else if (strcasecmp(fl->name, "BEFORE") == 0 ||
			   strcasecmp(fl->name, "SINCE") == 0) {
			bool before = strcasecmp(fl->name, "BEFORE") == 0;
			if (list_position(req, before ? "BEFORE" : "SINCE", v,
					  before ? &f->before : &f->since,
					  before ? &f->before_id : &f->since_id) < 0)
				return OPUS_ERR_INVAL;
		}
	}
	if (req->who.admin)
		f->owner = NULL;
	else if (req->who.anonymous)
		f->owner_is_null = true;
	else
		f->owner = req->who.name;
	return 0;
}

/* Answers the list of filter f's jobs (f's jobdef and jobdefs set; the
 * request's filters and owner are added here). */
static void rest_list_of(struct http_request *req, struct store_filter *f)
{
	struct uws_render r = render_ctx(req);
	struct uws_job *jobs = NULL;
	struct sbuf doc = SBUF_INIT;
	size_t n = 0;
	int ret;

	if (list_filter(req, f) < 0)
		return;
	ret = store_job_list(req->srv->deps.store, f, &jobs, &n);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot list jobs");
		return;
	}
	ret = req->want_json ? uws_joblist_json(&r, jobs, n, &doc)
			     : uws_joblist_xml(&r, jobs, n, &doc);
	store_jobs_free(jobs, n);
	http_reply_doc(req, &doc, ret);
}

static void rest_list(struct http_request *req)
{
	struct store_filter f = {.jobdef = JOBDEF};
	rest_list_of(req, &f);
}

/*
 * GET /rest (opusd extension): one list across every description, with the
 * filters and paging of /rest/{jobdef}, each job with its own jobdef in its
 * href (and in the JSON). Where permissions apply, only the descriptions the
 * caller may run and that are served: a job of any other stays out of reach,
 * as in its own list.
 */
static void rest_list_every(struct http_request *req)
{
	struct store_filter f = {0};
	char **names = NULL;
	size_t n = 0, kept = 0;

	if (http_perm_applies(req)) {
		names = jdl_registry_names(req->srv->deps.jdls, &n);
		for (size_t i = 0; i < n; i++) {
			if (name_is_safe(names[i], JDL_NAME_MAX) && http_may_run(req, names[i]))
				names[kept++] = names[i];
			else
				free(names[i]);
		}
		f.jobdefs = (const char *const *)(names ? names : (char *[]){NULL});
		f.njobdefs = kept;
	}
	rest_list_of(req, &f);
	for (size_t i = 0; i < kept; i++)
		free(names[i]);
	free(names);
}

/* Reads RUNID, EXECUTIONDURATION, DESTRUCTION and PHASE of a create request. */
static int create_controls(struct http_request *req, struct uws_job *job, bool *run)
{
	const char *v;
	if ((v = http_field_value(req, "RUNID")) && *v)
		job->run_id = xstrdup(v);
	if ((v = http_field_value(req, "EXECUTIONDURATION")) &&
	    parse_duration(req, v, &job->execution_duration) < 0)
		return OPUS_ERR_INVAL;
	if ((v = http_field_value(req, "DESTRUCTION"))) {
		if (parse_destruction(req, v, &job->destruction_time) < 0)
			return OPUS_ERR_INVAL;
		job->destruction_set = true;
	}
	v = http_field_value(req, "PHASE");
	*run = v && strcasecmp(v, "RUN") == 0;
	if (v && !*run) {
		http_reply_text(req, 400, "PHASE: only RUN may be given when creating a job\n");
		return OPUS_ERR_INVAL;
	}
	return 0;
}

static void rest_create(struct http_request *req)
{
	struct jdl *j = jdl_registry_get(req->srv->deps.jdls, JOBDEF);
	struct uws_job job = {0};
	struct sbuf why = SBUF_INIT;
	bool run = false;
	int ret;

	if (!j) {
		http_reply_text(req, 404, "no job description named %s\n", JOBDEF);
		return;
	}
	if (!http_check_enabled(req, JOBDEF) || !http_check_quota_create(req))
		goto done;
	if (create_controls(req, &job, &run) < 0)
		goto done;
	take_params(req, j, &job, &why);
	add_defaults(j, &job);
	if (run)
		check_required(j, &job, &why);
	if (why.len) {
		http_reply_text(req, 400, "%s", sbuf_str(&why));
		goto done;
	}
	uws_id_new(job.id);
	job.jobdef = xstrdup(JOBDEF);
	job.owner = req->who.anonymous ? NULL : xstrdup(req->who.name);
	ret = place_uploads(req, &job);
	if (ret == 0)
		ret = sched_job_create(req->srv->deps.sched, &job, run);
	if (ret < 0) {
		sched_job_dir_remove(req->srv->deps.sched, job.id);
		http_reply_error(req, ret,
				 ret == OPUS_ERR_BUSY ? "opusd is shutting down"
						      : "cannot create job");
		goto done;
	}
	http_reply_redirect(req, "/rest/%s/%s", JOBDEF, job.id);
done:
	sbuf_release(&why);
	uws_job_release(&job);
	jdl_unref(j);
}

/* ---- actions on one job ---- */

/* An upload of a parameter change, moved into the job directory only once
 * the change is committed (so that a refused change leaves the old file). */
struct placed {
	char *staged, *dest;
	const char *role; /* the parameter's name, borrowed from the changes */
	char *owner;	  /* the job's owner: the entity's */
	char id[UWS_ID_LEN + 1];
};

/* Points each staged upload of `changes` at its place in the job directory;
 * the files move there with move_uploads(). */
static size_t plan_uploads(struct http_request *req, struct uws_job *changes, struct placed **out)
{
	char *dir = sched_job_dir(req->srv->deps.sched, changes->id);
	const char *up = req->srv->upload_dir;
	struct uws_job job = {0};
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < changes->nparams; i++) {
		struct uws_param *p = &changes->params[i];
		if (!p->by_ref || strncmp(p->value, up, strlen(up)) != 0)
			continue;
		if (n == 0 && store_job_get(req->srv->deps.store, changes->id, &job) != 0)
			memset(&job, 0, sizeof(job));
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		(*out)[n].staged = p->value;
		(*out)[n].dest = xasprintf("%s/%s", dir, p->name);
		(*out)[n].role = p->name;
		(*out)[n].owner = job.owner ? xstrdup(job.owner) : NULL;
		memcpy((*out)[n].id, changes->id, sizeof((*out)[n].id));
		p->value = xstrdup((*out)[n].dest);
		n++;
	}
	uws_job_release(&job);
	free(dir);
	return n;
}

/* After the commit: the staged files take their place, replacing what the
 * parameter used before, and become entities (the staged field forgets its
 * path, so that it is not unlinked at the end of the request). */
static void move_uploads(struct http_request *req, struct placed *pl, size_t n, bool commit)
{
	for (size_t i = 0; i < n; i++) {
		struct http_field *f = commit ? staged_field(req, pl[i].staged) : NULL;
		if (commit && rename(pl[i].staged, pl[i].dest) < 0)
			log_error("rename %s: %s", pl[i].dest, strerror(errno));
		else if (commit &&
			 store_usages_clear(req->srv->deps.store, pl[i].id, pl[i].role) == 0)
			(void)upload_register(req, f, pl[i].id, pl[i].owner, pl[i].role,
					      pl[i].dest);
		if (f) {
			free(f->path);
			f->path = NULL;
		}
		free(pl[i].staged);
		free(pl[i].dest);
		free(pl[i].owner);
	}
	free(pl);
}

/* A POST to a job, parsed whole before anything changes. */
struct job_post {
	struct sched_change c;
	struct uws_job changes; /* the parameters given */
	struct sbuf why;	/* 400 reasons, one per line */
	struct jdl *j;		/* the job's own description version */
};

static void job_post_release(struct job_post *jp)
{
	uws_job_release(&jp->changes);
	sbuf_release(&jp->why);
	jdl_unref(jp->j);
}

/* At RUN, under the job's lock: every required parameter and input is there. */
static int check_run(void *ctx, const struct uws_job *job, const struct jdl *j)
{
	struct sbuf *why = ctx;
	if (!j)
		return 0; /* the start fails with the reason */
	check_required(j, job, why);
	return why->len ? OPUS_ERR_INVAL : 0;
}

/* Reads the control words: RUNID, EXECUTIONDURATION, DESTRUCTION, PHASE. */
static int post_controls(struct http_request *req, struct job_post *jp)
{
	const char *v;

	if ((v = http_field_value(req, "RUNID")))
		jp->c.run_id = v;
	if ((v = http_field_value(req, "EXECUTIONDURATION"))) {
		if (parse_duration(req, v, &jp->c.duration) < 0)
			return OPUS_ERR_INVAL;
		jp->c.set_duration = true;
	}
	if ((v = http_field_value(req, "DESTRUCTION"))) {
		if (parse_destruction(req, v, &jp->c.destruction) < 0)
			return OPUS_ERR_INVAL;
		jp->c.set_destruction = true;
	}
	if ((v = http_field_value(req, "PHASE"))) {
		if (strcasecmp(v, "RUN") == 0) {
			jp->c.action = SCHED_ACTION_RUN;
		} else if (strcasecmp(v, "ABORT") == 0) {
			jp->c.action = SCHED_ACTION_ABORT;
		} else {
			http_reply_text(req, 400, "PHASE: \"%s\" is neither RUN nor ABORT\n", v);
			return OPUS_ERR_INVAL;
		}
	}
	return 0;
}

static bool has_params(const struct http_request *req)
{
	for (size_t i = 0; i < req->nfields; i++) {
		if (!is_control(req->fields[i].name))
			return true;
	}
	return false;
}

/* Parses and checks the whole change against the job's own description
 * version; 0, or a reply was made. */
static int post_parse(struct http_request *req, const struct uws_job *job, struct job_post *jp)
{
	if (post_controls(req, jp) < 0)
		return OPUS_ERR_INVAL;
	if (has_params(req) || jp->c.action == SCHED_ACTION_RUN)
		jp->j = jdl_registry_get_version(req->srv->deps.jdls, job->jobdef, job->jdl_hash);
	if (has_params(req)) {
		if (!jp->j) {
			http_reply_text(req, 404,
					"the description version of this job (%s) is gone\n",
					job->jobdef);
			return OPUS_ERR_NOTFOUND;
		}
		take_params(req, jp->j, &jp->changes, &jp->why);
	}
	if (jp->why.len) {
		http_reply_text(req, 400, "%s", sbuf_str(&jp->why));
		return OPUS_ERR_INVAL;
	}
	jp->c.params = jp->changes.params;
	jp->c.nparams = jp->changes.nparams;
	if (jp->c.action == SCHED_ACTION_RUN) {
		jp->c.check = check_run;
		jp->c.check_ctx = &jp->why;
	}
	return 0;
}

/* The answer to a change sched refused. */
static void post_refused(struct http_request *req, const struct job_post *jp, int ret)
{
	bool pending_only = jp->c.nparams || jp->c.run_id || jp->c.set_duration;

	if (ret == OPUS_ERR_INVAL && jp->why.len)
		http_reply_text(req, 400, "%s", sbuf_str(&jp->why));
	else if (ret == OPUS_ERR_PHASE && pending_only)
		http_reply_error(req, ret,
				 "parameters, RUNID and EXECUTIONDURATION can change only while "
				 "PENDING; nothing was changed");
	else if (ret == OPUS_ERR_PHASE)
		http_reply_error(req, ret, "not allowed in the job's current phase");
	else if (ret == OPUS_ERR_NOTFOUND)
		http_reply_error(req, ret, "no such job");
	else if (ret == OPUS_ERR_BUSY)
		http_reply_error(req, ret, "opusd is shutting down");
	else
		http_reply_error(req, ret, "cannot change the job");
}

/* A RUN that would start the job: its description must be enabled (a job
 * created before it was disabled waits), and its owner under the bytes quota. */
static bool post_may_run(struct http_request *req, const struct uws_job *job,
			 const struct job_post *jp)
{
	if (jp->c.action != SCHED_ACTION_RUN || job->phase != UWS_PENDING)
		return true;
	return http_check_enabled(req, job->jobdef) && http_check_quota_run(req, job->owner);
}

static void post_delete(struct http_request *req, const struct uws_job *job, const char *v)
{
	int ret;

	if (strcasecmp(v, "DELETE") != 0) {
		http_reply_text(req, 400, "ACTION: \"%s\" is not DELETE\n", v);
		return;
	}
	ret = sched_job_delete(req->srv->deps.sched, job->id);
	if (ret < 0)
		http_reply_error(req, ret, "cannot delete job");
	else
		http_reply_redirect(req, "/rest/%s", JOBDEF);
}

/*
 * POST to the job or one of its children: parameters and the control words
 * RUNID, EXECUTIONDURATION, DESTRUCTION and PHASE, all checked first against
 * the job's own description version, then applied in one commit, or none.
 */
static void job_post(struct http_request *req, struct uws_job *job)
{
	struct job_post jp = {0};
	struct placed *pl = NULL;
	size_t npl = 0;
	const char *v;
	int ret;

	if ((v = http_field_value(req, "ACTION"))) {
		if (req->nsegs == 3)
			post_delete(req, job, v);
		else
			http_reply_text(req, 400,
					"ACTION: give it to the job itself, /rest/%s/%s\n", JOBDEF,
					JOBID);
		return;
	}
	if (post_parse(req, job, &jp) < 0 || !post_may_run(req, job, &jp))
		goto done;
	memcpy(jp.changes.id, job->id, sizeof(jp.changes.id));
	npl = plan_uploads(req, &jp.changes, &pl);
	jp.c.params = jp.changes.params;
	ret = sched_job_update(req->srv->deps.sched, job->id, &jp.c);
	move_uploads(req, pl, npl, ret == 0);
	if (ret < 0)
		post_refused(req, &jp, ret);
	else
		redirect_job(req);
done:
	job_post_release(&jp);
}

/* ---- WAIT ---- */

static void on_wake(void *ctx)
{
	struct http_request *req = ctx;
	struct MHD_Connection *conn = req->conn;
	bool resume;
	pthread_mutex_lock(&req->lock);
	req->woken = true;
	resume = req->suspended;
	pthread_mutex_unlock(&req->lock);
	/* req may be freed as soon as the connection resumes: touch nothing after. */
	if (resume)
		MHD_resume_connection(conn);
}

/* Returns true when the request is now suspended waiting for a phase change. */
static bool wait_begin(struct http_request *req, const struct uws_job *job)
{
	const char *wait = http_field_value(req, "WAIT");
	const char *guard = http_field_value(req, "PHASE");
	int64_t secs, cap = req->srv->deps.conf->wait_cap;
	enum uws_phase ph;
	int ret;

	if (!wait)
		return false;
	if (parse_int64(wait, &secs) < 0 || secs < -1) {
		http_reply_text(req, 400, "WAIT: \"%s\" is not -1 or a number of seconds\n", wait);
		return true;
	}
	if (guard && uws_phase_parse(guard, &ph) < 0) {
		http_reply_text(req, 400, "PHASE: unknown phase \"%s\"\n", guard);
		return true;
	}
	if (secs == -1 || secs > cap)
		secs = cap;
	if (secs == 0 || !uws_phase_is_active(job->phase) || (guard && ph != job->phase))
		return false;
	pthread_mutex_lock(&req->lock);
	ret = sched_wait(req->srv->deps.sched, job->id, job->phase, secs * 1000, on_wake, req);
	if (ret == 0) {
		snprintf(req->wait_job, sizeof(req->wait_job), "%s", job->id);
		req->waiting = true;
		if (!req->wait_counted) {
			req->wait_counted = true;
			atomic_fetch_add(&req->srv->waiting, 1);
		}
		MHD_suspend_connection(req->conn);
		req->suspended = true;
	}
	pthread_mutex_unlock(&req->lock);
	return ret == 0;
}

void http_wait_done(struct http_request *req)
{
	if (req->wait_counted) {
		req->wait_counted = false;
		atomic_fetch_sub(&req->srv->waiting, 1);
	}
}

void http_wait_resume(struct http_request *req)
{
	struct uws_job job = {0};
	req->waiting = false;
	if (job_load(req, &job) < 0)
		return;
	reply_job(req, &job);
	uws_job_release(&job);
}

/* ---- the resources ---- */

static void rest_job(struct http_request *req, struct uws_job *job)
{
	if (is_get(req)) {
		if (!wait_begin(req, job))
			reply_job(req, job);
	} else if (req->method == HTTP_POST) {
		job_post(req, job);
	} else if (req->method == HTTP_DELETE) {
		int ret = sched_job_delete(req->srv->deps.sched, job->id);
		if (ret < 0)
			http_reply_error(req, ret, "cannot delete job");
		else
			http_reply_redirect(req, "/rest/%s", JOBDEF);
	} else {
		reply_405(req, "GET, HEAD, POST, DELETE");
	}
}

static void reply_value(struct http_request *req, const char *key, const char *value, bool number)
{
	if (req->want_json) {
		struct sbuf doc = SBUF_INIT;
		http_reply_doc(req, &doc, uws_value_json(key, value, number, &doc));
	} else {
		http_reply_text(req, 200, "%s", value ? value : "");
	}
}

static void reply_time(struct http_request *req, const char *key, int64_t ms)
{
	char t[TIME_STR_MAX] = "";
	if (ms)
		time_format(ms, t);
	reply_value(req, key, ms ? t : NULL, false);
}

/* Single-valued children: GET renders the value, POST sets it (where allowed). */
static void rest_child_value(struct http_request *req, struct uws_job *job, const char *child)
{
	char num[32];
	bool settable = !strcmp(child, "phase") || !strcmp(child, "executionduration") ||
			!strcmp(child, "destruction");
	if (req->method == HTTP_POST && settable) {
		/* POST to /phase must say which phase: an empty form changes nothing. */
		const char *key = !strcmp(child, "phase")	  ? "PHASE"
				  : !strcmp(child, "destruction") ? "DESTRUCTION"
								  : "EXECUTIONDURATION";
		const char *v = http_field_value(req, key);
		if (!v || !*v)
			http_reply_text(req, 400, "%s: a value is required\n", key);
		else
			job_post(req, job);
		return;
	}
	if (!is_get(req)) {
		reply_405(req, settable ? "GET, HEAD, POST" : "GET, HEAD");
		return;
	}
	if (!strcmp(child, "phase")) {
		reply_value(req, "phase", uws_phase_name(job->phase), false);
	} else if (!strcmp(child, "executionduration")) {
		snprintf(num, sizeof(num), "%lld", (long long)job->execution_duration);
		reply_value(req, "executionDuration", num, true);
	} else if (!strcmp(child, "destruction")) {
		reply_time(req, "destruction", job->destruction_time);
	} else if (!strcmp(child, "quote")) {
		reply_time(req, "quote", uws_job_quote_time(job));
	} else if (!strcmp(child, "owner")) {
		reply_value(req, "ownerId", job->owner, false);
	} else {
		reply_value(req, "errorSummary", job->error_summary, false);
	}
}

static void rest_list_child(struct http_request *req, struct uws_job *job, const char *child)
{
	struct uws_render r = render_ctx(req);
	struct sbuf doc = SBUF_INIT;
	bool params = strcmp(child, "parameters") == 0;
	int ret;

	if (params && req->method == HTTP_POST) {
		job_post(req, job);
		return;
	}
	if (!is_get(req)) {
		reply_405(req, params ? "GET, HEAD, POST" : "GET, HEAD");
		return;
	}
	if (params)
		ret =
		    req->want_json ? uws_params_json(&r, job, &doc) : uws_params_xml(&r, job, &doc);
	else
		ret = req->want_json ? uws_results_json(&r, job, &doc)
				     : uws_results_xml(&r, job, &doc);
	http_reply_doc(req, &doc, ret);
}

static void rest_item(struct http_request *req, struct uws_job *job)
{
	const char *kind = req->segs[3], *name = req->segs[4];
	if (!is_get(req)) {
		reply_405(req, "GET, HEAD");
		return;
	}
	if (strcmp(kind, "parameters") == 0) {
		const struct uws_param *p = uws_job_param(job, name);
		if (!p) {
			http_reply_text(req, 404, "no parameter %s\n", name);
		} else if (p->by_ref) {
			req->reply.status = 200;
			req->reply.content_type = "application/octet-stream";
			req->reply.file_path = xstrdup(p->value);
		} else {
			http_reply_text(req, 200, "%s", p->value);
		}
	} else if (strcmp(kind, "results") == 0) {
		const struct uws_result *res = uws_job_result(job, name);
		struct uws_render r = render_ctx(req);
		char *dir;
		if (!res && uws_prov_link_mime(name) && uws_prov_links_shown(&r, job)) {
			http_job_prov(req, JOBDEF, JOBID, name);
			return;
		}
		if (!res || !uws_results_shown(job)) {
			http_reply_text(req, 404, "no result %s%s\n", name,
					res ? " (the job is ARCHIVED: its files are gone)" : "");
			return;
		}
		if (res->entity_id)
			http_reply_provenance(req, http_entity_prov_url(req, res->entity_id));
		dir = sched_job_dir(req->srv->deps.sched, job->id);
		req->reply.status = 200;
		req->reply.content_type = "application/octet-stream";
		req->reply.content_type_owned = xstrdup(res->mime);
		req->reply.file_path = xasprintf("%s/%s", dir, res->path);
		free(dir);
	} else {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
	}
}

static const char *const value_children[] = {
    "phase", "executionduration", "destruction", "quote", "owner", "error"};

static void rest_child(struct http_request *req, struct uws_job *job)
{
	const char *child = req->segs[3];
	for (size_t i = 0; i < OPUS_ARRAY_LEN(value_children); i++) {
		if (strcmp(child, value_children[i]) == 0) {
			rest_child_value(req, job, child);
			return;
		}
	}
	if (!strcmp(child, "parameters") || !strcmp(child, "results"))
		rest_list_child(req, job, child);
	else
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
}

void http_rest(struct http_request *req)
{
	struct uws_job job = {0};
	if (req->nsegs == 1) {
		if (is_get(req))
			rest_list_every(req);
		else
			reply_405(req, "GET, HEAD");
		return;
	}
	if (!name_is_safe(JOBDEF, JDL_NAME_MAX)) {
		http_reply_text(req, 404, "no job description named %s\n", JOBDEF);
		return;
	}
	/* a description not granted is out of reach: its list, its jobs, their
	 * results, parameters and provenance */
	if (!http_check_run(req, JOBDEF))
		return;
	if (req->nsegs == 2) {
		if (is_get(req)) {
			struct jdl *j = jdl_registry_get(req->srv->deps.jdls, JOBDEF);
			if (j)
				rest_list(req);
			else
				http_reply_text(req, 404, "no job description named %s\n", JOBDEF);
			jdl_unref(j);
		} else if (req->method == HTTP_POST) {
			rest_create(req);
		} else {
			reply_405(req, "GET, HEAD, POST");
		}
		return;
	}
	if (req->nsegs == 4 && http_is_prov_child(req->segs[3])) {
		/* also for a deleted job: its provenance stays */
		http_job_prov(req, JOBDEF, JOBID, req->segs[3]);
		return;
	}
	if (job_load(req, &job) < 0)
		return;
	if (req->nsegs == 3)
		rest_job(req, &job);
	else if (req->nsegs == 4)
		rest_child(req, &job);
	else if (!strcmp(req->segs[3], "parameters") || !strcmp(req->segs[3], "results"))
		rest_item(req, &job);
	else
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
	uws_job_release(&job);
}
