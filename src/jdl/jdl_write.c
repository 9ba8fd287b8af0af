/*
 * jdl_write: a parsed description written back out, as the OPUS VOTable that
 * jdl_parse.c reads (the same structure as tests/data/opus-jdl/) and as the
 * JSON a web form needs. xmlTextWriter escapes CR, LF and TAB in attribute
 * values as character references, so a script survives the round trip.
 */
#include "jdl/jdl-int.h"

#include <inttypes.h>
#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

/* ---- VOTable ---------------------------------------------------------- */

/* The writer and whether any call failed, so the serialiser stays straight-line. */
struct xw {
	xmlTextWriterPtr x;
	bool bad;
};

static void xw_check(struct xw *w, int rc)
{
	if (rc < 0)
		w->bad = true;
}

static void xw_start(struct xw *w, const char *elem)
{
	xw_check(w, xmlTextWriterStartElement(w->x, (const xmlChar *)elem));
}

static void xw_end(struct xw *w)
{
	xw_check(w, xmlTextWriterEndElement(w->x));
}

/* An attribute; nothing when value is NULL. */
static void xw_attr(struct xw *w, const char *name, const char *value)
{
	if (value)
		xw_check(w, xmlTextWriterWriteAttribute(w->x, (const xmlChar *)name,
							(const xmlChar *)value));
}

static void xw_description(struct xw *w, const char *text)
{
	if (!text)
		return;
	xw_check(w, xmlTextWriterWriteElement(w->x, (const xmlChar *)"DESCRIPTION",
					      (const xmlChar *)text));
}

/* A char PARAM as OPUS writes it; an absent value is written as "". */
static void xw_char_param(struct xw *w, const char *name, const char *value, const char *utype)
{
	xw_start(w, "PARAM");
	xw_attr(w, "name", name);
	xw_attr(w, "value", value ? value : "");
	xw_attr(w, "arraysize", "*");
	xw_attr(w, "datatype", "char");
	xw_attr(w, "utype", utype);
	xw_end(w);
}

static void xw_int_param(struct xw *w, const char *name, int64_t value, const char *utype)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRId64, value);
	xw_start(w, "PARAM");
	xw_attr(w, "name", name);
	xw_attr(w, "value", num);
	/* VOTable's int is 32 bits: a larger value (bytes of memory) is a long. */
	xw_attr(w, "datatype", value > INT32_MAX || value < INT32_MIN ? "long" : "int");
	xw_attr(w, "utype", utype);
	xw_end(w);
}

static void write_meta(struct xw *w, const struct jdl *j)
{
	xw_description(w, j->description);
	xw_char_param(w, "doculink", j->doculink, "voprov:ActivityDescription.doculink");
	xw_char_param(w, "type", j->type, "voprov:ActivityDescription.type");
	xw_char_param(w, "subtype", j->subtype, "voprov:ActivityDescription.subtype");
	xw_char_param(w, "version", j->version, "voprov:ActivityDescription.version");
	xw_char_param(w, "contact_name", j->contact_name, "voprov:Agent.name");
	xw_char_param(w, "contact_email", j->contact_email, "voprov:Agent.email");
	xw_int_param(w, "executionDuration", j->execution_duration, "uws:Job.executionDuration");
	xw_int_param(w, "quote", j->quote, "uws:Job.quote");
	if (j->max_memory)
		xw_int_param(w, "maxMemory", j->max_memory, NULL);
	if (j->max_processes)
		xw_int_param(w, "maxProcesses", j->max_processes, NULL);
	if (j->max_open_files)
		xw_int_param(w, "maxOpenFiles", j->max_open_files, NULL);
	if (j->max_cpu_time)
		xw_int_param(w, "maxCpuTime", j->max_cpu_time, NULL);
	if (j->partition)
		xw_char_param(w, "partition", j->partition, NULL);
	if (j->account)
		xw_char_param(w, "account", j->account, NULL);
	if (j->gres)
		xw_char_param(w, "gres", j->gres, NULL);
	if (j->nodes)
		xw_int_param(w, "nodes", j->nodes, NULL);
	if (j->tasks_per_node)
		xw_int_param(w, "tasksPerNode", j->tasks_per_node, NULL);
	if (j->cpus_per_task)
		xw_int_param(w, "cpusPerTask", j->cpus_per_task, NULL);
	if (j->backend)
		xw_char_param(w, "backend", j->backend, NULL);
	xw_char_param(w, "script", j->script, NULL);
}

static void write_bound(struct xw *w, const char *elem, const char *value)
{
	if (!value)
		return;
	xw_start(w, elem);
	xw_attr(w, "value", value);
	xw_end(w);
}

