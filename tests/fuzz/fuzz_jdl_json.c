/*
 * Fuzz target: job descriptions in their JSON shape (POST /jdl). Parsing must
 * not crash or leak; a description that parses must write as XML that the
 * XML reader accepts with the same hash.
 */
#include "jdl/jdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct jdl *j = NULL, *again = NULL;
	struct sbuf xml = SBUF_INIT;
	char *err = NULL;

	if (jdl_parse_json((const char *)data, size, NULL, &j, &err) != 0) {
		free(err);
		return 0;
	}
	if (jdl_write_xml(j, &xml) != 0)
		abort();
	if (jdl_parse_buffer(xml.buf, xml.len, j->name, &again, &err) != 0) {
		fprintf(stderr, "XML written from JSON does not parse: %s\n", err);
		abort();
	}
	if (strcmp(j->hash, again->hash) != 0)
		abort();
	jdl_unref(again);
	jdl_unref(j);
	sbuf_release(&xml);
	return 0;
}
