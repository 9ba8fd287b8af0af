/* http_reply: building replies, and the one table from error code to status. */
#include "http/http-int.h"

#include <stdlib.h>

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

void http_reply_text(struct http_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	req->reply.status = status;
	req->reply.content_type = "text/plain; charset=utf-8";
	sbuf_reset(&req->reply.body);
	va_start(ap, fmt);
	sbuf_vaddf(&req->reply.body, fmt, ap);
	va_end(ap);
}

void http_reply_error(struct http_request *req, int err, const char *what)
{
	int status = http_status_of(err);
	if (status >= 500)
		log_error("%s %s: %s (%s)", req->method_name, req->url, what, opus_strerror(err));
	http_reply_text(req, status, "%s\n", what);
	req->reply.www_authenticate = status == 401;
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
