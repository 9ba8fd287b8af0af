/*
 * http_pending: TEMPORARY, for branch h-http alone. Weak stand-ins for the
 * prov functions that other branches implement (h-prov, h-ingest), so that
 * this branch links and its own tests run before they
 * are merged. Each answers "not there" and nothing claims to work. The
 * real (strong) definitions replace them at link time once merged; the
 * lead deletes this file at the merge.
 */
#include "http/http-int.h"

#include <stdlib.h>
#include <string.h>

#define WEAK __attribute__((weak))

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
