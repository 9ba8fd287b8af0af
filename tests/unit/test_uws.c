/*
 * Unit tests for src/uws: the phase table, ids, the job record, and every
 * XML document validated against tests/schemas/uws/UWS-1.1.xsd (resolved
 * offline through tests/schemas/uws/catalog.xml), plus the JSON view parsed
 * back with jansson. Run from the repository root.
 */
#include "check.h"
#include "uws/uws.h"

#include <jansson.h>
#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>

#define SCHEMA_DIR "tests/schemas/uws/"
#define T0	   1764000000123LL /* 2025-11-24T16:00:00.123Z */

static const struct uws_render render = {.base_url = "http://127.0.0.1:8080"};
static xmlDocPtr schema_doc;
static xmlSchemaPtr schema;

/* Prints validation errors unless the test expects some. */
#if LIBXML_VERSION >= 21200
static void on_invalid(void *quiet, const xmlError *err)
#else
static void on_invalid(void *quiet, xmlErrorPtr err)
#endif
{
	if (!*(bool *)quiet)
		fprintf(stderr, "schema: line %d: %s", err->line, err->message);
}

/* 0 when xml is well-formed and valid against UWS-1.1.xsd. */
static int xml_validate(const char *xml, bool quiet)
{
	xmlDocPtr doc;
	xmlSchemaValidCtxtPtr v;
	int rc;
	if (!schema)
		return -1;
	doc = xmlReadMemory(xml, (int)strlen(xml), "mem.xml", NULL, XML_PARSE_NONET);
	if (!doc)
		return -1;
	v = xmlSchemaNewValidCtxt(schema);
	xmlSchemaSetValidStructuredErrors(v, on_invalid, &quiet);
	rc = xmlSchemaValidateDoc(v, doc);
	xmlSchemaFreeValidCtxt(v);
	xmlFreeDoc(doc);
	return rc;
}

/* The string value of an XPath expression over xml (uws and xlink prefixes
 * bound); caller frees. */