static void write_values(struct xw *w, const struct jdl_param *p)
{
	if (!p->min && !p->max && p->noptions == 0)
		return;
	xw_start(w, "VALUES");
	write_bound(w, "MIN", p->min);
	write_bound(w, "MAX", p->max);
	for (size_t i = 0; i < p->noptions; i++)
		write_bound(w, "OPTION", p->options[i]);
	xw_end(w);
}

static void write_param(struct xw *w, const struct jdl_param *p)
{
	xw_start(w, "PARAM");
	xw_attr(w, "ID", p->name);
	xw_attr(w, "name", p->name);
	xw_attr(w, "datatype", p->datatype);
	xw_attr(w, "xtype", p->xtype);
	xw_attr(w, "value", p->default_value);
	xw_attr(w, "arraysize", p->arraysize);
	xw_attr(w, "unit", p->unit);
	xw_attr(w, "ucd", p->ucd);
	xw_attr(w, "utype", p->utype);
	/* without a default, "optional" is only expressible as OPUS's no_query */
	if (!p->required && !p->default_value)
		xw_attr(w, "type", "no_query");
	xw_description(w, p->description);
	write_values(w, p);
	xw_end(w);
}

/* How one kind of entity GROUP is labelled. */
struct entity_kind {
	const char *group;
	const char *utype;
	const char *prefix; /* of the role and multiplicity utypes */
	bool has_url;
};

static void write_entity(struct xw *w, const struct entity_kind *k, const struct jdl_entity *e)
{
	char *role = xasprintf("%s.role", k->prefix);
	char *mult = xasprintf("%s.multiplicity", k->prefix);

	xw_start(w, "GROUP");
	xw_attr(w, "name", e->name);
	xw_attr(w, "utype", k->utype);
	xw_description(w, e->description);
	xw_char_param(w, "role", e->role, role);
	xw_char_param(w, "multiplicity", e->multiplicity, mult);
	xw_char_param(w, "default", e->default_value, "voprov:Entity.id");
	xw_char_param(w, "content_type", e->content_type, "voprov:EntityDescription.content_type");
	if (k->has_url)
		xw_char_param(w, "url", e->url, "voprov:EntityDescription.url");
	xw_end(w);
	free(role);
	free(mult);
}

static void write_entities(struct xw *w, const struct entity_kind *k, const struct jdl_entity *e,
			   size_t n)
{
	xw_start(w, "GROUP");
	xw_attr(w, "name", k->group);
	for (size_t i = 0; i < n; i++)
		write_entity(w, k, &e[i]);
	xw_end(w);
}

static const struct entity_kind used_kind = {
    .group = "Used",
    .utype = "voprov:UsedDescription",
    .prefix = "voprov:UsedDescription",
    .has_url = true,
};
static const struct entity_kind generated_kind = {
    .group = "Generated",
    .utype = "voprov:WasGeneratedBy",
    .prefix = "voprov:WasGeneratedByDescription",
    .has_url = false,
};

