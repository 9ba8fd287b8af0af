/*
 * http: the REST face of opusd on libmicrohttpd — listening, request parsing
 * (query strings, urlencoded and multipart forms with capped sizes, uploads
 * streamed to files), routing, authentication, content negotiation (XML or
 * JSON), status codes, and one log line per request.
 *
 * Handlers read as parse -> ask the domain (store for reads, sched for every
 * change) -> render (uws). Blocking WAIT requests are suspended connections
 * (MHD_suspend_connection), resumed by sched's wake-up: no thread is held per
 * waiting client.
 *
 * Threading: libmicrohttpd runs `threads` worker threads, each with its own
 * epoll set; every request state is owned by its connection.
 * Ownership: the server borrows conf, store, sched and the registry; they
 * must outlive http_stop().
 * Included by: main.
 */
#ifndef OPUS_HTTP_H
#define OPUS_HTTP_H

#include "auth/auth.h"
#include "base/base.h"
#include "conf/conf.h"
#include "fetch/fetch.h"
#include "jdl/jdl.h"
#include "prov/prov.h"
#include "sched/sched.h"
#include "store/store.h"

struct http_server;

struct http_deps {
	const struct conf *conf; /* data_dir must be absolute */
	struct store *store;
	struct sched *sched;
	struct jdl_registry *jdls;
	const struct fetch_policy *fetch; /* checks input references at create */
	struct prov *prov;		  /* entity store and provenance documents */
	struct auth *auth;		  /* identities, roles, permissions, back-off */
	const unsigned char *event_key;	  /* job event tokens (AUTH_EVENT_KEY_LEN); borrowed */
};

/* Binds and starts serving. OPUS_ERR_IO when the address cannot be bound. */
int http_start(const struct http_deps *deps, struct http_server **out) OPUS_WUR;
/*
 * A clean stop, in this order:
 *   http_drain(): no new connection is accepted; a request not yet routed
 *     (a POST whose body comes after the stop began, too) gets 503 and
 *     changes nothing; returns when no handler is running any more.
 *   sched_shutdown_begin(): wakes every WAIT; woken requests read only the store.
 *   http_stop(): lets the woken WAITs be answered (HTTP_STOP_WAIT_MS at
 *     most), then closes every connection and frees the server. No handler
 *     runs after it, so sched_close() may follow.
 * NULL ok for both.
 */
void http_drain(struct http_server *srv);
void http_stop(struct http_server *srv);
/* Reads paths.web_dir again (SIGHUP); requests in flight keep their copy. */
void http_reload_web(struct http_server *srv);
/* The port actually bound (useful with port 0). */
int http_port(const struct http_server *srv);

#endif
