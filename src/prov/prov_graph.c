/*
 * prov_graph.c: the one internal graph of a ProvSAP answer (prov-int.h):
 * its records, its index, its namespaces, and the qualified names of
 * opusd's things. The builder that fills it from lineages is
 * prov_graph_build.c.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the arena ---- */

#define ARENA_CHUNK (64 * 1024)

struct prov_arena_chunk {
	struct prov_arena_chunk *next;
	size_t size, used;
	max_align_t data[]; /* aligned for any type */
};

struct prov_arena {
	struct prov_arena_chunk *head;
};

struct prov_arena *prov_arena_new(void)
{
	return xcalloc(1, sizeof(struct prov_arena));
}

void prov_arena_free(struct prov_arena *a)
{
	if (!a)
		return;
	for (struct prov_arena_chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *prov_arena_alloc(struct prov_arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct prov_arena_chunk *c = a->head;

	n = (n + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < n) {
		/* a large block gets a chunk of its own, behind the current one */
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		struct prov_arena_chunk *fresh = xmalloc(sizeof(*fresh) + size);
		fresh->size = size;
		fresh->used = 0;
		if (c && size != ARENA_CHUNK) {
			fresh->next = c->next;
			c->next = fresh;
		} else {
			fresh->next = c;
			a->head = fresh;
		}
		c = fresh;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *prov_arena_strndup(struct prov_arena *a, const char *s, size_t n)
{
	char *p = prov_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *prov_arena_strdup(struct prov_arena *a, const char *s)
{
	return s ? prov_arena_strndup(a, s, strlen(s)) : NULL;
}

/* ---- the index: open addressing, linear probing ---- */

struct prov_index_slot {
	const char *key; /* in the index's arena; NULL: free */
	uint64_t hash;
	size_t val;
};

struct prov_index {
	struct prov_index_slot *slots;
	size_t cap, n;
	struct prov_arena *keys;
};

/* Eight bytes at a time, then a final mix (murmur3's): keys are long (a
 * relation's holds two qualified names) and share long prefixes, differing
 * in their last hex digits. */
static uint64_t hash_str(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = ((h << 5 | h >> 59) ^ w) * 0x517cc1b727220a95ULL;
	}
	w = 0;
	memcpy(&w, s, n);
	h = ((h << 5 | h >> 59) ^ w) * 0x517cc1b727220a95ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static struct prov_index_slot *index_slot(const struct prov_index *ix, const char *key, uint64_t h)
{
	size_t i = (size_t)(h & (ix->cap - 1));

	while (ix->slots[i].key && (ix->slots[i].hash != h || strcmp(ix->slots[i].key, key)))
		i = (i + 1) & (ix->cap - 1);
	return &ix->slots[i];
}

/* Doubles the table, or makes it hold `want` keys at most half full. */
static void index_grow_to(struct prov_index *ix, size_t want)
{
	struct prov_index big = {.cap = ix->cap ? ix->cap * 2 : 64};

	while (big.cap < 2 * want)
		big.cap *= 2;

	big.slots = xcalloc(big.cap, sizeof(*big.slots));
	for (size_t i = 0; i < ix->cap; i++) {
		const struct prov_index_slot *old = &ix->slots[i];
		if (old->key)
			*index_slot(&big, old->key, old->hash) = *old;
	}
	free(ix->slots);
	ix->slots = big.slots;
	ix->cap = big.cap;
}

static void index_grow(struct prov_index *ix)
{
	index_grow_to(ix, 0);
}

struct prov_index *prov_index_new(void)
{
	struct prov_index *ix = xcalloc(1, sizeof(*ix));

	ix->keys = prov_arena_new();
	index_grow(ix);
	return ix;
}

void prov_index_free(struct prov_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	prov_arena_free(ix->keys);
	free(ix);
}

bool prov_index_get(const struct prov_index *ix, const char *key, size_t *val_out)
{
	const struct prov_index_slot *sl = index_slot(ix, key, hash_str(key));

	if (sl->key)
		*val_out = sl->val;
	return sl->key != NULL;
}

/* The value of key, or val when it was not there (then added; *added). */
static size_t index_get_or_put(struct prov_index *ix, const char *key, size_t val, bool *added)
{
	uint64_t h = hash_str(key);
	struct prov_index_slot *sl;

	if ((ix->n + 1) * 2 > ix->cap)
		index_grow(ix);
	sl = index_slot(ix, key, h);
	*added = sl->key == NULL;
	if (!*added)
		return sl->val;
	sl->key = prov_arena_strdup(ix->keys, key);
	sl->hash = h;
	sl->val = val;
	ix->n++;
	return val;
}

/* Sets key to val unless it is there; true when it was added. */
bool prov_index_put(struct prov_index *ix, const char *key, size_t val)
{
	bool added;

	index_get_or_put(ix, key, val, &added);
	return added;
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

	if (!g->arena)
		g->arena = prov_arena_new();
	if (g->nrecs == g->recs_alloc) {
		g->recs_alloc = g->recs_alloc ? g->recs_alloc * 2 : 64;
		g->recs = xrealloc(g->recs, g->recs_alloc * sizeof(*g->recs));
	}
	r = &g->recs[g->nrecs];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->arena = g->arena;
	return g->nrecs++;
}

void prov_graph_reserve(struct prov_graph *g, size_t n)
{
	if (!g->index)
		g->index = prov_index_new();
	if (2 * n > g->index->cap)
		index_grow_to(g->index, n);
	if (n > g->recs_alloc) {
		g->recs_alloc = n;
		g->recs = xrealloc(g->recs, g->recs_alloc * sizeof(*g->recs));
	}
}

/* The element of that id, made when new (*is_new). Index into g->recs. */
size_t prov_graph_element(struct prov_graph *g, enum prov_kind kind, enum prov_style style,
			  const char *id, bool *is_new)
{
	size_t at;

	if (!g->index)
		g->index = prov_index_new();
	at = index_get_or_put(g->index, id, g->nrecs, is_new);
	if (!*is_new)
		return at;
	at = graph_add(g, kind);
	g->recs[at].style = style;
	g->recs[at].id = prov_arena_strdup(g->arena, id);
	return at;
}

/* A relation's index key: its kind, arguments and role, 0x1f between them;
 * in buf when it fits (else malloc'd: *heap). */
static char *relation_key(char *buf, size_t size, enum prov_kind kind, const char *const part[4],
			  bool *heap)
{
	size_t len[4], n = 2;
	char *key, *p;

	for (int i = 0; i < 4; i++) {
		len[i] = part[i] ? strlen(part[i]) : 0;
		n += len[i] + 1;
	}
	*heap = n > size;
	key = p = *heap ? xmalloc(n) : buf;
	*p++ = (char)('a' + kind);
	for (int i = 0; i < 4; i++) {
		*p++ = '\x1f';
		memcpy(p, part[i] ? part[i] : "", len[i]);
		p += len[i];
	}
	*p = '\0';
	return key;
}

/*
 * The relation (kind, a, b, c) with `role` (NULL: none), made when new;
 * the same relation asked again is the same record, so that lineages
 * merged from several start ids state each relation once.
 */
size_t prov_graph_relation(struct prov_graph *g, enum prov_kind kind, const char *a, const char *b,
			   const char *c, const char *role, bool *is_new)
{
	const char *const part[4] = {a, b, c, role};
	char buf[512];
	bool heap;
	char *key = relation_key(buf, sizeof(buf), kind, part, &heap);
	size_t at;

	if (!g->index)
		g->index = prov_index_new();
	at = index_get_or_put(g->index, key, g->nrecs, is_new);
	if (heap)
		free(key);
	if (!*is_new)
		return at;
	at = graph_add(g, kind);
	for (int i = 0; i < 3; i++)
		g->recs[at].args[i] = prov_arena_strdup(g->arena, part[i]);
	return at;
}

void prov_rec_attr(struct prov_rec *r, const char *name, enum prov_vtype type, const char *value)
{
	if (!value)
		return;
	if (r->nattrs == r->attrs_alloc) { /* the old array stays in the arena, unused */
		struct prov_attr *old = r->attrs;
		r->attrs_alloc = r->attrs_alloc ? r->attrs_alloc * 2 : 8;
		r->attrs = prov_arena_alloc(r->arena, r->attrs_alloc * sizeof(*r->attrs));
		if (r->nattrs)
			memcpy(r->attrs, old, r->nattrs * sizeof(*r->attrs));
	}
	r->attrs[r->nattrs].name = name;
	r->attrs[r->nattrs].type = type;
	r->attrs[r->nattrs].value = prov_text_clean_in(r->arena, value);
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
	for (size_t i = 0; i < g->nrecs; i++)
		free(g->recs[i].url);
	free(g->recs);
	prov_index_free(g->index);
	prov_arena_free(g->arena);
	memset(g, 0, sizeof(*g));
}

/* ---- names ---- */

static bool qname_keeps(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

void prov_qname_local(struct sbuf *out, const char *s)
{
	if (!(s[0] >= 'A' && s[0] <= 'Z') && !(s[0] >= 'a' && s[0] <= 'z') && s[0] != '_')
		sbuf_addc(out, '_');
	while (*s) { /* runs of kept characters at once: ids are all kept */
		const char *run = s;
		while (*s && qname_keeps(*s))
			s++;
		sbuf_add(out, run, (size_t)(s - run));
		if (*s) {
			sbuf_addc(out, '_');
			s++;
		}
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

/* The length of s when it is printable ASCII, tab and newline only (the
 * common case: nothing to replace), else SIZE_MAX. */
static size_t plain_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; *u; u++)
		if ((*u < 0x20 && *u != '\t' && *u != '\n') || *u >= 0x7f)
			return SIZE_MAX;
	return (size_t)((const char *)u - s);
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

char *prov_text_clean_in(struct prov_arena *a, const char *s)
{
	size_t n = plain_len(s);
	char *clean, *copy;

	if (n != SIZE_MAX)
		return prov_arena_strndup(a, s, n);
	clean = prov_text_clean(s);
	copy = prov_arena_strdup(a, clean);
	free(clean);
	return copy;
}

size_t prov_int_format(int64_t v, char out[PROV_INT_MAX])
{
	char buf[PROV_INT_MAX], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(buf + sizeof(buf) - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

void prov_add_int(struct sbuf *out, int64_t v)
{
	char buf[PROV_INT_MAX];

	sbuf_add(out, buf, prov_int_format(v, buf));
}

static void digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The last instant with a four-digit year; past it (or before 1970)
 * time_format's own path. */
#define PROV_TIME_MAX_MS 253402300799999LL

void prov_time_format(int64_t ms, char out[TIME_STR_MAX])
{
	int64_t days, secs, z, era, doe, yoe, doy, mp, y;
	unsigned d, m;

	if (ms < 0 || ms > PROV_TIME_MAX_MS) {
		time_format(ms, out);
		return;
	}
	/* the civil date of a day count (H. Hinnant's days_from_civil, inverted) */
	days = ms / 86400000;
	secs = (ms / 1000) % 86400;
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y = yoe + era * 400 + (m <= 2);
	memcpy(out, "0000-00-00T00:00:00.000Z", 25);
	digits(out, (unsigned)y, 4);
	digits(out + 5, m, 2);
	digits(out + 8, d, 2);
	digits(out + 11, (unsigned)(secs / 3600), 2);
	digits(out + 14, (unsigned)(secs / 60 % 60), 2);
	digits(out + 17, (unsigned)(secs % 60), 2);
	digits(out + 20, (unsigned)(ms % 1000), 3);
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
