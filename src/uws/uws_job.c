/*
 * uws_job: the job model — phase names, the UWS 1.1 transition table, job
 * ids, the job record's memory, hrefs, and the text checks both renderers
 * share. See uws.h.
 */
#include "uws/uws-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const phase_names[UWS_PHASE_COUNT] = {
#define UWS_PHASE_NAME(p) [UWS_##p] = #p,
    UWS_PHASES(UWS_PHASE_NAME)
#undef UWS_PHASE_NAME
};

const char *uws_phase_name(enum uws_phase p)
{
	/* An out-of-range value still renders as a schema-valid phase. */
	if ((unsigned)p >= UWS_PHASE_COUNT)
		return phase_names[UWS_UNKNOWN];
	return phase_names[p];
}

int uws_phase_parse(const char *s, enum uws_phase *out)
{
	if (!s)
		return OPUS_ERR_INVAL;
	for (int p = 0; p < UWS_PHASE_COUNT; p++) {
		if (strcasecmp(s, phase_names[p]) == 0) {
			*out = (enum uws_phase)p;
			return 0;
		}
	}
	return OPUS_ERR_INVAL;
}

/*
 * The UWS 1.1 state diagram (§2.1.3): PENDING -RUN-> QUEUED -> EXECUTING ->
 * COMPLETED | ERROR; ABORT from any non-final phase; HELD instead of QUEUED
 * when the service will not start the job by itself; EXECUTING <-> SUSPENDED;
 * COMPLETED | ERROR | ABORTED -> ARCHIVED at destruction time.
 * opusd's own edges, each for one reason:
 *   PENDING/HELD -> EXECUTING   an executor with a free slot starts at once;
 *   PENDING/QUEUED/HELD -> ERROR  the job could not be submitted;
 *   PENDING/HELD -> ARCHIVED    destruction time reached before any run;
 *   EXECUTING -> QUEUED         requeued at a clean shutdown;
 *   QUEUED/EXECUTING/SUSPENDED -> UNKNOWN -> EXECUTING | final
 *                               the executor lost track of the job, then
 *                               found it again (or its end).
 * Staying in the same phase is never a transition.
 */
/* clang-format off */
_Static_assert(UWS_PENDING == 0 && UWS_QUEUED == 1 && UWS_EXECUTING == 2 &&
	       UWS_COMPLETED == 3 && UWS_ERROR == 4 && UWS_ABORTED == 5 && UWS_UNKNOWN == 6 &&
	       UWS_HELD == 7 && UWS_SUSPENDED == 8 && UWS_ARCHIVED == 9 && UWS_PHASE_COUNT == 10,
	       "phase_can's columns follow the order of UWS_PHASES");
static const bool phase_can[UWS_PHASE_COUNT][UWS_PHASE_COUNT] = {
	/* from \ to:       PEN QUE EXE COM ERR ABO UNK HEL SUS ARC */
	[UWS_PENDING]   = {  0,  1,  1,  0,  1,  1,  0,  1,  0,  1 },
	[UWS_QUEUED]    = {  0,  0,  1,  0,  1,  1,  1,  1,  0,  0 },
	[UWS_EXECUTING] = {  0,  1,  0,  1,  1,  1,  1,  0,  1,  0 },
	[UWS_COMPLETED] = {  0,  0,  0,  0,  0,  0,  0,  0,  0,  1 },
	[UWS_ERROR]     = {  0,  0,  0,  0,  0,  0,  0,  0,  0,  1 },
	[UWS_ABORTED]   = {  0,  0,  0,  0,  0,  0,  0,  0,  0,  1 },
	[UWS_UNKNOWN]   = {  0,  0,  1,  1,  1,  1,  0,  0,  0,  0 },
	[UWS_HELD]      = {  0,  1,  1,  0,  1,  1,  0,  0,  0,  1 },
	[UWS_SUSPENDED] = {  0,  0,  1,  0,  1,  1,  1,  0,  0,  0 },
	[UWS_ARCHIVED]  = {  0,  0,  0,  0,  0,  0,  0,  0,  0,  0 },
};
/* clang-format on */

bool uws_phase_can(enum uws_phase from, enum uws_phase to)
{
	if ((unsigned)from >= UWS_PHASE_COUNT || (unsigned)to >= UWS_PHASE_COUNT)
		return false;
	return phase_can[from][to];
}

bool uws_phase_is_final(enum uws_phase p)
{
	return p == UWS_COMPLETED || p == UWS_ERROR || p == UWS_ABORTED || p == UWS_ARCHIVED;
}

bool uws_phase_is_active(enum uws_phase p)
{
	return p == UWS_PENDING || p == UWS_QUEUED || p == UWS_EXECUTING;
}

void uws_id_new(char out[UWS_ID_LEN + 1])
{
	rand_hex(out, UWS_ID_BYTES);
}

bool uws_id_is_valid(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		if (n >= UWS_ID_LEN ||
		    !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	}
	return n >= UWS_ID_MIN_LEN;
}

void uws_job_release(struct uws_job *job)
{
	if (!job)
		return;
	free(job->jobdef);
	free(job->owner);
	free(job->run_id);
	free(job->error_summary);
	free(job->jdl_hash);
	for (size_t i = 0; i < job->nparams; i++) {
		free(job->params[i].name);
		free(job->params[i].value);
	}
	free(job->params);
	for (size_t i = 0; i < job->nresults; i++) {
		free(job->results[i].id);
		free(job->results[i].path);
		free(job->results[i].mime);
		free(job->results[i].entity_id);
		free(job->results[i].sha256);
	}
	free(job->results);
	memset(job, 0, sizeof(*job));
}

