/*
 * jdl_parse_json: reads a description in the JSON shape that jdl_write_json()
 * writes (GET /jdl/{name}/json) plus its "script", into the same struct jdl
 * the VOTable reader fills, and holds it to the same rules (jdl_validate()).
 * See jdl.h.
 *
 * What the VOTable reader does to attribute values is done here too (an
 * empty string is absent, a DESCRIPTION is trimmed), and characters XML
 * cannot carry are refused, so that the VOTable jdl_write_xml() makes of the
 * result reads back to the same struct: that VOTable is what gets staged and
 * served, and what the hash is taken of. The size is capped before jansson
 * sees the text; jansson itself caps nesting (JSON_PARSER_MAX_DEPTH).
 */
#include "jdl/jdl-int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* How a string value is kept. */
enum text_kind {
	TEXT_ATTR, /* "" is absent, like value="" in the VOTable */
	TEXT_DESC, /* blanks around it dropped; blank is absent (a DESCRIPTION) */
	TEXT_KEEP, /* as given ("" stays): names and OPTION values */
};

struct text_field {
	const char *key;
	enum text_kind kind;
	size_t off;
};

/* The message for the value at where (+ "." key, when key is set). */
static char *at_error(const char *where, const char *key, const char *fmt, ...) OPUS_PRINTF(3, 4);
static char *at_error(const char *where, const char *key, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	sbuf_addf(&sb, "%s%s%s: ", where, *where && key ? "." : "", key ? key : "");
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sbuf_detach(&sb, NULL);
}

static char *read_value(const json_t *v, const char *where, const char *key, enum text_kind kind,
			char **slot)
{
	static const char blanks[] = " \t\r\n";
	const char *s;
	size_t len;
	unsigned c;

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		return at_error(where, key, "must be a string or null");
	s = json_string_value(v);
	len = json_string_length(v);
	if ((c = jdl_non_xml_char(s, len))) /* jansson checked the UTF-8 */
		return at_error(where, key, "character U+%04X cannot be written in XML", c);
	if (kind == TEXT_DESC) {
		s += strspn(s, blanks);
		len = strlen(s);
		while (len > 0 && strchr(blanks, s[len - 1]))
			len--;
	}
	if (len > 0 || kind == TEXT_KEEP)
		*slot = xstrndup(s, len);
	return NULL;
}

static char *read_text(const json_t *obj, const char *where, const char *key, enum text_kind kind,
		       char **slot)
{
	return read_value(json_object_get(obj, key), where, key, kind, slot);
}

static char *read_texts(void *base, const json_t *obj, const char *where,
			const struct text_field *f, size_t n)
{
	char *err = NULL;
	for (size_t i = 0; i < n && !err; i++)
		err =
		    read_text(obj, where, f[i].key, f[i].kind, (char **)((char *)base + f[i].off));
	return err;
}

/* A name that must be there: the VOTable reader's "missing name attribute". */
static char *read_name_of(const json_t *obj, const char *where, char **slot)
{
	char *err = read_text(obj, where, "name", TEXT_KEEP, slot);
	if (!err && !*slot)
		err = at_error(where, "name", "missing");
	return err;
}

/* Refuses keys outside known[]; the message names every unknown one. */
static char *check_keys(const json_t *obj, const char *where, const char *const *known,
			size_t nknown)
{
	struct sbuf sb = SBUF_INIT;
	const char *key;
	const json_t *v;
	char *msg = NULL;
	size_t bad = 0;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (i < nknown && strcmp(key, known[i]) != 0)
			i++;
		if (i == nknown)
			sbuf_addf(&sb, "%s\"%s\"", bad++ ? ", " : "", key);
	}
	if (bad > 0)
		msg = xasprintf("%s%sunknown key%s %s", where, *where ? ": " : "",
				bad > 1 ? "s" : "", sbuf_str(&sb));
	sbuf_release(&sb);
	return msg;
}

/* The array at key; NULL (json_array_size() 0) when null or missing. */
static char *get_list(const json_t *root, const char *key, const json_t **list)
{
	*list = json_object_get(root, key);
	if (*list && !json_is_null(*list) && !json_is_array(*list))
		return at_error("", key, "must be an array or null");
	return NULL;
}

