/*
 * uws_xml: UWS 1.1 XML documents (job, job list, parameters, results),
 * valid against UWS-1.1.xsd. Written with libxml2's xmlTextWriter, which
 * does the escaping; every string goes through uws_text_clean() first so
 * that no byte sequence a user sent can make the document ill-formed.
 * Element order and nillability follow the schema's sequences exactly; see
 * the comment above each writer.
 */
#include "uws/uws-int.h"

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define UWS_NS	 "http://www.ivoa.net/xml/UWS/v1.0"
#define XLINK_NS "http://www.w3.org/1999/xlink"
#define XSI_NS	 "http://www.w3.org/2001/XMLSchema-instance"
/* The one namespace whose attributes UWS-1.1.xsd lets a uws:result carry
 * (xs:anyAttribute namespace="urn:uwscustom"): its entity id and sha256. */
#define CUSTOM_NS "urn:uwscustom"

/*
 * A writer that remembers its first error, so the document writers below are
 * straight-line code checked once in xw_finish().
 */
struct xw {
	xmlBufferPtr buf;
	xmlTextWriterPtr w;
	int err;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xw_check(struct xw *x, int rc)
{
	if (rc < 0 && !x->err)
		x->err = OPUS_ERR_INTERNAL;
}

static void xw_start(struct xw *x, const char *name)
{
	if (!x->err)
		xw_check(x, xmlTextWriterStartElement(x->w, BAD_CAST name));
}

static void xw_end(struct xw *x)
{
	if (!x->err)
		xw_check(x, xmlTextWriterEndElement(x->w));
}

static void xw_attr(struct xw *x, const char *name, const char *value)
{
	char *clean;
	if (x->err)
		return;
	clean = uws_text_clean(value ? value : "");
	xw_check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST clean));
	free(clean);
}

static void xw_text(struct xw *x, const char *text)
{
	char *clean;
	if (x->err || !text || !*text)
		return;
	clean = uws_text_clean(text);
	xw_check(x, xmlTextWriterWriteString(x->w, BAD_CAST clean));
	free(clean);
}

static void xw_elem(struct xw *x, const char *name, const char *text)
{
	xw_start(x, name);
	xw_text(x, text);
	xw_end(x);
}

static void xw_nil(struct xw *x, const char *name)
{
	xw_start(x, name);
	xw_attr(x, "xsi:nil", "true");
	xw_end(x);
}

/* A nillable string element: xsi:nil when NULL or "". */
static void xw_elem_or_nil(struct xw *x, const char *name, const char *text)
{
	if (uws_str_set(text))
		xw_elem(x, name, text);
	else
		xw_nil(x, name);
}

/* A dateTime element; 0 is xsi:nil when nillable, else the element is left
 * out (creationTime: optional, not nillable). */
static void xw_time(struct xw *x, const char *name, int64_t ms, bool nillable)
{
	char t[TIME_STR_MAX];
	if (ms == 0) {
		if (nillable)
			xw_nil(x, name);
		return;
	}
	time_format(ms, t);
	xw_elem(x, name, t);
}

/* Starts a document whose root declares the namespaces we use (urn:uwscustom
 * only where results are: job and results documents). */
static void xw_open(struct xw *x, const char *root, bool version, bool custom)
{
	pthread_once(&xml_once, xmlInitParser);
	x->err = 0;
	x->w = NULL;
	x->buf = xmlBufferCreate();
	if (x->buf)
		x->w = xmlNewTextWriterMemory(x->buf, 0);
	if (!x->w) {
		x->err = OPUS_ERR_INTERNAL;
		return;
	}
	xw_check(x, xmlTextWriterSetIndent(x->w, 1));
	xw_check(x, xmlTextWriterSetIndentString(x->w, BAD_CAST "  "));
	xw_check(x, xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL));
	xw_start(x, root);
	xw_attr(x, "xmlns:uws", UWS_NS);
	xw_attr(x, "xmlns:xlink", XLINK_NS);
	xw_attr(x, "xmlns:xsi", XSI_NS);
	if (custom)
		xw_attr(x, "xmlns:opus", CUSTOM_NS);
	if (version)
		xw_attr(x, "version", "1.1");
}

/* Closes the document, appends it to out, frees the writer. */
static int xw_finish(struct xw *x, struct sbuf *out)
{
	int ret;
	if (x->w && !x->err)
		xw_check(x, xmlTextWriterEndDocument(x->w));
	if (x->w)
		xmlFreeTextWriter(x->w); /* flushes into buf */
	if (!x->err)
		sbuf_add(out, xmlBufferContent(x->buf), (size_t)xmlBufferLength(x->buf));
	if (x->buf)
		xmlBufferFree(x->buf);
	ret = x->err ? x->err : out->err;
	x->w = NULL;
	x->buf = NULL;
	return ret;
}

/* <uws:parameters>: uws:parameter* with id, byReference only when true
 * (isPost is never set: opusd does not keep the POST bodies). */
static void xml_params(struct xw *x, const struct uws_render *r, const struct uws_job *job)
{
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *p = &job->params[i];
		xw_start(x, "uws:parameter");
		xw_attr(x, "id", p->name);
		if (uws_param_by_ref(p)) {
			char *href = uws_href(r, job, "parameters", p->name);
			xw_attr(x, "byReference", "true");
			xw_text(x, href);
			free(href);
		} else {
			xw_text(x, p->value);
		}
		xw_end(x);
	}
}