static void write_document(struct xw *w, const struct jdl *j)
{
	xw_check(w, xmlTextWriterSetIndent(w->x, 1));
	xw_check(w, xmlTextWriterSetIndentString(w->x, (const xmlChar *)"  "));
	xw_check(w, xmlTextWriterStartDocument(w->x, NULL, "UTF-8", NULL));
	xw_start(w, "VOTABLE");
	xw_attr(w, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
	xw_attr(w, "xmlns", "http://www.ivoa.net/xml/VOTable/v1.3");
	xw_attr(w, "version", "1.3");
	xw_attr(w, "xsi:schemaLocation",
		"http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.3");
	xw_start(w, "RESOURCE");
	xw_attr(w, "ID", j->name);
	xw_attr(w, "name", j->name);
	xw_attr(w, "type", "meta");
	xw_attr(w, "utype", "voprov:ActivityDescription");
	write_meta(w, j);
	xw_start(w, "GROUP");
	xw_attr(w, "name", "InputParams");
	for (size_t i = 0; i < j->nparams; i++)
		write_param(w, &j->params[i]);
	xw_end(w);
	write_entities(w, &used_kind, j->used, j->nused);
	write_entities(w, &generated_kind, j->generated, j->ngenerated);
	xw_check(w, xmlTextWriterEndDocument(w->x));
}

int jdl_write_xml(const struct jdl *j, struct sbuf *out)
{
	int ret = OPUS_ERR_INTERNAL;
	xmlBufferPtr buf = xmlBufferCreate();
	struct xw w = {NULL, false};

	if (!buf || !(w.x = xmlNewTextWriterMemory(buf, 0)))
		goto done;
	write_document(&w, j);
	xmlFreeTextWriter(w.x); /* flushes into buf */
	if (w.bad)
		goto done;
	sbuf_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	ret = out->err ? out->err : 0;
done:
	xmlBufferFree(buf);
	return ret;
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *param_json(const struct jdl_param *p)
{
	json_t *o = json_object(), *opts = json_array();

	for (size_t i = 0; i < p->noptions; i++)
		json_array_append_new(opts, json_string(p->options[i]));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "datatype", json_string(jdl_type_name(p->type)));
	json_object_set_new(o, "required", json_boolean(p->required));
	json_object_set_new(o, "default", str_or_null(p->default_value));
	json_object_set_new(o, "description", str_or_null(p->description));
	json_object_set_new(o, "unit", str_or_null(p->unit));
	json_object_set_new(o, "ucd", str_or_null(p->ucd));
	json_object_set_new(o, "utype", str_or_null(p->utype));
	json_object_set_new(o, "arraysize", str_or_null(p->arraysize));
	json_object_set_new(o, "min", str_or_null(p->min));
	json_object_set_new(o, "max", str_or_null(p->max));
	json_object_set_new(o, "options", opts);
	return o;
}

static json_t *entities_json(const struct jdl_entity *e, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(e[i].name));
		json_object_set_new(o, "description", str_or_null(e[i].description));
		json_object_set_new(o, "role", str_or_null(e[i].role));
		json_object_set_new(o, "multiplicity", str_or_null(e[i].multiplicity));
		json_object_set_new(o, "default", str_or_null(e[i].default_value));
		json_object_set_new(o, "content_type", str_or_null(e[i].content_type));
		json_object_set_new(o, "url", str_or_null(e[i].url));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *jdl_json(const struct jdl *j)
{
	json_t *o = json_object(), *params = json_array();

	for (size_t i = 0; i < j->nparams; i++)
		json_array_append_new(params, param_json(&j->params[i]));
	json_object_set_new(o, "name", json_string(j->name));
	json_object_set_new(o, "description", str_or_null(j->description));
	json_object_set_new(o, "doculink", str_or_null(j->doculink));
	json_object_set_new(o, "type", str_or_null(j->type));
	json_object_set_new(o, "subtype", str_or_null(j->subtype));
	json_object_set_new(o, "version", str_or_null(j->version));
	json_object_set_new(o, "contact_name", str_or_null(j->contact_name));
	json_object_set_new(o, "contact_email", str_or_null(j->contact_email));
	json_object_set_new(o, "executionDuration", json_integer(j->execution_duration));
	json_object_set_new(o, "quote", json_integer(j->quote));
	/* The limits (0: none), so that a description read back from this keeps them. */
	json_object_set_new(o, "maxMemory", json_integer(j->max_memory));
	json_object_set_new(o, "maxProcesses", json_integer(j->max_processes));
	json_object_set_new(o, "maxOpenFiles", json_integer(j->max_open_files));
	json_object_set_new(o, "maxCpuTime", json_integer(j->max_cpu_time));
	/* What a batch backend asks its scheduler for (null / 0: the server's default). */
	json_object_set_new(o, "partition", str_or_null(j->partition));
	json_object_set_new(o, "account", str_or_null(j->account));
	json_object_set_new(o, "gres", str_or_null(j->gres));
	json_object_set_new(o, "nodes", json_integer(j->nodes));
	json_object_set_new(o, "tasksPerNode", json_integer(j->tasks_per_node));
	json_object_set_new(o, "cpusPerTask", json_integer(j->cpus_per_task));
	json_object_set_new(o, "backend", str_or_null(j->backend)); /* null: the server's */
	json_object_set_new(o, "parameters", params);
	json_object_set_new(o, "used", entities_json(j->used, j->nused));
	json_object_set_new(o, "generated", entities_json(j->generated, j->ngenerated));
	return o;
}

int jdl_write_json(const struct jdl *j, struct sbuf *out)
{
	int ret = OPUS_ERR_INTERNAL;
	json_t *o = jdl_json(j);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!text)
		goto done;
	sbuf_adds(out, text);
	ret = out->err ? out->err : 0;
done:
	free(text);
	json_decref(o);
	return ret;
}

/* ---- canonical source ------------------------------------------------- */

char *jdl_canonicalise(struct jdl *j)
{
	struct sbuf xml = SBUF_INIT;
	int ret = jdl_write_xml(j, &xml);

	if (ret == 0) {
		jdl_hash_hex(xml.buf, xml.len, j->hash);
		free(j->source);
		j->source = sbuf_detach(&xml, &j->source_len);
	}
	sbuf_release(&xml);
	return ret == 0 ? NULL
			: xasprintf("cannot write the description as XML (%s)", opus_strerror(ret));
}
