/*
 * http-int.h: private to src/http. The request state kept per connection,
 * the reply being built, and the handler signature of the route table.
 */
#ifndef OPUS_HTTP_INT_H
#define OPUS_HTTP_INT_H

#include "auth/auth.h"
#include "http/http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

struct http_server {
	struct http_deps deps;
	struct MHD_Daemon *mhd;
	int port;
	_Atomic bool draining;
	int listen_fd;	     /* libmicrohttpd's listening socket (shut down at the drain) */
	_Atomic int active;  /* handlers currently between entry and return */
	_Atomic int waiting; /* WAITs suspended, or woken and not answered yet */
	char *upload_dir;    /* {data_dir}/tmp: uploads land here before their job exists */
	char *self_origin;   /* scheme://host[:port] of base_url */
	char **cors_origins; /* server.cors_origins, split */
	size_t ncors;
	pthread_rwlock_t web_lock; /* guards web: swapped on reload */
	struct http_static *web;   /* the web client's files (http_static.c) */
};

/*
 * Caps on what libmicrohttpd parses before any handler runs. libmicrohttpd
 * 0.9.75 keeps the request line, the headers and one ~64-byte record per
 * query argument in one pool per connection; when the records exhaust it,
 * it answers nothing at all. So the request line is checked as soon as it is
 * read (http_line.c), and the pool is sized for what these caps allow: the
 * line (8 KiB), 256 argument records (16 KiB), and about 40 KiB of headers,
 * past which libmicrohttpd itself answers 431.
 */
#define HTTP_MAX_URI	    8192
#define HTTP_MAX_QUERY_ARGS 256
#define HTTP_CONN_MEMORY    (64 * 1024)

/* One form field or query argument. Uploaded files have `path` set. */
struct http_field {
	char *name;
	struct sbuf value; /* text fields; capped */
	char *path;	   /* uploads: the staged file */
	char *filename;	   /* uploads: the client's name (never used as a path) */
	char *content_type;
	int fd; /* uploads: open while receiving, -1 after */
	int64_t size;
	/* uploads: the bytes hashed as they are written (hash, while
	 * receiving), then their sha256 (hex; "" until the body is complete) */
	struct sha256_stream *hash;
	char sha256[65];
	bool from_query;
};

/* Headers a reply may add beside the fixed ones (Link, Digest, Repr-Digest,
 * Content-Disposition). */
#define HTTP_REPLY_HEADERS 4

/* What a handler produces. */
struct http_reply {
	int status;
	const char *content_type; /* static string */
	char *content_type_owned; /* when set, used instead; owned */
	struct sbuf body;
	char *location;	       /* absolute URL for 303, owned */
	char *file_path;       /* serve this file instead of body, owned */
	const char *allow;     /* for 405 */
	char *allow_owned;     /* when set, used instead of allow; owned */
	bool www_authenticate; /* for 401 */
	bool preflight;	       /* a CORS preflight granted: add its headers */
	int retry_after_s;     /* > 0: Retry-After (429), whatever the status */
	/* Added when set (name static, value owned). link: the provenance of
	 * the resource, sent with a 2xx answer only. */
	char *link;
	const char *extra_name[HTTP_REPLY_HEADERS];
	char *extra_value[HTTP_REPLY_HEADERS];
	/* a web client file (http_static.c): its ETag, caching and security headers */
	bool static_headers, static_html, static_gzip;
	bool static_immutable;	  /* its ?v= is its version: cached for a year */
	char static_csp_hash[56]; /* an HTML file's import map, for its CSP; "" none */
	char etag[32];
};

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_DELETE,
	HTTP_PUT,
	HTTP_OPTIONS,
	HTTP_PATCH,
	HTTP_OTHER
};

