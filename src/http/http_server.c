/* http_server: the libmicrohttpd daemon and the life of one request. */
#include "http/http-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static enum http_method method_of(const char *m)
{
	static const struct {
		const char *name;
		enum http_method method;
	} table[] = {{"GET", HTTP_GET},	      {"HEAD", HTTP_HEAD}, {"POST", HTTP_POST},
		     {"DELETE", HTTP_DELETE}, {"PUT", HTTP_PUT},   {"OPTIONS", HTTP_OPTIONS},
		     {"PATCH", HTTP_PATCH}};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(table); i++) {
		if (strcmp(m, table[i].name) == 0)
			return table[i].method;
	}
	return HTTP_OTHER;
}

/* Splits the decoded path into segments; empty segments are dropped. */
static void split_path(struct http_request *req)
{
	char *save = NULL;
	char *copy = xstrdup(req->url);
	for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (req->nsegs == HTTP_MAX_SEGS) {
			req->nsegs = HTTP_MAX_SEGS + 1; /* too deep: no route matches */
			break;
		}
		req->segs[req->nsegs++] = xstrdup(s);
	}
	free(copy);
}

/*
 * libmicrohttpd hands URLs and query arguments over as C strings, so a decoded
 * %00 would silently cut them short. This unescaper decodes %XX as usual but
 * turns %00 into C0 80 (an overlong NUL, never valid UTF-8), which the request
 * code then refuses wherever it appears.
 */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
	char *out = s;
	(void)cls;
	(void)conn;
	for (const char *in = s; *in;) {
		int hi = in[0] == '%' ? hex_digit(in[1]) : -1;
		int lo = hi >= 0 ? hex_digit(in[2]) : -1;
		if (lo < 0) {
			*out++ = *in++;
			continue;
		}
		if (hi == 0 && lo == 0) {
			*out++ = (char)0xC0;
			*out++ = (char)0x80;
		} else {
			*out++ = (char)(hi * 16 + lo);
		}
		in += 3;
	}
	*out = '\0';
	return (size_t)(out - s);
}

bool http_has_nul(const char *s, size_t len)
{
	return memchr(s, '\0', len) || memmem(s, len, "\xC0\x80", 2);
}

static bool accepts_json(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	return accept && strstr(accept, "application/json") != NULL;
}

static struct http_request *request_new(struct http_server *srv, struct MHD_Connection *conn,
					const char *url, const char *method)
{
	struct http_request *req = xcalloc(1, sizeof(*req));
	req->srv = srv;
	req->conn = conn;
	req->method_name = method;
	req->method = method_of(method);
	req->url = xstrdup(url);
	req->want_json = accepts_json(conn);
	req->started_mono_ms = time_mono_ms();
	pthread_mutex_init(&req->lock, NULL);
	sbuf_init(&req->reply.body, 0);
	split_path(req);
	return req;
}

static void request_free(struct http_request *req)
{
	if (!req)
		return;
	if (req->pp)
		MHD_destroy_post_processor(req->pp);
	http_fields_free(req);
	for (int i = 0; i < req->nsegs && i < HTTP_MAX_SEGS; i++)
		free(req->segs[i]);
	sbuf_release(&req->reply.body);
	free(req->reply.location);
	free(req->reply.file_path);
	free(req->reply.content_type_owned);
	free(req->reply.allow_owned);
	free(req->reply.link);
	for (size_t i = 0; i < HTTP_REPLY_HEADERS; i++)
		free(req->reply.extra_value[i]);
	free(req->url);
	pthread_mutex_destroy(&req->lock);
	free(req);
}

static struct MHD_Response *response_from_file(struct http_request *req)
{
	struct stat st;
	struct MHD_Response *resp;
	int fd = open(req->reply.file_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		/* The reply is now text: forget the file and its content type. */
		free(req->reply.file_path);
		req->reply.file_path = NULL;
		http_reply_text(req, 404, "file not found\n");
		return NULL;
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp)
		close(fd);
	return resp;
}

