/*
 * http_cors: cross-site requests. A browser sends the user's credentials
 * with any request a page makes, so an unsafe method (anything but GET,
 * HEAD and OPTIONS) is served only when its Origin is this service (the
 * origin of base_url, or the Host it was sent to) or one of
 * server.cors_origins; without Origin, Sec-Fetch-Site must be same-origin
 * or none. Clients that send neither (curl, pyvo) are not browsers and pass.
 * CORS headers go to the configured origins only, never a wildcard.
 */
#include "http/http-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CORS_ALLOW_HEADERS "Authorization, Content-Type, Accept"
#define CORS_MAX_AGE	   "600"

static const char *header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Length of the scheme://host[:port] that url starts with, or 0 when url is not http(s). */
static size_t origin_len(const char *url)
{
	size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
		      : strncasecmp(url, "https://", 8) == 0 ? 8
							     : 0;
	size_t host = skip ? strcspn(url + skip, "/?#") : 0;
	return host ? skip + host : 0;
}

static bool origin_is_listed(const struct http_server *srv, const char *origin)
{
	for (size_t i = 0; i < srv->ncors; i++) {
		if (strcasecmp(srv->cors_origins[i], origin) == 0)
			return true;
	}
	return false;
}

/* This service: the origin of base_url, or an origin naming the Host the request went to. */
static bool origin_is_self(const struct http_request *req, const char *origin)
{
	const char *host = header(req, MHD_HTTP_HEADER_HOST);
	const char *sep = strstr(origin, "://");
	if (req->srv->self_origin && strcasecmp(req->srv->self_origin, origin) == 0)
		return true;
	return host && *host && sep && origin_len(origin) == strlen(origin) &&
	       strcasecmp(sep + 3, host) == 0;
}

static bool method_is_safe(enum http_method m)
{
	return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS;
}

int http_cors_guard(struct http_request *req)
{
	const char *origin = header(req, "Origin");
	const char *site = header(req, "Sec-Fetch-Site");
	if (method_is_safe(req->method))
		return 0;
	if (origin) {
		if (origin_is_self(req, origin) || origin_is_listed(req->srv, origin))
			return 0;
		http_reply_text(req, 403,
				"cross-site request refused: %s from origin %s, which is neither "
				"this service nor one of server.cors_origins\n",
				req->method_name, origin);
		return -1;
	}
	if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
		http_reply_text(req, 403,
				"cross-site request refused: %s from a %s page (Sec-Fetch-Site)\n",
				req->method_name, site);
		return -1;
	}
	return 0;
}

void http_cors_options(struct http_request *req)
{
	const char *origin = header(req, "Origin");
	const char *allow = http_route_allow(req);
	bool preflight = origin && header(req, "Access-Control-Request-Method");

	if (!allow) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		return;
	}
	free(req->reply.allow_owned);
	req->reply.allow_owned = xasprintf("%s, OPTIONS", allow);
	if (preflight && !origin_is_listed(req->srv, origin) && !origin_is_self(req, origin)) {
		http_reply_text(
		    req, 403,
		    "cross-origin requests from %s are not allowed (server.cors_origins)\n",
		    origin);
		return;
	}
	req->reply.status = 204;
	req->reply.content_type = NULL;
	req->reply.preflight = preflight;
}

void http_cors_headers(const struct http_request *req, struct MHD_Response *resp)
{
	const char *origin = header(req, "Origin");
	const char *methods = req->reply.allow_owned ? req->reply.allow_owned : req->reply.allow;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Authorization, Origin");
	if (!origin || !origin_is_listed(req->srv, origin))
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
	MHD_add_response_header(
	    resp, "Access-Control-Expose-Headers",
	    "Location, WWW-Authenticate, Content-Disposition, Link, Repr-Digest, "
	    "Digest");
	if (!req->reply.preflight)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", methods ? methods : "GET");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
}

/* One configured origin: scheme://host[:port], a trailing '/' tolerated. */
static int cors_add(struct http_server *srv, const char *tok, size_t len)
{
	char *o = xstrndup(tok, len);
	if (len > 1 && o[len - 1] == '/')
		o[--len] = '\0';
	if (origin_len(o) != len) {
		log_error("server.cors_origins: \"%s\" is not an origin such as "
			  "https://example.org or http://host:8080",
			  o);
		free(o);
		return OPUS_ERR_INVAL;
	}
	srv->cors_origins = xrealloc(srv->cors_origins, (srv->ncors + 1) * sizeof(char *));
	srv->cors_origins[srv->ncors++] = o;
	return 0;
}

int http_cors_init(struct http_server *srv)
{
	const struct conf *c = srv->deps.conf;
	const char *seps = " ,\t";
	size_t self = origin_len(c->base_url);
	srv->self_origin = self ? xstrndup(c->base_url, self) : NULL;
	for (const char *p = c->cors_origins ? c->cors_origins : ""; *p;) {
		size_t len = strcspn(p, seps);
		if (len && cors_add(srv, p, len) < 0)
			return OPUS_ERR_INVAL;
		p += len;
		p += strspn(p, seps);
	}
	return 0;
}

void http_cors_release(struct http_server *srv)
{
	for (size_t i = 0; i < srv->ncors; i++)
		free(srv->cors_origins[i]);
	free(srv->cors_origins);
	free(srv->self_origin);
	srv->cors_origins = NULL;
	srv->ncors = 0;
	srv->self_origin = NULL;
}
