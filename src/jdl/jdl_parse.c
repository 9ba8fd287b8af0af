/*
 * jdl_parse: reads one OPUS job description (a VOTable RESOURCE with
 * utype="voprov:ActivityDescription") into a struct jdl, and owns its life:
 * references, lookups, destruction. The rules a read description must then
 * follow live in jdl_check.c. See jdl.h.
 *
 * The XML is read with libxml2 without network access and without entity
 * substitution; a document type declaration stops the parser the moment it
 * is seen, so no entity is ever declared, let alone expanded.
 */
#include "jdl/jdl-int.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {
#define JDL_TYPE_NAME(e, s) s,
    JDL_TYPES(JDL_TYPE_NAME)
#undef JDL_TYPE_NAME
};

const char *jdl_type_name(enum jdl_type t)
{
	return (unsigned)t < OPUS_ARRAY_LEN(type_names) ? type_names[t] : "unknown";
}

/* ---- reading XML safely ---------------------------------------------- */

/* What the parser callbacks report back; hung on the context's _private. */
struct xml_report {
	bool doctype;
	char *first_error;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 wants its globals set up once, before threads use it. */
static void xml_init(void)
{
	xmlInitParser();
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_report *rep = ctxt->_private;
	(void)name;
	(void)ext_id;
	(void)sys_id;
	rep->doctype = true;
	xmlStopParser(ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
			   const xmlChar *system_id, xmlChar *content)
{
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	on_doctype(ctx, name, NULL, NULL);
}

/* libxml2 2.12 made the error it hands to callbacks const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlError *xml_error_arg;
#endif

/* Keeps the first error: later ones are usually consequences of it. */
static void on_error(void *ctx, xml_error_arg e)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_report *rep = ctxt->_private;
	size_t len;

	if (e->level < XML_ERR_ERROR || rep->first_error || e->code == XML_ERR_USER_STOP)
		return;
	len = e->message ? strlen(e->message) : 0;
	while (len > 0 && (e->message[len - 1] == '\n' || e->message[len - 1] == ' '))
		len--;
	rep->first_error = xasprintf("malformed XML at line %d: %.*s", e->line, (int)len,
				     e->message ? e->message : "");
}

xmlDoc *jdl_xml_read(const char *buf, size_t len, char **err_out)
{
	struct xml_report rep = {false, NULL};
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc = NULL;

	pthread_once(&xml_once, xml_init);
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		*err_out = xstrdup("cannot create an XML parser");
		return NULL;
	}
	ctxt->_private = &rep;
	ctxt->sax->internalSubset = on_doctype;
	ctxt->sax->entityDecl = on_entity_decl;
	ctxt->sax->serror = on_error;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (rep.doctype || (doc && (doc->intSubset || doc->extSubset))) {
		*err_out = xstrdup("DOCTYPE: document type declarations are refused (they could "
				   "declare entities)");
	} else if (!doc || !ctxt->wellFormed) {
		*err_out = rep.first_error ? rep.first_error : xstrdup("malformed XML");
		rep.first_error = NULL;
	}
	if (*err_out && doc) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	free(rep.first_error);
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* ---- small tree helpers ---------------------------------------------- */

/* Matches on the local name, so that the VOTable namespace may be absent. */
static bool is_elem(const xmlNode *n, const char *local)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0;
}

/* An attribute without namespace, copied; NULL when absent. */
static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s = v ? xstrdup((const char *)v) : NULL;
	xmlFree(v);
	return s;
}

/* The same, except that value="" counts as absent: OPUS writes "" for "none". */
static char *attr_set(const xmlNode *n, const char *name)
{
	char *s = attr(n, name);
	if (s && !*s) {
		free(s);
		s = NULL;
	}
	return s;
}

static bool attr_is(const xmlNode *n, const char *name, const char *want)
{
	char *s = attr(n, name);
	bool same = s && strcmp(s, want) == 0;
	free(s);
	return same;
}

/* The text of the first DESCRIPTION child without surrounding blanks; NULL
 * when there is none or it is blank. */