#define HTTP_MAX_SEGS 6

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	enum http_method method;
	const char *method_name; /* borrowed from MHD */
	char *url;		 /* decoded path, owned */
	char *segs[HTTP_MAX_SEGS];
	int nsegs;
	bool want_json;
	struct auth_identity who;
	int64_t started_mono_ms;

	/* body */
	struct MHD_PostProcessor *pp;
	bool is_multipart;
	size_t raw; /* 1 + index of the field a whole-document body fills; 0 none */
	int64_t body_bytes;
	int64_t body_cap;
	int body_error;		 /* 0 or an HTTP status decided while reading the body */
	const char *body_reason; /* static text for body_error, or NULL */
	struct http_field *fields;
	size_t nfields;

	/* WAIT: suspended until sched calls back */
	pthread_mutex_t lock;
	bool waiting;
	bool wait_counted; /* counted in srv->waiting until the request completes */
	bool suspended;
	bool woken;
	char wait_job[64];

	struct http_reply reply;
	bool replied;
};

/* A handler fills req->reply; it returns nothing: errors are replies too.
 * A WAIT handler may instead suspend (req->waiting) and be called again. */
typedef void (*http_handler_fn)(struct http_request *req);

/* http_reply.c */
void http_reply_text(struct http_request *req, int status, const char *fmt, ...) OPUS_PRINTF(3, 4);
void http_reply_error(struct http_request *req, int err, const char *what);
void http_reply_redirect(struct http_request *req, const char *path_fmt, ...) OPUS_PRINTF(2, 3);
void http_reply_doc(struct http_request *req, struct sbuf *doc, int ret);
int http_status_of(int opus_err);
/* Adds a header to the reply (value copied); past HTTP_REPLY_HEADERS it is dropped. */
void http_reply_header(struct http_request *req, const char *name, const char *value);
/* Sets the Link: <url>; rel="...#has_provenance" of a 2xx answer (url owned). */
void http_reply_provenance(struct http_request *req, char *url);

/* True when s holds a NUL byte, raw or as the C0 80 the unescaper makes of %00. */
bool http_has_nul(const char *s, size_t len);

/* http_form.c */
int http_body_begin(struct http_request *req);
int http_body_feed(struct http_request *req, const char *data, size_t size);
int http_body_end(struct http_request *req);
void http_fields_collect_query(struct http_request *req);
void http_fields_free(struct http_request *req);
/* Last field with this name (case-insensitive), or NULL. */
const struct http_field *http_field(const struct http_request *req, const char *name);
/* Text value of the last field with this name, or NULL (uploads excluded). */
const char *http_field_value(const struct http_request *req, const char *name);

/* http_route.c */
void http_route(struct http_request *req);
/* The methods the resource at req->url has (static), or NULL when there is none. */
const char *http_route_allow(const struct http_request *req);

/* http_line.c: the request line, checked before libmicrohttpd parses its
 * arguments. Each connection has a small state (MHD_OPTION_NOTIFY_CONNECTION)
 * that the URI log callback fills for the request being read; over the caps
 * it answers 414 on the socket at once. */
void http_line_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
void *http_line_check(void *cls, const char *uri, struct MHD_Connection *conn);
/* True when this request was already answered (and the reply side shut). */
bool http_line_answered(struct MHD_Connection *conn);
/* True when the request line held a raw NUL byte (the URI libmicrohttpd
 * handed over is shorter than the one it read). version: as given to the
 * access handler; it lies just past the URI in libmicrohttpd's buffer. */
bool http_line_has_nul(struct MHD_Connection *conn, const char *version);

/* http_cors.c: cross-site requests. */
int http_cors_init(struct http_server *srv) OPUS_WUR; /* OPUS_ERR_INVAL: bad setting */
void http_cors_release(struct http_server *srv);
/* 0 when the request may go on; else a 403 reply is filled in (an unsafe
 * method from a foreign Origin, or Sec-Fetch-Site other than same-origin). */
int http_cors_guard(struct http_request *req);
/* Answers OPTIONS: 204 with Allow, and the CORS preflight headers for a
 * configured origin; 403 for a preflight from any other origin. */
void http_cors_options(struct http_request *req);
/* Adds Vary and, for a configured Origin, the CORS headers. */
void http_cors_headers(const struct http_request *req, struct MHD_Response *resp);

/* http_uws.c: the /rest tree */
void http_rest(struct http_request *req);
void http_wait_resume(struct http_request *req);
/* The request is complete (its answer sent, or its connection gone): a WAIT
 * it was stops counting in srv->waiting. */
void http_wait_done(struct http_request *req);
/* How long http_stop() lets woken WAITs be answered before it closes. */
#define HTTP_STOP_WAIT_MS 3000

