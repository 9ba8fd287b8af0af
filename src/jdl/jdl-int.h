/*
 * jdl-int: what the readers (jdl_parse.c for the VOTable, jdl_parse_json.c
 * for the JSON shape) and the rules (jdl_check.c) share: the load-time
 * validation of a freshly read description, the destructor used when a read
 * fails half-way, and the hash a description is known by.
 *
 * Threading: pure functions on a jdl that no other thread can see yet.
 * Ownership: jdl_validate() returns a malloc'd message the caller frees.
 * Included by: the .c files of src/jdl only.
 */
#ifndef OPUS_JDL_INT_H
#define OPUS_JDL_INT_H

#include "jdl/jdl.h"

/* Largest description file or buffer accepted, in bytes. */
#define JDL_DOC_MAX (1024 * 1024)
/* Largest char or anyURI value: one environment string must stay well under
 * the kernel's MAX_ARG_STRLEN (128 KiB) for execve() to accept it. */
#define JDL_VALUE_MAX (64 * 1024)

/*
 * Applies the load-time rules (see jdl.h) to a description the reader just
 * filled in. Returns NULL when it is acceptable, else a message naming the
 * element and the problem.
 */
char *jdl_validate(const struct jdl *j);

/* Frees a description regardless of its reference count. NULL ok. */
void jdl_free(struct jdl *j);
/* The one exit of both parsers: on success (ret 0) j gets its reference and
 * goes to *out; else it is freed. err goes to *err_out (or is freed). */
int jdl_parse_end(struct jdl *j, int ret, char *err, struct jdl **out, char **err_out);

/* The sha256 of buf as 64 lowercase hex digits and a NUL, into out: the
 * hash field of a description (jdl_parse.c). */
void jdl_hash_hex(const char *buf, size_t len, char out[65]);

#endif
