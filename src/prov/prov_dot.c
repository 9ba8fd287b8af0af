/*
 * prov_dot.c: the graph as Graphviz DOT, in the colours PROV drawings use
 * (python prov's prov.dot, OPUS's voprov drawings): entities yellow
 * ellipses, activities blue boxes, agents orange houses; voprov parameters
 * green, descriptions lilac notes. Each node links (URL=) to its job page
 * or its /store URL; GD is the rank direction. With ATTRIBUTES the node
 * shows its attributes below its label; the tooltip always has the id.
 */
#include "prov/prov-int.h"

#include <string.h>

#define DOT_ATTR_LINES 8  /* attributes shown per node */
#define DOT_VALUE_MAX  40 /* characters of a value shown */

static const struct {
	const char *shape, *fill, *line, *extra;
} styles[] = {
    [PROV_S_FILE] = {"ellipse", "#FFFC87", "#808080", ""},
    [PROV_S_JOB] = {"box", "#9FB1FC", "#0000FF", ""},
    [PROV_S_AGENT] = {"house", "#FED37F", "#000000", ""},
    [PROV_S_PARAMETER] = {"ellipse", "#C5F0C1", "#2E8B57", ""},
    [PROV_S_DESCRIPTION] = {"note", "#E3D4F7", "#6A3D9A", ""},
    [PROV_S_COLLECTION] = {"ellipse", "#FFFC87", "#808080", ", peripheries=2"},
};

static const char *const edge_colours[PROV_K_COUNT] = {
    [PROV_K_USED] = "#2E8B57",	      [PROV_K_GENERATED] = "#8B0000",
    [PROV_K_INVALIDATED] = "#8B0000", [PROV_K_INFORMED] = "#0000FF",
    [PROV_K_DERIVED] = "#B8860B",     [PROV_K_ASSOCIATED] = "#FF8C00",
    [PROV_K_ATTRIBUTED] = "#FF8C00",  [PROV_K_INFLUENCED] = "#808080",
    [PROV_K_MEMBER] = "#808080",
};

/* Text inside a DOT quoted string, cut at max characters (0: whole). */
static void dot_text(struct sbuf *out, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s && (!max || n < max); s++, n++) {
		if (*s == '"' || *s == '\\')
			sbuf_addc(out, '\\');
		sbuf_addc(out, (char)(*s == '\n' || *s == '\t' ? ' ' : *s));
	}
	if (*s)
		sbuf_adds(out, "...");
}

static const char *attr_of(const struct prov_rec *r, const char *name)
{
	for (size_t i = 0; i < r->nattrs; i++)
		if (!strcmp(r->attrs[i].name, name))
			return r->attrs[i].value;
	return NULL;
}

static void node_label(struct sbuf *out, const struct prov_graph *g, const struct prov_rec *r)
{
	const char *label = attr_of(r, "prov:label");
	int lines = 0;

	dot_text(out, label ? label : r->id, DOT_VALUE_MAX);
	if (!g->attributes)
		return;
	sbuf_adds(out, "\\n");
	for (size_t i = 0; i < r->nattrs && lines < DOT_ATTR_LINES; i++) {
		const struct prov_attr *a = &r->attrs[i];
		if (!strcmp(a->name, "prov:label") || !strcmp(a->name, "prov:location"))
			continue;
		dot_text(out, a->name, 0);
		sbuf_adds(out, " = ");
		dot_text(out, a->value, DOT_VALUE_MAX);
		sbuf_adds(out, "\\l");
		lines++;
	}
}

static void node(struct sbuf *out, const struct prov_graph *g, const struct prov_rec *r)
{
	sbuf_adds(out, "  \"");
	dot_text(out, r->id, 0);
	sbuf_addf(out, "\" [shape=%s, style=filled, fillcolor=\"%s\", color=\"%s\"%s, label=\"",
		  styles[r->style].shape, styles[r->style].fill, styles[r->style].line,
		  styles[r->style].extra);
	node_label(out, g, r);
	sbuf_adds(out, "\", tooltip=\"");
	dot_text(out, r->id, 0);
	if (r->url) {
		sbuf_adds(out, "\", URL=\"");
		dot_text(out, r->url, 0);
	}
	sbuf_adds(out, "\"];\n");
}

static void edge(struct sbuf *out, const struct prov_rec *r)
{
	const char *role = attr_of(r, "prov:role");

	if (!r->args[0] || !r->args[1])
		return;
	sbuf_adds(out, "  \"");
	dot_text(out, r->args[0], 0);
	sbuf_adds(out, "\" -> \"");
	dot_text(out, r->args[1], 0);
	sbuf_addf(out, "\" [color=\"%s\", fontcolor=\"%s\", label=\"%s", edge_colours[r->kind],
		  edge_colours[r->kind], prov_kind_name(r->kind));
	if (role) {
		sbuf_adds(out, "\\n");
		dot_text(out, role, DOT_VALUE_MAX);
	}
	sbuf_adds(out, "\"];\n");
}

int prov_dot_write(const struct prov_graph *g, struct sbuf *out)
{
	sbuf_addf(out,
		  "digraph provenance {\n  rankdir=%s;\n  charset=\"UTF-8\";\n"
		  "  node [fontname=\"Helvetica\", fontsize=10];\n"
		  "  edge [fontname=\"Helvetica\", fontsize=8];\n",
		  g->graph_dir[0] ? g->graph_dir : "LR");
	for (size_t i = 0; i < g->nrecs; i++)
		if (g->recs[i].id)
			node(out, g, &g->recs[i]);
	for (size_t i = 0; i < g->nrecs; i++)
		if (!g->recs[i].id)
			edge(out, &g->recs[i]);
	sbuf_adds(out, "}\n");
	return out->err;
}