/* The web client (web/js/api.js) marks its API requests so. */
static bool from_web_client(const struct http_request *req)
{
	const char *x = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Requested-With");
	return x && strcmp(x, "opusd-web") == 0;
}

static enum MHD_Result queue_reply(struct http_request *req)
{
	struct http_reply *r = &req->reply;
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;
	size_t len;
	char *body;

	if (r->file_path)
		resp = response_from_file(req);
	if (!resp) {
		body = sbuf_detach(&r->body, &len);
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(body);
			return MHD_NO;
		}
	}
	if (r->content_type_owned && r->file_path)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type_owned);
	else if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->allow_owned || r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					r->allow_owned ? r->allow_owned : r->allow);
	if (r->www_authenticate) {
		/* both schemes a client may use (RFC 7617, RFC 6750); but a Basic
		 * challenge to the web client's fetch() would make the browser open
		 * its own password dialog over the client's sign-in page */
		if (!from_web_client(req))
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Basic realm=\"opusd\", charset=\"UTF-8\"");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"opusd\"");
	}
	if (r->status == 503 && r->retry_after_s <= 0)
		r->retry_after_s = 2; /* busy (the store's server away, a full disk): soon again */
	if (r->retry_after_s > 0) {
		char secs[24];
		snprintf(secs, sizeof(secs), "%d", r->retry_after_s);
		MHD_add_response_header(resp, "Retry-After", secs);
	}
	if (r->link && r->status >= 200 && r->status < 300)
		MHD_add_response_header(resp, "Link", r->link);
	for (size_t i = 0; i < HTTP_REPLY_HEADERS && r->extra_name[i]; i++) {
		if (r->status >= 200 && r->status < 300)
			MHD_add_response_header(resp, r->extra_name[i], r->extra_value[i]);
	}
	http_static_headers(req, resp);
	http_cors_headers(req, resp);
	ret = MHD_queue_response(req->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	req->replied = true;
	return ret;
}

/* VOSI resources and the web client's files (which hold no data: the
 * client signs in through the API) answer everybody, even when anonymous
 * access is off. */
static bool is_public(const struct http_request *req)
{
	if (http_static_route(req))
		return true;
	return req->nsegs == 1 &&
	       (!strcmp(req->segs[0], "availability") || !strcmp(req->segs[0], "capabilities"));
}

static bool is_job_event(const struct http_request *req)
{
	return req->nsegs == 2 && !strcmp(req->segs[0], "handler") &&
	       !strcmp(req->segs[1], "job_event");
}

/* The client's address as text ("" when unknown): the back-off counts per address. */
static void client_address(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)len);
}

/* Fills req->who, or the reply: 401 with the reason, 429 with Retry-After. */
static int request_authenticate(struct http_request *req)
{
	struct http_server *srv = req->srv;
	char address[INET6_ADDRSTRLEN] = "";
	struct auth_request rq = {
	    .authorization = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_AUTHORIZATION),
	    .on_behalf_of =
		MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Opus-On-Behalf-Of"),
	    .address = address,
	    .public_resource = is_public(req),
	};
	const char *reason = NULL;
	int retry = 0, ret;

	client_address(req->conn, address, sizeof(address));
	ret = auth_check(srv->deps.auth, &rq, &req->who, &reason, &retry);
	if (ret == OPUS_ERR_BUSY) {
		http_reply_text(req, 429, "%s: try again in %d s\n",
				reason ? reason : "too many failed authentications", retry);
		req->reply.retry_after_s = retry;
	} else if (ret < 0) {
		http_reply_error(req, ret, reason ? reason : "wrong credentials");
	}
	return ret;
}

/* The first call for a request: everything that can be decided from headers. */
static enum MHD_Result request_begin(struct http_request *req, const char *version)
{
	struct http_server *srv = req->srv;
	int ret;

