/*
 * http_static: the web client's files (paths.web_dir), served at / (index.html),
 * /js/..., /css/..., /vendor/..., /img/...
 *
 * The directory (a few hundred KB) is read whole into memory at start and on
 * SIGHUP: each file with its Content-Type (by extension), a strong ETag (a
 * sha256 prefix), and a gzip copy made once when it is worth it. A request
 * only looks the path up in that table, so no path from a client ever reaches
 * the file system: hidden files and symbolic links are not loaded, and
 * "..", a hidden segment or anything not loaded is 404. The table is swapped
 * under a write lock; a reply copies its bytes out under the read lock.
 *
 * Versioned URLs: an HTML file holding the mark STATIC_VERSIONS_MARK gets, at
 * load, "?v=<its version>" (the first 16 hex digits of a file's sha256) on
 * every src="/..." and href="/..." naming a loaded file, and the mark becomes
 * an import map that gives every module its versioned URL, so that the
 * modules' own relative imports resolve to versioned URLs too (its script is
 * allowed by its hash in that page's Content-Security-Policy). A request
 * whose ?v= is the file's version is cached for a year ("immutable"): a
 * changed file has a new version, hence a new URL. Without it, or with an
 * old one, the file is served as it is now with no-cache (revalidated by its
 * ETag), as is every HTML file.
 */
#include "http/http-int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Caps on what is loaded: the client is small; a misconfigured web_dir
 * (say "/") must not fill the memory. */
#define STATIC_MAX_FILES 2000
#define STATIC_MAX_BYTES (64 * 1024 * 1024)
#define STATIC_MAX_DEPTH 8
/* Where an HTML file wants its import map (and its references versioned). */
#define STATIC_VERSIONS_MARK "<!-- opusd:versions -->"
#define STATIC_VERSION_LEN   16 /* hex digits of the sha256: the ETag's, the ?v= */
#define STATIC_CSP_HASH	     56 /* "'sha256-" + 44 + "'" + NUL */
/* Smaller files are sent as they are: gzip would save less than its header costs. */
#define STATIC_GZIP_MIN 256

struct static_file {
	char *path; /* relative to web_dir, "js/app.js" */
	const char *content_type;
	bool html;
	char *data;
	size_t len;
	char *gz; /* NULL: not worth compressing */
	size_t gz_len;
	char etag[24];	  /* "\"<16 hex digits>\"" */
	char etag_gz[28]; /* "\"<16 hex digits>-gz\"" */
	/* HTML with an import map (versions_apply): its script's CSP source,
	 * "'sha256-<base64>'"; "" otherwise */
	char csp_hash[STATIC_CSP_HASH];
};

struct http_static {
	struct static_file *files; /* sorted by path */
	size_t n;
	size_t bytes;
};

static const struct {
	const char *ext;
	const char *type;
	bool compress;
} types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json", true},
    {".map", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".png", "image/png", false},
    {".jpg", "image/jpeg", false},
    {".jpeg", "image/jpeg", false},
    {".gif", "image/gif", false},
    {".ico", "image/x-icon", false},
    {".webp", "image/webp", false},
    {".woff2", "font/woff2", false},
    {".woff", "font/woff", false},
};

/* The Content-Security-Policy of every HTML page: scripts and styles from
 * files of this server only (no inline script, no eval, no on* attribute).
 * connect-src adds the SAMP Web Profile hub, whose address the standard fixes
 * (web/js/samp.js), and nothing broader. */
#define CSP_HEAD "default-src 'self'; script-src 'self'"
#define CSP_TAIL                                                                                   \
	"; style-src 'self'; img-src 'self' data: blob:; "                                         \
	"connect-src 'self' http://localhost:21012 http://127.0.0.1:21012; "                       \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
static const char csp[] = CSP_HEAD CSP_TAIL;
/* With an import map: script-src also allows that one inline script, by its hash. */
static const char csp_head[] = CSP_HEAD " ";
static const char csp_tail[] = CSP_TAIL;

static int type_index(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return -1;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(types); i++) {
		if (strcasecmp(dot, types[i].ext) == 0)
			return (int)i;
	}
	return -1;
}

