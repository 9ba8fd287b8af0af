/*
 * fetch: downloads with libcurl and local copies into a job's directory
 * (fetch.h). The address check sits in the open-socket callback, so it sees
 * the address libcurl really connects to, after DNS and after each redirect:
 * a name that resolves to 127.0.0.1 is refused like the literal.
 */
#include "fetch/fetch-int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : OPUS_ERR_INTERNAL;
}

void fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

/* What an IPv4 address (host order) is, when it must not be reached; NULL if public. */
static const char *v4_class(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
		const char *what;
	} nets[] = {
	    {0x00000000, 0xff000000, "unspecified"},
	    {0x7f000000, 0xff000000, "loopback"},
	    {0x0a000000, 0xff000000, "private"},
	    {0xac100000, 0xfff00000, "private"},
	    {0xc0a80000, 0xffff0000, "private"},
	    {0x64400000, 0xffc00000, "shared (CGNAT)"},
	    {0xa9fe0000, 0xffff0000, "link-local"},
	    {0xc0000000, 0xffffff00, "reserved (IETF protocol assignments)"},
	    {0xc0000200, 0xffffff00, "reserved (documentation)"},
	    {0xc6336400, 0xffffff00, "reserved (documentation)"},
	    {0xcb007100, 0xffffff00, "reserved (documentation)"},
	    {0xc6120000, 0xfffe0000, "reserved (benchmarking)"},
	    {0xe0000000, 0xf0000000, "multicast"},
	    {0xf0000000, 0xf0000000, "reserved"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(nets); i++) {
		if ((a & nets[i].mask) == nets[i].net)
			return nets[i].what;
	}
	return NULL;
}

static uint32_t v4_at(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/*
 * IPv6 forms that carry an IPv4 address, which is then checked as one (a
 * translator or a dual stack may deliver the packet to it): IPv4-mapped
 * ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d (deprecated, still routed by some
 * stacks), NAT64 64:ff9b::a.b.c.d (RFC 6052) and 6to4 2002:AABB:CCDD::.
 * Offset of the IPv4 address in the 16 bytes, or -1.
 */
static int v6_embedded_v4(const uint8_t *b)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t compat[12] = {0};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

	if (memcmp(b, mapped, 12) == 0 || memcmp(b, compat, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return 12;
	if (b[0] == 0x20 && b[1] == 0x02)
		return 2;
	return -1;
}

static const char *v6_class(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	int v4 = v6_embedded_v4(b);

	if (IN6_IS_ADDR_LOOPBACK(a))
		return "loopback";
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return "unspecified";
	if (v4 >= 0)
		return v4_class(v4_at(b + v4));
	/* 64:ff9b:1::/48, NAT64 for local use (RFC 8215): translates to anything. */
	if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
		return "private (local-use NAT64)";
	if ((b[0] & 0xfe) == 0xfc)
		return "private";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "site-local";
	if (b[0] == 0xff)
		return "multicast";
	return NULL;
}

/* The class of a socket address that must not be reached, with its text; NULL if fine. */
static const char *addr_class(const struct sockaddr *sa, char *text, size_t len)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)len);
		return v4_class(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)len);
		return v6_class(&in6->sin6_addr);
	}
	snprintf(text, len, "of family %d", sa->sa_family);
	return "not an internet address";
}

