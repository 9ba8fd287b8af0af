/*
 * prov_graph.c: the one internal graph of a ProvSAP answer (prov-int.h):
 * its records, its index, its namespaces, and the qualified names of
 * opusd's things. The builder that fills it from lineages is
 * prov_graph_build.c.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>

/* An open-addressing map from strings to record numbers. */
struct prov_index {
	char **keys;
	size_t *vals;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t *index_slot(struct prov_index *ix, const char *key, bool *found)
{
	size_t i = (size_t)(hash_str(key) & (ix->cap - 1));

	while (ix->keys[i] && strcmp(ix->keys[i], key))
		i = (i + 1) & (ix->cap - 1);
	*found = ix->keys[i] != NULL;
	return &ix->vals[i];
}

static void index_grow(struct prov_index *ix)
{
	struct prov_index big = {.cap = ix->cap ? ix->cap * 2 : 64};
	bool found;

	big.keys = xcalloc(big.cap, sizeof(*big.keys));
	big.vals = xcalloc(big.cap, sizeof(*big.vals));
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->keys[i])
			continue;
		size_t *v = index_slot(&big, ix->keys[i], &found);
		big.keys[v - big.vals] = ix->keys[i];
		*v = ix->vals[i];
	}
	big.n = ix->n;
	free(ix->keys);
	free(ix->vals);
	*ix = big;
}

struct prov_index *prov_index_new(void)
{
	struct prov_index *ix = xcalloc(1, sizeof(*ix));

	index_grow(ix);
	return ix;
}

void prov_index_free(struct prov_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->cap; i++)
		free(ix->keys[i]);
	free(ix->keys);
	free(ix->vals);
	free(ix);
}

bool prov_index_get(const struct prov_index *ix, const char *key, size_t *val_out)
{
	bool found;
	size_t *v = index_slot((struct prov_index *)ix, key, &found);

	if (found)
		*val_out = *v;
	return found;
}

/* Sets key to val unless it is there; true when it was added. */
bool prov_index_put(struct prov_index *ix, const char *key, size_t val)
{
	bool found;
	size_t *v;

	if ((ix->n + 1) * 2 > ix->cap)
		index_grow(ix);
	v = index_slot(ix, key, &found);
	if (found)
		return false;
	ix->keys[v - ix->vals] = xstrdup(key);
	*v = val;
	ix->n++;
	return true;
}

/* ---- records ---- */

static const struct {
	const char *name;
	const char *args[3];
} kinds[PROV_K_COUNT] = {
    [PROV_K_ENTITY] = {"entity", {NULL}},
    [PROV_K_ACTIVITY] = {"activity", {NULL}},
    [PROV_K_AGENT] = {"agent", {NULL}},
    [PROV_K_USED] = {"used", {"prov:activity", "prov:entity"}},
    [PROV_K_GENERATED] = {"wasGeneratedBy", {"prov:entity", "prov:activity"}},
    [PROV_K_INVALIDATED] = {"wasInvalidatedBy", {"prov:entity", "prov:activity"}},
    [PROV_K_INFORMED] = {"wasInformedBy", {"prov:informed", "prov:informant"}},
    [PROV_K_DERIVED] = {"wasDerivedFrom",
			{"prov:generatedEntity", "prov:usedEntity", "prov:activity"}},
    [PROV_K_ASSOCIATED] = {"wasAssociatedWith", {"prov:activity", "prov:agent", "prov:plan"}},
    [PROV_K_ATTRIBUTED] = {"wasAttributedTo", {"prov:entity", "prov:agent"}},
    [PROV_K_INFLUENCED] = {"wasInfluencedBy", {"prov:influencee", "prov:influencer"}},
    [PROV_K_MEMBER] = {"hadMember", {"prov:collection", "prov:entity"}},
};

const char *prov_kind_name(enum prov_kind k)
{
	return kinds[k].name;
}

const char *prov_kind_arg(enum prov_kind k, int i)
{
	return i >= 0 && i < 3 ? kinds[k].args[i] : NULL;
}

static size_t graph_add(struct prov_graph *g, enum prov_kind kind)
{
	struct prov_rec *r;

	if (g->nrecs == g->recs_alloc) {
		g->recs_alloc = g->recs_alloc ? g->recs_alloc * 2 : 64;
		g->recs = xrealloc(g->recs, g->recs_alloc * sizeof(*g->recs));
	}
	r = &g->recs[g->nrecs];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	return g->nrecs++;
}

/* The element of that id, made when new (*is_new). Index into g->recs. */
size_t prov_graph_element(struct prov_graph *g, enum prov_kind kind, enum prov_style style,
			  const char *id, bool *is_new)
{
	size_t at;

	if (!g->index)
		g->index = prov_index_new();
	if (prov_index_get(g->index, id, &at)) {
		*is_new = false;
		return at;
	}
	at = graph_add(g, kind);
	g->recs[at].style = style;
	g->recs[at].id = xstrdup(id);
	prov_index_put(g->index, id, at);
	*is_new = true;
	return at;
}

