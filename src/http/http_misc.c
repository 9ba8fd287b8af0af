/* http_misc.c: VOSI availability and capabilities, /jdl and its views
 * (the admin methods of /jdl are in http_jdl_admin.c). */
#include "http/http-int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The descriptions disabled for maintenance (store_jdl_disabled), as a
 * sorted list for lookups. */
struct disabled_set {
	char **names;
	size_t n;
};

static void disabled_load(struct http_request *req, struct disabled_set *d)
{
	if (store_jdl_disabled(req->srv->deps.store, &d->names, &d->n) < 0) {
		d->names = NULL;
		d->n = 0;
	}
}

static bool is_disabled(const struct disabled_set *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->names[i], name) == 0)
			return true;
	}
	return false;
}

/* Text for an XML note: markup escaped; bytes outside printable ASCII (a
 * command's stderr may hold anything) become '?'. */
static void note_text(struct sbuf *b, const char *t)
{
	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;
		if (c == '&')
			sbuf_addf(b, "&amp;");
		else if (c == '<')
			sbuf_addf(b, "&lt;");
		else if (c == '>')
			sbuf_addf(b, "&gt;");
		else
			sbuf_addf(b, "%c", c >= 0x20 && c < 0x7f ? c : '?');
	}
}

void http_availability(struct http_request *req)
{
	struct sched_stats st;
	bool ok;

	sched_get_stats(req->srv->deps.sched, &st);
	ok = st.ends_unrecorded == 0 && st.reachable;
	req->reply.status = 200;
	req->reply.content_type = "text/xml; charset=utf-8";
	sbuf_addf(&req->reply.body,
		  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<vosi:availability "
		  "xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n"
		  "  <vosi:available>%s</vosi:available>\n",
		  ok ? "true" : "false");
	/* A job end the store refuses is retried; meanwhile the service is not well. */
	if (st.ends_unrecorded)
		sbuf_addf(&req->reply.body,
			  "  <vosi:note>the store is failing: %zu job end(s) not recorded yet, "
			  "retried</vosi:note>\n",
			  st.ends_unrecorded);
	/* exec's last answer (never a command here); jobs wait QUEUED meanwhile. */
	if (!st.reachable) {
		sbuf_addf(&req->reply.body, "  <vosi:note>SLURM cluster not reachable: ");
		note_text(&req->reply.body, st.unreachable_why);
		sbuf_addf(&req->reply.body, "; %zu queued job(s) wait for it</vosi:note>\n",
			  st.waiting_for_cluster);
	}
	sbuf_addf(&req->reply.body,
		  "  <vosi:note>%zu jobs executing, %zu queued, %zu clients waiting</vosi:note>\n"
		  "</vosi:availability>\n",
		  st.running, st.queued, st.waiters);
}

void http_capabilities(struct http_request *req)
{
	const char *base = req->srv->deps.conf->base_url;
	req->reply.status = 200;
	req->reply.content_type = "text/xml; charset=utf-8";
	sbuf_addf(
	    &req->reply.body,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\"\n"
	    "    xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
	    "    xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n"
	    "  <capability standardID=\"ivo://ivoa.net/std/VOSI#capabilities\">\n"
	    "    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">%s/capabilities"
	    "</accessURL></interface>\n  </capability>\n"
	    "  <capability standardID=\"ivo://ivoa.net/std/VOSI#availability\">\n"
	    "    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">%s/availability"
	    "</accessURL></interface>\n  </capability>\n"
	    "  <capability standardID=\"ivo://ivoa.net/std/UWS#async-1.1\">\n"
	    "    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"base\">%s/rest"
	    "</accessURL></interface>\n  </capability>\n"
	    "</vosi:capabilities>\n",
	    base, base, base);
}

/* One description of GET /jdl?detail=true: what a list of descriptions
 * shows of each, so that it takes one request (not one per description). */
static json_t *jdl_index_entry(struct http_request *req, const char *name, bool enabled)
{
	struct jdl *j = jdl_registry_get(req->srv->deps.jdls, name);
	json_t *o = json_pack("{s:s, s:b}", "name", name, "enabled", enabled);

	if (j) {
		json_object_set_new(o, "description", http_json_str(j->description));
		json_object_set_new(o, "version", http_json_str(j->version));
		json_object_set_new(o, "type", http_json_str(j->type));
		json_object_set_new(o, "subtype", http_json_str(j->subtype));
		json_object_set_new(o, "contact_name", http_json_str(j->contact_name));
		json_object_set_new(o, "contact_email", http_json_str(j->contact_email));
		json_object_set_new(o, "doculink", http_json_str(j->doculink));
	}
	jdl_unref(j);
	return o;
}