static char *description_of(const xmlNode *n)
{
	static const char blanks[] = " \t\r\n";
	for (const xmlNode *c = n->children; c; c = c->next) {
		xmlChar *raw;
		const char *s;
		size_t len;
		char *text = NULL;

		if (!is_elem(c, "DESCRIPTION"))
			continue;
		raw = xmlNodeGetContent(c);
		s = raw ? (const char *)raw : "";
		s += strspn(s, blanks);
		len = strlen(s);
		while (len > 0 && strchr(blanks, s[len - 1]))
			len--;
		if (len > 0)
			text = xstrndup(s, len);
		xmlFree(raw);
		return text;
	}
	return NULL;
}

/* ---- the RESOURCE's own PARAMs --------------------------------------- */

enum meta_kind { META_TEXT, META_SECONDS };

static const struct meta {
	const char *name;
	enum meta_kind kind;
	size_t off;
} metas[] = {
    {"doculink", META_TEXT, offsetof(struct jdl, doculink)},
    {"type", META_TEXT, offsetof(struct jdl, type)},
    {"subtype", META_TEXT, offsetof(struct jdl, subtype)},
    {"version", META_TEXT, offsetof(struct jdl, version)},
    {"contact_name", META_TEXT, offsetof(struct jdl, contact_name)},
    {"contact_email", META_TEXT, offsetof(struct jdl, contact_email)},
    {"executionDuration", META_SECONDS, offsetof(struct jdl, execution_duration)},
    {"quote", META_SECONDS, offsetof(struct jdl, quote)},
    {"maxMemory", META_SECONDS, offsetof(struct jdl, max_memory)},
    {"maxProcesses", META_SECONDS, offsetof(struct jdl, max_processes)},
    {"maxOpenFiles", META_SECONDS, offsetof(struct jdl, max_open_files)},
    {"maxCpuTime", META_SECONDS, offsetof(struct jdl, max_cpu_time)},
    {"partition", META_TEXT, offsetof(struct jdl, partition)},
    {"account", META_TEXT, offsetof(struct jdl, account)},
    {"gres", META_TEXT, offsetof(struct jdl, gres)},
    {"nodes", META_SECONDS, offsetof(struct jdl, nodes)},
    {"tasksPerNode", META_SECONDS, offsetof(struct jdl, tasks_per_node)},
    {"cpusPerTask", META_SECONDS, offsetof(struct jdl, cpus_per_task)},
    {"backend", META_TEXT, offsetof(struct jdl, backend)},
    {"script", META_TEXT, offsetof(struct jdl, script)},
};

/* One PARAM directly under RESOURCE; PARAMs not in metas[] are ignored. */
static char *read_meta(struct jdl *j, const xmlNode *n, bool seen[])
{
	char *name = attr(n, "name"), *value = NULL, *err = NULL;
	const struct meta *m = NULL;
	int64_t secs;

	for (size_t i = 0; name && i < OPUS_ARRAY_LEN(metas) && !m; i++) {
		if (strcasecmp(name, metas[i].name) == 0)
			m = &metas[i];
	}
	if (!m)
		goto done;
	if (seen[m - metas]) {
		err = xasprintf("PARAM \"%s\": given twice", m->name);
		goto done;
	}
	seen[m - metas] = true;
	value = attr_set(n, "value");
	if (m->kind == META_TEXT) {
		*(char **)((char *)j + m->off) = value;
		value = NULL;
	} else if (value) {
		if (parse_int64(value, &secs) != 0 || secs < 0) {
			err = xasprintf("PARAM \"%s\": value \"%s\" must be a non-negative integer",
					m->name, value);
			goto done;
		}
		*(int64_t *)((char *)j + m->off) = secs;
	}
done:
	free(name);
	free(value);
	return err;
}

/* ---- GROUP InputParams ----------------------------------------------- */

static char *param_error(const struct jdl_param *p, const char *problem)
{
	return xasprintf("PARAM \"%s\" in GROUP InputParams: %s", p->name, problem);
}

static char *type_of(struct jdl_param *p)
{
	char *why, *msg;
	if ((p->datatype && strcmp(p->datatype, "file") == 0) ||
	    (p->xtype && strcmp(p->xtype, "application/octet-stream") == 0)) {
		p->type = JDL_FILE;
		return NULL;
	}
	if (!p->datatype)
		return param_error(p, "missing datatype");
	for (size_t t = 0; t < OPUS_ARRAY_LEN(type_names); t++) {
		if (strcmp(p->datatype, type_names[t]) == 0) {
			p->type = (enum jdl_type)t;
			return NULL;
		}
	}
	why = xasprintf("unknown datatype \"%s\"", p->datatype);
	msg = param_error(p, why);
	free(why);
	return msg;
}

