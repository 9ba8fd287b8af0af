/*
 * prov.c: the handle of the prov module (prov.h): configuration, the
 * store and registry it reads, the locks of the entity store and of
 * graphviz.
 */
#include "prov/prov-int.h"

#include <stdlib.h>
#include <string.h>

int prov_open(const struct prov_config *cfg, struct store *st, struct jdl_registry *reg,
	      struct prov **out)
{
	struct prov *p = xcalloc(1, sizeof(*p));

	p->data_dir = xstrdup(cfg->data_dir);
	p->store_dir = xasprintf("%s/store/sha256", cfg->data_dir);
	p->base_url = xstrdup(cfg->base_url ? cfg->base_url : "");
	p->version = xstrdup(cfg->version ? cfg->version : "");
	p->max_depth = cfg->max_depth > 0 ? cfg->max_depth : 1;
	p->max_activities = cfg->max_activities ? cfg->max_activities : 10000;
	p->st = st;
	p->reg = reg;
	for (size_t i = 0; i < PROV_BLOB_STRIPES; i++)
		pthread_mutex_init(&p->blob_locks[i], NULL);
	pthread_mutex_init(&p->gvc_lock, NULL);
	if (mkdir_p(p->store_dir, 0755) < 0) {
		log_error("cannot create the entity store %s", p->store_dir);
		prov_close(p);
		*out = NULL;
		return OPUS_ERR_IO;
	}
	*out = p;
	return 0;
}

void prov_close(struct prov *p)
{
	if (!p)
		return;
	prov_svg_close(p);
	for (size_t i = 0; i < PROV_BLOB_STRIPES; i++)
		pthread_mutex_destroy(&p->blob_locks[i]);
	pthread_mutex_destroy(&p->gvc_lock);
	free(p->data_dir);
	free(p->store_dir);
	free(p->base_url);
	free(p->version);
	free(p);
}

pthread_mutex_t *prov_blob_lock(struct prov *p, const char *sha256)
{
	unsigned h = 0;

	for (int i = 0; i < 2 && sha256[i]; i++)
		h = h * 16 + (unsigned)(sha256[i] <= '9' ? sha256[i] - '0' : sha256[i] - 'a' + 10);
	return &p->blob_locks[h % PROV_BLOB_STRIPES];
}
