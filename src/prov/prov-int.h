/*
 * prov-int.h: private to src/prov. The handle shared by the entity store
 * half (prov_blob.c, prov_ingest.c) and the documents half (prov_query.c,
 * prov_graph.c and the writers).
 * Included by: the .c files of src/prov and tests/unit/test_prov*.c only.
 */
#ifndef OPUS_PROV_INT_H
#define OPUS_PROV_INT_H

#include "prov/prov.h"

#include <pthread.h>

#define PROV_BLOB_STRIPES 64

struct prov {
	char *data_dir;	 /* absolute */
	char *store_dir; /* data_dir/store/sha256 */
	char *base_url;	 /* no trailing slash */
	char *version;
	int max_depth;
	size_t max_activities;
	struct store *st;
	struct jdl_registry *reg;
	/* A blob's creation, linking and removal, by the first byte of its
	 * sha256: an unlink never races a link of the same blob. */
	pthread_mutex_t blob_locks[PROV_BLOB_STRIPES];
	/* libgvc is not thread-safe: one layout at a time. */
	pthread_mutex_t gvc_lock;
	void *gvc; /* GVC_t, made at the first drawing, under gvc_lock */
};

/* The stripe of a blob's lock. */
pthread_mutex_t *prov_blob_lock(struct prov *p, const char *sha256);

/* ---- The documents half (prov_query.c, prov_graph.c, the writers) ---- */

/*
 * One internal graph, several writers: the graph holds PROV records only
 * (entity, activity, agent and the relations between them), the voprov
 * classes and relations being carried as prov:type values and PROV
 * relations (PROV-JSON and PROV-XML allow nothing else), so every writer is
 * a plain PROV serialiser and every format has the same identifiers.
 * Identifiers are qualified names "prefix:local" whose local part is an
 * XML NCName (prov_qname_local()); relations are anonymous.
 */
enum prov_kind {
	PROV_K_ENTITY,
	PROV_K_ACTIVITY,
	PROV_K_AGENT,
	PROV_K_USED,
	PROV_K_GENERATED,
	PROV_K_INVALIDATED,
	PROV_K_INFORMED,
	PROV_K_DERIVED,
	PROV_K_ASSOCIATED,
	PROV_K_ATTRIBUTED,
	PROV_K_INFLUENCED,
	PROV_K_MEMBER,
	PROV_K_COUNT
};

/* What a node stands for in opusd, for the drawing only (colours, shapes). */
enum prov_style {
	PROV_S_FILE,	    /* an entity: a file */
	PROV_S_JOB,	    /* an activity: a job */
	PROV_S_AGENT,	    /* an agent */
	PROV_S_PARAMETER,   /* voprov:Parameter (an entity in PROV) */
	PROV_S_DESCRIPTION, /* voprov:*Description (an entity in PROV) */
	PROV_S_COLLECTION   /* MEMBERS: the parameters of a job */
};

enum prov_vtype {
	PROV_V_STRING,
	PROV_V_LONG,
	PROV_V_BOOL,  /* value "true" or "false" */
	PROV_V_TIME,  /* xsd:dateTime, UTC with Z */
	PROV_V_QNAME, /* a qualified name of the document's prefixes */
	PROV_V_URI    /* xsd:anyURI */
};

/*
 * A bump allocator (prov_graph.c): what it hands out lives until
 * prov_arena_free, all at once. A graph's strings are in one, so that a
 * 1,000-job answer (some 26,000 records, 100,000 strings) costs a few
 * hundred allocations, not 100,000 mallocs and frees. Not thread-safe.
 */
struct prov_arena;
struct prov_arena *prov_arena_new(void);
void prov_arena_free(struct prov_arena *a);		/* NULL ok */
void *prov_arena_alloc(struct prov_arena *a, size_t n); /* aligned for any type */
char *prov_arena_strndup(struct prov_arena *a, const char *s, size_t n);
char *prov_arena_strdup(struct prov_arena *a, const char *s); /* NULL in, NULL out */

struct prov_attr {
	const char *name; /* static qualified name: "prov:label", "opus:sha256" */
	enum prov_vtype type;
	char *value; /* text, UTF-8 without control characters; in the graph's arena */
};

