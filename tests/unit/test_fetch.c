/* Unit tests of fetch: what an input value refers to, and local copies. */
#include "check.h"
#include "fetch/fetch.h"

#include <stdlib.h>
#include <unistd.h>

static char root_a[] = "/srv/data";
static char root_b[] = "/mnt/archive/";
static char *roots[] = {root_a, root_b};
static const struct fetch_policy policy = {
    .file_roots = roots,
    .nroots = 2,
    .max_bytes = 100,
    .base_url = "http://opus.example:8080",
};

/* Parses value; returns the kind, or -1 with the reason in why (caller frees). */
static int kind_of(const char *value, const char *tmpl, struct fetch_ref *ref, char **why)
{
	int ret = fetch_ref_parse(&policy, value, tmpl, ref, why);
	return ret == 0 ? (int)ref->kind : -1;
}

TEST(stored_entities)
{
	struct fetch_ref r;
	char *why = NULL;
	const char *id = "0123456789abcdef0123456789abcdef";
	char *v = NULL;

	v = malloc(100);
	snprintf(v, 100, "%s/output", id);
	CHECK(kind_of(v, NULL, &r, &why) == FETCH_ENTITY);
	CHECK_STR(r.job_id, id);
	CHECK_STR(r.result_id, "output");
	fetch_ref_release(&r);
	snprintf(v, 100, "http://opus.example:8080/rest/copy/%s/results/out.txt", id);
	CHECK(kind_of(v, NULL, &r, &why) == FETCH_ENTITY);
	CHECK_STR(r.result_id, "out.txt");
	fetch_ref_release(&r);
	snprintf(v, 100, "%s/../x", id);
	CHECK(kind_of(v, NULL, &r, &why) == -1); /* not an entity; no template */
	free(why);
	fetch_ref_release(&r);
	free(v);
}

TEST(urls_and_schemes)
{
	struct fetch_ref r;
	char *why = NULL;

	CHECK(kind_of("https://example.org/a?b=c", NULL, &r, &why) == FETCH_HTTP);
	CHECK_STR(r.url, "https://example.org/a?b=c");
	fetch_ref_release(&r);
	CHECK(kind_of("HTTP://example.org/", NULL, &r, &why) == FETCH_HTTP);
	fetch_ref_release(&r);
	CHECK(kind_of("ftp://example.org/x", NULL, &r, &why) == -1);
	CHECK_STR(why, "scheme ftp is not allowed (http, https, file)");
	free(why);
	CHECK(kind_of("http:///nohost", NULL, &r, &why) == -1);
	free(why);
	CHECK(kind_of("http://a b/", NULL, &r, &why) == -1);
	free(why);
	CHECK(kind_of("", NULL, &r, &why) == -1);
	free(why);
}

TEST(file_urls_stay_below_roots)
{
	struct fetch_ref r;
	char *why = NULL;

	CHECK(kind_of("file:///srv/data/a%20b.fits", NULL, &r, &why) == FETCH_FILE);
	CHECK_STR(r.path, "/srv/data/a b.fits");
	fetch_ref_release(&r);
	CHECK(kind_of("file://localhost/mnt/archive/x", NULL, &r, &why) == FETCH_FILE);
	fetch_ref_release(&r);
	static const char *bad[] = {
	    "file:///etc/passwd",	 "file:///srv/data/../../etc/passwd",
	    "file:///srv/data/%2e%2e/x", "file:///srv/database/x",
	    "file://host/srv/data/x",	 "file:///srv/data/a%00b",
	    "file:///srv/data/x?y",	 "file:///srv/data",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(kind_of(bad[i], NULL, &r, &why) == -1);
		CHECK(why != NULL);
		free(why);
		why = NULL;
	}
}

TEST(ids_through_the_template)
{
	struct fetch_ref r;
	char *why = NULL;

	CHECK(kind_of("M31 a&b", "http://h/data?id=$ID&x=$ID", &r, &why) == FETCH_HTTP);
	CHECK_STR(r.url, "http://h/data?id=M31%20a%26b&x=M31%20a%26b");
	fetch_ref_release(&r);
	CHECK(kind_of("/srv/data/sub/x.txt", "file://$ID", &r, &why) == FETCH_FILE);
	CHECK_STR(r.path, "/srv/data/sub/x.txt");
	fetch_ref_release(&r);
	CHECK(kind_of("M31", NULL, &r, &why) == -1);
	free(why);
	CHECK(kind_of("M31", "no-template-marker", &r, &why) == -1);
	free(why);
	CHECK(kind_of("x", "gopher://h/$ID", &r, &why) == -1);
	free(why);
}

TEST(media_types)
{
	CHECK(fetch_media_type_eq("application/fits", "Application/FITS"));
	CHECK(fetch_media_type_eq("text/plain; charset=utf-8", "text/plain"));
	CHECK(!fetch_media_type_eq("text/plain", "text/plainx"));
	CHECK(!fetch_media_type_eq("text/html", "text/plain"));
}

TEST(copy_caps_and_refuses_links)
{
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	char *src, *dest, *link_path, *why = NULL, *buf = NULL;
	size_t len = 0;
	fetch_cancel_flag cancel = 0;

	CHECK(mkdtemp(dir) != NULL);
	src = xasprintf("%s/src", dir);
	dest = xasprintf("%s/dest", dir);
	link_path = xasprintf("%s/link", dir);
	CHECK(file_write_all(src, "hello", 5, 0640) == 0);
	CHECK(fetch_copy_file(src, dest, 100, &cancel, &why) == 0);
	CHECK(file_read_all(dest, 100, &buf, &len) == 0 && len == 5 && !memcmp(buf, "hello", 5));
	free(buf);
	unlink(dest);
	CHECK(fetch_copy_file(src, dest, 3, &cancel, &why) < 0);
	CHECK(why && strstr(why, "larger than 3 bytes"));
	CHECK(access(dest, F_OK) != 0);
	free(why);
	CHECK(symlink(src, link_path) == 0);
	CHECK(fetch_copy_file(link_path, dest, 100, &cancel, &why) < 0);
	CHECK(access(dest, F_OK) != 0);
	free(why);
	rm_rf(dir);
	free(src);
	free(dest);
	free(link_path);
}

TEST(reference_lists)
{
	size_t n = 9;
	char **refs = fetch_refs_split("  a \r\n\n\t\nb\n c d\t", &n);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(refs[0], "a");
		CHECK_STR(refs[1], "b");
		CHECK_STR(refs[2], "c d");
	}
	fetch_refs_free(refs, n);
	refs = fetch_refs_split(" \r\n ", &n);
	CHECK(n == 0 && refs == NULL);
	fetch_refs_free(refs, n);
	refs = fetch_refs_split(NULL, &n);
	CHECK(n == 0);
	fetch_refs_free(refs, n);
}

int main(void)
{
	RUN(stored_entities);
	RUN(urls_and_schemes);
	RUN(file_urls_stay_below_roots);
	RUN(ids_through_the_template);
	RUN(media_types);
	RUN(reference_lists);
	RUN(copy_caps_and_refuses_links);
	return CHECK_DONE();
}
