/*
 * prov_draw.c: the summarised drawing of a graph too large for graphviz
 * (prov-int.h, prov_draw_summary): SVG written here, laid out here, in
 * time linear in the graph. dot lays out a 1,000-job chain (11,000 nodes
 * with their parameters and agents, 4,000 ranks) in minutes, and even its
 * 4,000 jobs and files alone take it 6 s: its rank and position passes
 * grow faster than linearly with the ranks of a long chain.
 *
 * What is drawn: jobs (activities) and files (entities), with the
 * relations between them that make the lineage (used, wasGeneratedBy,
 * wasInvalidatedBy), in the colours and shapes of the graphviz drawings
 * (prov_dot_look). Parameters, agents and descriptions are left out, and so
 * are wasDerivedFrom and wasInformedBy, which follow from used and
 * wasGeneratedBy; a caption says so. Each node links to its job page or
 * /store URL, its tooltip gives its id and attributes; each edge's tooltip
 * its relation and role.
 *
 * Layout: layered, as dot's. A node's layer is the longest path from it
 * to a node without successors (so a file sits beside the job that made
 * it, and the oldest jobs are last); layers are columns (GD=LR, RL) or rows
 * (TB, BT); within a layer, nodes are ordered by the mean position of
 * their successors, the layer nearest the sinks first, and centred on the
 * drawing's axis. Nodes in a cycle (none in provenance, but the graph
 * does not promise it) stay in the last layer. Edges are straight lines.
 */
#include "prov/prov-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAW_FONT      10 /* px, as the graphviz drawings' nodes */
#define DRAW_CHAR_W    6  /* px per character of DRAW_FONT: Helvetica's mean, rounded up */
#define DRAW_LABEL_MAX 40 /* characters of a label shown */
#define DRAW_NODE_H    34 /* px: two lines */
#define DRAW_PAD       14 /* px of a node's width beyond its text */
#define DRAW_GAP_LAYER 70 /* px between layers */
#define DRAW_GAP_NODE  18 /* px between nodes of a layer */
#define DRAW_MARGIN    20 /* px around the drawing */
#define DRAW_CAPTION   46 /* px above it for the caption */

struct dnode {
	size_t rec;	/* index into g->recs */
	int layer;	/* longest path to a sink */
	size_t remain;	/* successors not yet layered */
	double key;	/* ordering within the layer */
	double x, y, w; /* centre, width (height DRAW_NODE_H) */
};

struct dedge {
	size_t from, to, rec; /* dnode, dnode, g->recs */
};

struct draw {
	const struct prov_graph *g;
	struct dnode *n;
	size_t nn;
	struct dedge *e;
	size_t ne;
	size_t *of_rec;		/* g->recs index -> dnode index, SIZE_MAX: not drawn */
	size_t *succ_at, *succ; /* successors, CSR: succ[succ_at[v] .. succ_at[v + 1]) */
	size_t *pred_at, *pred; /* predecessors, likewise */
	size_t **layer;		/* dnode indices per layer, ordered */
	size_t *nlayer, nlayers;
	size_t left_out;	 /* elements not drawn */
	bool vertical, reversed; /* TB/BT; BT/RL */
};

static bool drawn_kind(const struct prov_rec *r)
{
	return r->style == PROV_S_JOB || r->style == PROV_S_FILE;
}

static bool drawn_relation(enum prov_kind k)
{
	return k == PROV_K_USED || k == PROV_K_GENERATED || k == PROV_K_INVALIDATED;
}

/* The shown part of a label: at most DRAW_LABEL_MAX characters, cut at a
 * character boundary (the text is valid UTF-8); its byte length, and its
 * length in characters in *chars. */
static size_t label_cut(const char *s, size_t *chars)
{
	size_t i = 0, n = 0;

	while (s[i] && n < DRAW_LABEL_MAX) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	*chars = n;
	return i;
}

static const char *attr_value(const struct prov_rec *r, const char *name)
{
	for (size_t i = 0; i < r->nattrs; i++)
		if (!strcmp(r->attrs[i].name, name))
			return r->attrs[i].value;
	return NULL;
}

