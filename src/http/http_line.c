/*
 * http_line: the request line, seen before libmicrohttpd parses it further.
 *
 * libmicrohttpd calls the URI log callback once the request line is read and
 * before it splits the query into argument records. Two things can only be
 * caught there:
 *  - a line over the caps (HTTP_MAX_URI, HTTP_MAX_QUERY_ARGS): past them the
 *    records can exhaust the connection's memory pool, and then
 *    libmicrohttpd 0.9.75 answers nothing until the client hangs up. So the
 *    414 is written on the socket here (opusd speaks plain HTTP; TLS ends at
 *    a proxy), its write side is shut, and the access handler later drops
 *    the connection without a second answer;
 *  - a raw NUL byte in the URI: the URI is handed over as a C string, cut
 *    at the NUL ("GET /\0/x" would serve "/"). Its length here is compared
 *    with the distance to the HTTP version, which follows the URI in the
 *    same buffer.
 */
#include "http/http-int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Writes a whole plain-text answer on the socket and ends the reply side. */
static void answer_now(struct MHD_Connection *conn, const char *text)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 strlen(text), text);
	if (!ci || n < 0 || (size_t)n >= sizeof(buf))
		return;
	/* A fresh connection's socket buffer takes a few hundred bytes at once;
	 * should it not, the client sees the connection close instead. */
	if (send(ci->connect_fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("early 414 not sent");
	shutdown(ci->connect_fd, SHUT_WR);
}

static size_t count_args(const char *uri, size_t len)
{
	const char *q = memchr(uri, '?', len);
	size_t n = 0;
	for (const char *p = q; p; p = memchr(p + 1, '&', len - (size_t)(p + 1 - uri)))
		n++;
	return n;
}

/* What the log callback saw of the request line now being read. */
struct http_line {
	const char *uri_end; /* the first NUL after the URI, in libmicrohttpd's buffer */
	bool answered;	     /* a 414 went out on the socket */
};

void http_line_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = xcalloc(1, sizeof(struct http_line));
	} else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static struct http_line *line_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void *http_line_check(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_line *line = line_of(conn);
	size_t len = uri ? strlen(uri) : 0;
	char text[128];
	(void)cls;
	if (!line)
		return NULL;
	line->uri_end = uri ? uri + len : NULL;
	line->answered = false;
	if (len > HTTP_MAX_URI)
		snprintf(text, sizeof(text), "request URI too long (at most %d bytes)\n",
			 HTTP_MAX_URI);
	else if (uri && count_args(uri, len) > HTTP_MAX_QUERY_ARGS)
		snprintf(text, sizeof(text), "too many query arguments (at most %d)\n",
			 HTTP_MAX_QUERY_ARGS);
	else
		return NULL;
	line->answered = true;
	log_info("- (a request line of %zu bytes) 414 0ms -", len);
	answer_now(conn, text);
	return NULL;
}

bool http_line_answered(struct MHD_Connection *conn)
{
	const struct http_line *line = line_of(conn);
	return line && line->answered;
}

bool http_line_has_nul(struct MHD_Connection *conn, const char *version)
{
	const struct http_line *line = line_of(conn);
	uintptr_t end, ver = (uintptr_t)version;
	if (!line || !line->uri_end || !version || !*version)
		return false;
	/* The version follows the URI and the NUL that replaced the space before
	 * it; only a version in that buffer (not a static "") is compared. */
	end = (uintptr_t)line->uri_end;
	if (ver <= end || ver - end > (uintptr_t)HTTP_CONN_MEMORY)
		return false;
	return ver != end + 1;
}
