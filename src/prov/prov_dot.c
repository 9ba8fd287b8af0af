/*
 * prov_dot.c: the graph as Graphviz DOT, in the colours PROV drawings use
 * (python prov's prov.dot, OPUS's voprov drawings): entities yellow
 * ellipses, activities blue boxes, agents orange houses; voprov parameters
 * green, descriptions lilac notes. Each node links (URL=) to its job page
 * or its /store URL; GD is the rank direction. With ATTRIBUTES the node
 * shows its attributes below its label; the tooltip always has the id.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>

#define DOT_ATTR_LINES 8  /* attributes shown per node */
#define DOT_VALUE_MAX  40 /* characters of a value shown */
/*
 * An agent with more relations than this (opusd, a job's owner over a long
 * chain) is drawn once beside each job instead of once for all: dot's
 * layout of a few hubs tied to every job takes minutes from some fifty
 * jobs on, and well under a second once the hubs are leaves.
 */
#define DOT_HUB_EDGES 4

static const struct prov_look styles[] = {
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

const struct prov_look *prov_dot_look(enum prov_style s)
{
	return &styles[s];
}

const char *prov_dot_edge_colour(enum prov_kind k)
{
	return edge_colours[k] ? edge_colours[k] : "#000000";
}

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

/* A node; copy > 0 names the copy of a hub drawn beside one relation. */
static void node(struct sbuf *out, const struct prov_graph *g, const struct prov_rec *r,
		 size_t copy)
{
	sbuf_adds(out, "  \"");
	dot_text(out, r->id, 0);
	if (copy)
		sbuf_addf(out, "#%zu", copy);
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

/* The number of relations that end at each agent (index of g->recs). */
static size_t *agent_degrees(const struct prov_graph *g)
{
	size_t *deg = xcalloc(g->nrecs ? g->nrecs : 1, sizeof(*deg));

	for (size_t i = 0; i < g->nrecs; i++) {
		const struct prov_rec *r = &g->recs[i];
		if (r->kind != PROV_K_ASSOCIATED && r->kind != PROV_K_ATTRIBUTED)
			continue;
		const struct prov_rec *a = r->args[1] ? prov_graph_find(g, r->args[1]) : NULL;
		if (a)
			deg[a - g->recs]++;
	}
	return deg;
}

/* An edge; a hub agent at its end gets a copy of its own (*copies counts). */
static void edge(struct sbuf *out, const struct prov_graph *g, const struct prov_rec *r,
		 const size_t *deg, size_t *copies)
{
	const char *role = attr_of(r, "prov:role");
	const struct prov_rec *to = prov_graph_find(g, r->args[1] ? r->args[1] : "");
	size_t copy = 0;

	if (!r->args[0] || !r->args[1])
		return;
	if (to && to->kind == PROV_K_AGENT && deg[to - g->recs] > DOT_HUB_EDGES) {
		copy = ++*copies;
		node(out, g, to, copy);
	}
	sbuf_adds(out, "  \"");
	dot_text(out, r->args[0], 0);
	sbuf_adds(out, "\" -> \"");
	dot_text(out, r->args[1], 0);
	if (copy)
		sbuf_addf(out, "#%zu", copy);
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
	size_t *deg = agent_degrees(g), copies = 0;

	for (size_t i = 0; i < g->nrecs; i++)
		if (g->recs[i].id && !(g->recs[i].kind == PROV_K_AGENT && deg[i] > DOT_HUB_EDGES))
			node(out, g, &g->recs[i], 0);
	for (size_t i = 0; i < g->nrecs; i++)
		if (!g->recs[i].id)
			edge(out, g, &g->recs[i], deg, &copies);
	free(deg);
	sbuf_adds(out, "}\n");
	return out->err;
}
