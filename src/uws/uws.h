/*
 * uws: the UWS 1.1 job model — phases and the legal transitions between
 * them, the job record, and its rendering as UWS 1.1 XML (valid against
 * UWS-1.1.xsd) and as JSON.
 *
 * Threading: pure functions over caller-owned data; thread-safe.
 * Ownership: a struct uws_job owns every string and array it points to;
 * uws_job_release() frees them (and accepts a zeroed job). Renderers append
 * to a caller-owned struct sbuf and return 0 or a negative opus_err.
 * Included by: store, exec, sched, http, and their tests.
 */
#ifndef OPUS_UWS_H
#define OPUS_UWS_H

#include "base/base.h"

/* The UWS 1.1 phases, in schema order. */
/* clang-format off */
#define UWS_PHASES(X)                                                                              \
	X(PENDING)                                                                                 \
	X(QUEUED) X(EXECUTING) X(COMPLETED) X(ERROR) X(ABORTED) X(UNKNOWN) X(HELD) X(SUSPENDED)    \
	    X(ARCHIVED)
/* clang-format on */

enum uws_phase {
#define UWS_PHASE_ENUM(p) UWS_##p,
	UWS_PHASES(UWS_PHASE_ENUM)
#undef UWS_PHASE_ENUM
	    UWS_PHASE_COUNT
};

const char *uws_phase_name(enum uws_phase p); /* "PENDING", static */
/* Case-insensitive; OPUS_ERR_INVAL for an unknown name. */
int uws_phase_parse(const char *s, enum uws_phase *out) OPUS_WUR;
/* The UWS 1.1 state diagram as a table: may a job go from `from` to `to`? */
bool uws_phase_can(enum uws_phase from, enum uws_phase to);
/* COMPLETED, ERROR, ABORTED, ARCHIVED: nothing runs any more. */
bool uws_phase_is_final(enum uws_phase p);
/* PENDING, QUEUED, EXECUTING: the phases in which WAIT blocks. */
bool uws_phase_is_active(enum uws_phase p);

/* Job ids: 16 random bytes as 32 lowercase hex digits (128 bits). */
#define UWS_ID_BYTES 16
#define UWS_ID_LEN   (2 * UWS_ID_BYTES)
/* Room for a job's executor handle (exec.h: EXEC_HANDLE_MAX), its NUL included. */
#define UWS_HANDLE_MAX 96
void uws_id_new(char out[UWS_ID_LEN + 1]);
/* An id opusd accepts: UWS_ID_MIN_LEN to UWS_ID_LEN lowercase hex digits.
 * opusd makes UWS_ID_LEN; shorter ones are OPUS's (uuid4 tails, 6 digits by
 * default) kept by `opusd import-opus` so that old job URLs still work. */
#define UWS_ID_MIN_LEN 6
bool uws_id_is_valid(const char *s);

struct uws_param {
	char *name;  /* as declared in the job description */
	char *value; /* by_ref: the file path in the job's directory */
	bool by_ref; /* an uploaded file; rendered as a URL to parameters/{name} */
};

struct uws_result {
	char *id;	 /* result id, unique within the job: generated name, "stdout", "stderr" */
	char *path;	 /* file path relative to the job's directory */
	char *mime;	 /* content type, may be NULL */
	int64_t size;	 /* bytes; negative = unknown (no size attribute, JSON null) */
	char *entity_id; /* the result's entity in the entity store; NULL: none (yet) */
	char *sha256;	 /* 64 lowercase hex digits; NULL: not hashed */
};

/* What a run cost, as the executor measured it (provenance, job JSON). */
struct uws_metrics {
	bool known;	    /* false: the job never ran, or nothing was measured */
	int64_t wall_ms;    /* from start to end of the process */
	int64_t cpu_ms;	    /* user + system CPU of the job and its descendants */
	int64_t max_rss_kb; /* peak resident memory (largest process, or the cgroup's peak) */
	int exit_code;	    /* exit status; 128 + signal when killed by one */
};

enum uws_error_type { UWS_ERROR_FATAL = 0, UWS_ERROR_TRANSIENT };

