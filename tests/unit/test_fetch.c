/* Unit tests of fetch: what an input value refers to, and local copies. */
#include "check.h"
#include "fetch/fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	why = NULL;
	fetch_ref_release(&r);
	free(v);
	/* an entity id of the entity store */
	CHECK(kind_of("e0123456789abcdef0123456789abcdef", NULL, &r, &why) == FETCH_ENTITY);
	CHECK_STR(r.entity_id, "e0123456789abcdef0123456789abcdef");
	CHECK_STR(r.job_id, "");
	fetch_ref_release(&r);
	CHECK(kind_of("e0123456789ABCDEF0123456789abcdef", NULL, &r, &why) == -1);
	free(why);
	why = NULL;
	CHECK(kind_of("e0123456789abcdef0123456789abcde", NULL, &r, &why) == -1);
	free(why);
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
	char sha[65];
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	char *src, *dest, *link_path, *why = NULL, *buf = NULL;
	size_t len = 0;
	fetch_cancel_flag cancel = 0;

	CHECK(mkdtemp(dir) != NULL);
	src = xasprintf("%s/src", dir);
	dest = xasprintf("%s/dest", dir);
	link_path = xasprintf("%s/link", dir);
	CHECK(file_write_all(src, "hello", 5, 0640) == 0);
	CHECK(fetch_copy_file(src, dest, 100, &cancel, sha, &why) == 0);
	CHECK(file_read_all(dest, 100, &buf, &len) == 0 && len == 5 && !memcmp(buf, "hello", 5));
	free(buf);
	/* the sha256 of what was copied, hashed as it passed */
	CHECK_STR(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	unlink(dest);
	CHECK(fetch_copy_file(src, dest, 3, &cancel, sha, &why) < 0);
	CHECK(why && strstr(why, "larger than 3 bytes"));
	CHECK(access(dest, F_OK) != 0);
	free(why);
	CHECK(symlink(src, link_path) == 0);
	CHECK(fetch_copy_file(link_path, dest, 100, &cancel, sha, &why) < 0);
	CHECK(access(dest, F_OK) != 0);
	free(why);
	rm_rf(dir);
	free(src);
	free(dest);
	free(link_path);
}

/* A FIFO (no writer) or a device is refused at once: without O_NONBLOCK the
 * open() blocks for good (the alarm then kills the test binary). */
TEST(copy_refuses_fifos_and_devices)
{
	char sha[65];
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	char *fifo, *dest, *why = NULL;
	fetch_cancel_flag cancel = 0;

	CHECK(mkdtemp(dir) != NULL);
	fifo = xasprintf("%s/fifo", dir);
	dest = xasprintf("%s/dest", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	alarm(20);
	CHECK(fetch_copy_file(fifo, dest, 100, &cancel, sha, &why) < 0);
	CHECK(why && strstr(why, "is a FIFO, not a regular file"));
	CHECK(access(dest, F_OK) != 0);
	free(why);
	why = NULL;
	CHECK(fetch_copy_file("/dev/zero", dest, 100, &cancel, sha, &why) < 0);
	CHECK(why && strstr(why, "character device"));
	CHECK(access(dest, F_OK) != 0);
	free(why);
	alarm(0);
	rm_rf(dir);
	free(fifo);
	free(dest);
}

/* A copy asked to stop stops before its next chunk and leaves nothing. */
TEST(copy_is_cancellable)
{
	char sha[65];
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	char *src, *dest, *why = NULL;
	fetch_cancel_flag cancel = 1;

	CHECK(mkdtemp(dir) != NULL);
	src = xasprintf("%s/src", dir);
	dest = xasprintf("%s/dest", dir);
	CHECK(file_write_all(src, "hello", 5, 0640) == 0);
	CHECK(fetch_copy_file(src, dest, 100, &cancel, sha, &why) < 0);
	CHECK_STR(why, "cancelled");
	CHECK(access(dest, F_OK) != 0);
	free(why);
	rm_rf(dir);
	free(src);
	free(dest);
}

/* The address guard: literal addresses only, so nothing leaves the machine
 * (the refusal happens before a socket exists). */
static void check_refused(const char *url, const char *what)
{
	static char none[] = "/nonexistent";
	static char *no_roots[] = {none};
	const struct fetch_policy p = {
	    .file_roots = no_roots,
	    .nroots = 1,
	    .max_bytes = 100,
	    .connect_timeout_s = 2,
	    .timeout_s = 2,
	};
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	struct fetch_ref r;
	char *why = NULL, *dest, sha[65];

	CHECK(mkdtemp(dir) != NULL);
	dest = xasprintf("%s/dest", dir);
	CHECK(fetch_ref_parse(&p, url, NULL, &r, &why) == 0);
	free(why);
	why = NULL;
	CHECK(fetch_download(&p, &r, dest, NULL, NULL, sha, &why) < 0);
	if (!why || !strstr(why, what) || !strstr(why, "(refused)")) {
		fprintf(stderr, "%s: reason \"%s\", want \"%s\"\n", url, why ? why : "(null)",
			what);
		CHECK(!"refused for the right reason");
	}
	free(why);
	fetch_ref_release(&r);
	rm_rf(dir);
	free(dest);
}

TEST(ssrf_guard_embedded_ipv4)
{
	CHECK(fetch_global_init() == 0);
	check_refused("http://127.0.0.1:9/", "is loopback");
	check_refused("http://198.18.0.1:9/", "benchmarking");
	check_refused("http://198.19.255.254:9/", "benchmarking");
	check_refused("http://[::ffff:127.0.0.1]:9/", "is loopback");
	check_refused("http://[::ffff:10.1.2.3]:9/", "is private");
	check_refused("http://[::127.0.0.1]:9/", "is loopback");
	check_refused("http://[::10.1.2.3]:9/", "is private");
	check_refused("http://[::192.168.0.1]:9/", "is private");
	check_refused("http://[64:ff9b::127.0.0.1]:9/", "is loopback");
	check_refused("http://[64:ff9b::a9fe:a9fe]:9/", "is link-local");
	check_refused("http://[64:ff9b::198.18.0.1]:9/", "benchmarking");
	check_refused("http://[64:ff9b:1::1]:9/", "local-use NAT64");
	check_refused("http://[2002:7f00:1::1]:9/", "is loopback");
	check_refused("http://[::1]:9/", "is loopback");
	fetch_global_cleanup();
}

/* A file:// download through fetch_download gives the sha256 of its bytes. */
TEST(download_file_url_hashes)
{
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	char *src, *dest, *url, *why = NULL, sha[65], want[65];
	char *rts[1];
	struct fetch_policy p = {.nroots = 1, .max_bytes = 1 << 20};
	struct fetch_ref r;
	char big[70000];

	CHECK(mkdtemp(dir) != NULL);
	rts[0] = dir;
	p.file_roots = rts;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3); /* more than one chunk */
	sha256_hex(big, sizeof(big), want);
	src = xasprintf("%s/src", dir);
	dest = xasprintf("%s/dest", dir);
	url = xasprintf("file://%s", src);
	CHECK(file_write_all(src, big, sizeof(big), 0640) == 0);
	CHECK(fetch_ref_parse(&p, url, NULL, &r, &why) == 0);
	CHECK(fetch_download(&p, &r, dest, NULL, NULL, sha, &why) == 0);
	CHECK_STR(sha, want);
	fetch_ref_release(&r);
	free(why);
	rm_rf(dir);
	free(src);
	free(dest);
	free(url);
}