static char *xpath_str(const char *xml, const char *expr)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "mem.xml", NULL, XML_PARSE_NONET);
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr res;
	char *out = NULL;
	if (!doc)
		return NULL;
	ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "uws", BAD_CAST "http://www.ivoa.net/xml/UWS/v1.0");
	xmlXPathRegisterNs(ctx, BAD_CAST "xlink", BAD_CAST "http://www.w3.org/1999/xlink");
	xmlXPathRegisterNs(ctx, BAD_CAST "xsi",
			   BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
	res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	if (res && res->type == XPATH_STRING)
		out = xstrdup((const char *)res->stringval);
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

#define CHECK_XPATH(xml, expr, want)                                                               \
	do {                                                                                       \
		char *got_ = xpath_str(xml, "string(" expr ")");                                   \
		CHECK_STR(got_, want);                                                             \
		free(got_);                                                                        \
	} while (0)

static const char special[] = "<a & \"b\" 'c'> é";

/* Every field set: params inline, by reference and unrepresentable, results
 * with and without size and type, an error summary, every time. */
static void full_job(struct uws_job *job)
{
	memset(job, 0, sizeof(*job));
	uws_id_new(job->id);
	job->jobdef = xstrdup("copy");
	job->owner = xstrdup("alice");
	job->run_id = xstrdup("run 1");
	job->phase = UWS_ERROR;
	job->creation_time = T0;
	job->start_time = T0 + 1000;
	job->end_time = T0 + 61000;
	job->destruction_time = T0 + 30LL * 86400 * 1000;
	job->execution_duration = 3600;
	job->quote = 120;
	job->error_summary = xstrdup("exit code 2 <oops> & \"more\"");
	job->error_type = UWS_ERROR_FATAL;
	uws_job_add_param(job, "n", "42", false);
	uws_job_add_param(job, "label", special, false);
	uws_job_add_param(job, "infile", "input/infile.fits", true);
	uws_job_add_param(job, "raw", "a\x01z", false);
	uws_job_add_param(job, "empty", "", false);
	uws_job_add_result(job, "stdout", "stdout", "text/plain", 12);
	uws_job_add_result(job, "out.fits", "out.fits", "application/fits", 2880);
	uws_job_add_result(job, "odd id&<\"", "odd", NULL, -1);
}

/* A fresh PENDING job: no owner, no run id, nothing but its creation. */
static void bare_job(struct uws_job *job, int64_t created)
{
	memset(job, 0, sizeof(*job));
	uws_id_new(job->id);
	job->jobdef = xstrdup("copy");
	job->phase = UWS_PENDING;
	job->creation_time = created;
}

TEST(phase_names_and_parse)
{
	enum uws_phase p = UWS_PENDING;
	CHECK_STR(uws_phase_name(UWS_EXECUTING), "EXECUTING");
	CHECK_STR(uws_phase_name(UWS_ARCHIVED), "ARCHIVED");
	CHECK_STR(uws_phase_name((enum uws_phase)99), "UNKNOWN");
	CHECK(uws_phase_parse("executing", &p) == 0 && p == UWS_EXECUTING);
	CHECK(uws_phase_parse("Held", &p) == 0 && p == UWS_HELD);
	CHECK(uws_phase_parse("ARCHIVED", &p) == 0 && p == UWS_ARCHIVED);
	CHECK(uws_phase_parse("RUN", &p) == OPUS_ERR_INVAL);
	CHECK(uws_phase_parse("", &p) == OPUS_ERR_INVAL);
	CHECK(uws_phase_parse("PENDING ", &p) == OPUS_ERR_INVAL);
	CHECK(uws_phase_parse(NULL, &p) == OPUS_ERR_INVAL);
	for (int i = 0; i < UWS_PHASE_COUNT; i++) {
		CHECK(uws_phase_parse(uws_phase_name((enum uws_phase)i), &p) == 0);
		CHECK(p == (enum uws_phase)i);
	}
}

TEST(phase_transitions)
{
	/* Allowed: the UWS 1.1 diagram and opusd's documented edges. */
	CHECK(uws_phase_can(UWS_PENDING, UWS_QUEUED));
	CHECK(uws_phase_can(UWS_PENDING, UWS_EXECUTING));
	CHECK(uws_phase_can(UWS_PENDING, UWS_ABORTED));
	CHECK(uws_phase_can(UWS_PENDING, UWS_ERROR));
	CHECK(uws_phase_can(UWS_PENDING, UWS_ARCHIVED));
	CHECK(uws_phase_can(UWS_QUEUED, UWS_EXECUTING));
	CHECK(uws_phase_can(UWS_QUEUED, UWS_ABORTED));
	CHECK(uws_phase_can(UWS_EXECUTING, UWS_COMPLETED));
	CHECK(uws_phase_can(UWS_EXECUTING, UWS_ERROR));
	CHECK(uws_phase_can(UWS_EXECUTING, UWS_ABORTED));
	CHECK(uws_phase_can(UWS_EXECUTING, UWS_SUSPENDED));
	CHECK(uws_phase_can(UWS_EXECUTING, UWS_QUEUED));
	CHECK(uws_phase_can(UWS_SUSPENDED, UWS_EXECUTING));
	CHECK(uws_phase_can(UWS_HELD, UWS_QUEUED));
	CHECK(uws_phase_can(UWS_COMPLETED, UWS_ARCHIVED));
	CHECK(uws_phase_can(UWS_ERROR, UWS_ARCHIVED));
	CHECK(uws_phase_can(UWS_ABORTED, UWS_ARCHIVED));
	/* Refused. */
	for (int i = 0; i < UWS_PHASE_COUNT; i++) {
		CHECK(!uws_phase_can((enum uws_phase)i, (enum uws_phase)i));
		CHECK(!uws_phase_can(UWS_ARCHIVED, (enum uws_phase)i));
		CHECK(!uws_phase_can((enum uws_phase)i, UWS_PENDING));
	}
	CHECK(!uws_phase_can(UWS_COMPLETED, UWS_EXECUTING));
	CHECK(!uws_phase_can(UWS_COMPLETED, UWS_ERROR));
	CHECK(!uws_phase_can(UWS_ABORTED, UWS_QUEUED));
	CHECK(!uws_phase_can(UWS_ERROR, UWS_COMPLETED));
	CHECK(!uws_phase_can(UWS_PENDING, UWS_COMPLETED));
	CHECK(!uws_phase_can(UWS_QUEUED, UWS_COMPLETED));
	CHECK(!uws_phase_can(UWS_QUEUED, UWS_ARCHIVED));
	CHECK(!uws_phase_can(UWS_EXECUTING, UWS_ARCHIVED));
	CHECK(!uws_phase_can(UWS_SUSPENDED, UWS_COMPLETED));
	CHECK(!uws_phase_can((enum uws_phase)99, UWS_QUEUED));
	CHECK(!uws_phase_can(UWS_PENDING, (enum uws_phase)99));
	/* Every final phase but ARCHIVED leads to ARCHIVED and nowhere else. */
	for (int i = 0; i < UWS_PHASE_COUNT; i++) {
		enum uws_phase p = (enum uws_phase)i;
		if (!uws_phase_is_final(p))
			continue;
		for (int j = 0; j < UWS_PHASE_COUNT; j++)
			CHECK(uws_phase_can(p, (enum uws_phase)j) ==
			      (p != UWS_ARCHIVED && j == UWS_ARCHIVED));
	}
}

TEST(phase_final_active)
{
	CHECK(uws_phase_is_final(UWS_COMPLETED));
	CHECK(uws_phase_is_final(UWS_ERROR));
	CHECK(uws_phase_is_final(UWS_ABORTED));
	CHECK(uws_phase_is_final(UWS_ARCHIVED));
	CHECK(!uws_phase_is_final(UWS_EXECUTING));
	CHECK(!uws_phase_is_final(UWS_HELD));
	CHECK(uws_phase_is_active(UWS_PENDING));
	CHECK(uws_phase_is_active(UWS_QUEUED));
	CHECK(uws_phase_is_active(UWS_EXECUTING));
	CHECK(!uws_phase_is_active(UWS_SUSPENDED));
	CHECK(!uws_phase_is_active(UWS_COMPLETED));
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(ids)
{
	enum { N = 2000 };
	char(*ids)[UWS_ID_LEN + 1] = xcalloc(N, sizeof(*ids));
	int dup = 0, bad = 0;
	for (int i = 0; i < N; i++) {
		uws_id_new(ids[i]);
		bad += !uws_id_is_valid(ids[i]);
	}
	qsort(ids, N, sizeof(*ids), cmp_ids);
	for (int i = 1; i < N; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	CHECK(bad == 0);
	CHECK(dup == 0);
	CHECK(strlen(ids[0]) == UWS_ID_LEN);
	free(ids);
	CHECK(uws_id_is_valid("0123456789abcdef0123456789abcdef"));
	CHECK(!uws_id_is_valid("0123456789ABCDEF0123456789abcdef"));
	/* OPUS's ids (uuid4 tails) as import-opus keeps them: 6 to 32 digits */
	CHECK(uws_id_is_valid("0123456789abcdef0123456789abcde"));
	CHECK(uws_id_is_valid("f755f0"));
	CHECK(uws_id_is_valid("43752df755f0"));
	CHECK(!uws_id_is_valid("755f0"));
	CHECK(!uws_id_is_valid("F755F0"));
	CHECK(!uws_id_is_valid("a1a7-43752df755f0"));
	CHECK(!uws_id_is_valid("f755f0/.."));
	CHECK(!uws_id_is_valid("0123456789abcdef0123456789abcdef0"));
	CHECK(!uws_id_is_valid("0123456789abcdef0123456789abcdeg"));
	CHECK(!uws_id_is_valid("../3456789abcdef0123456789abcdef"));
	CHECK(!uws_id_is_valid(""));
	CHECK(!uws_id_is_valid(NULL));
}

TEST(job_helpers)
{
	struct uws_job job, copy;
	full_job(&job);
	CHECK_STR(uws_job_param(&job, "LABEL")->value, special);
	CHECK(uws_job_param(&job, "InFile")->by_ref);
	CHECK(uws_job_param(&job, "missing") == NULL);
	CHECK(uws_job_param(&job, NULL) == NULL);
	CHECK(uws_job_result(&job, "STDOUT")->size == 12);
	CHECK(uws_job_result(&job, "nope") == NULL);
	CHECK(uws_job_quote_time(&job) == T0 + 1000 + 120000);

	memset(&copy, 0, sizeof(copy));
	uws_job_copy(&copy, &job);
	uws_job_release(&job);
	CHECK(job.params == NULL && job.nparams == 0 && job.jobdef == NULL);
	CHECK_STR(copy.jobdef, "copy");
	CHECK_STR(copy.owner, "alice");
	CHECK(copy.nparams == 5 && copy.nresults == 3);
	CHECK_STR(uws_job_param(&copy, "n")->value, "42");
	CHECK_STR(uws_job_result(&copy, "out.fits")->mime, "application/fits");
	CHECK(uws_job_result(&copy, "odd id&<\"")->mime == NULL);
	CHECK(copy.end_time == T0 + 61000);
	uws_job_release(&copy);
	uws_job_release(NULL);

	bare_job(&job, T0);
	CHECK(uws_job_quote_time(&job) == 0);
	job.quote = 10;
	CHECK(uws_job_quote_time(&job) == T0 + 10000);
	uws_job_release(&job);
}

TEST(hrefs)
{
	struct uws_job job;
	char *h;
	bare_job(&job, T0);
	strcpy(job.id, "0123456789abcdef0123456789abcdef");
	h = uws_href(&render, &job, NULL, NULL);
	CHECK_STR(h, "http://127.0.0.1:8080/rest/copy/0123456789abcdef0123456789abcdef");
	free(h);
	h = uws_href(&render, &job, "results", "a b/c?é");
	CHECK_STR(h, "http://127.0.0.1:8080/rest/copy/0123456789abcdef0123456789abcdef"
		     "/results/a%20b%2Fc%3F%C3%A9");
	free(h);
	h = uws_href(&render, &job, "parameters", NULL);
	CHECK_STR(h, "http://127.0.0.1:8080/rest/copy/0123456789abcdef0123456789abcdef/parameters");
	free(h);
	uws_job_release(&job);
}

TEST(schema_is_live)
{
	/* The validator must refuse what the schema refuses, or the tests below
	 * prove nothing. */
	CHECK(schema != NULL);
	CHECK(xml_validate("<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" "
			   "version=\"1.1\"/>",
			   false) == 0);
	CHECK(xml_validate("<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" "
			   "size=\"1\"/>",
			   true) != 0);
	CHECK(xml_validate("<uws:results xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" "
			   "xmlns:xlink=\"http://www.w3.org/1999/xlink\"><uws:result id=\"a\" "
			   "xlink:href=\"x\" xlink:type=\"bogus\"/></uws:results>",
			   true) != 0);
}

TEST(xml_full_job)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	const char *x;
	char want[256];
	full_job(&job);
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	x = sbuf_str(&sb);
	CHECK(xml_validate(x, false) == 0);
	CHECK(strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 38) == 0);
	CHECK_XPATH(x, "/uws:job/@version", "1.1");
	CHECK_XPATH(x, "/uws:job/uws:jobId", job.id);
	CHECK_XPATH(x, "/uws:job/uws:runId", "run 1");
	CHECK_XPATH(x, "/uws:job/uws:ownerId", "alice");
	CHECK_XPATH(x, "/uws:job/uws:phase", "ERROR");
	CHECK_XPATH(x, "/uws:job/uws:quote", "2025-11-24T16:02:01.123Z");
	CHECK_XPATH(x, "/uws:job/uws:creationTime", "2025-11-24T16:00:00.123Z");
	CHECK_XPATH(x, "/uws:job/uws:startTime", "2025-11-24T16:00:01.123Z");
	CHECK_XPATH(x, "/uws:job/uws:endTime", "2025-11-24T16:01:01.123Z");
	CHECK_XPATH(x, "/uws:job/uws:executionDuration", "3600");
	CHECK_XPATH(x, "/uws:job/uws:destruction", "2025-12-24T16:00:00.123Z");
	CHECK_XPATH(x, "count(/uws:job//@xsi:nil)", "0");
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='n']", "42");
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='label']", special);
	CHECK_XPATH(x, "count(/uws:job/uws:parameters/uws:parameter[@id='n']/@byReference)", "0");
	CHECK_XPATH(x, "count(//uws:parameter/@isPost)", "0");
	snprintf(want, sizeof(want), "%s/rest/copy/%s/parameters/infile", render.base_url, job.id);
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='infile']", want);
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='infile']/@byReference", "true");
	/* A control character cannot be XML text: served by reference instead. */
	snprintf(want, sizeof(want), "%s/rest/copy/%s/parameters/raw", render.base_url, job.id);
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='raw']", want);
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='raw']/@byReference", "true");
	CHECK_XPATH(x, "/uws:job/uws:parameters/uws:parameter[@id='empty']", "");
	snprintf(want, sizeof(want), "%s/rest/copy/%s/results/out.fits", render.base_url, job.id);
	CHECK_XPATH(x, "//uws:result[@id='out.fits']/@xlink:href", want);
	CHECK_XPATH(x, "//uws:result[@id='out.fits']/@size", "2880");
	CHECK_XPATH(x, "//uws:result[@id='out.fits']/@mime-type", "application/fits");
	CHECK_XPATH(x, "count(//uws:result[3]/@size)", "0");
	CHECK_XPATH(x, "count(//uws:result[3]/@mime-type)", "0");
	CHECK_XPATH(x, "//uws:result[3]/@id", "odd id&<\"");
	snprintf(want, sizeof(want), "%s/rest/copy/%s/results/odd%%20id%%26%%3C%%22",
		 render.base_url, job.id);
	CHECK_XPATH(x, "//uws:result[3]/@xlink:href", want);
	CHECK_XPATH(x, "/uws:job/uws:errorSummary/@type", "fatal");
	CHECK_XPATH(x, "/uws:job/uws:errorSummary/@hasDetail", "false");
	CHECK_XPATH(x, "/uws:job/uws:errorSummary/uws:message", "exit code 2 <oops> & \"more\"");
	/* Escaped in the text itself, not just parsed back. */
	CHECK(strstr(x, "&lt;a &amp; ") != NULL);
	CHECK(strstr(x, "odd id&amp;&lt;&quot;") != NULL);
	CHECK(strstr(x, "\x01") == NULL);
	sbuf_release(&sb);

	/* Transient errors, and a duration past xs:int still renders valid. */
	job.error_type = UWS_ERROR_TRANSIENT;
	job.execution_duration = INT64_C(1) << 40;
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "/uws:job/uws:errorSummary/@type", "transient");
	CHECK_XPATH(sbuf_str(&sb), "/uws:job/uws:executionDuration", "2147483647");
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(xml_bare_job)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	const char *x;
	bare_job(&job, T0);
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	x = sbuf_str(&sb);
	CHECK(xml_validate(x, false) == 0);
	CHECK_XPATH(x, "/uws:job/uws:phase", "PENDING");
	CHECK_XPATH(x, "count(/uws:job/uws:runId)", "0");
	CHECK_XPATH(x, "/uws:job/uws:ownerId/@xsi:nil", "true");
	CHECK_XPATH(x, "/uws:job/uws:quote/@xsi:nil", "true");
	CHECK_XPATH(x, "/uws:job/uws:startTime/@xsi:nil", "true");
	CHECK_XPATH(x, "/uws:job/uws:endTime/@xsi:nil", "true");
	CHECK_XPATH(x, "/uws:job/uws:destruction/@xsi:nil", "true");
	CHECK_XPATH(x, "/uws:job/uws:executionDuration", "0");
	CHECK_XPATH(x, "count(/uws:job/uws:parameters)", "1");
	CHECK_XPATH(x, "count(/uws:job/uws:results)", "1");
	CHECK_XPATH(x, "count(/uws:job/uws:errorSummary)", "0");
	sbuf_release(&sb);
	uws_job_release(&job);

	/* Not even a creation time, and an empty owner: still valid. */
	bare_job(&job, 0);
	job.owner = xstrdup("");
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "count(/uws:job/uws:creationTime)", "0");
	CHECK_XPATH(sbuf_str(&sb), "/uws:job/uws:ownerId/@xsi:nil", "true");
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(xml_every_phase)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	full_job(&job);
	for (int i = 0; i < UWS_PHASE_COUNT; i++) {
		job.phase = (enum uws_phase)i;
		sbuf_reset(&sb);
		CHECK(uws_job_xml(&render, &job, &sb) == 0);
		CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	}
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(xml_joblist)
{
	struct uws_job jobs[3];
	struct sbuf sb = SBUF_INIT;
	const char *x;
	char want[256];
	CHECK(uws_joblist_xml(&render, NULL, 0, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "/uws:jobs/@version", "1.1");
	CHECK_XPATH(sbuf_str(&sb), "count(/uws:jobs/*)", "0");
	sbuf_release(&sb);

	full_job(&jobs[0]);
	bare_job(&jobs[1], T0 + 5);
	bare_job(&jobs[2], 0);
	jobs[2].phase = UWS_EXECUTING;
	jobs[2].run_id = xstrdup(special);
	CHECK(uws_joblist_xml(&render, jobs, 3, &sb) == 0);
	x = sbuf_str(&sb);
	CHECK(xml_validate(x, false) == 0);
	CHECK_XPATH(x, "count(/uws:jobs/uws:jobref)", "3");
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[1]/@id", jobs[0].id);
	snprintf(want, sizeof(want), "%s/rest/copy/%s", render.base_url, jobs[0].id);
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[1]/@xlink:href", want);
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[1]/uws:phase", "ERROR");
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[1]/uws:ownerId", "alice");
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[1]/uws:creationTime", "2025-11-24T16:00:00.123Z");
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[2]/uws:ownerId/@xsi:nil", "true");
	CHECK_XPATH(x, "count(/uws:jobs/uws:jobref[2]/uws:runId)", "0");
	CHECK_XPATH(x, "/uws:jobs/uws:jobref[3]/uws:runId", special);
	CHECK_XPATH(x, "count(/uws:jobs/uws:jobref[3]/uws:creationTime)", "0");
	sbuf_release(&sb);
	for (int i = 0; i < 3; i++)
		uws_job_release(&jobs[i]);
}

TEST(xml_params_results)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	full_job(&job);
	CHECK(uws_params_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "count(/uws:parameters/uws:parameter)", "5");
	CHECK_XPATH(sbuf_str(&sb), "/uws:parameters/uws:parameter[@id='label']", special);
	sbuf_release(&sb);
	CHECK(uws_results_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "count(/uws:results/uws:result)", "3");
	CHECK_XPATH(sbuf_str(&sb), "/uws:results/uws:result[1]/@mime-type", "text/plain");
	sbuf_release(&sb);
	uws_job_release(&job);

	bare_job(&job, T0);
	CHECK(uws_params_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	sbuf_release(&sb);
	CHECK(uws_results_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(xml_bad_bytes_cleaned)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	bare_job(&job, T0);
	job.owner = xstrdup("bob\x02\xff");
	job.error_summary = xstrdup("bad \xc3\x28 utf8");
	uws_job_add_result(&job, "r\x1b", "r", "text/plain", 1);
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK_XPATH(sbuf_str(&sb), "/uws:job/uws:ownerId", "bob\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK_XPATH(sbuf_str(&sb), "//uws:message", "bad \xEF\xBF\xBD( utf8");
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(xml_sbuf_cap)
{
	struct uws_job job;
	struct sbuf sb;
	full_job(&job);
	sbuf_init(&sb, 64);
	CHECK(uws_job_xml(&render, &job, &sb) == OPUS_ERR_TOOBIG);
	sbuf_release(&sb);
	sbuf_init(&sb, 64);
	CHECK(uws_job_json(&render, &job, &sb) == OPUS_ERR_TOOBIG);
	sbuf_release(&sb);
	uws_job_release(&job);
}

static json_t *parse_json(const struct sbuf *sb)
{
	json_error_t err;
	json_t *j = json_loads(sbuf_str(sb), 0, &err);
	if (!j)
		fprintf(stderr, "json: %s: %s\n", err.text, sbuf_str(sb));
	return j;
}

static const char *jget_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

TEST(json_full_job)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	json_t *j, *params, *results, *err, *ref;
	char want[256];
	full_job(&job);
	CHECK(uws_job_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(j != NULL);
	CHECK(strchr(sbuf_str(&sb), '\n') == NULL);
	CHECK_STR(jget_str(j, "jobId"), job.id);
	CHECK_STR(jget_str(j, "runId"), "run 1");
	CHECK_STR(jget_str(j, "ownerId"), "alice");
	CHECK_STR(jget_str(j, "phase"), "ERROR");
	CHECK_STR(jget_str(j, "quote"), "2025-11-24T16:02:01.123Z");
	CHECK_STR(jget_str(j, "creationTime"), "2025-11-24T16:00:00.123Z");
	CHECK_STR(jget_str(j, "startTime"), "2025-11-24T16:00:01.123Z");
	CHECK_STR(jget_str(j, "endTime"), "2025-11-24T16:01:01.123Z");
	CHECK_STR(jget_str(j, "destruction"), "2025-12-24T16:00:00.123Z");
	CHECK(json_integer_value(json_object_get(j, "executionDuration")) == 3600);
	params = json_object_get(j, "parameters");
	CHECK(json_is_object(params) && json_object_size(params) == 5);
	CHECK_STR(jget_str(params, "n"), "42");
	CHECK_STR(jget_str(params, "label"), special);
	CHECK_STR(jget_str(params, "empty"), "");
	ref = json_object_get(params, "infile");
	CHECK(json_is_true(json_object_get(ref, "byReference")));
	snprintf(want, sizeof(want), "%s/rest/copy/%s/parameters/infile", render.base_url, job.id);
	CHECK_STR(jget_str(ref, "href"), want);
	ref = json_object_get(params, "raw");
	CHECK(json_is_true(json_object_get(ref, "byReference")));
	results = json_object_get(j, "results");
	CHECK(json_is_array(results) && json_array_size(results) == 3);
	CHECK_STR(jget_str(json_array_get(results, 1), "id"), "out.fits");
	CHECK_STR(jget_str(json_array_get(results, 1), "mime-type"), "application/fits");
	CHECK(json_integer_value(json_object_get(json_array_get(results, 1), "size")) == 2880);
	snprintf(want, sizeof(want), "%s/rest/copy/%s/results/out.fits", render.base_url, job.id);
	CHECK_STR(jget_str(json_array_get(results, 1), "href"), want);
	CHECK_STR(jget_str(json_array_get(results, 2), "id"), "odd id&<\"");
	CHECK(json_is_null(json_object_get(json_array_get(results, 2), "size")));
	CHECK(json_is_null(json_object_get(json_array_get(results, 2), "mime-type")));
	err = json_object_get(j, "errorSummary");
	CHECK_STR(jget_str(err, "type"), "fatal");
	CHECK(json_is_false(json_object_get(err, "hasDetail")));
	CHECK_STR(jget_str(err, "message"), "exit code 2 <oops> & \"more\"");
	json_decref(j);
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(json_bare_job)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	json_t *j;
	static const char *const nulls[] = {"runId",   "ownerId",     "quote",	     "startTime",
					    "endTime", "destruction", "errorSummary"};
	bare_job(&job, T0);
	CHECK(uws_job_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(j != NULL);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(nulls); i++) {
		CHECK(json_object_get(j, nulls[i]) != NULL);
		CHECK(json_is_null(json_object_get(j, nulls[i])));
	}
	CHECK_STR(jget_str(j, "phase"), "PENDING");
	CHECK(json_integer_value(json_object_get(j, "executionDuration")) == 0);
	CHECK(json_object_size(json_object_get(j, "parameters")) == 0);
	CHECK(json_array_size(json_object_get(j, "results")) == 0);
	json_decref(j);
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(json_joblist)
{
	struct uws_job jobs[3];
	struct sbuf sb = SBUF_INIT;
	json_t *j, *arr;
	char want[256];
	CHECK(uws_joblist_json(&render, NULL, 0, &sb) == 0);
	CHECK_STR(sbuf_str(&sb), "{\"jobs\":[]}");
	sbuf_release(&sb);

	full_job(&jobs[0]);
	bare_job(&jobs[1], T0);
	bare_job(&jobs[2], T0);
	jobs[2].run_id = xstrdup(special);
	CHECK(uws_joblist_json(&render, jobs, 3, &sb) == 0);
	j = parse_json(&sb);
	arr = json_object_get(j, "jobs");
	CHECK(json_array_size(arr) == 3);
	CHECK_STR(jget_str(json_array_get(arr, 0), "jobId"), jobs[0].id);
	snprintf(want, sizeof(want), "%s/rest/copy/%s", render.base_url, jobs[0].id);
	CHECK_STR(jget_str(json_array_get(arr, 0), "href"), want);
	CHECK_STR(jget_str(json_array_get(arr, 0), "phase"), "ERROR");
	CHECK_STR(jget_str(json_array_get(arr, 0), "ownerId"), "alice");
	CHECK_STR(jget_str(json_array_get(arr, 0), "creationTime"), "2025-11-24T16:00:00.123Z");
	CHECK(json_is_null(json_object_get(json_array_get(arr, 1), "ownerId")));
	CHECK(json_is_null(json_object_get(json_array_get(arr, 1), "runId")));
	CHECK_STR(jget_str(json_array_get(arr, 2), "runId"), special);
	json_decref(j);
	sbuf_release(&sb);
	for (int i = 0; i < 3; i++)
		uws_job_release(&jobs[i]);
}

TEST(json_params_results_values)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	json_t *j;
	full_job(&job);
	CHECK(uws_params_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK_STR(jget_str(json_object_get(j, "parameters"), "label"), special);
	json_decref(j);
	sbuf_release(&sb);
	CHECK(uws_results_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(json_array_size(json_object_get(j, "results")) == 3);
	json_decref(j);
	sbuf_release(&sb);
	uws_job_release(&job);

	CHECK(uws_value_json("phase", "EXECUTING", false, &sb) == 0);
	CHECK_STR(sbuf_str(&sb), "{\"phase\":\"EXECUTING\"}");
	sbuf_reset(&sb);
	CHECK(uws_value_json("executionDuration", "3600", true, &sb) == 0);
	CHECK_STR(sbuf_str(&sb), "{\"executionDuration\":3600}");
	sbuf_reset(&sb);
	CHECK(uws_value_json("quote", NULL, false, &sb) == 0);
	CHECK_STR(sbuf_str(&sb), "{\"quote\":null}");
	sbuf_reset(&sb);
	CHECK(uws_value_json("ratio", "0.5", true, &sb) == 0);
	CHECK_STR(sbuf_str(&sb), "{\"ratio\":0.5}");
	sbuf_reset(&sb);
	CHECK(uws_value_json("owner", special, false, &sb) == 0);
	j = parse_json(&sb);
	CHECK_STR(jget_str(j, "owner"), special);
	json_decref(j);
	sbuf_reset(&sb);
	CHECK(uws_value_json("x", "12abc", true, &sb) == OPUS_ERR_INVAL);
	CHECK(uws_value_json("x", "nan", true, &sb) == OPUS_ERR_INVAL);
	CHECK(uws_value_json("x", "", true, &sb) == OPUS_ERR_INVAL);
	CHECK(uws_value_json(NULL, "1", true, &sb) == OPUS_ERR_INVAL);
	CHECK(sb.len == 0);
	sbuf_release(&sb);
}

TEST(json_bad_bytes_cleaned)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	json_t *j;
	bare_job(&job, T0);
	job.owner = xstrdup("bob\xff");
	uws_job_add_param(&job, "bin", "\xc3\x28", false);
	CHECK(uws_job_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(j != NULL);
	CHECK_STR(jget_str(j, "ownerId"), "bob\xEF\xBF\xBD");
	CHECK(json_is_true(json_object_get(json_object_get(json_object_get(j, "parameters"), "bin"),
					   "byReference")));
	json_decref(j);
	sbuf_release(&sb);
	uws_job_release(&job);
}

/* Loads the schema with no network: the catalog maps the xlink import to the
 * local copy, and the no-net loader makes any other http URL fail. */
/* A finished job whose results were hashed and whose run was measured. */
static void hashed_job(struct uws_job *job, enum uws_phase phase)
{
	bare_job(job, T0);
	job->phase = phase;
	job->owner = xstrdup("alice");
	uws_job_add_result(job, "out", "out.txt", "text/plain", 6);
	uws_job_add_result(job, "stdout", "stdout", "text/plain", 0);
	job->results[0].entity_id = xstrdup("e0123456789abcdef0123456789abcdef");
	job->results[0].sha256 =
	    xstrdup("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	job->metrics = (struct uws_metrics){
	    .known = true, .wall_ms = 1500, .cpu_ms = 900, .max_rss_kb = 2048, .exit_code = 3};
}

static const struct uws_render render_links = {.base_url = "http://127.0.0.1:8080",
					       .result_links = true};

TEST(xml_result_entities)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	hashed_job(&job, UWS_COMPLETED);
	CHECK(uws_job_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK(strstr(sbuf_str(&sb), "xmlns:opus=\"urn:uwscustom\"") != NULL);
	CHECK(strstr(sbuf_str(&sb), "opus:entity_id=\"e0123456789abcdef0123456789abcdef\"") !=
	      NULL);
	CHECK(strstr(sbuf_str(&sb), "opus:sha256=\"5891b5b5") != NULL);
	CHECK_XPATH(sbuf_str(&sb), "count(//uws:result)", "2");
	sbuf_reset(&sb);
	CHECK(uws_results_xml(&render, &job, &sb) == 0);
	CHECK(xml_validate(sbuf_str(&sb), false) == 0);
	CHECK(strstr(sbuf_str(&sb), "opus:entity_id") != NULL);
	/* an attribute in any other namespace is refused by the schema: the check is live */
	CHECK(xml_validate("<uws:results xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" "
			   "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:o=\"urn:other\">"
			   "<uws:result id=\"a\" xlink:href=\"http://x/a\" o:sha256=\"1\"/>"
			   "</uws:results>",
			   true) != 0);
	sbuf_release(&sb);
	uws_job_release(&job);
}

TEST(result_links)
{
	static const enum uws_phase with[] = {UWS_COMPLETED, UWS_ERROR, UWS_ABORTED};
	static const enum uws_phase without[] = {UWS_PENDING, UWS_QUEUED, UWS_EXECUTING,
						 UWS_ARCHIVED};
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	char want[256];

	CHECK_STR(uws_prov_link_mime("provjson"), "application/json");
	CHECK_STR(uws_prov_link_mime("provsvg"), "image/svg+xml");
	CHECK(uws_prov_link_mime("provn") == NULL && uws_prov_link_mime("out") == NULL);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(with); i++) {
		hashed_job(&job, with[i]);
		CHECK(uws_prov_links_shown(&render_links, &job));
		CHECK(!uws_prov_links_shown(&render, &job));
		sbuf_reset(&sb);
		CHECK(uws_job_xml(&render_links, &job, &sb) == 0);
		CHECK(xml_validate(sbuf_str(&sb), false) == 0);
		CHECK_XPATH(sbuf_str(&sb), "count(//uws:result)", "5");
		snprintf(want, sizeof(want), "%s/rest/copy/%s/results/provxml", render.base_url,
			 job.id);
		CHECK_XPATH(sbuf_str(&sb), "//uws:result[@id='provxml']/@xlink:href", want);
		CHECK_XPATH(sbuf_str(&sb), "//uws:result[@id='provsvg']/@mime-type",
			    "image/svg+xml");
		sbuf_reset(&sb);
		CHECK(uws_results_json(&render_links, &job, &sb) == 0);
		CHECK(strstr(sbuf_str(&sb), "\"id\":\"provjson\"") != NULL);
		uws_job_release(&job);
	}
	for (size_t i = 0; i < OPUS_ARRAY_LEN(without); i++) {
		hashed_job(&job, without[i]);
		CHECK(!uws_prov_links_shown(&render_links, &job));
		sbuf_reset(&sb);
		CHECK(uws_job_xml(&render_links, &job, &sb) == 0);
		CHECK(xml_validate(sbuf_str(&sb), false) == 0);
		CHECK_XPATH(sbuf_str(&sb), "count(//uws:result)",
			    without[i] == UWS_ARCHIVED ? "0" : "2");
		uws_job_release(&job);
	}
	/* a real result of that name wins */
	hashed_job(&job, UWS_COMPLETED);
	uws_job_add_result(&job, "provjson", "provjson", "text/plain", 1);
	sbuf_reset(&sb);
	CHECK(uws_job_xml(&render_links, &job, &sb) == 0);
	CHECK_XPATH(sbuf_str(&sb), "count(//uws:result[@id='provjson'])", "1");
	CHECK_XPATH(sbuf_str(&sb), "//uws:result[@id='provjson']/@mime-type", "text/plain");
	uws_job_release(&job);
	sbuf_release(&sb);
}

TEST(json_entities_and_metrics)
{
	struct uws_job job;
	struct sbuf sb = SBUF_INIT;
	json_t *j, *res, *m;
	hashed_job(&job, UWS_ERROR);
	CHECK(uws_job_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	res = json_array_get(json_object_get(j, "results"), 0);
	CHECK_STR(jget_str(res, "entity_id"), "e0123456789abcdef0123456789abcdef");
	CHECK_STR(jget_str(res, "sha256"),
		  "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	res = json_array_get(json_object_get(j, "results"), 1);
	CHECK(json_is_null(json_object_get(res, "entity_id")));
	CHECK(json_is_null(json_object_get(res, "sha256")));
	m = json_object_get(j, "metrics");
	CHECK(json_integer_value(json_object_get(m, "wall_time_ms")) == 1500);
	CHECK(json_integer_value(json_object_get(m, "cpu_time_ms")) == 900);
	CHECK(json_integer_value(json_object_get(m, "peak_memory_kb")) == 2048);
	CHECK(json_integer_value(json_object_get(m, "exit_code")) == 3);
	json_decref(j);
	uws_job_release(&job);
	/* unknown metrics: null, the key still there */
	bare_job(&job, T0);
	sbuf_reset(&sb);
	CHECK(uws_job_json(&render, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(json_object_get(j, "metrics") && json_is_null(json_object_get(j, "metrics")));
	json_decref(j);
	uws_job_release(&job);
	/* an ARCHIVED job: no results, its files are gone */
	hashed_job(&job, UWS_ARCHIVED);
	sbuf_reset(&sb);
	CHECK(uws_job_json(&render_links, &job, &sb) == 0);
	j = parse_json(&sb);
	CHECK(json_array_size(json_object_get(j, "results")) == 0);
	json_decref(j);
	uws_job_release(&job);
	sbuf_release(&sb);
}

static void load_schema(void)
{
	xmlSchemaParserCtxtPtr pctxt;
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	if (xmlLoadCatalog(SCHEMA_DIR "catalog.xml") != 0) {
		fprintf(stderr, "cannot load " SCHEMA_DIR "catalog.xml (run from the repo root)\n");
		return;
	}
	schema_doc = xmlReadFile(SCHEMA_DIR "UWS-1.1.xsd", NULL, XML_PARSE_NONET);
	if (!schema_doc)
		return;
	pctxt = xmlSchemaNewDocParserCtxt(schema_doc);
	schema = xmlSchemaParse(pctxt);
	xmlSchemaFreeParserCtxt(pctxt);
}

int main(void)
{
	load_schema();
	RUN(phase_names_and_parse);
	RUN(phase_transitions);
	RUN(phase_final_active);
	RUN(ids);
	RUN(job_helpers);
	RUN(hrefs);
	RUN(schema_is_live);
	RUN(xml_full_job);
	RUN(xml_bare_job);
	RUN(xml_every_phase);
	RUN(xml_joblist);
	RUN(xml_params_results);
	RUN(xml_bad_bytes_cleaned);
	RUN(xml_sbuf_cap);
	RUN(json_full_job);
	RUN(json_bare_job);
	RUN(json_joblist);
	RUN(json_params_results_values);
	RUN(json_bad_bytes_cleaned);
	RUN(xml_result_entities);
	RUN(result_links);
	RUN(json_entities_and_metrics);
	xmlSchemaFree(schema);
	xmlFreeDoc(schema_doc);
	xmlCatalogCleanup();
	xmlCleanupParser();
	return CHECK_DONE();
}
