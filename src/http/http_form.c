/*
 * http_form: request bodies. urlencoded and multipart forms go through
 * libmicrohttpd's post processor; text values are kept in capped buffers and
 * uploaded files are streamed to staged files under {data_dir}/tmp with
 * random names (the client's file name is never used as a path), hashed
 * (sha256) as they are written, for the entity store.
 */
#include "http/http-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct http_field *field_add(struct http_request *req, const char *name)
{
	struct http_field *f;
	size_t n = req->nfields;
	/* Doubling (the capacity is the next power of two): a form of many
	 * fields costs linear time, not a copy of the array per field. */
	if (!req->fields || (n & (n - 1)) == 0)
		req->fields = xrealloc(req->fields, (n ? 2 * n : 1) * sizeof(*req->fields));
	f = &req->fields[req->nfields++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->fd = -1;
	/* text values share the form cap; each is capped by it too */
	sbuf_init(&f->value, (size_t)req->srv->deps.conf->max_form_body);
	return f;
}

static enum MHD_Result on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct http_request *req = cls;
	struct http_field *f;
	(void)kind;
	if (!key)
		return MHD_YES;
	f = field_add(req, key);
	f->from_query = true;
	if (value)
		sbuf_adds(&f->value, value);
	return MHD_YES;
}

void http_fields_collect_query(struct http_request *req)
{
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, on_query_arg, req);
}

/* The status for an upload the disk refused: a full disk or quota is 507. */
static int upload_failed(struct http_request *req, int err)
{
	if (err != ENOSPC && err != EDQUOT)
		return 500;
	req->body_reason = "no space left on the server's disk for the upload";
	return 507;
}

static int upload_open(struct http_request *req, struct http_field *f, const char *filename,
		       const char *content_type)
{
	char rnd[33];
	rand_hex(rnd, 16);
	f->path = xasprintf("%s/upload-%s", req->srv->upload_dir, rnd);
	f->filename = xstrdup(filename);
	f->content_type = xstrdup(content_type);
	f->hash = sha256_begin();
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		log_error("cannot create upload %s: %s", f->path, strerror(errno));
		return upload_failed(req, errno);
	}
	return 0;
}

static int upload_write(struct http_request *req, struct http_field *f, const char *data,
			size_t size)
{
	while (size > 0) {
		ssize_t n = write(f->fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("write upload %s: %s", f->path, strerror(errno));
			return upload_failed(req, errno);
		}
		sha256_add(f->hash, data, (size_t)n);
		data += n;
		size -= (size_t)n;
		f->size += n;
	}
	return 0;
}

static enum MHD_Result on_post_field(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *filename, const char *content_type,
				     const char *transfer_encoding, const char *data, uint64_t off,
				     size_t size)
{
	struct http_request *req = cls;
	struct http_field *f = req->nfields ? &req->fields[req->nfields - 1] : NULL;
	(void)kind;
	(void)transfer_encoding;
	if (!key || req->body_error)
		return MHD_NO;
	/* The processor calls again with the same key and a growing offset. */
	if (off == 0 || !f || f->from_query || strcmp(f->name, key) != 0) {
		f = field_add(req, key);
		if (filename)
			req->body_error = upload_open(req, f, filename, content_type);
	}
	if (req->body_error)
		return MHD_NO;
	if (f->path) {
		req->body_error = upload_write(req, f, data, size);
	} else if (http_has_nul(data, size) || http_has_nul(key, strlen(key))) {
		req->body_error = 400;
		req->body_reason = "a form field holds a NUL byte";
	} else {
		sbuf_add(&f->value, data, size);
		if (f->value.err)
			req->body_error = 413;
	}
	return req->body_error ? MHD_NO : MHD_YES;
}

/*
 * A whole-document body (POST /jdl, and JSON to the account and admin APIs):
 * application/json becomes the text field "json", application/xml or text/xml
 * the field "xml", as if sent in a form. Everywhere else such a body is
 * refused with 415.
 */
static const char *raw_field_name(const struct http_request *req, const char *ctype)
{
	if (ctype && http_json_body_route(req, ctype))
		return "json"; /* /users, /admin, /scim (issue 13) */
	if (!ctype || req->method != HTTP_POST || req->nsegs != 1 || strcmp(req->segs[0], "jdl"))
		return NULL;
	if (strncasecmp(ctype, "application/json", 16) == 0)
		return "json";
	if (strncasecmp(ctype, "application/xml", 15) == 0 ||
	    strncasecmp(ctype, "text/xml", 8) == 0)
		return "xml";
	return NULL;
}

