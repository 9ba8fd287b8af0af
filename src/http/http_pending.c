/*
 * http_pending: TEMPORARY, for branch h-http alone. Weak stand-ins for the
 * store and prov functions that other branches implement (h-store, h-prov,
 * h-ingest), so that this branch links and its own tests run before they
 * are merged. Each answers "not there" and nothing claims to work. The
 * real (strong) definitions replace them at link time once merged; the
 * lead deletes this file at the merge.
 */
#include "http/http-int.h"

#include <stdlib.h>
#include <string.h>

#define WEAK __attribute__((weak))

WEAK bool store_entity_id_is_valid(const char *s)
{
	(void)s;
	return false;
}

WEAK void store_entity_release(struct store_entity *e)
{
	(void)e;
}

WEAK int store_entity_get(struct store *st, const char *id, struct store_entity *out)
{
	(void)st;
	(void)id;
	(void)out;
	return OPUS_ERR_NOTFOUND;
}

WEAK int store_activity_get(struct store *st, const char *id, struct store_activity *out)
{
	(void)st;
	(void)id;
	(void)out;
	return OPUS_ERR_NOTFOUND;
}

WEAK void store_activity_release(struct store_activity *a)
{
	(void)a;
}

WEAK char *prov_blob_path(const struct prov *p, const char *sha256)
{
	(void)p;
	(void)sha256;
	return NULL;
}

WEAK int prov_query_parse(const struct prov *p, const char *const *names, const char *const *values,
			  size_t n, const char *fixed_id, struct prov_query *out, char **why_out)
{
	(void)p;
	(void)names;
	(void)values;
	(void)n;
	(void)fixed_id;
	memset(out, 0, sizeof(*out));
	*why_out = NULL;
	return OPUS_ERR_INTERNAL;
}

WEAK void prov_query_release(struct prov_query *q)
{
	(void)q;
}

WEAK int prov_render(struct prov *p, const struct prov_query *q, const char *user, bool admin,
		     struct sbuf *out, const char **ctype_out)
{
	(void)p;
	(void)q;
	(void)user;
	(void)admin;
	(void)out;
	*ctype_out = NULL;
	return OPUS_ERR_INTERNAL;
}