/* GET /jdl: the names of the descriptions the caller may run, sorted; with
 * ?detail=true, objects {"name", "enabled", "description", "version", "type",
 * "subtype", "contact_name", "contact_email", "doculink"} (a description
 * disabled for maintenance stays listed, so that users see why it takes no
 * job). */
static void jdl_index(struct http_request *req)
{
	const char *detail = http_field_value(req, "detail");
	bool objects = detail && (strcmp(detail, "true") == 0 || strcmp(detail, "1") == 0);
	struct disabled_set d = {0};
	size_t n = 0;
	char **names = jdl_registry_names(req->srv->deps.jdls, &n);
	json_t *arr = json_array();
	char *text;

	if (objects)
		disabled_load(req, &d);
	for (size_t i = 0; i < n; i++) {
		bool shown = http_may_run(req, names[i]);
		if (shown && objects)
			json_array_append_new(
			    arr, jdl_index_entry(req, names[i], !is_disabled(&d, names[i])));
		else if (shown)
			json_array_append_new(arr, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	store_ids_free(d.names, d.n);
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	req->reply.status = 200;
	req->reply.content_type = "application/json";
	sbuf_adds(&req->reply.body, text ? text : "[]");
	free(text);
}

/* GET /jdl/{name}: the description as loaded, byte for byte (the file may
 * have changed on disk since; jobs run what was loaded). */
static void jdl_view_file(struct http_request *req, const struct jdl *j)
{
	req->reply.status = 200;
	req->reply.content_type = "text/xml; charset=utf-8";
	sbuf_reset(&req->reply.body);
	sbuf_add(&req->reply.body, j->source, j->source_len);
}

/* GET /jdl/{name}/json: what a form needs to offer the job's parameters. */
static void jdl_view_json(struct http_request *req, const struct jdl *j)
{
	struct sbuf doc = SBUF_INIT;
	int ret = jdl_write_json(j, &doc);
	http_reply_doc(req, &doc, ret);
	if (ret == 0)
		req->reply.content_type = "application/json";
}

/* GET /jdl/{name}/script: the script, with the CRLF line ends OPUS files
 * often carry turned into LF so that it reads (and runs) as a shell file. */
static void jdl_view_script(struct http_request *req, const struct jdl *j)
{
	struct sbuf *b = &req->reply.body;
	for (const char *s = j->script; *s; s++) {
		if (!(s[0] == '\r' && s[1] == '\n'))
			sbuf_addc(b, *s);
	}
	req->reply.status = 200;
	req->reply.content_type = "text/plain; charset=utf-8";
}

static const struct jdl_view {
	const char *seg; /* the third URL segment; NULL: none */
	void (*fn)(struct http_request *req, const struct jdl *j);
} jdl_views[] = {
    {NULL, jdl_view_file},
    {"json", jdl_view_json},
    {"script", jdl_view_script},
};

static const struct jdl_view *jdl_view_of(const struct http_request *req)
{
	const char *seg = req->nsegs > 2 ? req->segs[2] : NULL;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(jdl_views); i++) {
		const char *want = jdl_views[i].seg;
		if ((!want && !seg) || (want && seg && strcmp(want, seg) == 0))
			return &jdl_views[i];
	}
	return NULL;
}

static bool is_get(const struct http_request *req)
{
	return req->method == HTTP_GET || req->method == HTTP_HEAD;
}

/* The methods of each /jdl resource; the admin ones live in http_jdl_admin.c. */
void http_jdl(struct http_request *req)
{
	const struct jdl_view *view = jdl_view_of(req);
	struct jdl *j = NULL;

	if (req->nsegs >= 3 && strcmp(req->segs[1], "tmp") == 0) {
		http_jdl_pending(req);
		goto done;
	}
	if (req->nsegs == 1 && req->method == HTTP_POST) {
		http_jdl_post(req);
		goto done;
	}
	if (req->nsegs == 2 && req->method == HTTP_DELETE) {
		http_jdl_delete(req);
		goto done;
	}
	if (req->nsegs > 3 || !view) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		goto done;
	}
	if (!is_get(req)) {
		req->reply.allow = req->nsegs == 1   ? "GET, HEAD, POST"
				   : req->nsegs == 2 ? "GET, HEAD, DELETE"
						     : "GET, HEAD";
		http_reply_text(req, 405, "method %s not allowed here (allowed: %s)\n",
				req->method_name, req->reply.allow);
		goto done;
	}
	if (req->nsegs == 1) {
		jdl_index(req);
		goto done;
	}
	j = name_is_safe(req->segs[1], JDL_NAME_MAX)
		? jdl_registry_get(req->srv->deps.jdls, req->segs[1])
		: NULL;
	if (!j) {
		http_reply_text(req, 404, "no job description named %s\n", req->segs[1]);
		goto done;
	}
	if (http_check_run(req, j->name))
		view->fn(req, j);
done:
	jdl_unref(j);
}