/* 0, or the HTTP status that ends the request before its body is read. */
int http_body_begin(struct http_request *req)
{
	const struct conf *c = req->srv->deps.conf;
	const char *ctype =
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *clen =
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t len = 0;

	req->is_multipart = ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0;
	req->body_cap = req->is_multipart ? c->max_upload_body : c->max_form_body;
	if (clen && parse_int64(clen, &len) == 0 && len > req->body_cap)
		return 413;
	if (ctype &&
	    (req->is_multipart || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0))
		req->pp = MHD_create_post_processor(req->conn, 64 * 1024, on_post_field, req);
	else if (raw_field_name(req, ctype))
		req->raw = (size_t)(field_add(req, raw_field_name(req, ctype)) - req->fields) + 1;
	return 0;
}

/* A whole-document body goes into its field as text. */
static int raw_feed(struct http_request *req, const char *data, size_t size)
{
	struct http_field *f = &req->fields[req->raw - 1];
	if (http_has_nul(data, size)) {
		req->body_reason = "the document holds a NUL byte";
		return 400;
	}
	sbuf_add(&f->value, data, size);
	return f->value.err ? 413 : 0;
}

int http_body_feed(struct http_request *req, const char *data, size_t size)
{
	req->body_bytes += (int64_t)size;
	if (req->body_bytes > req->body_cap)
		return 413;
	if (req->raw)
		return raw_feed(req, data, size);
	if (!req->pp)
		return 415;
	/* The post processor unescapes urlencoded values as C strings, so a raw
	 * NUL byte would silently cut the value short: refuse it here. */
	if (!req->is_multipart && memchr(data, '\0', size)) {
		req->body_reason = "a form field holds a NUL byte";
		return 400;
	}
	if (MHD_post_process(req->pp, data, size) != MHD_YES)
		return req->body_error ? req->body_error : 400;
	return 0;
}

/*
 * Form fields and query arguments are text, stored as given: UTF-8 (what a
 * PostgreSQL text column holds, and XML), NUL-free. Bytes of other kinds go
 * as a file upload. A whole-document body (req->raw) is its parser's to judge.
 */
static int fields_check_text(struct http_request *req)
{
	for (size_t i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];

		if (f->path || (req->raw && i == req->raw - 1))
			continue;
		if (f->value.len && http_has_nul(f->value.buf, f->value.len)) {
			req->body_reason = "a form field or query argument holds a NUL byte";
			return 400;
		}
		if (!utf8_valid(f->name, strlen(f->name)) ||
		    (f->value.len && !utf8_valid(f->value.buf, f->value.len))) {
			req->body_reason = "a form field or query argument is not UTF-8 text; send "
					   "other bytes as a file upload";
			return 400;
		}
	}
	return 0;
}

int http_body_end(struct http_request *req)
{
	/* MHD_NO here means the body ended inside a field: a truncated form. */
	bool complete = !req->pp || MHD_destroy_post_processor(req->pp) == MHD_YES;
	req->pp = NULL;
	for (size_t i = 0; i < req->nfields; i++) {
		if (req->fields[i].fd >= 0) {
			close(req->fields[i].fd);
			req->fields[i].fd = -1;
		}
		if (complete && req->fields[i].hash) {
			sha256_end(req->fields[i].hash, req->fields[i].sha256);
			req->fields[i].hash = NULL;
		}
	}
	return complete ? fields_check_text(req) : 400;
}

void http_fields_free(struct http_request *req)
{
	for (size_t i = 0; i < req->nfields; i++) {
		struct http_field *f = &req->fields[i];
		if (f->fd >= 0)
			close(f->fd);
		sha256_abandon(f->hash);
		if (f->path)
			unlink(f->path); /* still staged: the job did not take it */
		free(f->path);
		free(f->name);
		free(f->filename);
		free(f->content_type);
		sbuf_release(&f->value);
	}
	free(req->fields);
	req->fields = NULL;
	req->nfields = 0;
}

const struct http_field *http_field(const struct http_request *req, const char *name)
{
	for (size_t i = req->nfields; i-- > 0;) {
		if (strcasecmp(req->fields[i].name, name) == 0)
			return &req->fields[i];
	}
	return NULL;
}

const char *http_field_value(const struct http_request *req, const char *name)
{
	const struct http_field *f = http_field(req, name);
	return f && !f->path ? sbuf_str(&f->value) : NULL;
}
