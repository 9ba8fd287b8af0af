/*
 * prov_n.c: PROV-N (W3C PROV-N, the grammar of its section 2): one
 * expression per record, optional arguments written as markers ("-") so
 * that attributes can follow; strings escaped as STRING_LITERAL wants
 * (backslash, quote, newline, tab), typed values with "%%", qualified names
 * quoted as QUALIFIED_NAME_LITERAL. The prov and xsd prefixes are the
 * language's own and are not declared.
 */
#include "prov/prov-int.h"

#include <string.h>

static void string_lit(struct sbuf *out, const char *s)
{
	sbuf_addc(out, '"');
	for (; *s; s++) {
		switch (*s) {
		case '"':
			sbuf_adds(out, "\\\"");
			break;
		case '\\':
			sbuf_adds(out, "\\\\");
			break;
		case '\n':
			sbuf_adds(out, "\\n");
			break;
		case '\t':
			sbuf_adds(out, "\\t");
			break;
		default:
			sbuf_addc(out, *s);
		}
	}
	sbuf_addc(out, '"');
}

static void value(struct sbuf *out, const struct prov_attr *a)
{
	static const char *const xsd[] = {
	    [PROV_V_LONG] = "xsd:long",
	    [PROV_V_BOOL] = "xsd:boolean",
	    [PROV_V_TIME] = "xsd:dateTime",
	    [PROV_V_URI] = "xsd:anyURI",
	};

	if (a->type == PROV_V_QNAME) {
		sbuf_addf(out, "'%s'", a->value);
		return;
	}
	string_lit(out, a->value);
	if (a->type != PROV_V_STRING)
		sbuf_addf(out, " %%%% %s", xsd[a->type]);
}

static void time_or_marker(struct sbuf *out, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0) {
		sbuf_adds(out, ", -");
		return;
	}
	time_format(ms, buf);
	sbuf_addf(out, ", %s", buf);
}

/* The arguments after the first two, per kind, as PROV-N has them. */
static void tail_args(struct sbuf *out, const struct prov_rec *r)
{
	switch (r->kind) {
	case PROV_K_USED:
	case PROV_K_GENERATED:
	case PROV_K_INVALIDATED:
		time_or_marker(out, r->time);
		break;
	case PROV_K_DERIVED:
		sbuf_addf(out, ", %s, -, -", r->args[2] ? r->args[2] : "-");
		break;
	case PROV_K_ASSOCIATED:
		sbuf_addf(out, ", %s", r->args[2] ? r->args[2] : "-");
		break;
	default:
		break;
	}
}

static void expression(struct sbuf *out, const struct prov_rec *r)
{
	sbuf_addf(out, "  %s(", prov_kind_name(r->kind));
	if (r->id) {
		sbuf_adds(out, r->id);
		if (r->kind == PROV_K_ACTIVITY && (r->start_time > 0 || r->end_time > 0)) {
			time_or_marker(out, r->start_time);
			time_or_marker(out, r->end_time);
		}
	} else {
		sbuf_addf(out, "%s, %s", r->args[0], r->args[1] ? r->args[1] : "-");
		tail_args(out, r);
	}
	if (r->nattrs && r->kind != PROV_K_MEMBER) {
		sbuf_adds(out, ", [");
		for (size_t i = 0; i < r->nattrs; i++) {
			sbuf_addf(out, "%s%s=", i ? ", " : "", r->attrs[i].name);
			value(out, &r->attrs[i]);
		}
		sbuf_addc(out, ']');
	}
	sbuf_adds(out, ")\n");
}

int prov_n_write(const struct prov_graph *g, const char *base_url, struct sbuf *out)
{
	size_t nns;
	struct prov_ns *ns = prov_namespaces(g, base_url, &nns);

	sbuf_adds(out, "document\n");
	for (size_t i = 0; i < nns; i++)
		if (strcmp(ns[i].prefix, "prov") && strcmp(ns[i].prefix, "xsd"))
			sbuf_addf(out, "  prefix %s <%s>\n", ns[i].prefix, ns[i].uri);
	prov_namespaces_free(ns, nns);
	for (int k = 0; k < PROV_K_COUNT; k++)
		for (size_t i = 0; i < g->nrecs; i++)
			if ((int)g->recs[i].kind == k)
				expression(out, &g->recs[i]);
	sbuf_adds(out, "endDocument\n");
	return out->err;
}
