/*
 * http_json: what the account, SCIM and admin APIs (issue 13) share. JSON
 * bodies (application/json or application/scim+json, kept whole as the text
 * field "json" by http_form.c, so capped at max_form_body) parsed with
 * jansson; JSON answers; a small table dispatch of a subtree by segments
 * and method (405 lists what the resource has); the actor an audit row
 * names; the admin-only gate.
 */
#include "http/http-int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_api_root(const char *seg)
{
	return !strcmp(seg, "users") || !strcmp(seg, "admin") || !strcmp(seg, "scim");
}

bool http_json_body_route(const struct http_request *req, const char *ctype)
{
	bool json = strncasecmp(ctype, "application/json", 16) == 0 ||
		    strncasecmp(ctype, "application/scim+json", 21) == 0;
	bool changes =
	    req->method == HTTP_POST || req->method == HTTP_PUT || req->method == HTTP_PATCH;
	return json && changes && req->nsegs >= 1 && is_api_root(req->segs[0]);
}

bool http_json_has_body(const struct http_request *req)
{
	const struct http_field *f = http_field(req, "json");
	return f && !f->from_query && !f->path;
}

int http_json_body(const struct http_request *req, json_t **out, char **why_out)
{
	const struct http_field *f = http_field(req, "json");
	json_error_t err;
	json_t *doc;

	*out = NULL;
	*why_out = NULL;
	if (!f || f->from_query || f->path || f->value.len == 0) {
		*why_out = xstrdup("a JSON object is required as the body "
				   "(Content-Type: application/json)");
		return OPUS_ERR_INVAL;
	}
	doc = json_loadb(f->value.buf, f->value.len, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		*why_out = xasprintf("malformed JSON at line %d, column %d: %s", err.line,
				     err.column, err.text);
		return OPUS_ERR_INVAL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		*why_out = xstrdup("the JSON body must be an object");
		return OPUS_ERR_INVAL;
	}
	*out = doc;
	return 0;
}

void http_json_reply(struct http_request *req, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text) {
		http_reply_error(req, OPUS_ERR_INTERNAL, "cannot render the JSON answer");
		return;
	}
	req->reply.status = status;
	req->reply.content_type = "application/json";
	sbuf_reset(&req->reply.body);
	sbuf_adds(&req->reply.body, text);
	sbuf_addc(&req->reply.body, '\n');
	free(text);
}

void http_json_no_content(struct http_request *req)
{
	req->reply.status = 204;
	req->reply.content_type = NULL;
	sbuf_reset(&req->reply.body);
}

void http_json_actor(const struct http_request *req, struct http_actor *out)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(out, 0, sizeof(*out));
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  out->address, sizeof(out->address));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out->address, sizeof(out->address));
	out->by.name = req->who.name;
	out->by.app = req->who.app[0] ? req->who.app : NULL;
	out->by.address = out->address;
}

bool http_json_admin_only(struct http_request *req)
{
	if (req->who.anonymous) {
		http_reply_error(req, OPUS_ERR_AUTH, "admin credentials required");
		return false;
	}
	if (req->who.app[0]) {
		http_reply_error(req, OPUS_ERR_FORBIDDEN, "an application never administers");
		return false;
	}
	if (!req->who.admin) {
		http_reply_error(req, OPUS_ERR_FORBIDDEN, "only an admin may do this");
		return false;
	}
	return true;
}

json_t *http_json_time(int64_t ms)
{
	char buf[TIME_STR_MAX];
	if (ms <= 0)
		return json_null();
	time_format(ms, buf);
	return json_string(buf);
}

json_t *http_json_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *http_json_list(const char *list)
{
	json_t *arr = json_array();
	char *copy = xstrdup(list ? list : "");
	char *save = NULL;
	for (char *s = strtok_r(copy, ", ", &save); s; s = strtok_r(NULL, ", ", &save))
		json_array_append_new(arr, json_string(s));
	free(copy);
	return arr;
}

/* One item of a list given as JSON: a string, or {"value": string} (SCIM). */
static const char *list_item(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "value");
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool item_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == ',' || *s == ' ' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

