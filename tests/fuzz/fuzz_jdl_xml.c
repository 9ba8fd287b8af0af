/*
 * Fuzz target: job descriptions in XML. Whatever the bytes, parsing must not
 * crash or leak; a description that parses must write back as XML that
 * parses again and writes back to the same bytes (the round trip
 * test_jdl.c checks on the shipped examples), and must render as JSON.
 */
#include "jdl/jdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct jdl *j = NULL, *again = NULL;
	struct sbuf xml = SBUF_INIT, xml2 = SBUF_INIT, json = SBUF_INIT;
	char *err = NULL;

	if (jdl_parse_buffer((const char *)data, size, NULL, &j, &err) != 0) {
		free(err);
		return 0;
	}
	if (jdl_write_xml(j, &xml) != 0 || jdl_write_json(j, &json) != 0)
		abort();
	if (jdl_parse_buffer(xml.buf, xml.len, j->name, &again, &err) != 0) {
		fprintf(stderr, "written XML does not parse: %s\n", err);
		abort();
	}
	if (jdl_write_xml(again, &xml2) != 0 || xml.len != xml2.len ||
	    memcmp(xml.buf, xml2.buf, xml.len) != 0)
		abort();
	jdl_unref(again);
	jdl_unref(j);
	sbuf_release(&xml);
	sbuf_release(&xml2);
	sbuf_release(&json);
	return 0;
}