struct uws_job {
	char id[UWS_ID_LEN + 1];
	char *jobdef; /* job description name */
	char *owner;  /* account name; NULL for anonymous */
	char *run_id; /* client's RUNID, may be NULL */
	enum uws_phase phase;
	int64_t creation_time;	    /* ms since epoch; 0 = nil */
	int64_t start_time;	    /* ms; 0 = nil */
	int64_t end_time;	    /* ms; 0 = nil */
	int64_t destruction_time;   /* ms; 0 = nil */
	bool destruction_set;	    /* sched_job_create: destruction_time was given, even 0 */
	int64_t execution_duration; /* seconds; 0 = unlimited */
	int64_t quote;		    /* seconds of estimated run time; 0 = nil */
	char *error_summary;	    /* NULL unless phase ERROR (or ABORTED with a reason) */
	enum uws_error_type error_type;
	int64_t run_request_time; /* ms when PHASE=RUN was accepted (queue order) */
	/* What exec identifies the job's run by (exec_submit's opaque handle:
	 * "12345" locally, "slurm:{cluster}:{jobid}"); "" none. */
	char exec_handle[UWS_HANDLE_MAX];
	char *jdl_hash;		    /* sha256 of the description the job was created with */
	struct uws_metrics metrics; /* set when its run ended */
	struct uws_param *params;
	size_t nparams;
	struct uws_result *results;
	size_t nresults;
};

void uws_job_release(struct uws_job *job); /* frees members, zeroes the struct */
/* Deep copy into a zeroed dst. */
void uws_job_copy(struct uws_job *dst, const struct uws_job *src);
/* Appends a parameter (copies the strings). */
void uws_job_add_param(struct uws_job *job, const char *name, const char *value, bool by_ref);
/* Appends a result (copies the strings; entity_id and sha256 stay NULL). */
void uws_job_add_result(struct uws_job *job, const char *id, const char *path, const char *mime,
			int64_t size);
/* Case-insensitive lookups; NULL when absent. Borrowed. */
const struct uws_param *uws_job_param(const struct uws_job *job, const char *name);
const struct uws_result *uws_job_result(const struct uws_job *job, const char *id);

/*
 * Rendering. `base_url` is the absolute URL of the service without a trailing
 * slash (e.g. "http://127.0.0.1:8080"); hrefs are base_url/rest/{jobdef}/{id}...
 * XML: the uws namespace prefix "uws", xlink for hrefs, version="1.1",
 * xsi:nil on empty nillable elements, times via time_format().
 */
struct uws_render {
	const char *base_url;
	/* A finished job's results list also shows its provenance documents
	 * (provenance.result_links; OPUS's provjson, provxml, provsvg). */
	bool result_links;
	/* NULL, or why a QUEUED job waits (JSON only: queueReason; the UWS XML
	 * has no element for it). */
	const char *queue_reason;
};

/*
 * The provenance documents of a finished job (COMPLETED, ERROR, ABORTED)
 * that its results list shows when result_links is on, each at
 * base_url/rest/{jobdef}/{id}/results/{id} like a result (the same document
 * as the job's own base_url/rest/{jobdef}/{id}/provjson...).
 * uws_prov_link_mime() gives the media type of one of them, NULL for any
 * other id. A real result of the same id wins over the link.
 */
const char *uws_prov_link_mime(const char *id);
/* True when the results list of this job shows the provenance documents. */
bool uws_prov_links_shown(const struct uws_render *r, const struct uws_job *job);
/* False for an ARCHIVED job: its files are gone, its results are not shown. */
bool uws_results_shown(const struct uws_job *job);

/*
 * The absolute URL of a job, base_url/rest/{jobdef}/{id}, or of one of its
 * children: child "parameters"/"results" (and name, a parameter name or a
 * result id). Path segments are percent-encoded. Caller frees.
 */
char *uws_href(const struct uws_render *r, const struct uws_job *job, const char *child,
	       const char *name);

int uws_job_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
int uws_job_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
/* Job lists: each job needs id, jobdef, phase, run_id, owner, creation_time;
 * the JSON one also shows start_time, end_time and destruction_time (what a
 * list page shows without a GET per job); the XML one is UWS 1.1's jobref. */
int uws_joblist_xml(const struct uws_render *r, const struct uws_job *jobs, size_t n,
		    struct sbuf *out);
int uws_joblist_json(const struct uws_render *r, const struct uws_job *jobs, size_t n,
		     struct sbuf *out);
/* <uws:parameters> and <uws:results> as standalone documents. */
int uws_params_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
int uws_params_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
int uws_results_xml(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
int uws_results_json(const struct uws_render *r, const struct uws_job *job, struct sbuf *out);
/* A single-valued child (phase, executionduration, ...) as JSON {"key": value}.
 * `value` NULL renders JSON null; `is_number` renders it unquoted. */
int uws_value_json(const char *key, const char *value, bool is_number, struct sbuf *out);
/* The quote as an absolute time (ms), or 0: start (or creation) + quote seconds. */
int64_t uws_job_quote_time(const struct uws_job *job);

#endif
