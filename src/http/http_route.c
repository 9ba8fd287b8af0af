/* http_route: the top of the URL tree. /rest/... is routed in http_uws.c. */
#include "http/http-int.h"

#include <string.h>

struct route {
	const char *seg0; /* NULL: the root "/" */
	int min_segs;
	int max_segs;
	const char *allow;   /* methods the resource has; NULL: the handler checks */
	const char *methods; /* with allow NULL: the union of its resources' (OPTIONS) */
	http_handler_fn fn;
};

static const struct route routes[] = {
    /* the web client (http_static.c); the API trees below keep their names */
    {NULL, 0, 0, "GET, HEAD", NULL, http_static_serve},
    {"js", 2, HTTP_MAX_SEGS, "GET, HEAD", NULL, http_static_serve},
    {"css", 2, HTTP_MAX_SEGS, "GET, HEAD", NULL, http_static_serve},
    {"vendor", 2, HTTP_MAX_SEGS, "GET, HEAD", NULL, http_static_serve},
    {"img", 2, HTTP_MAX_SEGS, "GET, HEAD", NULL, http_static_serve},
    {"availability", 1, 1, "GET, HEAD", NULL, http_availability},
    {"capabilities", 1, 1, "GET, HEAD", NULL, http_capabilities},
    {"jdl", 1, 4, "GET, HEAD, POST, DELETE", NULL, http_jdl},	/* each resource checks */
    {"rest", 1, 5, NULL, "GET, HEAD, POST, DELETE", http_rest}, /* checks its own methods */
    {"provsap", 1, 1, "GET, HEAD", NULL, http_provsap},
    {"store", 1, 3, "GET, HEAD", NULL, http_store},  /* ?ID= or /{id}[/{file name}] */
    {"handler", 2, 2, "POST", NULL, http_job_event}, /* /handler/job_event, a job's token */
    /* issue 13: JSON APIs, each resource checks its methods (http_json_dispatch) */
    {"users", 1, 3, NULL, "GET, HEAD, POST, PATCH, DELETE", http_users},
    {"admin", 2, 4, NULL, "GET, HEAD, POST, PUT, PATCH, DELETE", http_admin},
    {"scim", 2, 4, NULL, "GET, HEAD, POST, PUT, PATCH, DELETE", http_scim},
};

static bool method_allowed(const char *allow, enum http_method m)
{
	static const char *const names[] = {"GET", "HEAD",    "POST",  "DELETE",
					    "PUT", "OPTIONS", "PATCH", "-"};
	return strstr(allow, names[m]) != NULL;
}

static const struct route *route_find(const struct http_request *req)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(routes); i++) {
		const struct route *r = &routes[i];
		if (req->nsegs < r->min_segs || req->nsegs > r->max_segs)
			continue;
		if (r->seg0 && (req->nsegs == 0 || strcmp(req->segs[0], r->seg0) != 0))
			continue;
		return r;
	}
	return NULL;
}

const char *http_route_allow(const struct http_request *req)
{
	const struct route *r = route_find(req);
	if (!r)
		return NULL;
	/* trees that check their methods resource by resource: the union */
	return r->allow ? r->allow : r->methods;
}

void http_route(struct http_request *req)
{
	const struct route *r = route_find(req);
	if (!r) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		return;
	}
	if (r->allow && !method_allowed(r->allow, req->method)) {
		req->reply.allow = r->allow;
		http_reply_text(req, 405, "method %s not allowed here (allowed: %s)\n",
				req->method_name, r->allow);
		return;
	}
	r->fn(req);
}
