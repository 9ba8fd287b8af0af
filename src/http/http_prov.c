/*
 * http_prov: provenance over HTTP. GET /provsap answers ProvSAP queries
 * (OPUS's parameters, parsed by prov_query_parse, rendered by prov_render);
 * a job's /rest/{jobdef}/{id}/prov takes the same parameters with ID fixed
 * to the job, and OPUS's provjson, provxml, provsvg (plus provn) fix the
 * format too. Reads only: one by-id lookup, then the lineage queries of
 * prov_render; nothing scans the store on a request thread.
 */
#include "http/http-int.h"

#include <stdlib.h>
#include <string.h>

/* A job's provenance resources and the format each one fixes. */
static const struct {
	const char *child;
	bool fixed;
	enum prov_format format;
} prov_children[] = {
    {"prov", false, PROV_FMT_SVG},   {"provjson", true, PROV_FMT_JSON},
    {"provxml", true, PROV_FMT_XML}, {"provsvg", true, PROV_FMT_SVG},
    {"provn", true, PROV_FMT_N},
};

static int prov_child_index(const char *child)
{
	for (size_t i = 0; child && i < OPUS_ARRAY_LEN(prov_children); i++) {
		if (strcmp(prov_children[i].child, child) == 0)
			return (int)i;
	}
	return -1;
}

bool http_is_prov_child(const char *child)
{
	return prov_child_index(child) >= 0;
}

char *http_job_prov_url(const struct http_request *req, const char *jobdef, const char *job_id)
{
	/* jobdef is a safe name ([A-Za-z0-9_-]) and job_id 32 hex digits: no escaping */
	return xasprintf("%s/rest/%s/%s/prov", req->srv->deps.conf->base_url, jobdef, job_id);
}

char *http_entity_prov_url(const struct http_request *req, const char *entity_id)
{
	return xasprintf("%s/provsap?ID=%s", req->srv->deps.conf->base_url, entity_id);
}

static bool is_get(const struct http_request *req)
{
	return req->method == HTTP_GET || req->method == HTTP_HEAD;
}

/*
 * The query of the request's arguments (uploads have none). 0, or a 400
 * naming the parameter was made. fixed_id: the job of a per-job URL.
 */
static int query_parse(struct http_request *req, const char *fixed_id, struct prov_query *q)
{
	const char **names = xcalloc(req->nfields + 1, sizeof(*names));
	const char **values = xcalloc(req->nfields + 1, sizeof(*values));
	char *why = NULL;
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < req->nfields; i++) {
		if (req->fields[i].path)
			continue;
		names[n] = req->fields[i].name;
		values[n++] = sbuf_str(&req->fields[i].value);
	}
	ret = prov_query_parse(req->srv->deps.prov, names, values, n, fixed_id, q, &why);
	if (ret == OPUS_ERR_INVAL)
		http_reply_text(req, 400, "%s\n", why ? why : "bad ProvSAP parameter");
	else if (ret < 0)
		http_reply_error(req, ret, "cannot read the ProvSAP parameters");
	free(why);
	free(names);
	free(values);
	return ret;
}

/* Renders q for the caller; 404 when an id is unknown or not the caller's. */
static void reply_document(struct http_request *req, const struct prov_query *q)
{
	struct sbuf doc = SBUF_INIT;
	const char *ctype = NULL;
	const char *user = req->who.anonymous ? NULL : req->who.name;
	int ret = prov_render(req->srv->deps.prov, q, user, req->who.admin, &doc, &ctype);

	if (ret == 0 && doc.err)
		ret = doc.err;
	if (ret < 0) {
		sbuf_release(&doc);
		if (ret == OPUS_ERR_NOTFOUND)
			http_reply_text(req, 404, "ID: no such job or entity (or not yours)\n");
		else if (ret == OPUS_ERR_TOOBIG)
			http_reply_text(
			    req, 413,
			    "the provenance document is too large in this format "
			    "(PROV-PNG: up to %d elements; PROV-SVG: up to %d, summarised "
			    "past %d): ask for a smaller DEPTH, or RESPONSEFORMAT=PROV-SVG, "
			    "PROV-JSON, PROV-XML or PROV-N\n",
			    PROV_DRAW_DOT_MAX, PROV_DRAW_MAX_NODES, PROV_DRAW_DOT_MAX);
		else
			http_reply_error(req, ret, "cannot build the provenance document");
		return;
	}
	sbuf_release(&req->reply.body);
	req->reply.body = doc;
	req->reply.status = 200;
	req->reply.content_type = ctype ? ctype : "application/octet-stream";
}

void http_provsap(struct http_request *req)
{
	struct prov_query q = {0};

	if (!req->srv->deps.prov) {
		http_reply_text(req, 404, "provenance is not served here\n");
		return;
	}
	if (query_parse(req, NULL, &q) == 0 && http_check_ids(req, q.ids, q.nids))
		reply_document(req, &q);
	prov_query_release(&q);
}

/* Answers 404 for a job row of another description or an unknown id. */
static void reply_no_job(struct http_request *req)
{
	http_reply_error(req, OPUS_ERR_NOTFOUND, "no such job");
}

/*
 * The job of a per-job URL may be seen: as /rest does for a job row (404
 * unknown or of another description, 403 another user's); a deleted job
 * (row gone, provenance kept) by its activity, 404 unless the caller's.
 * 0, or a reply was made.
 */
static int job_visible(struct http_request *req, const char *jobdef, const char *job_id)
{
	struct store *st = req->srv->deps.store;
	struct uws_job job = {0};
	struct store_activity act = {0};
	int ret = OPUS_ERR_NOTFOUND;

	if (!uws_id_is_valid(job_id)) {
		reply_no_job(req);
		return OPUS_ERR_NOTFOUND;
	}
	ret = store_job_get(st, job_id, &job);
	if (ret == 0) {
		ret = strcmp(job.jobdef, jobdef) != 0	       ? OPUS_ERR_NOTFOUND
		      : !auth_may_access(&req->who, job.owner) ? OPUS_ERR_FORBIDDEN
							       : 0;
		uws_job_release(&job);
	} else if (ret == OPUS_ERR_NOTFOUND) {
		ret = store_activity_get(st, job_id, &act);
		if (ret == 0 && (!act.jobdef || strcmp(act.jobdef, jobdef) != 0 ||
				 !auth_may_access(&req->who, act.owner)))
			ret = OPUS_ERR_NOTFOUND;
		store_activity_release(&act);
	}
	if (ret == OPUS_ERR_NOTFOUND)
		reply_no_job(req);
	else if (ret == OPUS_ERR_FORBIDDEN)
		http_reply_error(req, ret, "this job belongs to another user");
	else if (ret < 0)
		http_reply_error(req, ret, "cannot read job");
	return ret;
}

void http_job_prov(struct http_request *req, const char *jobdef, const char *job_id,
		   const char *child)
{
	int k = prov_child_index(child);
	struct prov_query q = {0};

	if (!is_get(req)) {
		req->reply.allow = "GET, HEAD";
		http_reply_text(req, 405, "method %s not allowed here (allowed: GET, HEAD)\n",
				req->method_name);
		return;
	}
	if (k < 0 || !req->srv->deps.prov) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		return;
	}
	if (job_visible(req, jobdef, job_id) < 0)
		return;
	if (query_parse(req, job_id, &q) == 0) {
		/* the URL's format wins over a RESPONSEFORMAT argument */
		if (prov_children[k].fixed)
			q.format = prov_children[k].format;
		reply_document(req, &q);
	}
	prov_query_release(&q);
}
