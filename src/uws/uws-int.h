/*
 * uws-int: what the XML and JSON renderers share, so that both views of a
 * job say the same thing (same hrefs, same cleaned text, same decision on
 * which parameters are given by reference).
 *
 * Threading: pure functions; thread-safe.
 * Ownership: uws_text_clean() returns a string the caller frees.
 * Included by: the .c files of src/uws only.
 */
#ifndef OPUS_UWS_INT_H
#define OPUS_UWS_INT_H

#include "uws/uws.h"

/* True when s is valid UTF-8 made only of XML 1.0 characters (no control
 * characters but tab, LF, CR; no surrogates, no U+FFFE/U+FFFF). */
bool uws_text_ok(const char *s);
/* A copy of s with every byte or character uws_text_ok() refuses replaced
 * by U+FFFD. NULL in, NULL out; caller frees. */
char *uws_text_clean(const char *s);
/* NULL and "" both mean "no value" (xsi:nil, omitted, JSON null). */
static inline bool uws_str_set(const char *s)
{
	return s && *s;
}
/* A parameter is rendered by reference when it is an uploaded file, or when
 * its value cannot be written as XML text (UWS 1.1 §Parameter: "If this
 * cannot be achieved then the parameter value must be returned by
 * reference"); its value is then served at parameters/{name}. */
static inline bool uws_param_by_ref(const struct uws_param *p)
{
	return p->by_ref || (p->value && !uws_text_ok(p->value));
}

/* Calls fn(ctx, id, mime, href) for each provenance document the job's
 * results list shows (uws_prov_links_shown); href is borrowed for the call. */
void uws_prov_links_each(const struct uws_render *r, const struct uws_job *job,
			 void (*fn)(void *ctx, const char *id, const char *mime, const char *href),
			 void *ctx);

#endif