/* http_prov.c: provenance. GET /provsap (ProvSAP) and, from http_rest, a
 * job's prov, provjson, provxml, provsvg, provn (job_id/jobdef from the URL). */
void http_provsap(struct http_request *req);
void http_job_prov(struct http_request *req, const char *jobdef, const char *job_id,
		   const char *child);
/* True when child is one of a job's provenance resources. */
bool http_is_prov_child(const char *child);
/* The URL of a job's provenance: {base}/rest/{jobdef}/{id}/prov. Caller frees. */
char *http_job_prov_url(const struct http_request *req, const char *jobdef, const char *job_id);
/* The URL of an entity's provenance: {base}/provsap?ID={id}. Caller frees. */
char *http_entity_prov_url(const struct http_request *req, const char *entity_id);

/* http_store.c: GET /store?ID={entity id}, /store/{entity id}[/{file name}]:
 * an entity's bytes, owner or admin only. */
void http_store(struct http_request *req);

/* http_event.c: POST /handler/job_event, a job's own signals (its token). */
void http_job_event(struct http_request *req);

/* http_static.c: the web client, paths.web_dir held in memory. */
struct http_static;
/* (Re)reads web_dir; on failure the table is empty and "/" says why. */
void http_static_load(struct http_server *srv);
void http_static_release(struct http_server *srv);
/* True for "/" and the trees /js, /css, /vendor, /img (public: no credentials). */
bool http_static_route(const struct http_request *req);
void http_static_serve(struct http_request *req);
/* Adds ETag, Cache-Control, Vary, nosniff, and CSP on HTML, to a static reply. */
void http_static_headers(const struct http_request *req, struct MHD_Response *resp);

/* http_misc.c: /availability, /capabilities, /jdl[/{name}[/json|/script]] */
void http_availability(struct http_request *req);
void http_capabilities(struct http_request *req);
void http_jdl(struct http_request *req);

/* http_jdl_admin.c: admin only. POST /jdl stages an upload at /jdl/tmp/{name};
 * GET /jdl/tmp/{name} shows it, POST /jdl/tmp/{name}/validate serves it;
 * DELETE /jdl/{name} archives a description under {data_dir}/jdl-archive. */
void http_jdl_post(struct http_request *req);
void http_jdl_pending(struct http_request *req);
void http_jdl_delete(struct http_request *req);

/*
 * The account, SCIM and admin APIs (issue 13): JSON in and out, admin only
 * but for GET /users/me. Changes go through auth (accounts, roles, apps:
 * validation, tokens, the role cache) or the store, each with its audit
 * row in the same commit; a refused request changes nothing.
 */
/* http_json.c: shared pieces. */
/* True when a body of this Content-Type to this resource is a JSON document
 * (http_form.c then keeps it whole as the text field "json"). */
bool http_json_body_route(const struct http_request *req, const char *ctype);
bool http_json_has_body(const struct http_request *req);
/* The body as a JSON object: 0 with *out (a new reference), or
 * OPUS_ERR_INVAL with *why_out (malloc'd) naming the problem. */
int http_json_body(const struct http_request *req, json_t **out, char **why_out);
/* Sets the reply to doc (the reference is stolen). */
void http_json_reply(struct http_request *req, int status, json_t *doc);
void http_json_no_content(struct http_request *req); /* 204 */
/* Who makes a change (for the audit log): the user, the app, the address. */
struct http_actor {
	struct store_actor by; /* points into the request and into address */
	char address[64];
};
void http_json_actor(const struct http_request *req, struct http_actor *out);
/* True for an admin; else a 401 (anonymous) or 403 reply is set. */
bool http_json_admin_only(struct http_request *req);
json_t *http_json_time(int64_t ms);	  /* ISO 8601 UTC, null for 0 */
json_t *http_json_str(const char *s);	  /* null for NULL */
json_t *http_json_list(const char *list); /* "a,b c" -> ["a","b","c"] */
/* A JSON array of names (strings or SCIM {"value": name}) or one string of
 * names separated by commas or blanks, joined by sep into *out (malloc'd).
 * OPUS_ERR_INVAL with *why_out static. */