/* ---- parameters ------------------------------------------------------- */

static const char *const param_keys[] = {
    "name", "datatype", "required",  "default", "description", "unit",
    "ucd",  "utype",	"arraysize", "min",	"max",	       "options",
};

static const struct text_field param_texts[] = {
    {"default", TEXT_ATTR, offsetof(struct jdl_param, default_value)},
    {"description", TEXT_DESC, offsetof(struct jdl_param, description)},
    {"unit", TEXT_ATTR, offsetof(struct jdl_param, unit)},
    {"ucd", TEXT_ATTR, offsetof(struct jdl_param, ucd)},
    {"utype", TEXT_ATTR, offsetof(struct jdl_param, utype)},
    {"arraysize", TEXT_ATTR, offsetof(struct jdl_param, arraysize)},
    {"min", TEXT_ATTR, offsetof(struct jdl_param, min)},
    {"max", TEXT_ATTR, offsetof(struct jdl_param, max)},
};

/* The JSON names a type; "file" is written the OPUS way, char + octet-stream. */
static char *read_datatype(struct jdl_param *p, const json_t *o, const char *where)
{
	char *err = read_text(o, where, "datatype", TEXT_ATTR, &p->datatype);
	struct sbuf known = SBUF_INIT;
	int t = 0;

	if (err)
		return err;
	if (!p->datatype)
		return at_error(where, "datatype", "missing");
	while (t < JDL_TYPE_COUNT && strcmp(p->datatype, jdl_type_name((enum jdl_type)t)) != 0)
		t++;
	if (t == JDL_FILE) {
		free(p->datatype);
		p->datatype = xstrdup("char");
		p->xtype = xstrdup("application/octet-stream");
	}
	if (t < JDL_TYPE_COUNT) {
		p->type = (enum jdl_type)t;
		return NULL;
	}
	for (t = 0; t < JDL_TYPE_COUNT; t++)
		sbuf_addf(&known, "%s%s", t ? ", " : "", jdl_type_name((enum jdl_type)t));
	err = at_error(where, "datatype", "unknown type \"%s\" (known: %s)", p->datatype,
		       sbuf_str(&known));
	sbuf_release(&known);
	return err;
}

/* The VOTable can only say "optional" of a parameter without a default. */
static char *read_required(struct jdl_param *p, const json_t *o, const char *where)
{
	const json_t *v = json_object_get(o, "required");

	if (!v || json_is_null(v)) {
		p->required = !p->default_value;
		return NULL;
	}
	if (!json_is_boolean(v))
		return at_error(where, "required", "must be true, false or null");
	if (json_is_true(v) && p->default_value)
		return at_error(where, "required",
				"true, but a parameter with a default (\"%s\") may always be "
				"left out",
				p->default_value);
	p->required = json_is_true(v);
	return NULL;
}

static char *read_options(struct jdl_param *p, const json_t *o, const char *where)
{
	const json_t *opts = json_object_get(o, "options");
	char *err = NULL;

	if (!opts || json_is_null(opts))
		return NULL;
	if (!json_is_array(opts))
		return at_error(where, "options", "must be an array of strings or null");
	p->options = xcalloc(json_array_size(opts) + 1, sizeof(*p->options));
	for (size_t i = 0; i < json_array_size(opts) && !err; i++) {
		char *at = xasprintf("%s.options[%zu]", where, i);
		const json_t *v = json_array_get(opts, i);
		if (!json_is_string(v))
			err = at_error(at, NULL, "must be a string");
		else
			err = read_value(v, at, NULL, TEXT_KEEP, &p->options[p->noptions]);
		free(at);
		if (!err)
			p->noptions++;
	}
	return err;
}

static char *read_param(struct jdl_param *p, const json_t *o, const char *where)
{
	char *err;

	if (!json_is_object(o))
		return at_error(where, NULL, "must be an object");
	if ((err = check_keys(o, where, param_keys, OPUS_ARRAY_LEN(param_keys))) ||
	    (err = read_name_of(o, where, &p->name)) || (err = read_datatype(p, o, where)) ||
	    (err = read_texts(p, o, where, param_texts, OPUS_ARRAY_LEN(param_texts))) ||
	    (err = read_required(p, o, where)))
		return err;
	return read_options(p, o, where);
}

