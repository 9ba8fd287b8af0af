/*
 * jdl_parse_opus_json: reads json/{name}.json of an OPUS site, what OPUS's
 * JSONFile.save() writes (uws_jdl.py: json.dumps of the description's
 * "content" dict), into a struct jdl. The shape:
 *
 *   {"name": "x", "annotation": "what it does", "doculink", "type",
 *    "subtype", "version", "contact_name", "contact_email",
 *    "executionDuration": "20" (or the older "executionduration"),
 *    "quote": "10", "script": "...",
 *    "parameters": {"text": {"datatype": "xs:string", "required": "true",
 *                   "default": "hi", "unit", "ucd", "utype", "min", "max",
 *                   "options": "a,b", "annotation": "..."}, ...},
 *    "used": {"input": {"default", "content_type", "url", "multiplicity",
 *             "role", "annotation"}, ...},
 *    "generated": {"output": {"default", "content_type", "multiplicity",
 *                  "role", "annotation"}, ...},
 *    "control_parameters": ..., "parameters_keys": [...], ...}
 *
 * OPUS reads it back with yaml.safe_load and takes any key, so keys opusd
 * has no use for are ignored; those it uses are type-checked. A value OPUS
 * may write as a string or as a number ("20" or 20) is taken either way;
 * "" and null are absent, as value="" is in its VOTable. Entries keep the
 * order of the file (Python's dicts and jansson's objects both keep it).
 */
#include "jdl/jdl-int.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A string, number or boolean as text into *slot (NULL when null, missing
 * or ""). where names the value in messages. */
static char *text_of(const json_t *v, const char *where, char **slot)
{
	const char *s;
	char *err;

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_integer(v)) {
		*slot = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		*slot = xasprintf("%.15g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		*slot = xstrdup(json_is_true(v) ? "true" : "false");
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		if ((err = jdl_check_text(where, s, json_string_length(v))))
			return err;
		if (*s)
			*slot = xstrdup(s);
	} else {
		return xasprintf("%s: must be a string, a number or null", where);
	}
	return NULL;
}

static char *text_at(const json_t *obj, const char *where, const char *key, char **slot)
{
	char *at = xasprintf("%s%s%s", where, *where ? "." : "", key);
	char *err = text_of(json_object_get(obj, key), at, slot);
	free(at);
	return err;
}

/* A DESCRIPTION: blanks around it dropped, blank is absent. */
static char *annotation_at(const json_t *obj, const char *where, char **slot)
{
	static const char blanks[] = " \t\r\n";
	char *text = NULL, *err = text_at(obj, where, "annotation", &text);
	const char *s = text ? text + strspn(text, blanks) : "";
	size_t len = strlen(s);

	while (len > 0 && strchr(blanks, s[len - 1]))
		len--;
	if (!err && len > 0)
		*slot = xstrndup(s, len);
	free(text);
	return err;
}

struct field {
	const char *key;
	size_t off;
};

static char *texts_at(void *base, const json_t *obj, const char *where, const struct field *f,
		      size_t n)
{
	char *err = NULL;
	for (size_t i = 0; i < n && !err; i++)
		err = text_at(obj, where, f[i].key, (char **)((char *)base + f[i].off));
	return err;
}

/* ---- parameters ------------------------------------------------------- */

static const struct field param_fields[] = {
    {"default", offsetof(struct jdl_param, default_value)},
    {"unit", offsetof(struct jdl_param, unit)},
    {"ucd", offsetof(struct jdl_param, ucd)},
    {"utype", offsetof(struct jdl_param, utype)},
    {"min", offsetof(struct jdl_param, min)},
    {"max", offsetof(struct jdl_param, max)},
};

/* "options": "a,b" as OPUS writes it, or a list of strings. */
static char *read_options(struct jdl_param *p, const json_t *o, const char *where)
{
	const json_t *v = json_object_get(o, "options");
	char *list = NULL, *err = NULL;

	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && !err; i++) {
			char *at = xasprintf("%s.options[%zu]", where, i), *opt = NULL;
			if (!json_is_string(json_array_get(v, i)))
				err = xasprintf("%s: must be a string", at);
			else if (!(err = text_of(json_array_get(v, i), at, &opt))) {
				p->options =
				    xrealloc(p->options, (p->noptions + 1) * sizeof(*p->options));
				p->options[p->noptions++] = opt ? opt : xstrdup("");
				opt = NULL;
			}
			free(opt);
			free(at);
		}
		return err;
	}
	if (!(err = text_at(o, where, "options", &list)))
		jdl_opus_options(p, list, ',');
	free(list);
	return err;
}

static char *read_param(struct jdl_param *p, const char *name, const json_t *o, const char *where)
{
	char *type = NULL, *required = NULL, *at, *err;

	p->name = xstrdup(name);
	if (!json_is_object(o))
		return xasprintf("%s: must be an object", where);
	if ((err = texts_at(p, o, where, param_fields, OPUS_ARRAY_LEN(param_fields))) ||
	    (err = annotation_at(o, where, &p->description)) ||
	    (err = text_at(o, where, "datatype", &type)) ||
	    (err = text_at(o, where, "required", &required)))
		goto done;
	at = xasprintf("%s.datatype", where);
	err = jdl_opus_datatype(p, type, at);
	free(at);
	if (err)
		goto done;
	at = xasprintf("%s.required", where);
	err = jdl_opus_required(p, required, at);
	free(at);
	if (!err)
		err = read_options(p, o, where);
done:
	free(type);
	free(required);
	return err;
}