/* The second line of a node: the start of the last part of its id (a job's
 * or file's own id), which tells apart the jobs of one description. */
static const char *short_id(const char *id, size_t *len)
{
	const char *s = id;

	for (const char *p = id; *p; p++)
		if (*p == ':' || *p == '.')
			s = p + 1;
	*len = strnlen(s, 9);
	return s;
}

static double node_width(const struct prov_rec *r)
{
	const char *label = attr_value(r, "prov:label");
	size_t chars, idlen, n;

	if (!label)
		label = r->id;
	n = label_cut(label, &chars);
	if (label[n]) /* cut: room for "..." */
		chars += 3;
	(void)short_id(r->id, &idlen);
	if (idlen > chars)
		chars = idlen;
	if (chars < 8)
		chars = 8;
	return (double)(chars * DRAW_CHAR_W + DRAW_PAD);
}

/* The drawn nodes and edges of g. */
static void draw_select(struct draw *d)
{
	const struct prov_graph *g = d->g;
	size_t nrecs = g->nrecs;

	d->of_rec = xmalloc((nrecs ? nrecs : 1) * sizeof(*d->of_rec));
	d->n = xcalloc(nrecs ? nrecs : 1, sizeof(*d->n));
	d->e = xcalloc(nrecs ? nrecs : 1, sizeof(*d->e));
	for (size_t i = 0; i < nrecs; i++) {
		const struct prov_rec *r = &g->recs[i];
		d->of_rec[i] = SIZE_MAX;
		if (!r->id)
			continue;
		if (!drawn_kind(r)) {
			d->left_out++;
			continue;
		}
		d->of_rec[i] = d->nn;
		d->n[d->nn++] = (struct dnode){.rec = i, .w = node_width(r)};
	}
	for (size_t i = 0; i < nrecs; i++) {
		const struct prov_rec *r = &g->recs[i];
		const struct prov_rec *a, *b;
		if (r->id || !drawn_relation(r->kind) || !r->args[0] || !r->args[1])
			continue;
		a = prov_graph_find(g, r->args[0]);
		b = prov_graph_find(g, r->args[1]);
		if (!a || !b || d->of_rec[a - g->recs] == SIZE_MAX ||
		    d->of_rec[b - g->recs] == SIZE_MAX || a == b)
			continue;
		d->e[d->ne++] = (struct dedge){d->of_rec[a - g->recs], d->of_rec[b - g->recs], i};
	}
}

/* Compressed adjacency, for each node the far ends of its edges (forward:
 * its successors, else its predecessors): where each node's list starts
 * (nn + 1 entries), then the lists. */
static size_t *adjacency_at(const struct draw *d, bool forward)
{
	size_t *at = xcalloc(d->nn + 1, sizeof(*at));

	for (size_t i = 0; i < d->ne; i++)
		at[(forward ? d->e[i].from : d->e[i].to) + 1]++;
	for (size_t v = 0; v < d->nn; v++)
		at[v + 1] += at[v];
	return at;
}

static size_t *adjacency(const struct draw *d, bool forward, const size_t *at)
{
	size_t *adj = xmalloc((d->ne ? d->ne : 1) * sizeof(*adj));
	size_t *fill = xcalloc(d->nn + 1, sizeof(*fill));

	for (size_t i = 0; i < d->ne; i++) {
		size_t v = forward ? d->e[i].from : d->e[i].to;
		adj[at[v] + fill[v]++] = forward ? d->e[i].to : d->e[i].from;
	}
	free(fill);
	return adj;
}

/* Layers: the longest path to a sink, from the sinks back (Kahn's order on
 * the reversed edges). Returns the number of layers. */
