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
 * a 1,000-job chain is some 21,000 records, and building them as jansson
 * values cost three times the rest of the answer. The appends (a million
 * for such a chain) go to a local buffer flushed into the output when full
 * (struct jw), inline copies rather than calls. Every string passes
 * through json_str(), the one escaper; the records' text is already valid
 * UTF-8 (prov_text_clean). tests/unit/test_prov.c parses the output with
 * jansson and tests/tools/prov_check.py checks it against the JSON Schema.
 */
#include "prov/prov-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JW_BUF 16384

/* The writer: a local buffer in front of the output. */
struct jw {
	struct sbuf *out;
	size_t n;
	char buf[JW_BUF];
};

static void jw_flush(struct jw *w)
{
	sbuf_add(w->out, w->buf, w->n);
	w->n = 0;
}

static inline void jw_add(struct jw *w, const char *s, size_t n)
{
	if (n > JW_BUF - w->n) {
		jw_flush(w);
		if (n > JW_BUF) {
			sbuf_add(w->out, s, n);
			return;
		}
	}
	memcpy(w->buf + w->n, s, n);
	w->n += n;
}

static inline void jw_c(struct jw *w, char c)
{
	if (w->n == JW_BUF)
		jw_flush(w);
	w->buf[w->n++] = c;
}

/* A string literal (its length known at compile time). */
#define JW_LIT(w, lit) jw_add((w), "" lit, sizeof(lit) - 1)

static void jw_int(struct jw *w, int64_t v)
{
	char buf[PROV_INT_MAX];

	jw_add(w, buf, prov_int_format(v, buf));
}

/* The bytes a JSON string cannot hold as they are: controls (and the
 * terminating NUL), '"' and '\\'. A table: every byte of a document passes here. */
static const bool json_special[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,	['\\'] = 1,
};

static void json_escape(struct jw *w, unsigned char c)
{
	char u[8];

	if (c == '"' || c == '\\') {
		jw_c(w, '\\');
		jw_c(w, (char)c);
	} else if (c == '\n') {
		JW_LIT(w, "\\n");
	} else if (c == '\t') {
		JW_LIT(w, "\\t");
	} else {
		snprintf(u, sizeof(u), "\\u%04x", c);
		jw_add(w, u, 6);
	}
}

/* Whether one of the eight bytes of v is special (a control, '"' or '\\'):
 * the classic SWAR tests, a byte below 0x20 or equal to one of the two. */
static inline bool word_special(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');

	return (((v - ones * 0x20) | (q - ones) | (b - ones)) & ~v & highs) != 0;
}

/* The length of the plain run at the start of s[0 .. n): eight bytes at a
 * time, then byte by byte. */
static size_t plain_run(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t v;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		if (word_special(v))
			break;
	}
	while (i < n && !json_special[(unsigned char)s[i]])
		i++;
	return i;
}

static void json_str(struct jw *w, const char *s)
{
	size_t n = strlen(s);

	jw_c(w, '"');
	for (;;) {
		size_t run = plain_run(s, n);
		jw_add(w, s, run);
		if (run == n)
			break;
		json_escape(w, (unsigned char)s[run]);
		s += run + 1;
		n -= run + 1;
	}
	jw_c(w, '"');
}

static void json_typed(struct jw *w, const char *v, const char *type)
{
	JW_LIT(w, "{\"$\": ");
	json_str(w, v);
	JW_LIT(w, ", \"type\": \"");
	jw_add(w, type, strlen(type));
	JW_LIT(w, "\"}");
}

static void json_value(struct jw *w, const struct prov_attr *a)
{
	int64_t n = 0;

	switch (a->type) {
	case PROV_V_LONG:
		if (parse_int64(a->value, &n) == 0)
			jw_int(w, n);
		else
			json_str(w, a->value);
		return;
	case PROV_V_BOOL:
		if (strcmp(a->value, "true"))
			JW_LIT(w, "false");
		else
			JW_LIT(w, "true");
		return;
	case PROV_V_TIME:
		json_typed(w, a->value, "xsd:dateTime");
		return;
	case PROV_V_QNAME:
		json_typed(w, a->value, "prov:QUALIFIED_NAME");
		return;
	case PROV_V_URI:
		json_typed(w, a->value, "xsd:anyURI");
		return;
	case PROV_V_STRING:
		break;
	}
	json_str(w, a->value);
}