/* VALUES/MIN or VALUES/MAX. */
static char *read_bound(const struct jdl_param *p, const xmlNode *n, char **slot)
{
	char *why, *msg;
	if (*slot)
		why = xasprintf("VALUES %s given twice", (const char *)n->name);
	else if (attr_is(n, "inclusive", "no"))
		why =
		    xasprintf("VALUES %s inclusive=\"no\" is not supported", (const char *)n->name);
	else if (!(*slot = attr_set(n, "value")))
		why = xasprintf("VALUES %s without a value", (const char *)n->name);
	else
		return NULL;
	msg = param_error(p, why);
	free(why);
	return msg;
}

/* An OPTION and the OPTIONs nested in it, flattened. */
static char *read_option(struct jdl_param *p, const xmlNode *n)
{
	char *value = attr(n, "value"), *err = NULL;
	if (!value)
		return param_error(p, "OPTION without a value");
	p->options = xrealloc(p->options, (p->noptions + 1) * sizeof(*p->options));
	p->options[p->noptions++] = value;
	for (const xmlNode *c = n->children; c && !err; c = c->next) {
		if (is_elem(c, "OPTION"))
			err = read_option(p, c);
	}
	return err;
}

static char *read_values(struct jdl_param *p, const xmlNode *n)
{
	char *err = NULL;
	for (const xmlNode *v = n->children; v && !err; v = v->next) {
		if (!is_elem(v, "VALUES"))
			continue;
		for (const xmlNode *c = v->children; c && !err; c = c->next) {
			if (is_elem(c, "MIN"))
				err = read_bound(p, c, &p->min);
			else if (is_elem(c, "MAX"))
				err = read_bound(p, c, &p->max);
			else if (is_elem(c, "OPTION"))
				err = read_option(p, c);
		}
	}
	return err;
}

static char *read_param(struct jdl *j, const xmlNode *n)
{
	struct jdl_param *p;
	char *err;

	j->params = xrealloc(j->params, (j->nparams + 1) * sizeof(*j->params));
	p = memset(&j->params[j->nparams++], 0, sizeof(*p));
	if (!(p->name = attr(n, "name")))
		return xstrdup("PARAM in GROUP InputParams: missing name attribute");
	p->datatype = attr_set(n, "datatype");
	p->xtype = attr_set(n, "xtype");
	p->arraysize = attr_set(n, "arraysize");
	p->unit = attr_set(n, "unit");
	p->ucd = attr_set(n, "ucd");
	p->utype = attr_set(n, "utype");
	p->description = description_of(n);
	p->default_value = attr_set(n, "value");
	/* A parameter with a default can always be left out (the OPUS examples
	 * give defaults without type="no_query"). */
	p->required = !p->default_value && !attr_is(n, "type", "no_query");
	if ((err = type_of(p)))
		return err;
	return read_values(p, n);
}

/* ---- GROUP Used and GROUP Generated ---------------------------------- */

static const struct {
	const char *name;
	size_t off;
	bool used_only;
} entity_fields[] = {
    {"role", offsetof(struct jdl_entity, role), false},
    {"multiplicity", offsetof(struct jdl_entity, multiplicity), false},
    {"default", offsetof(struct jdl_entity, default_value), false},
    {"content_type", offsetof(struct jdl_entity, content_type), false},
    {"url", offsetof(struct jdl_entity, url), true},
};

/* One PARAM of an entity GROUP; PARAMs not in entity_fields[] are ignored. */
static char *read_entity_param(struct jdl_entity *e, const char *group, const xmlNode *n)
{
	char *name = attr(n, "name"), *err = NULL;
	bool used = strcmp(group, "Used") == 0;

	for (size_t i = 0; name && i < OPUS_ARRAY_LEN(entity_fields); i++) {
		char **slot = (char **)((char *)e + entity_fields[i].off);
		if (strcasecmp(name, entity_fields[i].name) != 0 ||
		    (entity_fields[i].used_only && !used))
			continue;
		if (*slot)
			err = xasprintf("GROUP \"%s\" in GROUP %s: PARAM \"%s\" given twice",
					e->name, group, entity_fields[i].name);
		else
			*slot = attr_set(n, "value");
		break;
	}
	free(name);
	return err;
}

