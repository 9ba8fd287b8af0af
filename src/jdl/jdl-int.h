/*
 * jdl-int: what the reader (jdl_parse.c) and the rules (jdl_check.c) share:
 * the load-time validation of a freshly read description and the destructor
 * used when a read fails half-way.
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

#endif