static size_t draw_layers(struct draw *d)
{
	size_t *queue = xmalloc((d->nn ? d->nn : 1) * sizeof(*queue)), head = 0, tail = 0;
	int top = 0;

	for (size_t v = 0; v < d->nn; v++) {
		d->n[v].remain = d->succ_at[v + 1] - d->succ_at[v];
		d->n[v].layer = -1;
		if (d->n[v].remain == 0) {
			d->n[v].layer = 0;
			queue[tail++] = v;
		}
	}
	while (head < tail) {
		size_t v = queue[head++];
		for (size_t k = d->pred_at[v]; k < d->pred_at[v + 1]; k++) {
			struct dnode *u = &d->n[d->pred[k]];
			if (u->layer < d->n[v].layer + 1)
				u->layer = d->n[v].layer + 1;
			if (--u->remain == 0)
				queue[tail++] = d->pred[k];
		}
		if (d->n[v].layer > top)
			top = d->n[v].layer;
	}
	for (size_t v = 0; v < d->nn; v++)
		if (d->n[v].remain) /* on a cycle */
			d->n[v].layer = 0;
	free(queue);
	return d->nn ? (size_t)top + 1 : 0;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	const struct dnode *n = arg;
	const struct dnode *x = &n[*(const size_t *)a], *y = &n[*(const size_t *)b];

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* The nodes of each layer, ordered, sinks' layer first. */
static void draw_order(struct draw *d)
{
	size_t *fill;

	d->nlayer = xcalloc(d->nlayers ? d->nlayers : 1, sizeof(*d->nlayer));
	d->layer = xcalloc(d->nlayers ? d->nlayers : 1, sizeof(*d->layer));
	fill = xcalloc(d->nlayers ? d->nlayers : 1, sizeof(*fill));
	for (size_t v = 0; v < d->nn; v++)
		d->nlayer[d->n[v].layer]++;
	for (size_t l = 0; l < d->nlayers; l++)
		d->layer[l] = xmalloc((d->nlayer[l] ? d->nlayer[l] : 1) * sizeof(**d->layer));
	for (size_t v = 0; v < d->nn; v++)
		d->layer[d->n[v].layer][fill[d->n[v].layer]++] = v;
	free(fill);
}

/* Positions along the layer axis, layer by layer from the sinks: each
 * node at the mean position of its successors (already placed), the layer
 * centred on the axis, nodes DRAW_GAP_NODE apart. */
static void draw_place_across(struct draw *d)
{
	for (size_t l = 0; l < d->nlayers; l++) {
		size_t *v = d->layer[l], n = d->nlayer[l];
		double total = 0, at;
		for (size_t i = 0; i < n; i++) {
			struct dnode *x = &d->n[v[i]];
			size_t k0 = d->succ_at[v[i]], k1 = d->succ_at[v[i] + 1];
			double sum = 0;
			for (size_t k = k0; k < k1; k++)
				sum += d->vertical ? d->n[d->succ[k]].x : d->n[d->succ[k]].y;
			x->key = k1 > k0 ? sum / (double)(k1 - k0) : (double)x->rec;
		}
		qsort_r(v, n, sizeof(*v), key_cmp, d->n);
		for (size_t i = 0; i < n; i++)
			total +=
			    (d->vertical ? d->n[v[i]].w : DRAW_NODE_H) + (i ? DRAW_GAP_NODE : 0);
		at = -total / 2;
		for (size_t i = 0; i < n; i++) {
			struct dnode *x = &d->n[v[i]];
			double size = d->vertical ? x->w : DRAW_NODE_H;
			if (d->vertical)
				x->x = at + size / 2;
			else
				x->y = at + size / 2;
			at += size + DRAW_GAP_NODE;
		}
	}
}

/* Positions along the layers' axis: the sources' layer first (left or
 * top), each layer as wide as its widest node; then everything shifted
 * into the page. *w and *h: the page's size. */
static void draw_place_along(struct draw *d, double *w, double *h)
{
	double at = 0, lo = 0, hi = 0;

	for (size_t k = 0; k < d->nlayers; k++) {
		size_t l = d->reversed ? k : d->nlayers - 1 - k;
		double size = d->vertical ? DRAW_NODE_H : 0;
		for (size_t i = 0; i < d->nlayer[l]; i++) {
			struct dnode *x = &d->n[d->layer[l][i]];
			if (!d->vertical && x->w > size)
				size = x->w;
			double across = d->vertical ? x->x : x->y;
			double half = (d->vertical ? x->w : DRAW_NODE_H) / 2;
			lo = across - half < lo ? across - half : lo;
			hi = across + half > hi ? across + half : hi;
		}
		for (size_t i = 0; i < d->nlayer[l]; i++) {
			struct dnode *x = &d->n[d->layer[l][i]];
			if (d->vertical)
				x->y = at + size / 2;
			else
				x->x = at + size / 2;
		}
		at += size + DRAW_GAP_LAYER;
	}
	for (size_t v = 0; v < d->nn; v++) {
		struct dnode *x = &d->n[v];
		if (d->vertical) {
			x->x += DRAW_MARGIN - lo;
			x->y += DRAW_MARGIN + DRAW_CAPTION;
		} else {
			x->x += DRAW_MARGIN;
			x->y += DRAW_MARGIN + DRAW_CAPTION - lo;
		}
	}
	at = d->nlayers ? at - DRAW_GAP_LAYER : 0;
	*w = 2 * DRAW_MARGIN + (d->vertical ? hi - lo : at);
	*h = 2 * DRAW_MARGIN + DRAW_CAPTION + (d->vertical ? at : hi - lo);
	if (*w < 600)
		*w = 600;
}

/* XML text or attribute value (the text is valid UTF-8 already). */
static void xml_text(struct sbuf *out, const char *s, size_t n)
{
	const char *run = s, *end = s + n;

	for (; s < end; s++) {
		const char *rep = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
				  : *s == '"' ? "&quot;"
					      : NULL;
		if (!rep)
			continue;
		sbuf_add(out, run, (size_t)(s - run));
		sbuf_adds(out, rep);
		run = s + 1;
	}
	sbuf_add(out, run, (size_t)(end - run));
}

static void xml_str(struct sbuf *out, const char *s)
{
	xml_text(out, s, strlen(s));
}

static void num(struct sbuf *out, double v)
{
	prov_add_int(out, (int64_t)(v < 0 ? v - 0.5 : v + 0.5));
}

/* The node's tooltip: its id, then its attributes, one a line. */
static void tooltip(struct sbuf *out, const struct prov_rec *r)
{
	xml_str(out, r->id);
	for (size_t i = 0; i < r->nattrs; i++) {
		sbuf_adds(out, "&#10;");
		xml_str(out, r->attrs[i].name);
		sbuf_adds(out, " = ");
		xml_str(out, r->attrs[i].value);
	}
}

/* The opening of a node's outline centred on (x, y), w wide: a box for a
 * job, an ellipse for a file (the only kinds drawn). */
static void shape(struct sbuf *out, const char *kind, double x, double y, double w)
{
	if (!strcmp(kind, "box")) {
		sbuf_adds(out, "<rect x=\"");
		num(out, x - w / 2);
		sbuf_adds(out, "\" y=\"");
		num(out, y - DRAW_NODE_H / 2.0);
		sbuf_adds(out, "\" width=\"");
		num(out, w);
		sbuf_adds(out, "\" height=\"");
		num(out, DRAW_NODE_H);
		sbuf_addc(out, '"');
		return;
	}
	sbuf_adds(out, "<ellipse cx=\"");
	num(out, x);
	sbuf_adds(out, "\" cy=\"");
	num(out, y);
	sbuf_adds(out, "\" rx=\"");
	num(out, w / 2);
	sbuf_adds(out, "\" ry=\"");
	num(out, DRAW_NODE_H / 2.0);
	sbuf_addc(out, '"');
}

static void text_line(struct sbuf *out, double x, double y, const char *s, size_t n,
		      const char *weight)
{
	sbuf_adds(out, "<text text-anchor=\"middle\" x=\"");
	num(out, x);
	sbuf_adds(out, "\" y=\"");
	num(out, y);
	sbuf_adds(out, "\"");
	sbuf_adds(out, weight);
	sbuf_addc(out, '>');
	xml_text(out, s, n);
	sbuf_adds(out, "</text>\n");
}

static void draw_node(struct sbuf *out, const struct draw *d, const struct dnode *x)
{
	const struct prov_rec *r = &d->g->recs[x->rec];
	const struct prov_look *look = prov_dot_look(r->style);
	const char *label = attr_value(r, "prov:label");
	size_t chars, idlen;
	const char *sid = short_id(r->id, &idlen);
	size_t n = label_cut(label ? label : r->id, &chars);

	sbuf_adds(out, "<g class=\"node\"><title>");
	xml_str(out, r->id);
	sbuf_adds(out, "</title>");
	if (r->url) {
		sbuf_adds(out, "<a xlink:href=\"");
		xml_str(out, r->url);
		sbuf_adds(out, "\" xlink:title=\"");
		tooltip(out, r);
		sbuf_adds(out, "\">");
	}
	shape(out, look->shape, x->x, x->y, x->w);
	sbuf_adds(out, " fill=\"");
	sbuf_adds(out, look->fill);
	sbuf_adds(out, "\" stroke=\"");
	sbuf_adds(out, look->line);
	sbuf_adds(out, "\"/>\n");
	if (!label)
		label = r->id;
	if (label[n]) { /* cut: as the graphviz drawings show it */
		struct sbuf cut = SBUF_INIT;
		sbuf_add(&cut, label, n);
		sbuf_adds(&cut, "...");
		text_line(out, x->x, x->y - 2, cut.buf, cut.len, "");
		sbuf_release(&cut);
	} else {
		text_line(out, x->x, x->y - 2, label, n, "");
	}
	text_line(out, x->x, x->y + 11, sid, idlen, " fill=\"#404040\" font-size=\"8\"");
	sbuf_adds(out, r->url ? "</a></g>\n" : "</g>\n");
}

/* The point where the segment from the centre of x towards (tx, ty) leaves
 * x's box (ellipses included: close enough for an arrow head). */
static void border(const struct dnode *x, double tx, double ty, double *px, double *py)
{
	double dx = tx - x->x, dy = ty - x->y, hw = x->w / 2, hh = DRAW_NODE_H / 2.0;
	double sx = dx != 0 ? hw / (dx < 0 ? -dx : dx) : 1e30;
	double sy = dy != 0 ? hh / (dy < 0 ? -dy : dy) : 1e30;
	double s = sx < sy ? sx : sy;

	if (s > 1)
		s = 1;
	*px = x->x + dx * s;
	*py = x->y + dy * s;
}

static void draw_edge(struct sbuf *out, const struct draw *d, const struct dedge *e)
{
	const struct prov_rec *r = &d->g->recs[e->rec];
	const struct dnode *a = &d->n[e->from], *b = &d->n[e->to];
	const char *role = attr_value(r, "prov:role");
	double x0, y0, x1, y1;

	border(a, b->x, b->y, &x0, &y0);
	border(b, a->x, a->y, &x1, &y1);
	sbuf_adds(out, "<g class=\"edge\"><title>");
	sbuf_adds(out, prov_kind_name(r->kind));
	if (role) {
		sbuf_adds(out, " (");
		xml_str(out, role);
		sbuf_addc(out, ')');
	}
	sbuf_adds(out, "</title><path d=\"M");
	num(out, x0);
	sbuf_addc(out, ',');
	num(out, y0);
	sbuf_adds(out, " L");
	num(out, x1);
	sbuf_addc(out, ',');
	num(out, y1);
	sbuf_adds(out, "\" stroke=\"");
	sbuf_adds(out, prov_dot_edge_colour(r->kind));
	sbuf_adds(out, "\" marker-end=\"url(#arrow");
	prov_add_int(out, r->kind);
	sbuf_adds(out, ")\"/></g>\n");
}

static void draw_head(struct sbuf *out, const struct draw *d, double w, double h)
{
	static const enum prov_kind kinds[] = {PROV_K_USED, PROV_K_GENERATED, PROV_K_INVALIDATED};

	sbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		       "<svg xmlns=\"http://www.w3.org/2000/svg\" "
		       "xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"");
	num(out, w);
	sbuf_adds(out, "pt\" height=\"");
	num(out, h);
	sbuf_adds(out, "pt\" viewBox=\"0 0 ");
	num(out, w);
	sbuf_addc(out, ' ');
	num(out, h);
	sbuf_adds(out, "\" font-family=\"Helvetica,Arial,sans-serif\" font-size=\"10\">\n"
		       "<title>provenance</title>\n<defs>\n");
	for (size_t i = 0; i < OPUS_ARRAY_LEN(kinds); i++) {
		sbuf_adds(out, "<marker id=\"arrow");
		prov_add_int(out, kinds[i]);
		sbuf_adds(
		    out,
		    "\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" "
		    "markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"");
		sbuf_adds(out, prov_dot_edge_colour(kinds[i]));
		sbuf_adds(out, "\"/></marker>\n");
	}
	sbuf_adds(out, "</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
		       "<g fill=\"none\" stroke-width=\"1\">\n");
	sbuf_addf(out,
		  "<text x=\"%d\" y=\"%d\" fill=\"black\" stroke=\"none\" font-size=\"12\">"
		  "Summary of %zu jobs and files (%zu relations): %zu parameters, agents and "
		  "descriptions left out, and wasDerivedFrom and wasInformedBy, which follow from "
		  "used and wasGeneratedBy.</text>\n",
		  DRAW_MARGIN, DRAW_MARGIN + 8, d->nn, d->ne, d->left_out);
	sbuf_addf(out,
		  "<text x=\"%d\" y=\"%d\" stroke=\"none\" font-size=\"11\" "
		  "xml:space=\"preserve\"><tspan fill=\"black\">Edges: </tspan><tspan "
		  "fill=\"%s\">used</tspan><tspan fill=\"black\">, </tspan><tspan "
		  "fill=\"%s\">wasGeneratedBy, wasInvalidatedBy</tspan><tspan fill=\"black\">. "
		  "Every node links to its page; PROV-JSON, PROV-XML and PROV-N hold the whole "
		  "document.</tspan></text>\n",
		  DRAW_MARGIN, DRAW_MARGIN + 26, prov_dot_edge_colour(PROV_K_USED),
		  prov_dot_edge_colour(PROV_K_GENERATED));
}

static void draw_release(struct draw *d)
{
	for (size_t l = 0; l < d->nlayers; l++)
		free(d->layer[l]);
	free(d->layer);
	free(d->nlayer);
	free(d->n);
	free(d->e);
	free(d->of_rec);
	free(d->succ_at);
	free(d->succ);
	free(d->pred_at);
	free(d->pred);
}

int prov_draw_summary(const struct prov_graph *g, struct sbuf *out)
{
	struct draw d = {.g = g};
	const char *gd = g->graph_dir[0] ? g->graph_dir : "LR";
	double w, h;

	d.vertical = gd[0] == 'T' || gd[0] == 'B';
	d.reversed = gd[0] == 'B' || gd[0] == 'R';
	draw_select(&d);
	d.succ_at = adjacency_at(&d, true);
	d.succ = adjacency(&d, true, d.succ_at);
	d.pred_at = adjacency_at(&d, false);
	d.pred = adjacency(&d, false, d.pred_at);
	d.nlayers = draw_layers(&d);
	draw_order(&d);
	draw_place_across(&d);
	draw_place_along(&d, &w, &h);
	draw_head(out, &d, w, h);
	for (size_t i = 0; i < d.ne; i++)
		draw_edge(out, &d, &d.e[i]);
	sbuf_adds(out, "</g>\n<g stroke-width=\"1\" fill=\"black\">\n");
	for (size_t v = 0; v < d.nn; v++)
		draw_node(out, &d, &d.n[v]);
	sbuf_adds(out, "</g>\n</svg>\n");
	draw_release(&d);
	return out->err;
}