int http_json_join(const json_t *v, char sep, char **out, const char **why_out)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	json_t *item;

	*out = NULL;
	if (json_is_string(v)) {
		json_t *arr = http_json_list(json_string_value(v));
		int ret = http_json_join(arr, sep, out, why_out);
		json_decref(arr);
		return ret;
	}
	if (!json_is_array(v)) {
		*why_out = "want a list of names (a JSON array of strings, or one string)";
		return OPUS_ERR_INVAL;
	}
	json_array_foreach(v, i, item)
	{
		const char *s = list_item(item);
		if (!s || !item_ok(s)) {
			sbuf_release(&sb);
			*why_out = "each item must be a non-empty name without blanks or commas";
			return OPUS_ERR_INVAL;
		}
		if (sb.len)
			sbuf_addc(&sb, sep);
		sbuf_adds(&sb, s);
	}
	*out = sbuf_detach(&sb, NULL);
	if (!*out)
		*out = xstrdup("");
	return 0;
}

int http_json_bool(const json_t *v, bool *out)
{
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	/* form fields and some SCIM clients send "true"/"False"/"1" */
	if (json_is_string(v))
		return http_text_bool(json_string_value(v), out);
	return OPUS_ERR_INVAL;
}

int http_text_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return OPUS_ERR_INVAL;
}

/* One quota figure: a whole number >= 0, or null (unset_value). */
static int quota_field(const json_t *q, const char *key, int64_t unset_value, int64_t *out,
		       const char **why_out)
{
	const json_t *v = json_object_get(q, key);
	if (!v)
		return 0; /* kept as it was */
	if (json_is_null(v)) {
		*out = unset_value;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*why_out = "each quota is a whole number >= 0 (0 = none) or null";
		return OPUS_ERR_INVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int http_json_quota(const json_t *q, int64_t unset_value, struct store_quota *io,
		    const char **why_out)
{
	static const char *const known[] = {"max_running", "max_jobs", "max_bytes"};
	const char *key;
	const json_t *v;

	if (!json_is_object(q)) {
		*why_out = "quota must be an object {\"max_running\", \"max_jobs\", \"max_bytes\"}";
		return OPUS_ERR_INVAL;
	}
	json_object_foreach((json_t *)q, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < OPUS_ARRAY_LEN(known); i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok) {
			*why_out = "quota has only max_running, max_jobs and max_bytes";
			return OPUS_ERR_INVAL;
		}
	}
	if (quota_field(q, "max_running", unset_value, &io->max_running, why_out) < 0 ||
	    quota_field(q, "max_jobs", unset_value, &io->max_jobs, why_out) < 0 ||
	    quota_field(q, "max_bytes", unset_value, &io->max_bytes, why_out) < 0)
		return OPUS_ERR_INVAL;
	return 0;
}

static json_t *quota_figure(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

json_t *http_json_quota_doc(const struct store_quota *q)
{
	json_t *o = json_object();
	json_object_set_new(o, "max_running", quota_figure(q->max_running));
	json_object_set_new(o, "max_jobs", quota_figure(q->max_jobs));
	json_object_set_new(o, "max_bytes", quota_figure(q->max_bytes));
	return o;
}

const char *http_json_unknown_key(const json_t *obj, const char *const *known, size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok)
			return key;
	}
	return NULL;
}

/* ---------------------------------------------------------------- dispatch */

/* Does segment pattern p ("*" = any one segment, "" = none) match the
 * request's segments from `from` on? */
static bool path_matches(const struct http_request *req, int from, const char *p)
{
	int i = from;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (i >= req->nsegs)
			return false;
		if (!(len == 1 && p[0] == '*') &&
		    (strlen(req->segs[i]) != len || strncmp(req->segs[i], p, len) != 0))
			return false;
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	return i == req->nsegs;
}

/* by enum http_method */
static const char *const method_names[] = {"GET", "HEAD",    "POST",  "DELETE",
					   "PUT", "OPTIONS", "PATCH", "-"};

static void reply_405(struct http_request *req, int from, const struct http_json_route *t, size_t n)
{
	struct sbuf allow = SBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (!path_matches(req, from, t[i].path))
			continue;
		sbuf_addf(&allow, "%s%s", allow.len ? ", " : "", method_names[t[i].method]);
		if (t[i].method == HTTP_GET)
			sbuf_adds(&allow, ", HEAD");
	}
	free(req->reply.allow_owned);
	req->reply.allow_owned = sbuf_detach(&allow, NULL);
	http_reply_text(req, 405, "method %s not allowed here (allowed: %s)\n", req->method_name,
			req->reply.allow_owned);
}

void http_json_dispatch(struct http_request *req, int from, const struct http_json_route *t,
			size_t n)
{
	enum http_method m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (!path_matches(req, from, t[i].path))
			continue;
		found = true;
		if (t[i].method == m) {
			t[i].fn(req);
			return;
		}
	}
	if (found)
		reply_405(req, from, t, n);
	else
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
}
