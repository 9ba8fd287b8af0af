/*
 * prov_json.c: PROV-JSON (W3C member submission, the shape of
 * prov-json.schema.json and of python prov's reader). Elements and
 * relations are objects keyed by identifier under their kind; relations
 * are anonymous ("_:r1"...). Typed values use {"$": ..., "type": ...};
 * integers and booleans are JSON's own, which python prov reads as the
 * same values as PROV-XML's xsd:long and xsd:boolean; an attribute given
 * several times (prov:type) is an array.
 *
 * Written straight into the buffer rather than through jansson's objects:
 * a 1,000-job chain is some 13,000 records, and building them as jansson
 * values cost three times the rest of the answer. Every string passes
 * through json_str(), the one escaper; the records' text is already valid
 * UTF-8 (prov_text_clean). tests/unit/test_prov.c parses the output with
 * jansson and tests/tools/prov_check.py checks it against the JSON Schema.
 */
#include "prov/prov-int.h"

#include <string.h>

/* The bytes a JSON string cannot hold as they are: controls (and the
 * terminating NUL), '"' and '\\'. A table: every byte of a document passes here. */
static const bool json_special[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,	['\\'] = 1,
};

static void json_str(struct sbuf *out, const char *s)
{
	sbuf_addc(out, '"');
	for (const char *run = s;; s++) {
		unsigned char c = (unsigned char)*s;
		if (!json_special[c])
			continue;
		sbuf_add(out, run, (size_t)(s - run));
		if (!c)
			break;
		if (c == '"' || c == '\\')
			sbuf_addf(out, "\\%c", c);
		else if (c == '\n')
			sbuf_adds(out, "\\n");
		else if (c == '\t')
			sbuf_adds(out, "\\t");
		else
			sbuf_addf(out, "\\u%04x", c);
		run = s + 1;
	}
	sbuf_addc(out, '"');
}

static void json_typed(struct sbuf *out, const char *v, const char *type)
{
	sbuf_adds(out, "{\"$\": ");
	json_str(out, v);
	sbuf_adds(out, ", \"type\": \"");
	sbuf_adds(out, type);
	sbuf_adds(out, "\"}");
}

static void json_value(struct sbuf *out, const struct prov_attr *a)
{
	int64_t n = 0;

	switch (a->type) {
	case PROV_V_LONG:
		if (parse_int64(a->value, &n) == 0)
			prov_add_int(out, n);
		else
			json_str(out, a->value);
		return;
	case PROV_V_BOOL:
		sbuf_adds(out, strcmp(a->value, "true") ? "false" : "true");
		return;
	case PROV_V_TIME:
		json_typed(out, a->value, "xsd:dateTime");
		return;
	case PROV_V_QNAME:
		json_typed(out, a->value, "prov:QUALIFIED_NAME");
		return;
	case PROV_V_URI:
		json_typed(out, a->value, "xsd:anyURI");
		return;
	case PROV_V_STRING:
		break;
	}
	json_str(out, a->value);
}

static void json_member(struct sbuf *out, bool *first, const char *name)
{
	sbuf_adds(out, *first ? "\n   " : ",\n   ");
	*first = false;
	json_str(out, name);
	sbuf_adds(out, ": ");
}

static void json_time(struct sbuf *out, bool *first, const char *name, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0)
		return;
	prov_time_format(ms, buf);
	json_member(out, first, name);
	json_str(out, buf);
}

/* Attribute names are static strings, the same one mostly at one address. */
static bool same_name(const char *a, const char *b)
{
	return a == b || (a[0] == b[0] && !strcmp(a, b));
}

/* The attributes, those of one name together (an array when several). */
static void json_attrs(struct sbuf *out, bool *first, const struct prov_rec *r)
{
	for (size_t i = 0; i < r->nattrs; i++) {
		const char *name = r->attrs[i].name;
		size_t same = 1;
		bool earlier = false;
		for (size_t k = 0; k < i && !earlier; k++)
			earlier = same_name(r->attrs[k].name, name);
		if (earlier)
			continue;
		for (size_t k = i + 1; k < r->nattrs; k++)
			same += same_name(r->attrs[k].name, name);
		json_member(out, first, name);
		if (same > 1)
			sbuf_addc(out, '[');
		for (size_t k = i, n = 0; k < r->nattrs; k++) {
			if (!same_name(r->attrs[k].name, name))
				continue;
			if (n++)
				sbuf_adds(out, ", ");
			json_value(out, &r->attrs[k]);
		}
		if (same > 1)
			sbuf_addc(out, ']');
	}
}

/* A record under its id, or under "_:r{anon}" when it has none. */
static void json_record(struct sbuf *out, const struct prov_rec *r, size_t anon)
{
	bool first = true;

	sbuf_adds(out, "  ");
	if (r->id) {
		json_str(out, r->id);
	} else {
		sbuf_adds(out, "\"_:r");
		prov_add_int(out, (int64_t)anon);
		sbuf_addc(out, '"');
	}
	sbuf_adds(out, ": {");
	for (int i = 0; i < 3; i++) {
		if (r->args[i] && prov_kind_arg(r->kind, i)) {
			json_member(out, &first, prov_kind_arg(r->kind, i));
			json_str(out, r->args[i]);
		}
	}
	json_time(out, &first, "prov:startTime", r->start_time);
	json_time(out, &first, "prov:endTime", r->end_time);
	json_time(out, &first, "prov:time", r->time);
	json_attrs(out, &first, r);
	sbuf_adds(out, first ? "}" : "\n  }");
}

int prov_json_write(const struct prov_graph *g, const char *base_url, struct sbuf *out)
{
	size_t nns, anon = 0;
	struct prov_ns *ns = prov_namespaces(g, base_url, &nns);

	sbuf_adds(out, "{\n \"prefix\": {");
	for (size_t i = 0; i < nns; i++) {
		sbuf_adds(out, i ? ",\n  " : "\n  ");
		json_str(out, ns[i].prefix);
		sbuf_adds(out, ": ");
		json_str(out, ns[i].uri);
	}
	sbuf_adds(out, "\n }");
	prov_namespaces_free(ns, nns);
	for (int k = 0; k < PROV_K_COUNT; k++) {
		size_t n = 0;
		for (size_t i = 0; i < g->nrecs; i++) {
			const struct prov_rec *r = &g->recs[i];
			if ((int)r->kind != k)
				continue;
			if (n++ == 0)
				sbuf_addf(out, ",\n \"%s\": {\n",
					  prov_kind_name((enum prov_kind)k));
			else
				sbuf_adds(out, ",\n");
			json_record(out, r, r->id ? 0 : ++anon);
		}
		if (n)
			sbuf_adds(out, "\n }");
	}
	sbuf_adds(out, "\n}\n");
	return out->err;
}
