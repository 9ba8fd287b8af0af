/*
 * prov_svg.c: SVG and PNG drawn in process by graphviz (libgvc) from the
 * DOT text of prov_dot.c. libgvc and libcgraph keep global state and are
 * not thread-safe: everything from agmemread to agclose runs under
 * p->gvc_lock, with one GVC_t made at the first drawing and freed by
 * prov_close. A graph past PROV_DRAW_DOT_MAX elements is drawn summarised
 * by prov_draw.c (SVG only: graphviz's layout grows faster than linearly),
 * one past PROV_DRAW_MAX_NODES is refused; PROV-JSON serves any size.
 */
#include "prov/prov-int.h"

#include <gvc.h>
#include <stdlib.h>
#include <string.h>

static int layout_render(GVC_t *gvc, const char *dot, const char *format, struct sbuf *out)
{
	Agraph_t *ag = agmemread(dot);
	char *data = NULL;
	unsigned int len = 0;
	int rc = OPUS_ERR_INTERNAL;

	if (!ag) {
		log_error("provenance drawing: graphviz did not read the DOT text");
		return rc;
	}
	if (gvLayout(gvc, ag, "dot") == 0) {
		if (gvRenderData(gvc, ag, format, &data, &len) == 0) {
			sbuf_add(out, data, len);
			rc = out->err;
		} else {
			log_error("provenance drawing: graphviz cannot render %s", format);
		}
		gvFreeRenderData(data);
		gvFreeLayout(gvc, ag);
	} else {
		log_error("provenance drawing: graphviz layout failed");
	}
	agclose(ag);
	return rc;
}

int prov_svg_render(struct prov *p, const struct prov_graph *g, const char *format,
		    struct sbuf *out)
{
	struct sbuf dot = SBUF_INIT;
	size_t nodes = 0;
	int rc;

	for (size_t i = 0; i < g->nrecs; i++)
		nodes += g->recs[i].id != NULL;
	if (nodes > PROV_DRAW_MAX_NODES || (nodes > PROV_DRAW_DOT_MAX && strcmp(format, "svg")))
		return OPUS_ERR_TOOBIG;
	if (nodes > PROV_DRAW_DOT_MAX)
		return prov_draw_summary(g, out);
	rc = prov_dot_write(g, &dot);
	if (rc == 0) {
		pthread_mutex_lock(&p->gvc_lock);
		if (!p->gvc)
			p->gvc = gvContext();
		rc =
		    p->gvc ? layout_render(p->gvc, sbuf_str(&dot), format, out) : OPUS_ERR_INTERNAL;
		pthread_mutex_unlock(&p->gvc_lock);
	}
	sbuf_release(&dot);
	return rc;
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * LeakSanitizer's suppressions for the binaries that draw (the daemon and
 * the unit tests built with ASan): graphviz loads fontconfig's font cache
 * and a few tables of its own once per process and frees them never
 * (gvFreeContext does not call FcFini, which other users of fontconfig in
 * the process may still need). Only those libraries' allocations are
 * ignored; opusd's own are still checked.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\nleak:libgvc.so\nleak:libpango\nleak:libcairo.so\n"
	       "leak:libcgraph.so\n";
}
#endif

#if defined(__SANITIZE_THREAD__)
/*
 * ThreadSanitizer's, for the same binaries built with TSan: pango starts a
 * thread of its own to initialise fontconfig ("[pango] FcInit") and the
 * uninstrumented glib and fontconfig then share the cache with the drawing
 * thread under locks TSan does not see. Every call into graphviz is
 * serialised by gvc_lock, which TSan does check.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "called_from_lib:libfontconfig.so\ncalled_from_lib:libglib-2.0.so\n"
	       "race:libfontconfig.so\nrace:libglib-2.0.so\nrace:libpango\n";
}
#endif

void prov_svg_close(struct prov *p)
{
	if (p->gvc)
		gvFreeContext(p->gvc);
	p->gvc = NULL;
}