void uws_job_copy(struct uws_job *dst, const struct uws_job *src)
{
	*dst = *src;
	dst->jobdef = xstrdup(src->jobdef);
	dst->owner = xstrdup(src->owner);
	dst->run_id = xstrdup(src->run_id);
	dst->error_summary = xstrdup(src->error_summary);
	dst->jdl_hash = xstrdup(src->jdl_hash);
	dst->params = NULL;
	dst->nparams = 0;
	dst->results = NULL;
	dst->nresults = 0;
	for (size_t i = 0; i < src->nparams; i++) {
		const struct uws_param *p = &src->params[i];
		uws_job_add_param(dst, p->name, p->value, p->by_ref);
	}
	for (size_t i = 0; i < src->nresults; i++) {
		const struct uws_result *res = &src->results[i];
		uws_job_add_result(dst, res->id, res->path, res->mime, res->size);
		dst->results[dst->nresults - 1].entity_id = xstrdup(res->entity_id);
		dst->results[dst->nresults - 1].sha256 = xstrdup(res->sha256);
	}
}

void uws_job_add_param(struct uws_job *job, const char *name, const char *value, bool by_ref)
{
	struct uws_param *p;
	job->params = xrealloc(job->params, (job->nparams + 1) * sizeof(*job->params));
	p = &job->params[job->nparams++];
	p->name = xstrdup(name);
	p->value = xstrdup(value);
	p->by_ref = by_ref;
}

void uws_job_add_result(struct uws_job *job, const char *id, const char *path, const char *mime,
			int64_t size)
{
	struct uws_result *r;
	job->results = xrealloc(job->results, (job->nresults + 1) * sizeof(*job->results));
	r = &job->results[job->nresults++];
	r->id = xstrdup(id);
	r->path = xstrdup(path);
	r->mime = xstrdup(mime);
	r->size = size;
	r->entity_id = NULL;
	r->sha256 = NULL;
}

const struct uws_param *uws_job_param(const struct uws_job *job, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < job->nparams; i++) {
		if (job->params[i].name && strcasecmp(job->params[i].name, name) == 0)
			return &job->params[i];
	}
	return NULL;
}

const struct uws_result *uws_job_result(const struct uws_job *job, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < job->nresults; i++) {
		if (job->results[i].id && strcasecmp(job->results[i].id, id) == 0)
			return &job->results[i];
	}
	return NULL;
}

int64_t uws_job_quote_time(const struct uws_job *job)
{
	int64_t from = job->start_time ? job->start_time : job->creation_time;
	if (job->quote <= 0 || from <= 0)
		return 0;
	return from + job->quote * 1000;
}

/* OPUS's result links, in its order. */
static const struct {
	const char *id, *mime;
} prov_links[] = {
    {"provjson", "application/json"},
    {"provxml", "application/xml"},
    {"provsvg", "image/svg+xml"},
};

const char *uws_prov_link_mime(const char *id)
{
	for (size_t i = 0; id && i < OPUS_ARRAY_LEN(prov_links); i++) {
		if (strcmp(prov_links[i].id, id) == 0)
			return prov_links[i].mime;
	}
	return NULL;
}

bool uws_results_shown(const struct uws_job *job)
{
	return job->phase != UWS_ARCHIVED;
}

bool uws_prov_links_shown(const struct uws_render *r, const struct uws_job *job)
{
	return r && r->result_links && uws_phase_is_final(job->phase) && uws_results_shown(job);
}

/* Calls fn for each provenance link of the job's results list (uws-int.h). */
void uws_prov_links_each(const struct uws_render *r, const struct uws_job *job,
			 void (*fn)(void *ctx, const char *id, const char *mime, const char *href),
			 void *ctx)
{
	if (!uws_prov_links_shown(r, job))
		return;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(prov_links); i++) {
		char *href;
		if (uws_job_result(job, prov_links[i].id))
			continue; /* a real result of that name wins */
		href = uws_href(r, job, "results", prov_links[i].id);
		fn(ctx, prov_links[i].id, prov_links[i].mime, href);
		free(href);
	}
}

/* Appends s as one URL path segment: RFC 3986 unreserved bytes as they are,
 * every other byte as %XX. */
static void add_segment(struct sbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			sbuf_addc(sb, (char)*p);
		} else {
			sbuf_addc(sb, '%');
			sbuf_addc(sb, hex[*p >> 4]);
			sbuf_addc(sb, hex[*p & 15]);
		}
	}
}

char *uws_href(const struct uws_render *r, const struct uws_job *job, const char *child,
	       const char *name)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, r && r->base_url ? r->base_url : "");
	sbuf_adds(&sb, "/rest/");
	add_segment(&sb, job->jobdef);
	sbuf_addc(&sb, '/');
	add_segment(&sb, job->id);
	if (child) {
		sbuf_addc(&sb, '/');
		add_segment(&sb, child);
		if (name) {
			sbuf_addc(&sb, '/');
			add_segment(&sb, name);
		}
	}
	return sbuf_detach(&sb, NULL);
}

/* XML 1.0 §2.2 Char. */
static bool xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

bool uws_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	if (!s)
		return true;
	while (*p) {
		size_t n = utf8_decode(p, 4, &c); /* the NUL ends a short sequence */
		if (!n || !xml_char(c))
			return false;
		p += n;
	}
	return true;
}

char *uws_text_clean(const char *s)
{
	static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	struct sbuf sb = SBUF_INIT;
	uint32_t c;
	if (!s)
		return NULL;
	if (uws_text_ok(s))
		return xstrdup(s);
	while (*p) {
		size_t n = utf8_decode(p, 4, &c); /* the NUL ends a short sequence */
		if (n && xml_char(c)) {
			sbuf_add(&sb, p, n);
			p += n;
		} else {
			sbuf_adds(&sb, replacement);
			p += n ? n : 1;
		}
	}
	return sbuf_detach(&sb, NULL);
}
