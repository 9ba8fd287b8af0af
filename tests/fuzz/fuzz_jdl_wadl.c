/*
 * Fuzz target: OPUS's WADL descriptions (wadl/{name}.wadl). Whatever the bytes,
 * reading must not crash or leak; a description that loads must have as its
 * source a VOTable that opusd's own reader takes back to the same hash and
 * script, and must render as JSON. The script stands in for scripts/{name}.sh.
 */
#include "jdl/jdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const struct jdl_doc doc = {
	    .buf = (const char *)data, .len = size, .script = "echo fuzz\n"};
	struct jdl *j = NULL, *again = NULL;
	struct sbuf json = SBUF_INIT;
	char *err = NULL;

	if (jdl_parse_wadl(&doc, &j, &err) != 0) {
		free(err);
		return 0;
	}
	if (jdl_write_json(j, &json) != 0)
		abort();
	if (jdl_parse_buffer(j->source, j->source_len, j->name, &again, &err) != 0) {
		fprintf(stderr, "its VOTable does not parse: %s\n", err);
		abort();
	}
	if (strcmp(again->hash, j->hash) != 0 || strcmp(again->script, j->script) != 0)
		abort();
	jdl_unref(again);
	jdl_unref(j);
	sbuf_release(&json);
	return 0;
}