/* A gzip copy of f's bytes, kept when it is smaller. */
static void file_compress(struct static_file *f)
{
	z_stream z = {0};
	uLong cap;
	char *out;

	if (f->len < STATIC_GZIP_MIN ||
	    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	cap = deflateBound(&z, (uLong)f->len);
	out = xmalloc(cap);
	z.next_in = (Bytef *)f->data;
	z.avail_in = (uInt)f->len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < f->len) {
		f->gz = out;
		f->gz_len = z.total_out;
		out = NULL;
	}
	deflateEnd(&z);
	free(out);
}

static void static_free(struct http_static *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].path);
		free(s->files[i].data);
		free(s->files[i].gz);
	}
	free(s->files);
	free(s);
}

/* Adds the file at dir/rel (rel relative to web_dir); 0, or < 0 past a cap. */
static int load_file(struct http_static *s, const char *full, const char *rel)
{
	struct static_file *f;
	char hex[65];
	int t = type_index(rel);
	char *data = NULL;
	size_t len = 0;

	if (t < 0) {
		log_debug("web_dir: %s skipped (no known type)", rel);
		return 0;
	}
	if (s->n == STATIC_MAX_FILES) {
		log_warn("web_dir: more than %d files; the rest are not served", STATIC_MAX_FILES);
		return OPUS_ERR_TOOBIG;
	}
	if (file_read_all(full, STATIC_MAX_BYTES - s->bytes, &data, &len) < 0) {
		log_warn("web_dir: cannot read %s (or over %d bytes in all); not served", full,
			 STATIC_MAX_BYTES);
		return 0;
	}
	s->files = xrealloc(s->files, (s->n + 1) * sizeof(*s->files));
	f = &s->files[s->n++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(rel);
	f->content_type = types[t].type;
	f->html = strcmp(types[t].ext, ".html") == 0;
	f->data = data;
	f->len = len;
	s->bytes += len;
	sha256_hex(data, len, hex);
	snprintf(f->etag, sizeof(f->etag), "\"%.16s\"", hex);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%.16s-gz\"", hex);
	if (types[t].compress)
		file_compress(f);
	return 0;
}

/* Loads the regular files below dir; names starting with '.' and symbolic
 * links are skipped (lstat), so nothing outside web_dir is ever read. */
static int load_dir(struct http_static *s, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		if (depth == 0)
			log_warn("web_dir %s: %s; no web client served", dir, strerror(errno));
		return 0;
	}
	while (ret == 0 && (e = readdir(d)) != NULL) {
		struct stat st;
		char *full, *sub;
		if (e->d_name[0] == '.')
			continue;
		full = xasprintf("%s/%s", dir, e->d_name);
		sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode))
			ret = load_file(s, full, sub);
		else if (S_ISDIR(st.st_mode) && depth < STATIC_MAX_DEPTH)
			ret = load_dir(s, full, sub, depth + 1);
		free(full);
		free(sub);
	}
	closedir(d);
	return ret;
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct static_file *)a)->path, ((const struct static_file *)b)->path);
}

static const struct static_file *file_find(const struct http_static *s, const char *path);

/* A path that may be written into HTML and JSON as it is. */
static bool plain_path(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return false;
	}
	return true;
}

static bool is_module(const struct static_file *f)
{
	size_t n = strlen(f->path);
	return (n > 3 && strcmp(f->path + n - 3, ".js") == 0) ||
	       (n > 4 && strcmp(f->path + n - 4, ".mjs") == 0);
}

/* The import map of every module: "/js/api.js" -> "/js/api.js?v=...". */
static void import_map(const struct http_static *s, struct sbuf *out)
{
	bool first = true;
	sbuf_adds(out, "{\"imports\":{");
	for (size_t i = 0; i < s->n; i++) {
		const struct static_file *f = &s->files[i];
		if (!is_module(f) || !plain_path(f->path, strlen(f->path)))
			continue;
		sbuf_addf(out, "%s\"/%s\":\"/%s?v=%.*s\"", first ? "" : ",", f->path, f->path,
			  STATIC_VERSION_LEN, f->etag + 1);
		first = false;
	}
	sbuf_adds(out, "}}");
}

