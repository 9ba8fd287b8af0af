/*
 * base: what every other module needs and nothing else — allocation that
 * aborts on out-of-memory, one error-code table, a bounded string builder,
 * leveled logging, UTC time in milliseconds, random identifiers, name checks.
 *
 * Threading: every function here is thread-safe; a struct sbuf belongs to
 * one thread at a time.
 * Ownership: x*alloc results belong to the caller (free()). sbuf_detach()
 * hands the buffer to the caller; sbuf_release() frees it.
 * May be included by any module.
 */
#ifndef OPUS_BASE_H
#define OPUS_BASE_H

/* opusd's version: the software agent of provenance, the banner. */
#define OPUS_VERSION "0.3.0"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPUS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define OPUS_WUR	  __attribute__((warn_unused_result))
#define OPUS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One table of error codes, all negative; 0 is success. The HTTP layer maps
 * them to status codes in one table (http_status_of()). */
/* clang-format off */
#define OPUS_ERRORS(X)                                                                             \
	X(OPUS_ERR_INVAL, -1, "invalid value")                                                     \
	X(OPUS_ERR_NOTFOUND, -2, "not found")                                                      \
	X(OPUS_ERR_FORBIDDEN, -3, "forbidden")                                                     \
	X(OPUS_ERR_PHASE, -4, "not allowed in the current phase")                                  \
	X(OPUS_ERR_TOOBIG, -5, "too large")                                                        \
	X(OPUS_ERR_IO, -6, "input/output error")                                                   \
	X(OPUS_ERR_AUTH, -7, "authentication required")                                            \
	X(OPUS_ERR_INTERNAL, -8, "internal error")                                                 \
	X(OPUS_ERR_BUSY, -9, "busy, try again")                                                    \
	X(OPUS_ERR_EXISTS, -10, "already exists")
/* clang-format on */

enum opus_err {
	OPUS_OK = 0,
#define OPUS_ERR_ENUM(name, val, text) name = (val),
	OPUS_ERRORS(OPUS_ERR_ENUM)
#undef OPUS_ERR_ENUM
};

/* Static text for an error code; never NULL. */
const char *opus_strerror(int err);

/* Allocation: abort with a message on out-of-memory, so callers stay clean. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) OPUS_PRINTF(1, 2);

/*
 * A growable string, always NUL-terminated once anything was added.
 * `max` caps its length (0 = no cap); an append that would pass the cap sets
 * `err` to OPUS_ERR_TOOBIG and is dropped, and every later append is a no-op,
 * so a serialiser can append unconditionally and check `err` once at the end.
 */
struct sbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
	int err;
};
#define SBUF_INIT                                                                                  \
	{                                                                                          \
		NULL, 0, 0, 0, 0                                                                   \
	}

void sbuf_init(struct sbuf *sb, size_t max);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) OPUS_PRINTF(2, 3);
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *sb);		 /* len = 0, err = 0, keeps memory */
const char *sbuf_str(const struct sbuf *sb);	 /* "" when empty; borrowed */
char *sbuf_detach(struct sbuf *sb, size_t *len); /* caller frees; sb is re-initialised */
void sbuf_release(struct sbuf *sb);		 /* frees; sb is re-initialised */

/* Logging on stderr, one line per call: "2026-11-23T10:00:00.123Z INFO msg". */
enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_level_parse(const char *s, enum log_level *out); /* "error".."debug" */
void log_msg(enum log_level lvl, const char *fmt, ...) OPUS_PRINTF(2, 3);
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Time: milliseconds since the Unix epoch, UTC. 0 means "not set" (xsi:nil)
 * everywhere in opusd.
 */
#define TIME_STR_MAX 32
int64_t time_now_ms(void);
int64_t time_mono_ms(void); /* CLOCK_MONOTONIC, for deadlines */
/* Writes "2026-11-23T09:35:42.123Z" into out (TIME_STR_MAX bytes). */
void time_format(int64_t ms, char out[TIME_STR_MAX]);
/*
 * Parses ISO 8601 with reduced precision, extended or basic format:
 * "2026", "2026-11", "2026-11-22", "2026-11-22T10", "2026-11-22T10:00",
 * "2026-11-22T10:00:05", or "20261122", "20261122T10", "20261122T1000",
 * "20261122T100005" (the time in the format of the date); fractional
 * seconds after '.' or ','; a zone of "Z", "+hh:mm", "+hhmm" or "+hh" (no
 * zone means UTC). Returns 0 or OPUS_ERR_INVAL; rejects trailing garbage,
 * out-of-range fields and instants before 1970 or after 9999.
 */
int time_parse(const char *s, int64_t *ms_out) OPUS_WUR;
/* What time_parse() accepts, for error messages (one line, no newline). */
#define TIME_PARSE_FORMS                                                                           \
	"accepted: ISO 8601 YYYY[-MM[-DD[Thh[:mm[:ss[.fff]]]]]] or YYYYMMDD[Thh[mm[ss[.fff]]]], "  \
	"then Z, +hh:mm or nothing for UTC"

/* Fills out with 2*nbytes lowercase hex digits of cryptographic randomness
 * plus NUL (out must hold 2*nbytes+1). Aborts if the kernel gives none. */
void rand_hex(char *out, size_t nbytes);

/*
 * sha256 (hash.c), always as 64 lowercase hex digits and a NUL. A stream is
 * fed while bytes pass (uploads, downloads, copies); sha256_end() and
 * sha256_abandon() free it. sha256_file() reads a whole file (no symlink at
 * the last component): for workers, never a request thread. OPUS_ERR_IO.
 */
struct sha256_stream;
struct sha256_stream *sha256_begin(void);
void sha256_add(struct sha256_stream *h, const void *buf, size_t len);
void sha256_end(struct sha256_stream *h, char hex_out[65]);
void sha256_abandon(struct sha256_stream *h); /* NULL ok */
void sha256_hex(const void *buf, size_t len, char hex_out[65]);
int sha256_file(const char *path, char hex_out[65], int64_t *size_out) OPUS_WUR;
/* The 32 bytes of a 64-hex-digit sha256 as base64 (44 characters + NUL), as
 * Repr-Digest and CSP hashes write them; OPUS_ERR_INVAL for other text. */
int sha256_base64(const char *hex, char out[45]) OPUS_WUR;

/* True when s is 1..max_len characters of [A-Za-z0-9_-]. */
bool name_is_safe(const char *s, size_t max_len);
/* True when s is a shell/environment identifier [A-Za-z_][A-Za-z0-9_]*. */
bool name_is_identifier(const char *s);
/* The length (1..4) of the valid UTF-8 sequence at s (at most n bytes), or 0
 * when it is not one (overlong, surrogate, past U+10FFFF, cut short). */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* utf8_seq_len, and the character's code point into *cp. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* True when s[0..n) is UTF-8 throughout. */
bool utf8_valid(const char *s, size_t n);

/* Parses a whole string as a decimal int64 (optional sign, no spaces). */
int parse_int64(const char *s, int64_t *out) OPUS_WUR;

/* Files. */
int mkdir_p(const char *path, unsigned mode) OPUS_WUR;
/* Removes a directory tree (does not follow symlinks). 0 if it did not exist. */
int rm_rf(const char *path);
/* Reads a whole file (capped at max bytes; OPUS_ERR_TOOBIG past it). */
int file_read_all(const char *path, size_t max, char **buf_out, size_t *len_out) OPUS_WUR;
/* Writes a file atomically (tmp + rename) with the given mode. */
int file_write_all(const char *path, const void *buf, size_t len, unsigned mode) OPUS_WUR;

#endif