/* One transfer's state, shared with libcurl's callbacks. */
struct xfer {
	const struct fetch_policy *p;
	fetch_cancel_flag *cancel;
	int fd;
	struct sha256_stream *hash; /* of what was written */
	int64_t written;
	bool too_big;
	bool write_failed;
	char *refused; /* why an address was refused */
};

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = clientp;
	char text[INET6_ADDRSTRLEN + 32] = "";
	const char *what = addr_class(&a->addr, text, sizeof(text));

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (what && (!x->p->allow_private || (a->family != AF_INET && a->family != AF_INET6))) {
		free(x->refused);
		x->refused = xasprintf("address %s is %s (refused)", text, what);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static bool cancelled(fetch_cancel_flag *cancel)
{
	return cancel && atomic_load(cancel) != 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * nmemb, off = 0;

	if (cancelled(x->cancel))
		return 0;
	if (x->written + (int64_t)len > x->p->max_bytes) {
		x->too_big = true;
		return 0;
	}
	while (off < len) {
		ssize_t w = write(x->fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			return 0;
		}
		off += (size_t)w;
	}
	sha256_add(x->hash, data, len);
	x->written += (int64_t)len;
	return len;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = clientp;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cancelled(x->cancel);
}

/* The options that make a download safe (see fetch.h). */
static void set_options(CURL *h, struct xfer *x, const char *url, char *errbuf)
{
	const char *scheme = strncasecmp(url, "https:", 6) == 0 ? "https" : "http";

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, scheme);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "opusd");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)x->p->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)x->p->timeout_s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->p->max_bytes);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* A reason for a failed transfer, most specific first. */
static char *failure_reason(CURL *h, CURLcode rc, const struct xfer *x, const char *errbuf)
{
	long code = 0;

	if (x->refused)
		return xstrdup(x->refused);
	if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return xasprintf("larger than %lld bytes (inputs.max_input_size)",
				 (long long)x->p->max_bytes);
	if (cancelled(x->cancel))
		return xstrdup("cancelled");
	if (x->write_failed)
		return xasprintf("cannot write the file: %s", strerror(errno));
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		return xasprintf("HTTP %ld", code);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("timed out (%s)", errbuf[0] ? errbuf : "inputs.fetch_timeout");
	if (rc == CURLE_UNSUPPORTED_PROTOCOL)
		return xasprintf("redirected to a scheme that is not allowed (%s)", errbuf);
	return xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

static char *media_type(CURL *h)
{
	char *ct = NULL;
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || !ct || !*ct)
		return NULL;
	return xstrndup(ct, strcspn(ct, "; \t"));
}

/* Opens "{dest}.part" for writing; its path in *part_out. */
static int part_open(const char *dest, char **part_out, char **why_out)
{
	*part_out = xasprintf("%s.part", dest);
	int fd = open(*part_out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		*why_out = xasprintf("cannot create %s: %s", *part_out, strerror(errno));
	return fd;
}

/* Closes the part file and renames it to dest, or removes it. */
static int part_finish(int fd, char *part, const char *dest, int ret, char **why_out)
{
	if (close(fd) != 0 && ret == 0) {
		*why_out = xasprintf("cannot write %s: %s", dest, strerror(errno));
		ret = OPUS_ERR_IO;
	}
	if (ret == 0 && rename(part, dest) != 0) {
		*why_out = xasprintf("cannot rename to %s: %s", dest, strerror(errno));
		ret = OPUS_ERR_IO;
	}
	if (ret != 0)
		unlink(part);
	free(part);
	return ret;
}

static int download_http(const struct fetch_policy *p, const char *url, const char *dest,
			 fetch_cancel_flag *cancel, char **ctype_out, char sha256_out[65],
			 char **why_out)
{
	struct xfer x = {.p = p, .cancel = cancel, .fd = -1, .hash = sha256_begin()};
	char errbuf[CURL_ERROR_SIZE] = "";
	char *part = NULL;
	CURL *h = curl_easy_init();
	CURLcode rc;
	int ret = OPUS_ERR_IO;

	if (!h) {
		*why_out = xstrdup("cannot start a transfer");
		return OPUS_ERR_INTERNAL;
	}
	x.fd = part_open(dest, &part, why_out);
	if (x.fd >= 0) {
		set_options(h, &x, url, errbuf);
		rc = curl_easy_perform(h);
		if (rc == CURLE_OK) {
			ret = 0;
			if (ctype_out)
				*ctype_out = media_type(h);
		} else {
			*why_out = failure_reason(h, rc, &x, errbuf);
		}
		ret = part_finish(x.fd, part, dest, ret, why_out);
	} else {
		free(part);
	}
	if (ret == 0)
		sha256_end(x.hash, sha256_out);
	else
		sha256_abandon(x.hash);
	free(x.refused);
	curl_easy_cleanup(h);
	return ret;
}

/* One chunk, read, hashed and written (read and write, not
 * copy_file_range: the bytes are hashed as they pass). */
static ssize_t copy_chunk(int in, int out, struct sha256_stream *h)
{
	char buf[65536];
	ssize_t n = read(in, buf, sizeof(buf)), off = 0;

	while (n > 0 && off < n) {
		ssize_t w = write(out, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	if (n > 0)
		sha256_add(h, buf, (size_t)n);
	return n;
}

/* Copies what remains of in into out, capped; 0 or a reason. The cancel flag
 * is read before each chunk, so a copy stops within one chunk of being asked. */
static int copy_fd(int in, int out, int64_t max_bytes, fetch_cancel_flag *cancel,
		   struct sha256_stream *h, char **why_out)
{
	int64_t total = 0;
	for (;;) {
		ssize_t n;
		if (cancelled(cancel)) {
			*why_out = xstrdup("cancelled");
			return OPUS_ERR_IO;
		}
		n = copy_chunk(in, out, h);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why_out = xasprintf("cannot copy: %s", strerror(errno));
			return OPUS_ERR_IO;
		}
		if (n == 0)
			return 0;
		total += n;
		if (total > max_bytes) {
			*why_out = xasprintf("larger than %lld bytes (inputs.max_input_size)",
					     (long long)max_bytes);
			return OPUS_ERR_TOOBIG;
		}
	}
}

/* What a file that is not a regular one is, for the reason. */
static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISDIR(m))
		return "a directory";
	return "not a plain file";
}

