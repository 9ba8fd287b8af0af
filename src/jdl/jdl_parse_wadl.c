/*
 * jdl_parse_wadl: reads wadl/{name}.wadl of an OPUS site, what OPUS's
 * WADLFile.save() writes into its uws_template.wadl, the way
 * WADLFile.read() reads it back (uws_jdl.py):
 *  - resource id="joblist": doculink, contact_name, contact_email attributes;
 *  - doc title="description": the description;
 *  - request id="create_job_parameters": one param each (but PHASE), with
 *    type ("xs:string", ...), required, default, min, max, choices ("A|B")
 *    and a doc child;
 *  - param name="result-id": one option per result (value = its name,
 *    content_type or mediaType, default = its file name, a doc child);
 *  - param name="EXECUTIONDURATION" default, representation id="quote"
 *    default: the execution duration and the quote.
 * A WADL has no script: it comes from scripts/{name}.sh. Elements are matched
 * by local name, so the WADL namespace may be absent. Parsed with
 * jdl_xml_read(): no network, no entities, no DOCTYPE.
 */
#include "jdl/jdl-int.h"

#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static bool is_elem(const xmlNode *n, const char *local)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0;
}

/* An attribute without namespace, copied; NULL when absent or "". */
static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s = v && *v ? xstrdup((const char *)v) : NULL;
	xmlFree(v);
	return s;
}

static bool attr_is(const xmlNode *n, const char *name, const char *want)
{
	char *s = attr(n, name);
	bool same = s && strcmp(s, want) == 0;
	free(s);
	return same;
}

/* The first element below (or at) n, in document order, named `local`
 * whose attribute `key` is `value`; NULL when there is none. */
static const xmlNode *find(const xmlNode *n, const char *local, const char *key, const char *value)
{
	for (; n; n = n->next) {
		const xmlNode *hit;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_elem(n, local) && attr_is(n, key, value))
			return n;
		if ((hit = find(n->children, local, key, value)))
			return hit;
	}
	return NULL;
}

/* The text of n without surrounding blanks; NULL when blank. */
static char *text_of(const xmlNode *n)
{
	static const char blanks[] = " \t\r\n";
	xmlChar *raw = n ? xmlNodeGetContent(n) : NULL;
	const char *s = raw ? (const char *)raw + strspn((const char *)raw, blanks) : "";
	size_t len = strlen(s);
	char *text = NULL;

	while (len > 0 && strchr(blanks, s[len - 1]))
		len--;
	if (len > 0)
		text = xstrndup(s, len);
	xmlFree(raw);
	return text;
}

/* The text of n's first doc child (OPUS: list(p)[0].text). */
static char *doc_of(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (is_elem(c, "doc"))
			return text_of(c);
	}
	return NULL;
}

/* ---- parameters and results ------------------------------------------- */

static char *read_param(struct jdl *j, const xmlNode *n, const char *name)
{
	struct jdl_param *p;
	char *where = xasprintf("param \"%s\"", name), *err = NULL, *type = attr(n, "type");
	char *required = attr(n, "required"), *choices = attr(n, "choices");

	j->params = xrealloc(j->params, (j->nparams + 1) * sizeof(*j->params));
	p = memset(&j->params[j->nparams++], 0, sizeof(*p));
	p->name = xstrdup(name);
	p->default_value = attr(n, "default");
	p->min = attr(n, "min");
	p->max = attr(n, "max");
	p->description = doc_of(n);
	if (!(err = jdl_opus_datatype(p, type, where)))
		err = jdl_opus_required(p, required, where);
	jdl_opus_options(p, choices, '|');
	free(choices);
	free(required);
	free(type);
	free(where);
	return err;
}

static char *read_params(struct jdl *j, const xmlNode *request)
{
	char *err = NULL;

	for (const xmlNode *c = request ? request->children : NULL; c && !err; c = c->next) {
		char *name = is_elem(c, "param") ? attr(c, "name") : NULL;
		if (name && strcmp(name, "PHASE") != 0)
			err = read_param(j, c, name);
		free(name);
	}
	return err;
}

static void read_results(struct jdl *j, const xmlNode *param)
{
	for (const xmlNode *c = param ? param->children : NULL; c; c = c->next) {
		struct jdl_entity *e;
		char *name = is_elem(c, "option") ? attr(c, "value") : NULL;

		if (!name)
			continue;
		j->generated = xrealloc(j->generated, (j->ngenerated + 1) * sizeof(*j->generated));
		e = memset(&j->generated[j->ngenerated++], 0, sizeof(*e));
		e->name = name;
		if (!(e->content_type = attr(c, "content_type")))
			e->content_type = attr(c, "mediaType");
		e->default_value = attr(c, "default");
		e->description = doc_of(c);
	}
}

/* ---- the description -------------------------------------------------- */

/* The `default` attribute of the element found, as seconds. */
static char *read_seconds(const xmlNode *root, const char *local, const char *key,
			  const char *value, int64_t *slot)
{
	const xmlNode *n = find(root, local, key, value);
	char *text = n ? attr(n, "default") : NULL,
	     *where = xasprintf("%s %s=\"%s\" default", local, key, value);
	char *err = jdl_opus_seconds(text, where, slot);

	free(where);
	free(text);
	return err;
}

static char *read_application(struct jdl *j, const xmlNode *root, const char *expected)
{
	const xmlNode *joblist = root ? find(root, "resource", "id", "joblist") : NULL;
	char *declared, *err;

	if (!root || !is_elem(root, "application"))
		return xstrdup("the root element must be a WADL application");
	if (!joblist)
		return xstrdup("application: no resource id=\"joblist\"");
	declared = attr(joblist, "path");
	err = jdl_opus_name(j, expected ? NULL : declared, expected);
	free(declared);
	if (err)
		return err;
	j->doculink = attr(joblist, "doculink");
	j->contact_name = attr(joblist, "contact_name");
	j->contact_email = attr(joblist, "contact_email");
	j->description = text_of(find(root, "doc", "title", "description"));
	if ((err = read_seconds(root, "param", "name", "EXECUTIONDURATION",
				&j->execution_duration)) ||
	    (err = read_seconds(root, "representation", "id", "quote", &j->quote)) ||
	    (err = read_params(j, find(root, "request", "id", "create_job_parameters"))))
		return err;
	read_results(j, find(root, "param", "name", "result-id"));
	return NULL;
}

int jdl_parse_wadl(const struct jdl_doc *in, struct jdl **out, char **err_out)
{
	struct jdl *j = xcalloc(1, sizeof(*j));
	xmlDoc *doc = NULL;
	char *err = NULL;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	if (in->len > JDL_DOC_MAX) {
		err = xasprintf("description larger than %d bytes", JDL_DOC_MAX);
		goto done;
	}
	if (!(doc = jdl_xml_read(in->buf, in->len, &err)) ||
	    (err = read_application(j, xmlDocGetRootElement(doc), in->name)) ||
	    (err = jdl_opus_finish(j, in->script)))
		goto done;
	ret = 0;
done:
	xmlFreeDoc(doc);
	return jdl_parse_end(j, ret, err, out, err_out);
}
