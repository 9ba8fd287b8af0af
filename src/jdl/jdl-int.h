/*
 * jdl-int: what the readers (jdl_parse.c for the VOTable, jdl_parse_json.c
 * for the JSON shape, jdl_parse_opus_json.c and jdl_parse_wadl.c for OPUS's
 * other formats) and the rules (jdl_check.c) share: the load-time
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

#include <libxml/tree.h>

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

/* Reads buf as XML without network, entities or DOCTYPE (jdl_parse.c);
 * NULL with *err_out set (caller frees) when it is not well-formed. The
 * caller frees the tree with xmlFreeDoc(). */
xmlDoc *jdl_xml_read(const char *buf, size_t len, char **err_out);

/* Makes j's source the VOTable jdl_write_xml() writes of it, and its hash
 * that of this VOTable: for descriptions that came in another shape or
 * whose script came from elsewhere (jdl_write.c). NULL, or a message. */
char *jdl_canonicalise(struct jdl *j);

/* The first character XML 1.0 cannot hold (C0 controls but TAB, LF, CR;
 * U+FFFE, U+FFFF) in valid UTF-8 s, or 0 (jdl_check.c). */
unsigned jdl_non_xml_char(const char *s, size_t len);
/* NULL when s (len bytes) is UTF-8 that XML can carry, else a message
 * naming `what` and the problem (jdl_check.c). */
char *jdl_check_text(const char *what, const char *s, size_t len);

/*
 * OPUS's JSON and WADL (jdl_opus.c). Each returns NULL or a message that
 * starts with `where` (such as `parameters.n.required`).
 *  - datatype: p's datatype, xtype, arraysize and type from OPUS's name of a
 *    type ("xs:string", "xs:double", "file"; a VOTable datatype is taken as
 *    is; NULL is char, as OPUS reads it);
 *  - required: from "true"/"false" in any case ("True" is Python's), NULL
 *    meaning true; set after the default (a default makes it optional);
 *  - options: the list split at sep into p's OPTIONs (no error);
 *  - seconds: a non-negative integer from text, NULL leaving *out alone;
 *  - name: j's name, the file's (expected) or the document's (declared),
 *    which must agree when both are given;
 *  - finish: the script from outside when j has none, the load-time rules,
 *    and the canonical source (jdl_canonicalise()).
 */
char *jdl_opus_datatype(struct jdl_param *p, const char *opus_type, const char *where);
char *jdl_opus_required(struct jdl_param *p, const char *value, const char *where);
void jdl_opus_options(struct jdl_param *p, const char *list, char sep);
char *jdl_opus_seconds(const char *value, const char *where, int64_t *out);
char *jdl_opus_name(struct jdl *j, const char *declared, const char *expected);
char *jdl_opus_finish(struct jdl *j, const char *script);

/* The sha256 of buf as 64 lowercase hex digits and a NUL, into out: the
 * hash field of a description (jdl_parse.c). */
void jdl_hash_hex(const char *buf, size_t len, char out[65]);

#endif
