/*
 * prov_query.c: ProvSAP arguments (prov.h) with OPUS's names and defaults.
 * One table of parameters; each parser checks one value and says why it is
 * wrong in the words of the 400 the client gets ("DEPTH: ...").
 * Names are case-insensitive, AGENT/AGENTS and DESCRIPTION/DESCRIPTIONS are
 * one parameter each, unknown names are ignored (as OPUS does), and only ID
 * may repeat.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Enough for any lineage question; past it a client is probing. */
#define PROV_QUERY_MAX_IDS 100

typedef int (*prov_param_fn)(const struct prov *p, const char *v, struct prov_query *q, char **why);

static bool is_hex32(const char *s)
{
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[32] == '\0';
}

/* A job id (32 lowercase hex digits) or an entity id ('e' and 32). */
static bool id_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 32)
		return is_hex32(s);
	return n == 33 && s[0] == 'e' && is_hex32(s + 1);
}

static int param_id(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	if (!id_is_valid(v)) {
		*why = xstrdup("a job id (32 lowercase hex digits) or an entity id ('e' and 32)");
		return OPUS_ERR_INVAL;
	}
	if (q->nids >= PROV_QUERY_MAX_IDS) {
		*why = xasprintf("at most %d identifiers", PROV_QUERY_MAX_IDS);
		return OPUS_ERR_INVAL;
	}
	q->ids = xrealloc(q->ids, (q->nids + 1) * sizeof(*q->ids));
	q->ids[q->nids++] = xstrdup(v);
	return 0;
}

static int param_depth(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	int64_t d;

	if (!strcasecmp(v, "ALL")) {
		q->depth = p->max_depth;
		return 0;
	}
	if (parse_int64(v, &d) < 0 || d < 0 || v[0] == '+') {
		*why = xstrdup("an integer >= 0 or ALL");
		return OPUS_ERR_INVAL;
	}
	q->depth = d > p->max_depth ? p->max_depth : (int)d;
	return 0;
}

static int param_direction(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	if (!strcasecmp(v, "BACK"))
		q->forward = false;
	else if (!strcasecmp(v, "FORTH") || !strcasecmp(v, "FORWARD"))
		q->forward = true;
	else {
		*why = xstrdup("BACK, FORTH or FORWARD");
		return OPUS_ERR_INVAL;
	}
	return 0;
}

static int param_model(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	if (!strcasecmp(v, "IVOA"))
		q->w3c = false;
	else if (!strcasecmp(v, "W3C"))
		q->w3c = true;
	else {
		*why = xstrdup("IVOA or W3C");
		return OPUS_ERR_INVAL;
	}
	return 0;
}

/* OPUS reads its flags with int(): any integer, non-zero meaning on. The
 * words are accepted beside them. */
static int parse_flag(const char *v, bool *out, char **why)
{
	static const char *const on[] = {"true", "yes", "on"}, *const off[] = {"false", "no",
									       "off"};
	int64_t n;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(on); i++) {
		if (!strcasecmp(v, on[i]) || !strcasecmp(v, off[i])) {
			*out = !strcasecmp(v, on[i]);
			return 0;
		}
	}
	if (parse_int64(v, &n) == 0) {
		*out = n != 0;
		return 0;
	}
	*why = xstrdup("0 or 1 (or true/false, yes/no)");
	return OPUS_ERR_INVAL;
}

static int param_agents(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	return parse_flag(v, &q->agents, why);
}

static int param_configuration(const struct prov *p, const char *v, struct prov_query *q,
			       char **why)
{
	(void)p;
	return parse_flag(v, &q->configuration, why);
}

static int param_attributes(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	return parse_flag(v, &q->attributes, why);
}

static int param_members(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	return parse_flag(v, &q->members, why);
}

static int param_descriptions(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	if (v[0] < '0' || v[0] > '2' || v[1]) {
		*why = xstrdup("0, 1 or 2");
		return OPUS_ERR_INVAL;
	}
	q->descriptions = v[0] - '0';
	return 0;
}

static int param_gd(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	static const char *const dirs[] = {"LR", "TB", "BT", "RL"};

	(void)p;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(dirs); i++) {
		if (!strcasecmp(v, dirs[i])) {
			memcpy(q->graph_dir, dirs[i], 3);
			return 0;
		}
	}
	*why = xstrdup("LR, TB, BT or RL");
	return OPUS_ERR_INVAL;
}