/* Copies html's text from *p up to end into out, versioning each src="/X"
 * or href="/X" whose X is a loaded file that is not HTML. */
static void version_refs(const struct http_static *s, const char *p, const char *end,
			 struct sbuf *out)
{
	while (p < end) {
		const char *q = p, *attr = NULL;
		for (; q < end && !attr; q++) {
			if ((size_t)(end - q) >= 6 && memcmp(q, "src=\"/", 6) == 0)
				attr = q + 6;
			else if ((size_t)(end - q) >= 7 && memcmp(q, "href=\"/", 7) == 0)
				attr = q + 7;
		}
		if (!attr) {
			sbuf_add(out, p, (size_t)(end - p));
			return;
		}
		const char *close = memchr(attr, '"', (size_t)(end - attr));
		size_t n = close ? (size_t)(close - attr) : 0;
		sbuf_add(out, p, (size_t)(attr - p));
		p = attr;
		if (close && plain_path(attr, n) && n < 512) {
			char path[512];
			const struct static_file *f;
			memcpy(path, attr, n);
			path[n] = '\0';
			f = file_find(s, path);
			sbuf_add(out, attr, n);
			if (f && !f->html)
				sbuf_addf(out, "?v=%.*s", STATIC_VERSION_LEN, f->etag + 1);
			p = close;
		}
	}
}

static void file_set_data(struct static_file *f, char *data, size_t len)
{
	char hex[65];
	free(f->data);
	free(f->gz);
	f->data = data;
	f->len = len;
	f->gz = NULL;
	f->gz_len = 0;
	sha256_hex(data, len, hex);
	snprintf(f->etag, sizeof(f->etag), "\"%.16s\"", hex);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%.16s-gz\"", hex);
	file_compress(f);
}

/* Versions an HTML file's references and puts its import map in (the
 * header comment); one without the mark stays as it is. */
static void html_versions(const struct http_static *s, struct static_file *f)
{
	const char *mark =
	    memmem(f->data, f->len, STATIC_VERSIONS_MARK, strlen(STATIC_VERSIONS_MARK));
	struct sbuf out = SBUF_INIT, map = SBUF_INIT;
	char hex[65], b64[45];
	size_t len;
	char *data;

	if (!mark)
		return;
	import_map(s, &map);
	sha256_hex(map.buf, map.len, hex);
	if (sha256_base64(hex, b64) != 0) {
		sbuf_release(&map);
		return;
	}
	version_refs(s, f->data, mark, &out);
	sbuf_addf(&out, "<script type=\"importmap\">%s</script>", sbuf_str(&map));
	version_refs(s, mark + strlen(STATIC_VERSIONS_MARK), f->data + f->len, &out);
	snprintf(f->csp_hash, sizeof(f->csp_hash), "'sha256-%s'", b64);
	sbuf_release(&map);
	data = sbuf_detach(&out, &len);
	file_set_data(f, data, len);
}

static void versions_apply(struct http_static *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i].html)
			html_versions(s, &s->files[i]);
}

void http_static_load(struct http_server *srv)
{
	const char *dir = srv->deps.conf->web_dir;
	struct http_static *s = xcalloc(1, sizeof(*s)), *old;

	if (dir && *dir)
		(void)load_dir(s, dir, "", 0);
	if (s->n)
		qsort(s->files, s->n, sizeof(*s->files), file_cmp);
	versions_apply(s);
	log_info("web client: %zu file(s), %zu bytes from %s", s->n, s->bytes,
		 dir && *dir ? dir : "(none)");
	pthread_rwlock_wrlock(&srv->web_lock);
	old = srv->web;
	srv->web = s;
	pthread_rwlock_unlock(&srv->web_lock);
	static_free(old);
}

void http_static_release(struct http_server *srv)
{
	static_free(srv->web);
	srv->web = NULL;
}

bool http_static_route(const struct http_request *req)
{
	static const char *const tops[] = {"js", "css", "vendor", "img"};
	if (req->nsegs == 0)
		return true;
	if (req->nsegs < 2 || req->nsegs > HTTP_MAX_SEGS)
		return false;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(tops); i++) {
		if (strcmp(req->segs[0], tops[i]) == 0)
			return true;
	}
	return false;
}