/*
 * The relation (kind, a, b, c) with `role` (NULL: none), made when new;
 * the same relation asked again is the same record, so that lineages
 * merged from several start ids state each relation once.
 */
size_t prov_graph_relation(struct prov_graph *g, enum prov_kind kind, const char *a, const char *b,
			   const char *c, const char *role, bool *is_new)
{
	char *key = xasprintf("%d\x1f%s\x1f%s\x1f%s\x1f%s", (int)kind, a ? a : "", b ? b : "",
			      c ? c : "", role ? role : "");
	size_t at;

	if (!g->index)
		g->index = prov_index_new();
	if (prov_index_get(g->index, key, &at)) {
		free(key);
		*is_new = false;
		return at;
	}
	at = graph_add(g, kind);
	g->recs[at].args[0] = xstrdup(a);
	g->recs[at].args[1] = xstrdup(b);
	g->recs[at].args[2] = xstrdup(c);
	prov_index_put(g->index, key, at);
	free(key);
	*is_new = true;
	return at;
}

void prov_rec_attr(struct prov_rec *r, const char *name, enum prov_vtype type, const char *value)
{
	if (!value)
		return;
	if (r->nattrs == r->attrs_alloc) {
		r->attrs_alloc = r->attrs_alloc ? r->attrs_alloc * 2 : 8;
		r->attrs = xrealloc(r->attrs, r->attrs_alloc * sizeof(*r->attrs));
	}
	r->attrs[r->nattrs].name = name;
	r->attrs[r->nattrs].type = type;
	r->attrs[r->nattrs].value = prov_text_clean(value);
	r->nattrs++;
}

const struct prov_rec *prov_graph_find(const struct prov_graph *g, const char *id)
{
	size_t at;

	if (!g->index || !prov_index_get(g->index, id, &at) || g->recs[at].kind > PROV_K_AGENT)
		return NULL;
	return &g->recs[at];
}

void prov_graph_release(struct prov_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nrecs; i++) {
		struct prov_rec *r = &g->recs[i];
		free(r->id);
		free(r->url);
		for (int k = 0; k < 3; k++)
			free(r->args[k]);
		for (size_t k = 0; k < r->nattrs; k++)
			free(r->attrs[k].value);
		free(r->attrs);
	}
	free(g->recs);
	prov_index_free(g->index);
	memset(g, 0, sizeof(*g));
}

/* ---- names ---- */

void prov_qname_local(struct sbuf *out, const char *s)
{
	if (!(s[0] >= 'A' && s[0] <= 'Z') && !(s[0] >= 'a' && s[0] <= 'z') && s[0] != '_')
		sbuf_addc(out, '_');
	for (; *s; s++) {
		char c = *s;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		sbuf_addc(out, (char)(keep ? c : '_'));
	}
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xfffe)) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

char *prov_text_clean(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	const unsigned char *u = (const unsigned char *)s;

	sbuf_adds(&sb, "");
	while (*u) {
		size_t n = utf8_len(u);
		if (n == 0 || (n == 1 && *u < 0x20 && *u != '\t' && *u != '\n') || *u == 0x7f) {
			sbuf_addc(&sb, '?');
			u++;
			continue;
		}
		sbuf_add(&sb, u, n);
		u += n;
	}
	return sbuf_detach(&sb, NULL);
}

struct prov_ns *prov_namespaces(const struct prov_graph *g, const char *base_url, size_t *n_out)
{
	struct prov_ns *ns = xcalloc(9, sizeof(*ns));
	size_t n = 0;

#define NS(p, u) (ns[n].prefix = (p), ns[n++].uri = (u))
	NS("prov", xstrdup("http://www.w3.org/ns/prov#"));
	NS("xsd", xstrdup("http://www.w3.org/2001/XMLSchema#"));
	NS("foaf", xstrdup("http://xmlns.com/foaf/0.1/"));
	if (!g->w3c)
		NS("voprov", xstrdup(PROV_NS_VOPROV));
	NS("opus", xstrdup(PROV_NS_OPUS));
	NS("opus_job", xasprintf("%s/rest/", base_url));
	NS("opus_store", xasprintf("%s/store/?ID=", base_url));
	NS("opus_user", xasprintf("%s/user/", base_url));
	NS("opus_jdl", xasprintf("%s/jdl/", base_url));
#undef NS
	*n_out = n;
	return ns;
}

void prov_namespaces_free(struct prov_ns *ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ns[i].uri);
	free(ns);
}