int http_json_join(const json_t *v, char sep, char **out, const char **why_out);
int http_json_bool(const json_t *v, bool *out); /* true/false or their texts */
int http_text_bool(const char *s, bool *out);	/* true/false/1/0/yes/no/on/off */
/* Reads {"max_running","max_jobs","max_bytes"} into *io (absent: kept; null:
 * unset_value). OPUS_ERR_INVAL with *why_out static. */
int http_json_quota(const json_t *q, int64_t unset_value, struct store_quota *io,
		    const char **why_out);
json_t *http_json_quota_doc(const struct store_quota *q); /* < 0 shown as null */
/* The first key of obj not among known, or NULL. */
const char *http_json_unknown_key(const json_t *obj, const char *const *known, size_t n);
/* A subtree's resources: segments after `from` matched against path ("" none,
 * "*" any one segment, "a/ * /b" without blanks), first match wins; HEAD is
 * GET; a path with other methods only gets 405 with Allow, none 404. */
struct http_json_route {
	const char *path;
	enum http_method method;
	http_handler_fn fn;
};
void http_json_dispatch(struct http_request *req, int from, const struct http_json_route *t,
			size_t n);

/* http_users.c: /users, /users/me, /users/{name}[/token]. */
void http_users(struct http_request *req);
/* A change to an account, checked whole before anything is written. */
struct http_user_change {
	char *roles; /* NULL: unchanged; else comma-separated (owned) */
	int active;  /* -1 unchanged, 0 or 1 */
	bool set_email, set_display_name, set_quota;
	char *email, *display_name; /* owned; NULL clears */
	struct store_quota quota;   /* when set_quota; a field < 0 = unset */
	char *token;		    /* a client-chosen token to keep (its hash), owned; NULL */
};
void http_user_change_release(struct http_user_change *c);
/* Applies c to the account: 0, or an error with the reply NOT set and
 * *why_out (static) when the change was refused (nothing written). */
int http_users_apply(struct http_request *req, const char *name, const struct http_user_change *c,
		     const char **why_out) OPUS_WUR;
/* Creates an account from a (roles NULL: "user"); with token set, keeps its
 * hash; else makes one into token_out (else token_out[0] = 0). */
int http_users_create(struct http_request *req, const struct store_account *a, const char *token,
		      char token_out[AUTH_TOKEN_LEN + 1], const char **why_out) OPUS_WUR;
/* Checks that each comma-separated role exists; *why_out static. */
int http_users_roles_exist(struct http_request *req, const char *roles,
			   const char **why_out) OPUS_WUR;

/* http_scim.c: /scim/v2 (ServiceProviderConfig, Schemas, ResourceTypes, Users). */
void http_scim(struct http_request *req);

/* http_admin.c: /admin/roles, apps, audit, status, config, jobs, jdl. */
void http_admin(struct http_request *req);
/* http_perm.c: description permissions, disabled descriptions and quotas
 * (issue 13), shared by every route. The http_check_* functions return
 * true when the request may go on; otherwise they made the reply (403). */
/* Do description permissions apply to this request ([auth]
 * check_permissions, or an application's own list)? */
bool http_perm_applies(const struct http_request *req);
/* May the caller run (and so see) this description? */
bool http_may_run(const struct http_request *req, const char *jobdef);
/* 403 "you may not run job description X". */
bool http_check_run(struct http_request *req, const char *jobdef);
/* 403 "job description X is disabled for maintenance" (new jobs and RUN). */
bool http_check_enabled(struct http_request *req, const char *jobdef);
/* Quotas max_jobs and max_bytes of the caller, at create. */
bool http_check_quota_create(struct http_request *req);
/* Quota max_bytes at RUN of a job of job_owner (NULL: anonymous). */
bool http_check_quota_run(struct http_request *req, const char *job_owner);
/* The description of the job a job or entity id belongs to (an entity: the
 * job that generated it); NULL when none (an upload, an unknown id, a job
 * that is not the caller's). Caller frees. */
char *http_jobdef_of(struct http_request *req, const char *id);
/* Each of the ids (jobs or entities) belongs to a description the caller may run. */
bool http_check_ids(struct http_request *req, char *const *ids, size_t n);

#endif