static char *read_params(struct jdl *j, const json_t *root)
{
	const json_t *list;
	char *err = get_list(root, "parameters", &list);

	for (size_t i = 0; !err && i < json_array_size(list); i++) {
		char *where = xasprintf("parameters[%zu]", i);
		j->params = xrealloc(j->params, (j->nparams + 1) * sizeof(*j->params));
		memset(&j->params[j->nparams++], 0, sizeof(*j->params));
		err = read_param(&j->params[j->nparams - 1], json_array_get(list, i), where);
		free(where);
	}
	return err;
}

/* ---- used and generated ----------------------------------------------- */

static const char *const entity_keys[] = {
    "name", "description", "role", "multiplicity", "default", "content_type", "url",
};

static const struct text_field entity_texts[] = {
    {"description", TEXT_DESC, offsetof(struct jdl_entity, description)},
    {"role", TEXT_ATTR, offsetof(struct jdl_entity, role)},
    {"multiplicity", TEXT_ATTR, offsetof(struct jdl_entity, multiplicity)},
    {"default", TEXT_ATTR, offsetof(struct jdl_entity, default_value)},
    {"content_type", TEXT_ATTR, offsetof(struct jdl_entity, content_type)},
    {"url", TEXT_ATTR, offsetof(struct jdl_entity, url)},
};

static char *read_entity(struct jdl_entity *e, const json_t *o, const char *where, bool used)
{
	char *err;

	if (!json_is_object(o))
		return at_error(where, NULL, "must be an object");
	if ((err = check_keys(o, where, entity_keys, OPUS_ARRAY_LEN(entity_keys))) ||
	    (err = read_name_of(o, where, &e->name)) ||
	    (err = read_texts(e, o, where, entity_texts, OPUS_ARRAY_LEN(entity_texts))))
		return err;
	/* the VOTable has no place for it: it would be dropped silently */
	if (e->url && !used)
		return at_error(where, "url", "only \"used\" entities have a url; want null");
	return NULL;
}

static char *read_entities(struct jdl_entity **arr, size_t *n, const json_t *root, const char *key)
{
	const json_t *list;
	char *err = get_list(root, key, &list);

	for (size_t i = 0; !err && i < json_array_size(list); i++) {
		char *where = xasprintf("%s[%zu]", key, i);
		*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
		memset(&(*arr)[(*n)++], 0, sizeof(**arr));
		err = read_entity(&(*arr)[*n - 1], json_array_get(list, i), where,
				  strcmp(key, "used") == 0);
		free(where);
	}
	return err;
}

/* ---- the description -------------------------------------------------- */

static const char *const root_keys[] = {
    "name",	    "description",   "doculink",
    "type",	    "subtype",	     "version",
    "contact_name", "contact_email", "executionDuration",
    "quote",	    "script",	     "parameters",
    "used",	    "generated",     "maxMemory",
    "maxProcesses", "maxOpenFiles",  "maxCpuTime",
    "partition",    "account",	     "gres",
    "nodes",	    "tasksPerNode",  "cpusPerTask",
    "backend",
};

static const struct text_field root_texts[] = {
    {"description", TEXT_DESC, offsetof(struct jdl, description)},
    {"doculink", TEXT_ATTR, offsetof(struct jdl, doculink)},
    {"type", TEXT_ATTR, offsetof(struct jdl, type)},
    {"subtype", TEXT_ATTR, offsetof(struct jdl, subtype)},
    {"version", TEXT_ATTR, offsetof(struct jdl, version)},
    {"contact_name", TEXT_ATTR, offsetof(struct jdl, contact_name)},
    {"contact_email", TEXT_ATTR, offsetof(struct jdl, contact_email)},
    {"script", TEXT_ATTR, offsetof(struct jdl, script)},
    {"partition", TEXT_ATTR, offsetof(struct jdl, partition)},
    {"account", TEXT_ATTR, offsetof(struct jdl, account)},
    {"gres", TEXT_ATTR, offsetof(struct jdl, gres)},
    {"backend", TEXT_ATTR, offsetof(struct jdl, backend)},
};