/* OPUS's names, short ones, and the media types of each format. */
static const struct {
	const char *name;
	enum prov_format format;
} formats[] = {
    {"PROV-SVG", PROV_FMT_SVG},
    {"SVG", PROV_FMT_SVG},
    {"image/svg+xml", PROV_FMT_SVG},
    {"PROV-JSON", PROV_FMT_JSON},
    {"JSON", PROV_FMT_JSON},
    {"application/json", PROV_FMT_JSON},
    {"PROV-XML", PROV_FMT_XML},
    {"XML", PROV_FMT_XML},
    {"application/xml", PROV_FMT_XML},
    {"text/xml", PROV_FMT_XML},
    {"application/provenance+xml", PROV_FMT_XML},
    {"PROV-N", PROV_FMT_N},
    {"PROVN", PROV_FMT_N},
    {"text/provenance-notation", PROV_FMT_N},
    {"PROV-PNG", PROV_FMT_PNG},
    {"PNG", PROV_FMT_PNG},
    {"image/png", PROV_FMT_PNG},
    {"DOT", PROV_FMT_DOT},
    {"PROV-DOT", PROV_FMT_DOT},
    {"text/vnd.graphviz", PROV_FMT_DOT},
};

static int param_format(const struct prov *p, const char *v, struct prov_query *q, char **why)
{
	(void)p;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(formats); i++) {
		if (!strcasecmp(v, formats[i].name)) {
			q->format = formats[i].format;
			return 0;
		}
	}
	*why = xstrdup("PROV-SVG, PROV-JSON, PROV-XML, PROV-N, PROV-PNG or DOT");
	return OPUS_ERR_INVAL;
}

/* The parameters; `alias` is the other spelling OPUS has used. */
static const struct {
	const char *name;
	const char *alias;
	prov_param_fn parse;
} params[] = {
    {"ID", NULL, param_id},
    {"DEPTH", NULL, param_depth},
    {"DIRECTION", NULL, param_direction},
    {"MODEL", NULL, param_model},
    {"AGENTS", "AGENT", param_agents},
    {"CONFIGURATION", NULL, param_configuration},
    {"DESCRIPTIONS", "DESCRIPTION", param_descriptions},
    {"ATTRIBUTES", NULL, param_attributes},
    {"MEMBERS", NULL, param_members},
    {"GD", NULL, param_gd},
    {"RESPONSEFORMAT", NULL, param_format},
};

static int param_index(const char *name)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(params); i++)
		if (!strcasecmp(name, params[i].name) ||
		    (params[i].alias && !strcasecmp(name, params[i].alias)))
			return (int)i;
	return -1;
}

static void query_defaults(const struct prov *p, struct prov_query *q)
{
	memset(q, 0, sizeof(*q));
	q->depth = p->max_depth < 1 ? p->max_depth : 1;
	q->agents = true;
	q->configuration = true;
	q->attributes = true;
	memcpy(q->graph_dir, "LR", 3);
	q->format = PROV_FMT_SVG;
}

/* One argument into q; a failure names the parameter as the client wrote it. */
static int query_arg(const struct prov *p, const char *name, const char *value, bool *seen,
		     const char *fixed_id, struct prov_query *q, char **why_out)
{
	int i = param_index(name), rc;
	char *why = NULL;

	if (i < 0)
		return 0;
	if (i == 0 && fixed_id)
		why = xstrdup("not allowed here: the job is the one of the URL");
	else if (i != 0 && seen[i])
		why = xstrdup("given more than once");
	if (why) {
		*why_out = xasprintf("%s: %s", params[i].name, why);
		free(why);
		return OPUS_ERR_INVAL;
	}
	seen[i] = true;
	rc = params[i].parse(p, value ? value : "", q, &why);
	if (rc < 0) {
		*why_out = xasprintf("%s: %s", params[i].name, why);
		free(why);
	}
	return rc;
}

int prov_query_parse(const struct prov *p, const char *const *names, const char *const *values,
		     size_t n, const char *fixed_id, struct prov_query *out, char **why_out)
{
	bool seen[OPUS_ARRAY_LEN(params)] = {false};
	int rc = 0;

	*why_out = NULL;
	query_defaults(p, out);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = query_arg(p, names[i], values[i], seen, fixed_id, out, why_out);
	if (rc == 0 && fixed_id)
		rc = query_arg(p, "ID", fixed_id, seen, NULL, out, why_out);
	if (rc == 0 && out->nids == 0) {
		*why_out = xstrdup("ID: missing (a job id or an entity id)");
		rc = OPUS_ERR_INVAL;
	}
	if (rc < 0)
		prov_query_release(out);
	return rc;
}

void prov_query_release(struct prov_query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nids; i++)
		free(q->ids[i]);
	free(q->ids);
	q->ids = NULL;
	q->nids = 0;
}