/* One HTTP response on a loopback socket, for download_http_hashes. */
struct one_reply {
	int fd;
	const char *body;
	size_t len;
};

static void *serve_one(void *arg)
{
	struct one_reply *o = arg;
	char buf[4096], *head;
	int c = accept(o->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	(void)!read(c, buf, sizeof(buf));
	head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
			 "%zu\r\nConnection: close\r\n\r\n",
			 o->len);
	(void)!write(c, head, strlen(head));
	(void)!write(c, o->body, o->len);
	free(head);
	close(c);
	return NULL;
}

/* An http download gives the sha256 of the bytes written, and its type. */
TEST(download_http_hashes)
{
	char dir[] = "/tmp/opusd-fetch-XXXXXX";
	struct fetch_policy p = {
	    .allow_private = true, .max_bytes = 1 << 20, .connect_timeout_s = 5, .timeout_s = 10};
	struct one_reply o = {.body = "some bytes\n", .len = 11};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	char *url = NULL, *dest, *why = NULL, *ctype = NULL, sha[65] = "", want[65];
	struct fetch_ref r;
	pthread_t th;

	CHECK(fetch_global_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	dest = xasprintf("%s/dest", dir);
	o.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(o.fd >= 0 && bind(o.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	      listen(o.fd, 1) == 0 && getsockname(o.fd, (struct sockaddr *)&sa, &sl) == 0);
	CHECK(pthread_create(&th, NULL, serve_one, &o) == 0);
	url = xasprintf("http://127.0.0.1:%d/x", ntohs(sa.sin_port));
	CHECK(fetch_ref_parse(&p, url, NULL, &r, &why) == 0);
	CHECK(fetch_download(&p, &r, dest, NULL, &ctype, sha, &why) == 0);
	sha256_hex(o.body, o.len, want);
	CHECK_STR(sha, want);
	CHECK_STR(ctype, "text/plain");
	pthread_join(th, NULL);
	close(o.fd);
	fetch_ref_release(&r);
	free(ctype);
	free(why);
	free(url);
	rm_rf(dir);
	free(dest);
	fetch_global_cleanup();
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
	RUN(copy_refuses_fifos_and_devices);
	RUN(copy_is_cancellable);
	RUN(ssrf_guard_embedded_ipv4);
	RUN(download_file_url_hashes);
	RUN(download_http_hashes);
	return CHECK_DONE();
}