/* The same rule as the VOTable's RESOURCE name. */
static char *read_name(struct jdl *j, const json_t *root, const char *expected)
{
	char *declared = NULL, *err = read_text(root, "", "name", TEXT_ATTR, &declared);

	if (err)
		return err;
	if (expected && declared && strcmp(expected, declared) != 0)
		err = xasprintf("name: \"%s\" does not match the job description name \"%s\"",
				declared, expected);
	else if (!expected && !declared)
		err = xstrdup("name: missing");
	else if (!name_is_safe(expected ? expected : declared, JDL_NAME_MAX))
		err = xasprintf("name: \"%s\" must be 1 to %d characters of [A-Za-z0-9_-]",
				expected ? expected : declared, JDL_NAME_MAX);
	else
		j->name = xstrdup(expected ? expected : declared);
	free(declared);
	return err;
}

/* A non-negative integer of `unit` (seconds, bytes, ...) or null/absent. */
static char *read_count(const json_t *root, const char *key, const char *unit, int64_t *slot)
{
	const json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return at_error("", key, "must be a non-negative integer (%s) or null", unit);
	*slot = (int64_t)json_integer_value(v);
	return NULL;
}

static char *read_seconds(const json_t *root, const char *key, int64_t *slot)
{
	return read_count(root, key, "seconds", slot);
}

/* The resource limits of the VOTable's PARAMs maxMemory etc.: 0 or absent is none. */
static char *read_limits(struct jdl *j, const json_t *root)
{
	char *err;

	if ((err = read_count(root, "maxMemory", "bytes", &j->max_memory)) ||
	    (err = read_count(root, "maxProcesses", "processes", &j->max_processes)) ||
	    (err = read_count(root, "maxOpenFiles", "files", &j->max_open_files)) ||
	    (err = read_count(root, "nodes", "nodes", &j->nodes)) ||
	    (err = read_count(root, "tasksPerNode", "tasks", &j->tasks_per_node)) ||
	    (err = read_count(root, "cpusPerTask", "CPUs", &j->cpus_per_task)))
		return err;
	return read_count(root, "maxCpuTime", "seconds", &j->max_cpu_time);
}

static char *read_root(struct jdl *j, const json_t *root, const char *expected)
{
	char *err;

	if (!json_is_object(root))
		return xstrdup("the description must be a JSON object");
	if ((err = check_keys(root, "", root_keys, OPUS_ARRAY_LEN(root_keys))) ||
	    (err = read_name(j, root, expected)) ||
	    (err = read_texts(j, root, "", root_texts, OPUS_ARRAY_LEN(root_texts))) ||
	    (err = read_seconds(root, "executionDuration", &j->execution_duration)) ||
	    (err = read_seconds(root, "quote", &j->quote)) || (err = read_limits(j, root)))
		return err;
	if (!j->script || !j->script[strspn(j->script, " \t\r\n")])
		return xstrdup("script: missing or empty (the bash script a job runs)");
	if ((err = read_params(j, root)) ||
	    (err = read_entities(&j->used, &j->nused, root, "used")))
		return err;
	return read_entities(&j->generated, &j->ngenerated, root, "generated");
}

int jdl_parse_json(const char *buf, size_t len, const char *name, struct jdl **out, char **err_out)
{
	struct jdl *j = xcalloc(1, sizeof(*j));
	json_t *root = NULL;
	json_error_t jerr;
	char *err = NULL;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	if (len > JDL_DOC_MAX) {
		err = xasprintf("description larger than %d bytes", JDL_DOC_MAX);
		goto done;
	}
	if (!(root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = xasprintf("malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
				jerr.text);
		goto done;
	}
	if ((err = read_root(j, root, name)) || (err = jdl_validate(j)) ||
	    (err = jdl_canonicalise(j)))
		goto done;
	ret = 0;
done:
	json_decref(root);
	return jdl_parse_end(j, ret, err, out, err_out);
}