static const struct static_file *file_find(const struct http_static *s, const char *path)
{
	struct static_file key = {.path = (char *)path};
	return s->n ? bsearch(&key, s->files, s->n, sizeof(*s->files), file_cmp) : NULL;
}

/* Does the client take gzip (Accept-Encoding: a "gzip" or "*" without q=0)? */
static bool accepts_gzip(const struct http_request *req)
{
	const char *ae = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);
	char *copy, *save = NULL;
	bool yes = false;

	if (!ae)
		return false;
	copy = xstrdup(ae);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *q = strchr(tok, ';');
		size_t n;
		if (q)
			*q++ = '\0';
		while (*tok == ' ' || *tok == '\t')
			tok++;
		n = strcspn(tok, " \t");
		if ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && *tok == '*')) {
			/* "q=0", "q=0.0", "q=0.000": refused */
			const char *qv = q ? strstr(q, "q=") : NULL;
			yes = !qv || strtod(qv + 2, NULL) > 0;
		}
	}
	free(copy);
	return yes;
}

/* Does If-None-Match name this representation (or "*")? Weak tags compare
 * equal to strong ones here (RFC 9110: If-None-Match uses weak comparison). */
static bool etag_matches(const struct http_request *req, const char *etag)
{
	const char *inm =
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	size_t n = strlen(etag);
	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

void http_static_serve(struct http_request *req)
{
	struct http_server *srv = req->srv;
	const struct static_file *f;
	const char *path = req->nsegs == 0 ? "index.html" : req->url + 1;
	const char *v;
	bool gz;

	/* The table holds no such names, but say why in one place. */
	for (int i = 0; i < req->nsegs; i++) {
		if (req->segs[i][0] == '.') {
			http_reply_text(req, 404, "no such resource: %s\n", req->url);
			return;
		}
	}
	pthread_rwlock_rdlock(&srv->web_lock);
	f = file_find(srv->web, path);
	if (!f) {
		pthread_rwlock_unlock(&srv->web_lock);
		if (req->nsegs == 0)
			http_reply_text(req, 404,
					"the web client is not installed (paths.web_dir = %s)\n",
					srv->deps.conf->web_dir);
		else
			http_reply_text(req, 404, "no such resource: %s\n", req->url);
		return;
	}
	gz = f->gz && accepts_gzip(req);
	req->reply.content_type = f->content_type;
	req->reply.static_headers = true;
	req->reply.static_html = f->html;
	req->reply.static_gzip = gz;
	snprintf(req->reply.etag, sizeof(req->reply.etag), "%s", gz ? f->etag_gz : f->etag);
	snprintf(req->reply.static_csp_hash, sizeof(req->reply.static_csp_hash), "%s", f->csp_hash);
	v = f->html ? NULL : MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "v");
	req->reply.static_immutable = v && strlen(v) == STATIC_VERSION_LEN &&
				      strncmp(v, f->etag + 1, STATIC_VERSION_LEN) == 0;
	if (etag_matches(req, req->reply.etag)) {
		req->reply.status = 304;
	} else {
		req->reply.status = 200;
		sbuf_add(&req->reply.body, gz ? f->gz : f->data, gz ? f->gz_len : f->len);
	}
	pthread_rwlock_unlock(&srv->web_lock);
}

void http_static_headers(const struct http_request *req, struct MHD_Response *resp)
{
	const struct http_reply *r = &req->reply;
	if (!r->static_headers)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	/* a versioned URL names these bytes for ever; any other is revalidated */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				r->static_immutable ? "public, max-age=31536000, immutable"
						    : "no-cache");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->static_gzip)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (r->static_html) {
		char policy[sizeof(csp) + STATIC_CSP_HASH + 8];
		if (r->static_csp_hash[0])
			snprintf(policy, sizeof(policy), "%s%s%s", csp_head, r->static_csp_hash,
				 csp_tail);
		else
			snprintf(policy, sizeof(policy), "%s", csp);
		MHD_add_response_header(resp, "Content-Security-Policy", policy);
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	}
}
