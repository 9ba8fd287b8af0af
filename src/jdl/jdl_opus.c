/*
 * jdl_opus: what OPUS's JSON and WADL descriptions share and the VOTable
 * does not — types named after XML Schema ("xs:string"), "required" as
 * Python writes a boolean, options as one delimited string, durations as
 * text. Used by jdl_parse_opus_json.c and jdl_parse_wadl.c. See jdl-int.h.
 */
#include "jdl/jdl-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* OPUS's names of types (uws_jdl.py's datatype_xs2vo, plus xs:anyURI and
 * xs:int that opusd has types for), and the VOTable datatype each becomes. */
static const struct {
	const char *opus;
	const char *datatype;
} xs_types[] = {
    {"xs:boolean", "boolean"}, {"xs:short", "short"},	{"xs:int", "int"},
    {"xs:integer", "int"},     {"xs:long", "long"},	{"xs:string", "char"},
    {"xs:float", "float"},     {"xs:double", "double"}, {"xs:anyURI", "anyURI"},
};

char *jdl_opus_datatype(struct jdl_param *p, const char *opus_type, const char *where)
{
	const char *dt = opus_type ? opus_type : "char"; /* OPUS's own default */

	for (size_t i = 0; i < OPUS_ARRAY_LEN(xs_types); i++) {
		if (strcmp(dt, xs_types[i].opus) == 0)
			dt = xs_types[i].datatype;
	}
	for (int t = 0; t < JDL_TYPE_COUNT; t++) {
		if (strcmp(dt, jdl_type_name((enum jdl_type)t)) != 0)
			continue;
		p->type = (enum jdl_type)t;
		/* a file the OPUS way: char + octet-stream */
		p->datatype = xstrdup(t == JDL_FILE ? "char" : dt);
		if (t == JDL_FILE)
			p->xtype = xstrdup("application/octet-stream");
		if (t == JDL_FILE || t == JDL_CHAR)
			p->arraysize = xstrdup("*");
		return NULL;
	}
	return xasprintf("%s: unknown type \"%s\"", where, opus_type);
}

char *jdl_opus_required(struct jdl_param *p, const char *value, const char *where)
{
	bool required = true; /* OPUS's default when it says nothing */

	if (value && strcasecmp(value, "false") == 0)
		required = false;
	else if (value && strcasecmp(value, "true") != 0)
		return xasprintf("%s: \"%s\" is neither true nor false", where, value);
	/* a parameter with a default can always be left out (as in the VOTable) */
	p->required = required && !p->default_value;
	return NULL;
}

void jdl_opus_options(struct jdl_param *p, const char *list, char sep)
{
	const char *s = list;

	if (!list || !*list)
		return;
	for (;;) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);
		p->options = xrealloc(p->options, (p->noptions + 1) * sizeof(*p->options));
		p->options[p->noptions++] = xstrndup(s, len);
		if (!end)
			break;
		s = end + 1;
	}
}

char *jdl_opus_seconds(const char *value, const char *where, int64_t *out)
{
	int64_t v;

	if (!value)
		return NULL;
	if (parse_int64(value, &v) != 0 || v < 0)
		return xasprintf("%s: \"%s\" must be a non-negative integer (seconds)", where,
				 value);
	*out = v;
	return NULL;
}

char *jdl_opus_name(struct jdl *j, const char *declared, const char *expected)
{
	const char *name = expected ? expected : declared;

	if (expected && declared && strcmp(expected, declared) != 0)
		return xasprintf("name \"%s\" does not match the job description name \"%s\"",
				 declared, expected);
	if (!name)
		return xstrdup("name: missing");
	if (!name_is_safe(name, JDL_NAME_MAX))
		return xasprintf("name \"%s\": must be 1 to %d characters of [A-Za-z0-9_-]", name,
				 JDL_NAME_MAX);
	j->name = xstrdup(name);
	return NULL;
}

char *jdl_opus_finish(struct jdl *j, const char *script)
{
	char *err;

	if (!j->script && script) {
		j->script = xstrdup(script);
		if ((err = jdl_check_text("script", j->script, strlen(j->script))))
			return err;
	}
	if (!j->script || !j->script[strspn(j->script, " \t\r\n")])
		return xstrdup("script: missing or empty (and no scripts/{name}.sh)");
	if ((err = jdl_validate(j)))
		return err;
	return jdl_canonicalise(j);
}
