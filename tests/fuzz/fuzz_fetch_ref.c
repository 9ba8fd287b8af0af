/*
 * Fuzz target: input references (fetch_ref.c). The bytes before the first
 * NUL are the value, the rest the url template. Nothing may crash or leak;
 * a FILE reference must be an absolute path below a root without "..", an
 * HTTP one must start with http:// or https://.
 */
#include "fetch/fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char root[] = "/srv/data";
static char *roots[] = {root};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const struct fetch_policy p = {
	    .file_roots = roots, .nroots = 1, .max_bytes = 1, .base_url = "http://h:1"};
	char *buf = malloc(size + 1), *tmpl, *why = NULL, **refs;
	struct fetch_ref r;
	size_t n;

	memcpy(buf, data, size);
	buf[size] = '\0';
	tmpl = strlen(buf) < size ? buf + strlen(buf) + 1 : NULL;
	if (fetch_ref_parse(&p, buf, tmpl, &r, &why) == 0) {
		if (r.kind == FETCH_FILE &&
		    (strncmp(r.path, "/srv/data/", 10) != 0 || strstr(r.path, "/../")))
			abort();
		if (r.kind == FETCH_HTTP && strncasecmp(r.url, "http://", 7) != 0 &&
		    strncasecmp(r.url, "https://", 8) != 0)
			abort();
		fetch_ref_release(&r);
	}
	free(why);
	refs = fetch_refs_split(buf, &n);
	fetch_refs_free(refs, n);
	free(buf);
	return 0;
}
