/* http_reply: building replies, and the one table from error code to status. */
#include "http/http-int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int err;
	int status;
} status_table[] = {
    {OPUS_OK, 200},	      {OPUS_ERR_INVAL, 400},
    {OPUS_ERR_NOTFOUND, 404}, {OPUS_ERR_FORBIDDEN, 403},
    {OPUS_ERR_PHASE, 403},    {OPUS_ERR_TOOBIG, 413},
    {OPUS_ERR_AUTH, 401},     {OPUS_ERR_EXISTS, 409},
    {OPUS_ERR_BUSY, 503},     {OPUS_ERR_IO, 500},
    {OPUS_ERR_INTERNAL, 500},
};

int http_status_of(int err)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(status_table); i++) {
		if (status_table[i].err == err)
			return status_table[i].status;
	}
	return 500;
}

static const struct {
	int status;
	const char *phrase;
} phrase_table[] = {
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {410, "Gone"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {507, "Insufficient Storage"},
};

static const char *reason_phrase(int status)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(phrase_table); i++) {
		if (phrase_table[i].status == status)
			return phrase_table[i].phrase;
	}
	return status >= 500 ? "Server Error" : "Client Error";
}

/* A JSON string of s[0..n); bytes that are not UTF-8 (the text may echo what a
 * client sent) become U+FFFD so the document stays valid. */
static json_t *json_text(const char *s, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	json_t *v;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (k == 0 || s[i] == '\0') {
			sbuf_adds(&sb, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		sbuf_add(&sb, s + i, k);
		i += k;
	}
	v = json_stringn(sbuf_str(&sb), sb.len);
	sbuf_release(&sb);
	return v;
}

/*
 * Turns the plain-text error body into the JSON error document for clients
 * that asked for JSON: status, reason phrase, the whole text, and one entry
 * of "fields" per line shaped "NAME: reason" with a NAME without spaces (the
 * shape of every validation message). Other headers (Allow,
 * WWW-Authenticate) are untouched.
 */
static void reply_error_json(struct http_request *req)
{
	struct http_reply *r = &req->reply;
	const char *text = sbuf_str(&r->body);
	size_t len = r->body.len;
	json_t *doc = json_object();
	json_t *fields = json_array();
	char *out;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	for (const char *line = text; line < text + len;) {
		const char *end = memchr(line, '\n', (size_t)(text + len - line));
		const char *sep;
		size_t name_len;
		if (!end)
			end = text + len;
		sep = memmem(line, (size_t)(end - line), ": ", 2);
		name_len = sep ? (size_t)(sep - line) : 0;
		if (name_len && !memchr(line, ' ', name_len) && !memchr(line, '\t', name_len)) {
			json_t *f = json_object();
			json_object_set_new(f, "name", json_text(line, name_len));
			json_object_set_new(f, "reason",
					    json_text(sep + 2, (size_t)(end - sep - 2)));
			json_array_append_new(fields, f);
		}
		line = end + 1;
	}
	json_object_set_new(doc, "status", json_integer(r->status));
	json_object_set_new(doc, "error", json_string(reason_phrase(r->status)));
	json_object_set_new(doc, "message", json_text(text, len));
	json_object_set_new(doc, "fields", fields);
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!out)
		return; /* out of memory in jansson: the plain text stays */
	sbuf_reset(&r->body);
	sbuf_adds(&r->body, out);
	free(out);
	r->content_type = "application/json";
}

void http_reply_text(struct http_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	req->reply.status = status;
	req->reply.content_type = "text/plain; charset=utf-8";
	sbuf_reset(&req->reply.body);
	va_start(ap, fmt);
	sbuf_vaddf(&req->reply.body, fmt, ap);
	va_end(ap);
	if (req->want_json && status >= 400)
		reply_error_json(req);
}

void http_reply_error(struct http_request *req, int err, const char *what)
{
	int status = http_status_of(err);
	if (status >= 500)
		log_error("%s %s: %s (%s)", req->method_name, req->url, what, opus_strerror(err));
	http_reply_text(req, status, "%s\n", what);
	req->reply.www_authenticate = status == 401;
}

void http_reply_header(struct http_request *req, const char *name, const char *value)
{
	struct http_reply *r = &req->reply;
	for (size_t i = 0; i < HTTP_REPLY_HEADERS; i++) {
		if (!r->extra_name[i]) {
			r->extra_name[i] = name;
			r->extra_value[i] = xstrdup(value);
			return;
		}
	}
	log_warn("%s %s: header %s dropped (more than %d)", req->method_name, req->url, name,
		 HTTP_REPLY_HEADERS);
}

void http_reply_provenance(struct http_request *req, char *url)
{
	free(req->reply.link);
	req->reply.link = xasprintf("<%s>; rel=\"http://www.w3.org/ns/prov#has_provenance\"", url);
	free(url);
}

void http_reply_redirect(struct http_request *req, const char *path_fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	sbuf_adds(&sb, req->srv->deps.conf->base_url);
	va_start(ap, path_fmt);
	sbuf_vaddf(&sb, path_fmt, ap);
	va_end(ap);
	free(req->reply.location);
	req->reply.location = sbuf_detach(&sb, NULL);
	http_reply_text(req, 303, "%s\n", req->reply.location);
}

void http_reply_doc(struct http_request *req, struct sbuf *doc, int ret)
{
	if (ret < 0 || doc->err) {
		sbuf_release(doc);
		http_reply_error(req, ret < 0 ? ret : OPUS_ERR_INTERNAL, "cannot render document");
		return;
	}
	sbuf_release(&req->reply.body);
	req->reply.body = *doc;
	sbuf_init(doc, 0);
	req->reply.status = 200;
	req->reply.content_type = req->want_json ? "application/json" : "text/xml; charset=utf-8";
}
