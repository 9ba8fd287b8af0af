/* Unit tests for src/base: sbuf caps, time parsing/formatting, names. */
#include "base/base.h"
#include "check.h"

#include <stdlib.h>

TEST(sbuf_cap_sticks)
{
	struct sbuf sb;
	sbuf_init(&sb, 8);
	sbuf_adds(&sb, "12345");
	CHECK(sb.err == 0);
	sbuf_adds(&sb, "6789");
	CHECK(sb.err == OPUS_ERR_TOOBIG);
	sbuf_adds(&sb, "a");
	CHECK_STR(sbuf_str(&sb), "12345");
	sbuf_release(&sb);
}

TEST(sbuf_format)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "%d-%s", 42, "x");
	sbuf_addc(&sb, '!');
	CHECK_STR(sbuf_str(&sb), "42-x!");
	char *s = sbuf_detach(&sb, NULL);
	CHECK_STR(s, "42-x!");
	free(s);
	CHECK(sb.buf == NULL);
}

TEST(time_reduced_precision)
{
	int64_t ms = 0;
	char out[TIME_STR_MAX];
	CHECK(time_parse("2026", &ms) == 0);
	time_format(ms, out);
	CHECK_STR(out, "2026-01-01T00:00:00.000Z");
	CHECK(time_parse("2026-11-22T10:00Z", &ms) == 0);
	time_format(ms, out);
	CHECK_STR(out, "2026-11-22T10:00:00.000Z");
	CHECK(time_parse("2026-11-22T10:00:05.25+01:00", &ms) == 0);
	time_format(ms, out);
	CHECK_STR(out, "2026-11-22T09:00:05.250Z");
	CHECK(time_parse("2026-11", &ms) == 0);
	time_format(ms, out);
	CHECK_STR(out, "2026-11-01T00:00:00.000Z");
}

TEST(time_rejects_garbage)
{
	int64_t ms;
	CHECK(time_parse("", &ms) < 0);
	CHECK(time_parse("yesterday", &ms) < 0);
	CHECK(time_parse("2026-13-01", &ms) < 0);
	CHECK(time_parse("2026-02-30", &ms) < 0);
	CHECK(time_parse("2026-11-22T25:00Z", &ms) < 0);
	CHECK(time_parse("2026-11-22T10:00Zjunk", &ms) < 0);
	CHECK(time_parse("20261", &ms) < 0);
}

TEST(names)
{
	CHECK(name_is_safe("test_activity-1", 64));
	CHECK(!name_is_safe("../evil", 64));
	CHECK(!name_is_safe("", 64));
	CHECK(!name_is_safe("abc", 2));
	CHECK(name_is_identifier("text"));
	CHECK(!name_is_identifier("1abc"));
	CHECK(!name_is_identifier("a-b"));
}

TEST(ints_and_random)
{
	int64_t v;
	char a[17], b[17];
	CHECK(parse_int64("-12", &v) == 0 && v == -12);
	CHECK(parse_int64("12x", &v) < 0);
	CHECK(parse_int64(" 1", &v) < 0);
	CHECK(parse_int64("99999999999999999999", &v) < 0);
	rand_hex(a, 8);
	rand_hex(b, 8);
	CHECK(strlen(a) == 16 && strcmp(a, b) != 0);
}

int main(void)
{
	RUN(sbuf_cap_sticks);
	RUN(sbuf_format);
	RUN(time_reduced_precision);
	RUN(time_rejects_garbage);
	RUN(names);
	RUN(ints_and_random);
	return CHECK_DONE();
}
