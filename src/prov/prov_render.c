/*
 * prov_render.c: prov_render (prov.h), a ProvSAP answer: one lineage per
 * start id from the store (a bounded number of queries each, whatever the
 * chain's length), merged into one graph, written in the format asked.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *ctype;
	const char *gv_format; /* drawn by graphviz, or NULL */
} format_info[] = {
    [PROV_FMT_SVG] = {"image/svg+xml", "svg"},
    [PROV_FMT_JSON] = {"application/json", NULL},
    [PROV_FMT_XML] = {"application/xml; charset=utf-8", NULL},
    [PROV_FMT_N] = {"text/provenance-notation; charset=utf-8", NULL},
    [PROV_FMT_PNG] = {"image/png", "png"},
    [PROV_FMT_DOT] = {"text/vnd.graphviz; charset=utf-8", NULL},
};

static struct jdl *registry_version(void *ctx, const char *jobdef, const char *hash)
{
	struct jdl_registry *reg = ctx;

	return reg && jobdef ? jdl_registry_get_version(reg, jobdef, hash) : NULL;
}

/* DEPTH in activity-to-activity hops: a job's neighbours are two steps
 * away (job, entity, job), an entity's generator or user one. */
static int lineage_of(struct prov *p, const struct prov_query *q, const char *id,
		      struct store_lineage *out)
{
	const char *ids[1] = {id};
	bool entity = store_entity_id_is_valid(id);
	struct store_lineage_query lq = {
	    .activity_ids = entity ? NULL : ids,
	    .nactivity_ids = entity ? 0 : 1,
	    .entity_ids = entity ? ids : NULL,
	    .nentity_ids = entity ? 1 : 0,
	    .forward = q->forward,
	    .max_hops = entity ? (q->depth + 1) / 2 : q->depth / 2,
	    .max_activities = p->max_activities,
	};

	return store_lineage_get(p->st, &lq, out);
}

static int write_format(struct prov *p, const struct prov_graph *g, enum prov_format f,
			struct sbuf *out)
{
	switch (f) {
	case PROV_FMT_JSON:
		return prov_json_write(g, p->base_url, out);
	case PROV_FMT_XML:
		return prov_xml_write(g, p->base_url, out);
	case PROV_FMT_N:
		return prov_n_write(g, p->base_url, out);
	case PROV_FMT_DOT:
		return prov_dot_write(g, out);
	case PROV_FMT_SVG:
	case PROV_FMT_PNG:
		break;
	}
	return prov_svg_render(p, g, format_info[f].gv_format, out);
}

int prov_render(struct prov *p, const struct prov_query *q, const char *user, bool admin,
		struct sbuf *out, const char **ctype_out)
{
	struct store_lineage *lins = xcalloc(q->nids ? q->nids : 1, sizeof(*lins));
	struct prov_source *src = xcalloc(q->nids ? q->nids : 1, sizeof(*src));
	struct prov_build b = {.q = q,
			       .user = user,
			       .admin = admin,
			       .base_url = p->base_url,
			       .version = p->version,
			       .jdl_of = registry_version,
			       .ctx = p->reg};
	struct prov_graph g;
	size_t n = 0;
	int rc = 0;

	for (; n < q->nids && rc == 0; n++) {
		rc = lineage_of(p, q, q->ids[n], &lins[n]);
		src[n] = (struct prov_source){.start_id = q->ids[n], .lin = &lins[n]};
	}
	if (rc == 0)
		rc = prov_graph_build(&b, src, n, &g);
	if (rc == 0) {
		rc = write_format(p, &g, q->format, out);
		prov_graph_release(&g);
	}
	for (size_t i = 0; i < n; i++)
		store_lineage_release(&lins[i]);
	free(lins);
	free(src);
	*ctype_out = rc == 0 ? format_info[q->format].ctype : NULL;
	return rc;
}
