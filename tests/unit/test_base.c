/* Unit tests for src/base: sbuf caps, time parsing/formatting, names. */
#include "base/base.h"
#include "check.h"

#include <stdlib.h>
#include <unistd.h>

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

/* Parses s and checks it formats as want. */
static void check_time(const char *s, const char *want)
{
	int64_t ms = 0;
	char out[TIME_STR_MAX] = "";
	if (time_parse(s, &ms) != 0) {
		fprintf(stderr, "time_parse(\"%s\") failed\n", s);
		CHECK(0);
		return;
	}
	time_format(ms, out);
	CHECK_STR(out, want);
}

TEST(time_basic_format)
{
	check_time("20151026", "2015-10-26T00:00:00.000Z");
	check_time("20151026T091535Z", "2015-10-26T09:15:35.000Z");
	check_time("20151026T0915Z", "2015-10-26T09:15:00.000Z");
	check_time("20151026T09", "2015-10-26T09:00:00.000Z");
	check_time("20151026T091535.5Z", "2015-10-26T09:15:35.500Z");
	check_time("20151026T091535,25+0100", "2015-10-26T08:15:35.250Z");
	check_time("20151026T091535-05", "2015-10-26T14:15:35.000Z");
	check_time("2015-10-26T09", "2015-10-26T09:00:00.000Z");
	check_time("2015-10-26T09:15:35,125Z", "2015-10-26T09:15:35.125Z");
}

TEST(time_basic_rejects)
{
	int64_t ms;
	CHECK(time_parse("201510", &ms) < 0); /* YYYYMM is not ISO 8601 */
	CHECK(time_parse("2015102", &ms) < 0);
	CHECK(time_parse("20151026T", &ms) < 0);
	CHECK(time_parse("20151026T9", &ms) < 0);
	CHECK(time_parse("20151026T09:15:35Z", &ms) < 0); /* basic date, extended time */
	CHECK(time_parse("2015-10-26T091535Z", &ms) < 0); /* extended date, basic time */
	CHECK(time_parse("20151326", &ms) < 0);
	CHECK(time_parse("20150230", &ms) < 0);
	CHECK(time_parse("20151026T2500", &ms) < 0);
	CHECK(time_parse("20151026 091535", &ms) < 0);
	/* instants that would not format back to a parsable time */
	CHECK(time_parse("1970-01-01T00:00+01:00", &ms) < 0);
	CHECK(time_parse("9999-12-31T23:59-01:00", &ms) < 0);
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

TEST(utf8)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"", true},
	    {"plain", true},
	    {"caf\xc3\xa9", true},
	    {"\xe2\x82\xac", true},
	    {"\xf0\x9f\x98\x80", true},
	    {"\x01\x7f", true},
	    {"caf\xe9", false},
	    {"\xff\xfe", false},
	    {"\xc0\x80", false},
	    {"\xc1\xbf", false},
	    {"\xe0\x80\xaf", false},
	    {"\xed\xa0\x80", false},
	    {"\xf4\x90\x80\x80", false},
	    {"\xf0\x9f\x98", false},
	    {"\x80", false},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++)
		CHECK(utf8_valid(cases[i].s, strlen(cases[i].s)) == cases[i].ok);
	/* n bounds the look: a sequence cut by n is not valid */
	CHECK(!utf8_valid("\xc3\xa9", 1));
	CHECK(utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3) == 3);
	CHECK(utf8_seq_len((const unsigned char *)"a", 0) == 0);
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

TEST(sha256_stream_file_and_buffer_agree)
{
	char a[65], b[65], c[65], path[] = "/tmp/opus-test-sha-XXXXXX";
	struct sha256_stream *h = sha256_begin();
	int64_t size = -1;
	int fd = mkstemp(path);

	sha256_hex("abc", 3, a);
	CHECK(strcmp(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	sha256_add(h, "a", 1);
	sha256_add(h, "bc", 2);
	sha256_end(h, b);
	CHECK(strcmp(a, b) == 0);
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
	close(fd);
	CHECK(sha256_file(path, c, &size) == 0 && size == 3 && strcmp(a, c) == 0);
	unlink(path);
	CHECK(sha256_file(path, c, &size) == OPUS_ERR_IO);
	sha256_abandon(sha256_begin());
	sha256_abandon(NULL);
}

TEST(sha256_base64_of_hex)
{
	char b64[45], hex[65];

	sha256_hex("", 0, hex);
	CHECK(sha256_base64(hex, b64) == 0);
	CHECK(strcmp(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=") == 0);
	sha256_hex("abc", 3, hex);
	CHECK(sha256_base64(hex, b64) == 0);
	CHECK(strcmp(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=") == 0);
	CHECK(sha256_base64("abc", b64) == OPUS_ERR_INVAL);
	hex[10] = 'G';
	CHECK(sha256_base64(hex, b64) == OPUS_ERR_INVAL);
	hex[10] = 'A'; /* upper case is not how sha256_hex writes it */
	CHECK(sha256_base64(hex, b64) == OPUS_ERR_INVAL);
}

int main(void)
{
	RUN(sbuf_cap_sticks);
	RUN(sbuf_format);
	RUN(time_reduced_precision);
	RUN(time_rejects_garbage);
	RUN(time_basic_format);
	RUN(time_basic_rejects);
	RUN(names);
	RUN(utf8);
	RUN(ints_and_random);
	RUN(sha256_stream_file_and_buffer_agree);
	RUN(sha256_base64_of_hex);
	return CHECK_DONE();
}