static void json_member(struct jw *w, bool *first, const char *name)
{
	if (*first)
		JW_LIT(w, "\n   ");
	else
		JW_LIT(w, ",\n   ");
	*first = false;
	json_str(w, name);
	JW_LIT(w, ": ");
}

static void json_time(struct jw *w, bool *first, const char *name, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0)
		return;
	prov_time_format(ms, buf);
	json_member(w, first, name);
	json_str(w, buf);
}

/* Attribute names are static strings, the same one mostly at one address. */
static bool same_name(const char *a, const char *b)
{
	return a == b || (a[0] == b[0] && !strcmp(a, b));
}

/* The attributes, those of one name together (an array when several). */
static void json_attrs(struct jw *w, bool *first, const struct prov_rec *r)
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
		json_member(w, first, name);
		if (same > 1)
			jw_c(w, '[');
		for (size_t k = i, n = 0; k < r->nattrs; k++) {
			if (!same_name(r->attrs[k].name, name))
				continue;
			if (n++)
				JW_LIT(w, ", ");
			json_value(w, &r->attrs[k]);
		}
		if (same > 1)
			jw_c(w, ']');
	}
}

/* A record under its id, or under "_:r{anon}" when it has none. */
static void json_record(struct jw *w, const struct prov_rec *r, size_t anon)
{
	bool first = true;

	JW_LIT(w, "  ");
	if (r->id) {
		json_str(w, r->id);
	} else {
		JW_LIT(w, "\"_:r");
		jw_int(w, (int64_t)anon);
		jw_c(w, '"');
	}
	JW_LIT(w, ": {");
	for (int i = 0; i < 3; i++) {
		if (r->args[i] && prov_kind_arg(r->kind, i)) {
			json_member(w, &first, prov_kind_arg(r->kind, i));
			json_str(w, r->args[i]);
		}
	}
	json_time(w, &first, "prov:startTime", r->start_time);
	json_time(w, &first, "prov:endTime", r->end_time);
	json_time(w, &first, "prov:time", r->time);
	json_attrs(w, &first, r);
	if (first)
		jw_c(w, '}');
	else
		JW_LIT(w, "\n  }");
}

static void json_prefixes(struct jw *w, const struct prov_graph *g, const char *base_url)
{
	size_t nns;
	struct prov_ns *ns = prov_namespaces(g, base_url, &nns);

	JW_LIT(w, "{\n \"prefix\": {");
	for (size_t i = 0; i < nns; i++) {
		if (i)
			JW_LIT(w, ",\n  ");
		else
			JW_LIT(w, "\n  ");
		json_str(w, ns[i].prefix);
		JW_LIT(w, ": ");
		json_str(w, ns[i].uri);
	}
	JW_LIT(w, "\n }");
	prov_namespaces_free(ns, nns);
}

int prov_json_write(const struct prov_graph *g, const char *base_url, struct sbuf *out)
{
	struct jw *w = xmalloc(sizeof(*w));
	size_t anon = 0;

	w->out = out;
	w->n = 0;
	json_prefixes(w, g, base_url);
	for (int k = 0; k < PROV_K_COUNT; k++) {
		size_t n = 0;
		for (size_t i = 0; i < g->nrecs; i++) {
			const struct prov_rec *r = &g->recs[i];
			if ((int)r->kind != k)
				continue;
			if (n++ == 0) {
				JW_LIT(w, ",\n \"");
				jw_add(w, prov_kind_name(r->kind), strlen(prov_kind_name(r->kind)));
				JW_LIT(w, "\": {\n");
			} else {
				JW_LIT(w, ",\n");
			}
			json_record(w, r, r->id ? 0 : ++anon);
		}
		if (n)
			JW_LIT(w, "\n }");
	}
	JW_LIT(w, "\n}\n");
	jw_flush(w);
	free(w);
	return out->err;
}
