/*
 * Fuzz target: ISO 8601 times (DESTRUCTION, AFTER). A time that parses must
 * format and parse back to the same instant.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), text[TIME_STR_MAX];
	int64_t ms, back;

	memcpy(s, data, size);
	s[size] = '\0';
	if (time_parse(s, &ms) == 0) {
		time_format(ms, text);
		if (time_parse(text, &back) != 0 || back != ms)
			abort();
	}
	free(s);
	return 0;
}