/* ---- used and generated ----------------------------------------------- */

static const struct field entity_fields[] = {
    {"role", offsetof(struct jdl_entity, role)},
    {"multiplicity", offsetof(struct jdl_entity, multiplicity)},
    {"default", offsetof(struct jdl_entity, default_value)},
    {"content_type", offsetof(struct jdl_entity, content_type)},
};

static char *read_entity(struct jdl_entity *e, const char *name, const json_t *o, const char *where,
			 bool used)
{
	char *err;

	e->name = xstrdup(name);
	if (!json_is_object(o))
		return xasprintf("%s: must be an object", where);
	if ((err = texts_at(e, o, where, entity_fields, OPUS_ARRAY_LEN(entity_fields))) ||
	    (err = annotation_at(o, where, &e->description)))
		return err;
	return used ? text_at(o, where, "url", &e->url) : NULL;
}

/* ---- the groups: objects keyed by name -------------------------------- */

enum group { GROUP_PARAMS, GROUP_USED, GROUP_GENERATED };

static char *read_member(struct jdl *j, enum group g, const char *name, const json_t *v,
			 const char *where)
{
	if (g == GROUP_PARAMS) {
		j->params = xrealloc(j->params, (j->nparams + 1) * sizeof(*j->params));
		memset(&j->params[j->nparams], 0, sizeof(*j->params));
		return read_param(&j->params[j->nparams++], name, v, where);
	}
	if (g == GROUP_USED) {
		j->used = xrealloc(j->used, (j->nused + 1) * sizeof(*j->used));
		memset(&j->used[j->nused], 0, sizeof(*j->used));
		return read_entity(&j->used[j->nused++], name, v, where, true);
	}
	j->generated = xrealloc(j->generated, (j->ngenerated + 1) * sizeof(*j->generated));
	memset(&j->generated[j->ngenerated], 0, sizeof(*j->generated));
	return read_entity(&j->generated[j->ngenerated++], name, v, where, false);
}

static char *read_group(struct jdl *j, const json_t *root, const char *key, enum group g)
{
	const json_t *obj = json_object_get(root, key), *v;
	const char *name;
	char *err = NULL;

	if (!obj || json_is_null(obj))
		return NULL;
	if (!json_is_object(obj))
		return xasprintf("%s: must be an object keyed by name", key);
	json_object_foreach((json_t *)obj, name, v)
	{
		char *where = xasprintf("%s.%s", key, name);
		err = read_member(j, g, name, v, where);
		free(where);
		if (err)
			break;
	}
	return err;
}

/* ---- the description -------------------------------------------------- */

static const struct field root_fields[] = {
    {"doculink", offsetof(struct jdl, doculink)},
    {"type", offsetof(struct jdl, type)},
    {"subtype", offsetof(struct jdl, subtype)},
    {"version", offsetof(struct jdl, version)},
    {"contact_name", offsetof(struct jdl, contact_name)},
    {"contact_email", offsetof(struct jdl, contact_email)},
    {"script", offsetof(struct jdl, script)},
};

/* executionDuration, or executionduration as older OPUS versions wrote it. */
static char *read_seconds(const json_t *root, const char *key, const char *old_key, int64_t *slot)
{
	const char *k = json_object_get(root, key) || !old_key ? key : old_key;
	char *text = NULL, *err = text_at(root, "", k, &text);

	if (!err)
		err = jdl_opus_seconds(text, k, slot);
	free(text);
	return err;
}

static char *read_root(struct jdl *j, const json_t *root, const char *expected)
{
	char *declared = NULL, *err;

	if (!json_is_object(root))
		return xstrdup("the description must be a JSON object");
	if ((err = text_at(root, "", "name", &declared)) ||
	    (err = jdl_opus_name(j, declared, expected)))
		goto done;
	if ((err = annotation_at(root, "", &j->description)) ||
	    (err = texts_at(j, root, "", root_fields, OPUS_ARRAY_LEN(root_fields))) ||
	    (err = read_seconds(root, "executionDuration", "executionduration",
				&j->execution_duration)) ||
	    (err = read_seconds(root, "quote", NULL, &j->quote)) ||
	    (err = read_group(j, root, "parameters", GROUP_PARAMS)) ||
	    (err = read_group(j, root, "used", GROUP_USED)))
		goto done;
	err = read_group(j, root, "generated", GROUP_GENERATED);
done:
	free(declared);
	return err;
}

int jdl_parse_opus_json(const struct jdl_doc *in, struct jdl **out, char **err_out)
{
	struct jdl *j = xcalloc(1, sizeof(*j));
	json_t *root = NULL;
	json_error_t jerr;
	char *err = NULL;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	if (in->len > JDL_DOC_MAX) {
		err = xasprintf("description larger than %d bytes", JDL_DOC_MAX);
		goto done;
	}
	if (!(root = json_loadb(in->buf, in->len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = xasprintf("malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
				jerr.text);
		goto done;
	}
	if ((err = read_root(j, root, in->name)) || (err = jdl_opus_finish(j, in->script)))
		goto done;
	ret = 0;
done:
	json_decref(root);
	return jdl_parse_end(j, ret, err, out, err_out);
}
