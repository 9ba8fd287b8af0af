/*
 * prov_xml.c: PROV-XML (W3C Note, valid against prov.xsd), written with
 * libxml2's xmlTextWriter (it escapes). Each record's children follow the
 * schema's sequence: the formal arguments (prov:ref), startTime/endTime or
 * time, then prov:label, prov:location, prov:role, prov:type, prov:value,
 * then the attributes of other namespaces. Typed values carry xsi:type,
 * plain strings none (python prov reads both back as the PROV-JSON ones).
 * Relations are anonymous (no prov:id), as in PROV-JSON's "_:" keys.
 */
#include "prov/prov-int.h"

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define XSD_NS "http://www.w3.org/2001/XMLSchema" /* without '#' in XML */

/* A writer that remembers its first error (as uws_xml.c's). */
struct xw {
	xmlTextWriterPtr w;
	int err;
};

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
	if (!x->err)
		xw_check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

static void xw_text(struct xw *x, const char *text)
{
	if (!x->err && text && *text)
		xw_check(x, xmlTextWriterWriteString(x->w, BAD_CAST text));
}

static void xw_ref(struct xw *x, const char *name, const char *ref)
{
	xw_start(x, name);
	xw_attr(x, "prov:ref", ref);
	xw_end(x);
}

static void xw_time(struct xw *x, const char *name, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0)
		return;
	time_format(ms, buf);
	xw_start(x, name);
	xw_text(x, buf);
	xw_end(x);
}

static void attr_elem(struct xw *x, const struct prov_attr *a)
{
	static const char *const xsd[] = {
	    [PROV_V_LONG] = "xsd:long",	    [PROV_V_BOOL] = "xsd:boolean",
	    [PROV_V_TIME] = "xsd:dateTime", [PROV_V_QNAME] = "xsd:QName",
	    [PROV_V_URI] = "xsd:anyURI",
	};

	xw_start(x, a->name);
	if (a->type != PROV_V_STRING)
		xw_attr(x, "xsi:type", xsd[a->type]);
	xw_text(x, a->value);
	xw_end(x);
}

/* The attributes in the schema's order: PROV's first, in this order, then
 * the others as they come. */
static void attrs(struct xw *x, const struct prov_rec *r)
{
	static const char *const order[] = {"prov:label", "prov:location", "prov:role", "prov:type",
					    "prov:value"};

	for (size_t o = 0; o < OPUS_ARRAY_LEN(order); o++)
		for (size_t i = 0; i < r->nattrs; i++)
			if (!strcmp(r->attrs[i].name, order[o]))
				attr_elem(x, &r->attrs[i]);
	for (size_t i = 0; i < r->nattrs; i++)
		if (strncmp(r->attrs[i].name, "prov:", 5))
			attr_elem(x, &r->attrs[i]);
}

static void record(struct xw *x, const struct prov_rec *r)
{
	char name[40];

	snprintf(name, sizeof(name), "prov:%s", prov_kind_name(r->kind));
	xw_start(x, name);
	if (r->id)
		xw_attr(x, "prov:id", r->id);
	for (int i = 0; i < 3; i++)
		if (r->args[i] && prov_kind_arg(r->kind, i))
			xw_ref(x, prov_kind_arg(r->kind, i), r->args[i]);
	xw_time(x, "prov:startTime", r->start_time);
	xw_time(x, "prov:endTime", r->end_time);
	xw_time(x, "prov:time", r->time);
	if (r->kind != PROV_K_MEMBER) /* the schema's Membership has no attributes */
		attrs(x, r);
	xw_end(x);
}

static void document(struct xw *x, const struct prov_graph *g, const char *base_url)
{
	size_t nns;
	struct prov_ns *ns = prov_namespaces(g, base_url, &nns);

	xw_check(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
	xw_start(x, "prov:document");
	for (size_t i = 0; i < nns; i++) {
		char attr[40];
		snprintf(attr, sizeof(attr), "xmlns:%s", ns[i].prefix);
		xw_attr(x, attr, strcmp(ns[i].prefix, "xsd") ? ns[i].uri : XSD_NS);
	}
	xw_attr(x, "xmlns:xsi", XSI_NS);
	prov_namespaces_free(ns, nns);
	for (int k = 0; k < PROV_K_COUNT; k++)
		for (size_t i = 0; i < g->nrecs; i++)
			if ((int)g->recs[i].kind == k)
				record(x, &g->recs[i]);
	xw_end(x);
	xw_check(x, xmlTextWriterEndDocument(x->w));
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

int prov_xml_write(const struct prov_graph *g, const char *base_url, struct sbuf *out)
{
	xmlBufferPtr buf;
	struct xw x = {0};

	pthread_once(&xml_once, xmlInitParser);
	buf = xmlBufferCreate();
	if (!buf)
		return OPUS_ERR_INTERNAL;
	x.w = xmlNewTextWriterMemory(buf, 0);
	if (!x.w) {
		xmlBufferFree(buf);
		return OPUS_ERR_INTERNAL;
	}
	xmlTextWriterSetIndent(x.w, 1);
	document(&x, g, base_url);
	xmlFreeTextWriter(x.w);
	if (!x.err)
		sbuf_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
	return x.err ? x.err : out->err;
}