static char *read_entity(struct jdl_entity **arr, size_t *n, const char *group, const xmlNode *g)
{
	struct jdl_entity *e;
	char *err = NULL;

	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	e = memset(&(*arr)[(*n)++], 0, sizeof(*e));
	if (!(e->name = attr(g, "name")))
		return xasprintf("GROUP in GROUP %s: missing name attribute", group);
	e->description = description_of(g);
	for (const xmlNode *c = g->children; c && !err; c = c->next) {
		if (is_elem(c, "PARAM"))
			err = read_entity_param(e, group, c);
	}
	return err;
}

/* One GROUP directly under RESOURCE; GROUPs of other names are ignored. */
static char *read_group(struct jdl *j, const xmlNode *g)
{
	char *name = attr(g, "name"), *err = NULL;

	for (const xmlNode *c = g->children; name && c && !err; c = c->next) {
		if (strcmp(name, "InputParams") == 0 && is_elem(c, "PARAM"))
			err = read_param(j, c);
		else if (strcmp(name, "Used") == 0 && is_elem(c, "GROUP"))
			err = read_entity(&j->used, &j->nused, "Used", c);
		else if (strcmp(name, "Generated") == 0 && is_elem(c, "GROUP"))
			err = read_entity(&j->generated, &j->ngenerated, "Generated", c);
	}
	free(name);
	return err;
}

/* ---- the RESOURCE ---------------------------------------------------- */

/* The ActivityDescription RESOURCE; a lone RESOURCE without utype will do. */
static const xmlNode *find_resource(const xmlDoc *doc, char **err_out)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *untyped = NULL;

	if (!root || !is_elem(root, "VOTABLE")) {
		*err_out = xstrdup("the root element must be VOTABLE");
		return NULL;
	}
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (!is_elem(c, "RESOURCE"))
			continue;
		if (attr_is(c, "utype", "voprov:ActivityDescription"))
			return c;
		if (!untyped && !xmlHasNsProp(c, (const xmlChar *)"utype", NULL))
			untyped = c;
	}
	if (!untyped)
		*err_out =
		    xstrdup("VOTABLE: no RESOURCE with utype=\"voprov:ActivityDescription\"");
	return untyped;
}

static char *read_name(struct jdl *j, const xmlNode *res, const char *expected)
{
	char *declared = attr_set(res, "name"), *err = NULL;

	if (expected && declared && strcmp(expected, declared) != 0)
		err = xasprintf("RESOURCE name \"%s\" does not match the job description "
				"name \"%s\"",
				declared, expected);
	else if (!expected && !declared)
		err = xstrdup("RESOURCE: missing name attribute");
	else if (!name_is_safe(expected ? expected : declared, JDL_NAME_MAX))
		err = xasprintf("RESOURCE name \"%s\": must be 1 to %d characters of "
				"[A-Za-z0-9_-]",
				expected ? expected : declared, JDL_NAME_MAX);
	else
		j->name = xstrdup(expected ? expected : declared);
	free(declared);
	return err;
}

static char *read_resource(struct jdl *j, const xmlNode *res, const char *expected)
{
	bool seen[OPUS_ARRAY_LEN(metas)] = {false};
	char *err = read_name(j, res, expected);

	if (err)
		return err;
	j->description = description_of(res);
	for (const xmlNode *c = res->children; c && !err; c = c->next) {
		if (is_elem(c, "PARAM"))
			err = read_meta(j, c, seen);
		else if (is_elem(c, "GROUP"))
			err = read_group(j, c);
	}
	return err;
}

