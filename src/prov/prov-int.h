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
};

/* The stripe of a blob's lock. */
pthread_mutex_t *prov_blob_lock(struct prov *p, const char *sha256);

/* prov_blob.c, for prov_ingest.c. */
bool prov_sha256_ok(const char *s); /* 64 lowercase hex digits */
/* Makes the plain file at path (fully written; its bytes are sha256) a link
 * to their blob, making the blob from it when there is none. OPUS_ERR_IO. */
int prov_blob_adopt(struct prov *p, const char *path, const char *sha256) OPUS_WUR;
/* dest (replaced when it exists) becomes a link to the blob of sha256 (a
 * copy across file systems). OPUS_ERR_NOTFOUND when there is no such blob. */
int prov_blob_link_to(struct prov *p, const char *sha256, const char *dest) OPUS_WUR;

#endif
