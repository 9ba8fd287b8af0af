/*
 * prov: provenance of jobs and of every file they used or produced (IVOA
 * Provenance Data Model on W3C PROV), and the content-addressed entity store
 * that holds those files' bytes once.
 *
 * Two halves, one handle:
 *  - the entity store (prov_blob.c, prov_ingest.c): blobs under
 *    data_dir/store/sha256/ab/abcd..., linked into job directories; inputs
 *    registered as entities as they are placed, results hashed and
 *    registered at job end (on sched's workers, never on a request thread
 *    nor under a job's lock);
 *  - the documents (prov_query.c, prov_graph.c, prov_json.c, prov_xml.c,
 *    prov_n.c, prov_dot.c, prov_svg.c): ProvSAP queries answered from the
 *    store's lineage tables as PROV-JSON, PROV-XML, PROV-N, DOT, SVG, PNG.
 *    Graphviz layout is serialised inside (libgvc is not thread-safe).
 *
 * Threading: every function is thread-safe.
 * Layering: called by sched and http; calls store, jdl, base.
 */
#ifndef OPUS_PROV_H
#define OPUS_PROV_H

#include "base/base.h"
#include "jdl/jdl.h"
#include "store/store.h"

struct prov;

struct prov_config {
	const char *data_dir;  /* absolute */
	const char *base_url;  /* absolute URL of the service, no trailing slash */
	const char *version;   /* opusd's version: the software agent */
	int max_depth;	       /* cap of DEPTH (ALL is this); >= 1 */
	size_t max_activities; /* cap of the activities in one document */
};

int prov_open(const struct prov_config *cfg, struct store *st, struct jdl_registry *reg,
	      struct prov **out) OPUS_WUR;
void prov_close(struct prov *p); /* NULL ok */

/* ---- The entity store (prov_blob.c, prov_ingest.c) ---- */

/* The blob of a sha256: data_dir/store/sha256/ab/abcd... Caller frees. */
char *prov_blob_path(const struct prov *p, const char *sha256);

/*
 * Registers a file just placed at dest (inside job_id's directory) as the
 * k-th input of `role`: the blob of its bytes is made (or found) and dest
 * becomes a link to it; the entity is recognised when the owner already has
 * one with those bytes. sha256 and size were computed while the bytes
 * streamed in (NULL sha256: hashed here). `e` gives content type, file
 * name, source and owner; its id and times are set here. The entity used
 * goes into id_out. Store errors, OPUS_ERR_IO.
 */
int prov_input_add(struct prov *p, const char *job_id, const char *role, int k, const char *dest,
		   const char *sha256, const struct store_entity *e,
		   char id_out[STORE_ENTITY_ID_LEN + 1]) OPUS_WUR;

/*
 * An existing entity (an earlier job's result, an entity id given as a
 * reference) used as the k-th input of `role`: dest becomes a link to its
 * blob (no copy, no download) and the usage is recorded. Owner checks are
 * the caller's. OPUS_ERR_NOTFOUND when the entity or its bytes are gone;
 * its content type into *ctype_out when not NULL (caller frees).
 */
int prov_input_use(struct prov *p, const char *job_id, const char *role, int k, const char *dest,
		   const char *entity_id, char **ctype_out) OPUS_WUR;

/* Hashes the results of an ended job (each result's sha256 and entity_id
 * set, and its file made a link to its blob), filling *generated_out with
 * the entities to record with store_job_end (free each with
 * store_entity_release, then the array). For a worker, with no lock held. */
int prov_results_register(struct prov *p, struct uws_job *job, const char *job_dir,
			  struct store_entity **generated_out, size_t *n_out) OPUS_WUR;

/* The activity record of a job reaching a final phase: its parameters with
 * the defaults of the description version it ran marked as such. j may be
 * NULL (description gone: the parameters as given). Release with
 * store_activity_release. */
void prov_activity_of(const struct uws_job *job, const struct jdl *j, struct store_activity *out);

/* Unlinks the blobs no live entity refers to any more (store_job_retire's list). */
void prov_blobs_collect(struct prov *p, char **sha256s, size_t n);

/* ---- Documents (prov_query.c and the writers) ---- */

enum prov_format {
	PROV_FMT_SVG,
	PROV_FMT_JSON,
	PROV_FMT_XML,
	PROV_FMT_N,
	PROV_FMT_PNG,
	PROV_FMT_DOT
};

/* A ProvSAP query (OPUS's parameters and defaults). */
struct prov_query {
	char **ids; /* job ids or entity ids, merged into one document */
	size_t nids;
	int depth;		 /* >= 0; ALL = the configured cap */
	bool forward;		 /* DIRECTION=FORTH|FORWARD; default BACK */
	bool w3c;		 /* MODEL=W3C: PROV terms only; default IVOA */
	bool agents;		 /* AGENT(S), default on */
	bool configuration;	 /* CONFIGURATION, default on */
	int descriptions;	 /* DESCRIPTION(S) 0, 1, 2; default 0 */
	bool attributes;	 /* ATTRIBUTES, default on */
	bool members;		 /* MEMBERS, default off */
	char graph_dir[3];	 /* GD: LR (default), TB, BT, RL */
	enum prov_format format; /* RESPONSEFORMAT, default PROV-SVG */
};

/*
 * Parses ProvSAP arguments (names case-insensitive, a name may repeat only
 * for ID). `fixed_id`, when not NULL, is the job of a per-job URL and ID
 * is then refused. 0, or OPUS_ERR_INVAL with *why_out ("DEPTH: ...")
 * naming the parameter (caller frees).
 */
int prov_query_parse(const struct prov *p, const char *const *names, const char *const *values,
		     size_t n, const char *fixed_id, struct prov_query *out,
		     char **why_out) OPUS_WUR;
void prov_query_release(struct prov_query *q);

/* Drawings (PROV-SVG, PROV-PNG): laid out by graphviz up to
 * PROV_DRAW_DOT_MAX elements; past it PROV-SVG is a summarised drawing laid
 * out by opusd (jobs and files only) and PROV-PNG is refused; past
 * PROV_DRAW_MAX_NODES both are (OPUS_ERR_TOOBIG: 413). */
#define PROV_DRAW_DOT_MAX   1000
#define PROV_DRAW_MAX_NODES 50000

/*
 * The document a query asks for, for `user` (NULL: anonymous; admin sees
 * every owner's). 0 with the bytes in *out and a static content type in
 * *ctype_out; OPUS_ERR_NOTFOUND when an id is unknown or not the user's
 * (the same answer); OPUS_ERR_TOOBIG for a drawing past its caps; store
 * errors.
 */
int prov_render(struct prov *p, const struct prov_query *q, const char *user, bool admin,
		struct sbuf *out, const char **ctype_out) OPUS_WUR;

#endif
