/*
 * fetch: how a job's input entities reach its working directory when they are
 * not uploaded. A value given for an input (a Used entity or a file
 * parameter) is a reference of one of three kinds:
 *   - a stored entity of opusd: "{job id}/{result id}" (a result of an earlier
 *     job), the absolute URL of that result under this server's base URL, or
 *     an entity id ('e' and 32 hex digits); it is linked from the entity
 *     store, never downloaded;
 *   - a URL: http and https (downloaded with libcurl), file:// (copied, only
 *     below one of the configured roots); any other scheme is refused;
 *   - an ID: anything else, put into the description's url template in
 *     place of $ID (percent-encoded), which must then give a URL as above.
 *
 * Downloads are guarded against server-side request forgery: only http and
 * https, no redirect to another scheme, no proxy from the environment,
 * connect/total timeouts, a size cap, and every address libcurl is about to
 * connect to (after DNS, after each redirect) is checked: loopback, private,
 * link-local, multicast and reserved addresses are refused unless the policy
 * allows them. The file lands under the name the caller chose (never a name
 * from the remote side), written to a temporary name and renamed.
 *
 * Threading: fetch_global_init() once before threads start; everything else
 * is thread-safe (one curl handle per call). Downloads block: call them from
 * a thread that may wait (sched's stager threads), never a request thread.
 * Ownership: results written into caller-provided structs are owned by them
 * (fetch_ref_release()); *why_out strings are malloc'd, caller frees.
 * Included by: sched, http, main.
 */
#ifndef OPUS_FETCH_H
#define OPUS_FETCH_H

#include "base/base.h"

#include <stdatomic.h>

struct fetch_policy {
	char **file_roots; /* absolute directories file:// may read below (resolved) */
	size_t nroots;
	bool allow_private;	   /* loopback/private/link-local addresses allowed */
	int64_t max_bytes;	   /* size cap of one input */
	int64_t connect_timeout_s; /* per connection */
	int64_t timeout_s;	   /* whole transfer */
	const char *base_url;	   /* this server's, to recognise its own result URLs */
};

enum fetch_kind {
	FETCH_ENTITY, /* a result of an earlier job of this server */
	FETCH_HTTP,   /* http:// or https:// */
	FETCH_FILE,   /* file:// below a root */
};

struct fetch_ref {
	enum fetch_kind kind;
	char *url;	    /* HTTP and FILE: the URL (after template expansion) */
	char *path;	    /* FILE: the decoded absolute path (not yet resolved) */
	char job_id[33];    /* ENTITY: a job's result, with result_id; "" for an entity id */
	char *result_id;    /* ENTITY */
	char entity_id[34]; /* ENTITY: 'e' and 32 hex digits; "" for a job's result */
};

int fetch_global_init(void) OPUS_WUR;
void fetch_global_cleanup(void);

/*
 * Classifies one input value (see above) and checks what can be checked
 * without touching the network or the file: the scheme, the URL's shape, a
 * file path's place below a root (by name; links are resolved at copy time).
 * `url_template` is the description's url for the entity (NULL or without
 * $ID: plain IDs are refused). Returns 0, or OPUS_ERR_INVAL with *why_out a
 * reason such as "scheme ftp is not allowed (http, https, file)".
 */
int fetch_ref_parse(const struct fetch_policy *p, const char *value, const char *url_template,
		    struct fetch_ref *out, char **why_out) OPUS_WUR;
void fetch_ref_release(struct fetch_ref *r);

/* Splits an input's value into its references: one per line, surrounding
 * blanks trimmed, blank lines skipped. Caller frees with fetch_refs_free(). */
char **fetch_refs_split(const char *value, size_t *n_out);
void fetch_refs_free(char **refs, size_t n);

/* Set (non-zero) by another thread to stop a transfer or a copy early (abort,
 * time limit, shutdown); read by the transfer between chunks. An atomic: the
 * setter holds its own lock, the reader (libcurl's callbacks) none. */
typedef atomic_int fetch_cancel_flag;

/*
 * Downloads an HTTP or FILE reference into `dest` (created, mode 0640; it
 * must not exist). On success *ctype_out (may be NULL) receives the
 * response's media type (HTTP; NULL when none or FILE) and sha256_out the
 * sha256 (hex) of the bytes written, hashed as they passed. On failure
 * nothing is left at dest and *why_out says why ("HTTP 404", "address
 * 127.0.0.1 is loopback (refused)", "larger than 1048576 bytes", ...).
 */
int fetch_download(const struct fetch_policy *p, const struct fetch_ref *r, const char *dest,
		   fetch_cancel_flag *cancel, char **ctype_out, char sha256_out[65],
		   char **why_out) OPUS_WUR;

/* Copies a local file (no links followed at the last component) into dest,
 * capped at max_bytes; same contract as fetch_download. Only a regular file is
 * copied: it is opened non-blocking and checked first, so a FIFO or a device
 * is refused at once ("... is a FIFO, not a regular file") instead of blocking
 * the caller; the cancel flag is read between chunks. */
int fetch_copy_file(const char *src, const char *dest, int64_t max_bytes, fetch_cancel_flag *cancel,
		    char sha256_out[65], char **why_out) OPUS_WUR;

/* Do two media types match (type/subtype, case-insensitive, parameters such
 * as "; charset=" ignored)? */
bool fetch_media_type_eq(const char *a, const char *b);

#endif
