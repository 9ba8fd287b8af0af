/*
 * http_event.c: POST /handler/job_event, the signals a job's batch script
 * sends (exec_slurm.c): form fields job_id, phase (EXECUTING, COMPLETED,
 * ERROR) and an optional message, with "Authorization: Bearer TOKEN", the
 * job's own token (auth_event_token). No account is involved: the server
 * does not run auth_check for this path (http_server.c), and no address is
 * trusted. Checks, in an order that leaks nothing: a job_id that is not an
 * id -> 400 (its form only); a missing or wrong token for that id -> 401;
 * a bad phase -> 400; only then the store: an unknown job -> 404. Then
 * sched decides (sched_job_signal) and the answer is 204, also for a replay.
 */
#include "http/http-int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define EVENT_MESSAGE_LOG 200 /* characters of a message that reach the log */

static bool phase_of(const char *p, enum sched_signal *out)
{
	static const struct {
		const char *name;
		enum sched_signal sig;
	} phases[] = {{"EXECUTING", SCHED_SIGNAL_EXECUTING},
		      {"COMPLETED", SCHED_SIGNAL_COMPLETED},
		      {"ERROR", SCHED_SIGNAL_ERROR}};

	for (size_t i = 0; p && i < OPUS_ARRAY_LEN(phases); i++) {
		if (strcmp(p, phases[i].name) == 0) {
			*out = phases[i].sig;
			return true;
		}
	}
	return false;
}

/* The token of "Bearer TOKEN", or NULL. */
static const char *bearer_of(const char *h)
{
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

void http_job_event(struct http_request *req)
{
	const char *id = http_field_value(req, "job_id");
	const char *phase = http_field_value(req, "phase");
	const char *msg = http_field_value(req, "message");
	const char *token = bearer_of(
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
	enum sched_signal sig = SCHED_SIGNAL_EXECUTING;
	struct uws_job job = {0};
	char shown[EVENT_MESSAGE_LOG + 1];
	size_t n = 0;
	int ret;

	if (req->nsegs != 2 || strcmp(req->segs[1], "job_event") != 0) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		return;
	}
	if (!id || !uws_id_is_valid(id)) {
		http_reply_text(req, 400, "job_id: missing or not a job id\n");
		return;
	}
	if (!auth_event_token_ok(req->srv->deps.event_key, id, token)) {
		http_reply_text(req, 401, "a job event needs that job's token (Bearer)\n");
		return;
	}
	if (!phase_of(phase, &sig)) {
		http_reply_text(req, 400, "phase: must be EXECUTING, COMPLETED or ERROR\n");
		return;
	}
	ret = store_job_get(req->srv->deps.store, id, &job);
	uws_job_release(&job);
	if (ret < 0) {
		http_reply_error(req, ret, "job");
		return;
	}
	for (; msg && msg[n] && n < EVENT_MESSAGE_LOG; n++)
		shown[n] = isprint((unsigned char)msg[n]) ? msg[n] : '?';
	shown[n] = '\0';
	log_info("job %s: signal %s%s%s", id, phase, n ? ": " : "", shown);
	sched_job_signal(req->srv->deps.sched, id, sig);
	req->reply.status = 204;
}