/*
 * Opens src for reading only if it is a regular file. O_NONBLOCK: open() of a
 * FIFO with no writer would block for good (and a device may do anything), so
 * nothing is waited for before fstat() says what it is. Reads of a regular
 * file ignore O_NONBLOCK. Returns the descriptor, or -1 with *why_out.
 */
static int open_regular(const char *src, char **why_out)
{
	struct stat st = {0};
	int fd = open(src, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		*why_out = errno == ELOOP ? xasprintf("%s is a symbolic link (refused)", src)
					  : xasprintf("%s: %s", src, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why_out =
		    xasprintf("%s is %s, not a regular file (refused)", src, file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

int fetch_copy_file(const char *src, const char *dest, int64_t max_bytes, fetch_cancel_flag *cancel,
		    char sha256_out[65], char **why_out)
{
	struct sha256_stream *h;
	char *part = NULL;
	int in, out, ret;

	*why_out = NULL;
	in = open_regular(src, why_out);
	if (in < 0)
		return OPUS_ERR_NOTFOUND;
	out = part_open(dest, &part, why_out);
	if (out < 0) {
		free(part);
		close(in);
		return OPUS_ERR_IO;
	}
	h = sha256_begin();
	ret = copy_fd(in, out, max_bytes, cancel, h, why_out);
	close(in);
	ret = part_finish(out, part, dest, ret, why_out);
	if (ret == 0)
		sha256_end(h, sha256_out);
	else
		sha256_abandon(h);
	return ret;
}

/* file://: the path with its links resolved must still be below a root. */
static int copy_below_root(const struct fetch_policy *p, const struct fetch_ref *r,
			   const char *dest, fetch_cancel_flag *cancel, char sha256_out[65],
			   char **why_out)
{
	char real[PATH_MAX];
	if (!realpath(r->path, real)) {
		*why_out = xasprintf("%s: %s", r->path, strerror(errno));
		return OPUS_ERR_NOTFOUND;
	}
	if (!fetch_below_root(p, real)) {
		*why_out = xasprintf("%s leads outside the directories opusd may read", r->path);
		return OPUS_ERR_FORBIDDEN;
	}
	return fetch_copy_file(real, dest, p->max_bytes, cancel, sha256_out, why_out);
}

int fetch_download(const struct fetch_policy *p, const struct fetch_ref *r, const char *dest,
		   fetch_cancel_flag *cancel, char **ctype_out, char sha256_out[65], char **why_out)
{
	*why_out = NULL;
	if (ctype_out)
		*ctype_out = NULL;
	if (r->kind == FETCH_FILE)
		return copy_below_root(p, r, dest, cancel, sha256_out, why_out);
	if (r->kind == FETCH_HTTP)
		return download_http(p, r->url, dest, cancel, ctype_out, sha256_out, why_out);
	*why_out = xstrdup("a stored entity is copied, not downloaded");
	return OPUS_ERR_INTERNAL;
}