	if (atomic_load(&srv->draining)) {
		http_reply_text(req, 503, "opusd is shutting down\n");
		return queue_reply(req);
	}
	if (http_line_has_nul(req->conn, version)) {
		http_reply_text(req, 400, "the request line holds a NUL byte\n");
		return queue_reply(req);
	}
	if (http_has_nul(req->url, strlen(req->url))) {
		http_reply_text(req, 404, "no such resource (the path holds a NUL byte)\n");
		return queue_reply(req);
	}
	/* Preflights carry no credentials; cross-site refusals come before any check of them. */
	if (req->method == HTTP_OPTIONS) {
		http_cors_options(req);
		return queue_reply(req);
	}
	if (http_cors_guard(req) < 0)
		return queue_reply(req);
	/* A job's event carries the job's own token, not an account's (http_event.c). */
	if (!is_job_event(req) && request_authenticate(req) < 0)
		return queue_reply(req);
	http_fields_collect_query(req);
	for (size_t i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];
		if (http_has_nul(f->name, strlen(f->name)) ||
		    http_has_nul(f->value.buf ? f->value.buf : "", f->value.len)) {
			http_reply_text(req, 400, "query argument %s holds a NUL byte\n", f->name);
			return queue_reply(req);
		}
	}
	ret = http_body_begin(req);
	if (ret) {
		http_reply_text(req, ret, "%s\n",
				ret == 413 ? "request body too large" : "unsupported request body");
		return queue_reply(req);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	enum MHD_Result ret = MHD_YES;

	atomic_fetch_add(&srv->active, 1);
	if (!req) {
		if (http_line_answered(conn)) {
			ret = MHD_NO; /* answered on the socket already: drop the connection */
			goto done;
		}
		req = request_new(srv, conn, url, method);
		*con_cls = req;
		ret = request_begin(req, version);
		goto done;
	}
	if (req->replied)
		goto done; /* a reply was queued early; MHD is discarding the body */
	if (*upload_data_size) {
		if (!req->body_error)
			req->body_error = http_body_feed(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		goto done;
	}
	if (req->waiting) {
		http_wait_resume(req);
	} else {
		if (!req->body_error)
			req->body_error = http_body_end(req);
		if (req->body_error)
			http_reply_text(req, req->body_error, "%s\n",
					req->body_error == 413 ? "request body too large"
					: req->body_reason     ? req->body_reason
							       : "malformed request body");
		else if (atomic_load(&srv->draining))
			/* Its headers came before the stop, its body after: not routed. */
			http_reply_text(req, 503, "opusd is shutting down; nothing was changed\n");
		else
			http_route(req);
		if (req->waiting)
			goto done; /* suspended; sched's wake-up resumes it */
	}
	ret = queue_reply(req);
done:
	atomic_fetch_sub(&srv->active, 1);
	return ret;
}

/* s as one field of a log line: controls, blanks, '%' and non-ASCII bytes as
 * %XX, so that a decoded path (%0A) cannot forge a line or shift the fields. */
static void log_field(struct sbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '%')
			sbuf_addf(sb, "%%%02X", *p);
		else
			sbuf_addc(sb, (char)*p);
	}
}