/*
 * A record. Elements (entity, activity, agent) have an id; relations have
 * their formal arguments in args (the order of PROV-N: used(activity,
 * entity), wasGeneratedBy(entity, activity), wasInvalidatedBy(entity,
 * activity), wasInformedBy(informed, informant), wasDerivedFrom(generated,
 * used, activity), wasAssociatedWith(activity, agent, plan),
 * wasAttributedTo(entity, agent), wasInfluencedBy(influencee, influencer),
 * hadMember(collection, entity)); NULL for an absent optional one.
 */
struct prov_rec {
	enum prov_kind kind;
	enum prov_style style; /* elements */
	char *id;	       /* elements */
	char *args[3];
	int64_t start_time, end_time; /* activity; 0 = unknown */
	int64_t time;		      /* used, generated, invalidated; 0 = none */
	char *url; /* elements: the page it links to in drawings (malloc'd, the graph frees it) */
	struct prov_attr *attrs;
	size_t nattrs, attrs_alloc;
	struct prov_arena *arena; /* the graph's: id, args, attrs and their values live there */
};

struct prov_graph {
	bool w3c; /* no voprov namespace */
	bool attributes;
	char graph_dir[3];
	struct prov_rec *recs; /* in the order added */
	size_t nrecs, recs_alloc;
	struct prov_index *index; /* id or relation key -> record (prov_graph.c) */
	struct prov_arena *arena; /* made with the first record; freed by prov_graph_release */
};

/* A namespace of the documents: prefix and URI (those of opus_* end with the
 * base URL the graph was built for). */
struct prov_ns {
	const char *prefix;
	char *uri;
};
/* The namespaces a graph's writers declare, in order; *n_out of them.
 * Free with prov_namespaces_free. */
struct prov_ns *prov_namespaces(const struct prov_graph *g, const char *base_url, size_t *n_out);
void prov_namespaces_free(struct prov_ns *ns, size_t n);

/* The PROV name of a record kind: "entity", "used", "wasGeneratedBy"... */
const char *prov_kind_name(enum prov_kind k);
/* The qualified names of a relation's formal arguments ("prov:activity"),
 * NULL past the last. */
const char *prov_kind_arg(enum prov_kind k, int i);

/* The one source of a build: the lineage a start id gave (store_lineage_get). */
struct prov_source {
	const char *start_id; /* a job id or an entity id */
	const struct store_lineage *lin;
};

/* What the graph is built for. */
struct prov_build {
	const struct prov_query *q;
	const char *user; /* NULL: anonymous */
	bool admin;
	const char *base_url; /* no trailing slash */
	const char *version;  /* opusd's, for the software agent */
	/* A new reference to the description version a job ran (name, sha256
	 * of its source), or NULL when it is not available. */
	struct jdl *(*jdl_of)(void *ctx, const char *jobdef, const char *hash);
	void *ctx;
};

/*
 * The graph of the sources (one per start id, merged): DEPTH trimming (see
 * docs/provenance.md), owner filtering (nothing of another owner unless
 * admin), AGENT, CONFIGURATION, DESCRIPTIONS, ATTRIBUTES, MEMBERS, MODEL.
 * A pure function of its arguments. OPUS_ERR_NOTFOUND when a start id is
 * not in its lineage or not the user's; *out is then empty. Release with
 * prov_graph_release.
 */
int prov_graph_build(const struct prov_build *b, const struct prov_source *src, size_t n,
		     struct prov_graph *out) OPUS_WUR;
void prov_graph_release(struct prov_graph *g); /* NULL ok */

/* The element of that id, or NULL (borrowed). */
const struct prov_rec *prov_graph_find(const struct prov_graph *g, const char *id);

/* Filling a graph (prov_graph.c): the element of an id, made when new
 * (*is_new); the relation (kind, a, b, c, role), made when new, so that
 * what several lineages state twice is one record. Both return an index
 * into g->recs (pointers move as the graph grows). */
size_t prov_graph_element(struct prov_graph *g, enum prov_kind kind, enum prov_style style,
			  const char *id, bool *is_new);
size_t prov_graph_relation(struct prov_graph *g, enum prov_kind kind, const char *a, const char *b,
			   const char *c, const char *role, bool *is_new);
/* Room for n records (and their index) without growing: a builder that
 * knows its size spares the rehashing. */
void prov_graph_reserve(struct prov_graph *g, size_t n);
/* Adds an attribute (value copied through prov_text_clean; NULL: nothing). */
void prov_rec_attr(struct prov_rec *r, const char *name, enum prov_vtype type, const char *value);

/* A map from strings (copied into the map's own arena) to numbers, for the
 * graph and its builder. */