void jdl_hash_hex(const char *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		log_error("sha256 failed");
		abort();
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* The script from outside the document, when it has none; the source is
 * then the VOTable written from the whole, so that it stands alone. */
static char *take_script(struct jdl *j, const struct jdl_doc *in, bool *outside)
{
	*outside = false;
	if (j->script || !in->script)
		return NULL;
	*outside = true;
	j->script = xstrdup(in->script);
	return jdl_check_text("script", j->script, strlen(j->script));
}

int jdl_parse_votable(const struct jdl_doc *in, struct jdl **out, char **err_out)
{
	struct jdl *j = xcalloc(1, sizeof(*j));
	const xmlNode *res;
	xmlDoc *doc = NULL;
	char *err = NULL;
	bool outside = false;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	if (in->len > JDL_DOC_MAX) {
		err = xasprintf("description larger than %d bytes", JDL_DOC_MAX);
		goto done;
	}
	if (!(doc = jdl_xml_read(in->buf, in->len, &err)) || !(res = find_resource(doc, &err)))
		goto done;
	if ((err = read_resource(j, res, in->name)) || (err = take_script(j, in, &outside)) ||
	    (err = jdl_validate(j)))
		goto done;
	if (outside) {
		if ((err = jdl_canonicalise(j)))
			goto done;
	} else {
		jdl_hash_hex(in->buf, in->len, j->hash);
		j->source = xstrndup(in->buf, in->len);
		j->source_len = in->len;
	}
	ret = 0;
done:
	xmlFreeDoc(doc);
	return jdl_parse_end(j, ret, err, out, err_out);
}

int jdl_parse_buffer(const char *buf, size_t len, const char *name, struct jdl **out,
		     char **err_out)
{
	const struct jdl_doc doc = {.buf = buf, .len = len, .name = name};
	return jdl_parse_votable(&doc, out, err_out);
}

int jdl_parse_end(struct jdl *j, int ret, char *err, struct jdl **out, char **err_out)
{
	if (ret == 0) {
		j->refs = 1;
		*out = j;
	} else {
		jdl_free(j);
	}
	if (err_out)
		*err_out = err;
	else
		free(err);
	return ret;
}

int jdl_parse_file(const char *path, const char *name, struct jdl **out, char **err_out)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = file_read_all(path, JDL_DOC_MAX, &buf, &len);

	if (ret != 0) {
		*out = NULL;
		if (err_out)
			*err_out =
			    ret == OPUS_ERR_TOOBIG
				? xasprintf("%s: larger than %d bytes", path, JDL_DOC_MAX)
				: xasprintf("%s: cannot read (%s)", path, opus_strerror(ret));
		return ret == OPUS_ERR_TOOBIG ? OPUS_ERR_INVAL : ret;
	}
	ret = jdl_parse_buffer(buf, len, name, out, err_out);
	free(buf);
	return ret;
}

/* ---- life and lookups ------------------------------------------------ */

static void entities_free(struct jdl_entity *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].description);
		free(e[i].role);
		free(e[i].multiplicity);
		free(e[i].default_value);
		free(e[i].content_type);
		free(e[i].url);
	}
	free(e);
}

static void param_release(struct jdl_param *p)
{
	free(p->name);
	free(p->datatype);
	free(p->xtype);
	free(p->arraysize);
	free(p->unit);
	free(p->ucd);
	free(p->utype);
	free(p->description);
	free(p->default_value);
	free(p->min);
	free(p->max);
	for (size_t i = 0; i < p->noptions; i++)
		free(p->options[i]);
	free(p->options);
}

void jdl_free(struct jdl *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(metas); i++) {
		if (metas[i].kind == META_TEXT)
			free(*(char **)((char *)j + metas[i].off));
	}
	free(j->name);
	free(j->description);
	for (size_t i = 0; i < j->nparams; i++)
		param_release(&j->params[i]);
	free(j->params);
	entities_free(j->used, j->nused);
	entities_free(j->generated, j->ngenerated);
	free(j->source);
	free(j);
}

struct jdl *jdl_ref(struct jdl *j)
{
	if (j)
		__atomic_fetch_add(&j->refs, 1, __ATOMIC_RELAXED);
	return j;
}

void jdl_unref(struct jdl *j)
{
	if (j && __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) == 0)
		jdl_free(j);
}

const struct jdl_param *jdl_find_param(const struct jdl *j, const char *name)
{
	for (size_t i = 0; j && name && i < j->nparams; i++) {
		if (strcasecmp(j->params[i].name, name) == 0)
			return &j->params[i];
	}
	return NULL;
}

static const struct jdl_entity *find_entity(const struct jdl_entity *e, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++) {
		if (strcasecmp(e[i].name, name) == 0)
			return &e[i];
	}
	return NULL;
}

const struct jdl_entity *jdl_find_used(const struct jdl *j, const char *name)
{
	return j ? find_entity(j->used, j->nused, name) : NULL;
}

const struct jdl_entity *jdl_find_generated(const struct jdl *j, const char *name)
{
	return j ? find_entity(j->generated, j->ngenerated, name) : NULL;
}