static void log_request(const struct http_request *req, enum MHD_RequestTerminationCode toe)
{
	struct sbuf method = SBUF_INIT, url = SBUF_INIT;

	log_field(&method, req->method_name);
	log_field(&url, req->url);
	log_info("%s %s %d %lldms %s%s", sbuf_str(&method), sbuf_str(&url),
		 req->replied ? req->reply.status : 0,
		 (long long)(time_mono_ms() - req->started_mono_ms),
		 req->who.name[0] ? req->who.name : "-",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	sbuf_release(&method);
	sbuf_release(&url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;
	(void)cls;
	(void)conn;
	if (!req)
		return;
	if (log_get_level() >= LOG_INFO)
		log_request(req, toe);
	http_wait_done(req);
	request_free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sbuf sb = SBUF_INIT;
	(void)cls;
	sbuf_vaddf(&sb, fmt, ap);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	log_warn("libmicrohttpd: %s", sbuf_str(&sb));
	sbuf_release(&sb);
}

static int bind_address(const struct conf *c, struct sockaddr_in *sa)
{
	char host[256];
	int port;
	if (conf_listen_parse(c->listen, host, sizeof(host), &port) < 0)
		return OPUS_ERR_INVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return OPUS_ERR_INVAL;
	return 0;
}

int http_start(const struct http_deps *deps, struct http_server **out)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	int ret = OPUS_ERR_IO;

	srv->listen_fd = MHD_INVALID_SOCKET;
	srv->deps = *deps;
	pthread_rwlock_init(&srv->web_lock, NULL);
	http_static_load(srv);
	srv->upload_dir = xasprintf("%s/tmp", deps->conf->data_dir);
	/* Uploads staged by a daemon that died mid-request belong to no job. */
	rm_rf(srv->upload_dir);
	if (mkdir_p(srv->upload_dir, 0700) < 0)
		goto done;
	if (http_cors_init(srv) < 0)
		goto done;
	if (bind_address(deps->conf, &sa) < 0) {
		log_error("cannot parse listen address %s", deps->conf->listen);
		goto done;
	}
	/* The logger goes first so that option parsing itself logs through it. */
	srv->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL, MHD_OPTION_URI_LOG_CALLBACK,
	    http_line_check, NULL, MHD_OPTION_NOTIFY_CONNECTION, http_line_notify, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)deps->conf->threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
	if (!srv->mhd) {
		log_error("cannot listen on %s: %s", deps->conf->listen, strerror(errno));
		goto done;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : 0;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_LISTEN_FD);
	srv->listen_fd = info ? info->listen_fd : MHD_INVALID_SOCKET;
	ret = 0;
done:
	if (ret) {
		http_cors_release(srv);
		http_static_release(srv);
		pthread_rwlock_destroy(&srv->web_lock);
		free(srv->upload_dir);
		free(srv);
		srv = NULL;
	}
	*out = srv;
	return ret;
}

void http_drain(struct http_server *srv)
{
	MHD_socket fd;

	if (!srv)
		return;
	atomic_store(&srv->draining, true);
	/*
	 * No new connection from now on: connecting clients are refused at once.
	 * The listening socket is shut down (the kernel stops listening and
	 * answers RST) but not quiesced: MHD_quiesce_daemon() races with the
	 * pool threads that drop the socket from their epoll sets themselves
	 * (libmicrohttpd 0.9.75 aborts with "Failed to remove listen FD from
	 * epoll set" when a thread wins), and closing it under them races too.
	 * A shut-down listening socket fails accept() with EINVAL, which
	 * libmicrohttpd takes as a shutdown and ignores; MHD_stop_daemon()
	 * closes it.
	 */
	fd = srv->listen_fd;
	if (fd != MHD_INVALID_SOCKET)
		shutdown(fd, SHUT_RDWR);
	while (atomic_load(&srv->active) > 0)
		usleep(5000);
}

void http_stop(struct http_server *srv)
{
	int64_t until;

	if (!srv)
		return;
	/* WAITs woken by sched_shutdown_begin() get their answer before the close. */
	until = time_mono_ms() + HTTP_STOP_WAIT_MS;
	while (atomic_load(&srv->waiting) > 0 && time_mono_ms() < until)
		usleep(5000);
	MHD_stop_daemon(srv->mhd);
	http_cors_release(srv);
	http_static_release(srv);
	pthread_rwlock_destroy(&srv->web_lock);
	free(srv->upload_dir);
	free(srv);
}

void http_reload_web(struct http_server *srv)
{
	if (srv)
		http_static_load(srv);
}

int http_port(const struct http_server *srv)
{
	return srv->port;
}