struct prov_index *prov_index_new(void);
void prov_index_free(struct prov_index *ix); /* NULL ok */
bool prov_index_get(const struct prov_index *ix, const char *key, size_t *val_out);
bool prov_index_put(struct prov_index *ix, const char *key, size_t val); /* false: was there */

/* The namespaces of opusd's terms: IVOA Provenance DM's extension of PROV,
 * and opusd's own attributes (a URN: stable whatever the base URL). */
#define PROV_NS_VOPROV "http://www.ivoa.net/documents/ProvenanceDM/ns/voprov/"
#define PROV_NS_OPUS   "urn:opusd:"

/*
 * Appends s to out as the local part of a qualified name valid in PROV-XML
 * (an NCName) and PROV-N: [A-Za-z0-9_.-] are kept, anything else becomes
 * '_', and '_' goes first when s would start with a digit, '-' or '.'.
 */
void prov_qname_local(struct sbuf *out, const char *s);
/* s with invalid UTF-8 and control characters (but tab and newline)
 * replaced by '?'. Caller frees. */
char *prov_text_clean(const char *s);
/* The same, in an arena. */
char *prov_text_clean_in(struct prov_arena *a, const char *s);
/* An integer in decimal (NUL-terminated; its length), appended, and a time
 * as time_format writes it: without snprintf, as a large answer writes
 * some 10,000 of each. */
#define PROV_INT_MAX 24
size_t prov_int_format(int64_t v, char out[PROV_INT_MAX]);
void prov_add_int(struct sbuf *out, int64_t v);
void prov_time_format(int64_t ms, char out[TIME_STR_MAX]);

/* The writers: append the document to out. 0, or OPUS_ERR_TOOBIG (out's cap),
 * OPUS_ERR_INTERNAL (the library failed). */
int prov_json_write(const struct prov_graph *g, const char *base_url, struct sbuf *out) OPUS_WUR;
int prov_xml_write(const struct prov_graph *g, const char *base_url, struct sbuf *out) OPUS_WUR;
int prov_n_write(const struct prov_graph *g, const char *base_url, struct sbuf *out) OPUS_WUR;
int prov_dot_write(const struct prov_graph *g, struct sbuf *out) OPUS_WUR;
/* The look of the drawings (prov_dot.c), shared by the summarised one. */
struct prov_look {
	const char *shape, *fill, *line, *extra; /* graphviz's shape names; colours #RRGGBB */
};
const struct prov_look *prov_dot_look(enum prov_style s);
const char *prov_dot_edge_colour(enum prov_kind k);
/*
 * Drawings. Up to PROV_DRAW_DOT_MAX elements, SVG ("svg") or PNG ("png")
 * from the DOT text, laid out by graphviz under p->gvc_lock (dot takes
 * seconds from some 500 elements on, superlinearly: a 300-job chain, 1,500,
 * took 30 s). Past it, SVG is the summarised drawing of prov_draw.c (jobs
 * and files, laid out here in linear time: a 1,000-job chain in some 20 ms)
 * and PNG is refused; past PROV_DRAW_MAX_NODES elements (an SVG of tens of
 * megabytes) both are. Refused: OPUS_ERR_TOOBIG, nothing written.
 */
/* PROV_DRAW_DOT_MAX, PROV_DRAW_MAX_NODES: prov.h */
int prov_svg_render(struct prov *p, const struct prov_graph *g, const char *format,
		    struct sbuf *out) OPUS_WUR;
/* The summarised drawing (prov_draw.c), SVG. */
int prov_draw_summary(const struct prov_graph *g, struct sbuf *out) OPUS_WUR;
/* Frees the graphviz context (prov_close). */
void prov_svg_close(struct prov *p);

/* prov_blob.c, for prov_ingest.c. */
bool prov_sha256_ok(const char *s); /* 64 lowercase hex digits */
/* Makes the plain file at path (fully written; its bytes are sha256) a link
 * to their blob, making the blob from it when there is none. OPUS_ERR_IO. */
int prov_blob_adopt(struct prov *p, const char *path, const char *sha256) OPUS_WUR;
/* dest (replaced when it exists) becomes a link to the blob of sha256 (a
 * copy across file systems). OPUS_ERR_NOTFOUND when there is no such blob. */
int prov_blob_link_to(struct prov *p, const char *sha256, const char *dest) OPUS_WUR;

#endif