static void xml_result(struct xw *x, const char *id, const char *href, int64_t size,
		       const char *mime)
{
	xw_start(x, "uws:result");
	xw_attr(x, "id", id);
	xw_attr(x, "xlink:href", href);
	if (size >= 0) {
		char num[24];
		snprintf(num, sizeof(num), "%lld", (long long)size);
		xw_attr(x, "size", num);
	}
	if (uws_str_set(mime))
		xw_attr(x, "mime-type", mime);
}

static void xml_prov_link(void *ctx, const char *id, const char *mime, const char *href)
{
	struct xw *x = ctx;
	xml_result(x, id, href, -1, mime);
	xw_end(x);
}

/* <uws:results>: uws:result* with id, xlink:href, size, mime-type, and
 * opus:entity_id, opus:sha256 (urn:uwscustom) when known; none for an
 * ARCHIVED job (its files are gone); then the provenance links. */
static void xml_results(struct xw *x, const struct uws_render *r, const struct uws_job *job)
{
	for (size_t i = 0; i < job->nresults && uws_results_shown(job); i++) {
		const struct uws_result *res = &job->results[i];
		char *href = uws_href(r, job, "results", res->id);
		xml_result(x, res->id, href, res->size, res->mime);
		if (uws_str_set(res->entity_id))
			xw_attr(x, "opus:entity_id", res->entity_id);
		if (uws_str_set(res->sha256))
			xw_attr(x, "opus:sha256", res->sha256);
		xw_end(x);
		free(href);
	}
	uws_prov_links_each(r, job, xml_prov_link, x);
}

/*
 * JobSummary: jobId, runId?, ownerId (nillable), phase, quote? (nillable),
 * creationTime?, startTime, endTime (nillable), executionDuration,
 * destruction (nillable), parameters?, results, errorSummary?, jobInfo?.
 */
int uws_job_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct xw x;
	char dur[24];
	/* xs:int: a larger duration than 68 years is "unlimited" in all but name. */
	int64_t d = job->execution_duration;
	d = d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : d;
	snprintf(dur, sizeof(dur), "%lld", (long long)d);

	xw_open(&x, "uws:job", true, true);
	xw_elem(&x, "uws:jobId", job->id);
	if (uws_str_set(job->run_id))
		xw_elem(&x, "uws:runId", job->run_id);
	xw_elem_or_nil(&x, "uws:ownerId", job->owner);
	xw_elem(&x, "uws:phase", uws_phase_name(job->phase));
	xw_time(&x, "uws:quote", uws_job_quote_time(job), true);
	xw_time(&x, "uws:creationTime", job->creation_time, false);
	xw_time(&x, "uws:startTime", job->start_time, true);
	xw_time(&x, "uws:endTime", job->end_time, true);
	xw_elem(&x, "uws:executionDuration", dur);
	xw_time(&x, "uws:destruction", job->destruction_time, true);
	xw_start(&x, "uws:parameters");
	xml_params(&x, r, job);
	xw_end(&x);
	xw_start(&x, "uws:results");
	xml_results(&x, r, job);
	xw_end(&x);
	if (job->error_summary) {
		xw_start(&x, "uws:errorSummary");
		xw_attr(&x, "type", job->error_type == UWS_ERROR_TRANSIENT ? "transient" : "fatal");
		xw_attr(&x, "hasDetail", "false");
		xw_elem(&x, "uws:message", job->error_summary);
		xw_end(&x);
	}
	xw_end(&x);
	return xw_finish(&x, out);
}

/* jobs: uws:jobref* (ShortJobDescription: id, xlink:href; phase, runId?,
 * ownerId? (nillable), creationTime?). */
int uws_joblist_xml(const struct uws_render *r, const struct uws_job *jobs, size_t n,
		    struct sbuf *out)
{
	struct xw x;
	xw_open(&x, "uws:jobs", true, false);
	for (size_t i = 0; i < n && !x.err; i++) {
		const struct uws_job *job = &jobs[i];
		char *href = uws_href(r, job, NULL, NULL);
		xw_start(&x, "uws:jobref");
		xw_attr(&x, "id", job->id);
		xw_attr(&x, "xlink:href", href);
		xw_elem(&x, "uws:phase", uws_phase_name(job->phase));
		if (uws_str_set(job->run_id))
			xw_elem(&x, "uws:runId", job->run_id);
		xw_elem_or_nil(&x, "uws:ownerId", job->owner);
		xw_time(&x, "uws:creationTime", job->creation_time, false);
		xw_end(&x);
		free(href);
	}
	xw_end(&x);
	return xw_finish(&x, out);
}

int uws_params_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct xw x;
	xw_open(&x, "uws:parameters", false, false);
	xml_params(&x, r, job);
	xw_end(&x);
	return xw_finish(&x, out);
}

int uws_results_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out)
{
	struct xw x;
	xw_open(&x, "uws:results", false, true);
	xml_results(&x, r, job);
	xw_end(&x);
	return xw_finish(&x, out);
}
