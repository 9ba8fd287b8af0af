/*
 * prov_phases.c: where the time of one ProvSAP answer goes, outside the
 * daemon and its HTTP: the store's lineage read, the graph build, the
 * writer and the release, each timed over N runs (p50 and min, ms).
 * A developer's probe, not part of `make bench`:
 *   make FLAVOUR=rel build && bench/prov_phases.sh build/rel
 *   build/rel/prov_phases DATA_DIR JDL_DIR ID FORMAT [N]
 * FORMAT: PROV-JSON, PROV-XML, PROV-N, DOT, PROV-SVG. DATA_DIR holds opusd.db
 * (a copy: this opens it as the daemon does) and jdl-versions/.
 */
#include "prov/prov-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum { PH_LINEAGE, PH_BUILD, PH_WRITE, PH_RELEASE, PH_TOTAL, PH_N };
static const char *const ph_names[PH_N] = {"lineage", "build", "write", "release", "total"};

static struct jdl *registry_version(void *ctx, const char *jobdef, const char *hash)
{
	return jobdef ? jdl_registry_get_version(ctx, jobdef, hash) : NULL;
}

static int one_run(struct prov *p, const struct prov_query *q, double *t, size_t *bytes)
{
	struct store_lineage lin = {0};
	struct prov_source src = {.start_id = q->ids[0], .lin = &lin};
	struct prov_build b = {.q = q,
			       .admin = true,
			       .base_url = p->base_url,
			       .version = p->version,
			       .jdl_of = registry_version,
			       .ctx = p->reg};
	struct store_lineage_query lq = {.activity_ids = (const char *const *)q->ids,
					 .nactivity_ids = 1,
					 .max_hops = q->depth / 2,
					 .max_activities = p->max_activities};
	struct prov_graph g;
	struct sbuf out = SBUF_INIT;
	double t0 = now_ms(), t1, t2, t3;
	int rc = store_lineage_get(p->st, &lq, &lin);

	t1 = now_ms();
	if (rc == 0)
		rc = prov_graph_build(&b, &src, 1, &g);
	t2 = now_ms();
	if (rc == 0) {
		switch (q->format) {
		case PROV_FMT_JSON:
			rc = prov_json_write(&g, p->base_url, &out);
			break;
		case PROV_FMT_XML:
			rc = prov_xml_write(&g, p->base_url, &out);
			break;
		case PROV_FMT_N:
			rc = prov_n_write(&g, p->base_url, &out);
			break;
		case PROV_FMT_DOT:
			rc = prov_dot_write(&g, &out);
			break;
		default:
			rc = prov_svg_render(p, &g, "svg", &out);
			break;
		}
	}
	t3 = now_ms();
	if (rc == 0)
		prov_graph_release(&g);
	store_lineage_release(&lin);
	*bytes = out.len;
	sbuf_release(&out);
	t[PH_LINEAGE] = t1 - t0;
	t[PH_BUILD] = t2 - t1;
	t[PH_WRITE] = t3 - t2;
	t[PH_RELEASE] = now_ms() - t3;
	t[PH_TOTAL] = now_ms() - t0;
	return rc;
}

int main(int argc, char **argv)
{
	const char *names[3] = {"ID", "DEPTH", "RESPONSEFORMAT"};
	const char *values[3];
	int n = argc > 5 ? atoi(argv[5]) : 11;
	char *dbpath, *versions, *why = NULL;
	struct store *st = NULL;
	struct prov *p = NULL;
	struct prov_query q;
	double *t;
	size_t bytes = 0;

	if (argc < 5 || n < 1) {
		fprintf(stderr, "usage: %s DATA_DIR JDL_DIR ID FORMAT [N]\n", argv[0]);
		return 2;
	}
	values[0] = argv[3];
	values[1] = "ALL";
	values[2] = argv[4];
	dbpath = xasprintf("%s/opusd.db", argv[1]);
	versions = xasprintf("%s/jdl-versions", argv[1]);
	struct store_config sc = {.backend = "sqlite", .path = dbpath};
	struct jdl_registry *reg = jdl_registry_new(argv[2], versions);
	(void)jdl_registry_load(reg);
	struct prov_config pc = {.data_dir = argv[1],
				 .base_url = "http://127.0.0.1:8080",
				 .version = "bench",
				 .max_depth = 2010,
				 .max_activities = 10000};
	if (store_open(&sc, &st) < 0 || prov_open(&pc, st, reg, &p) < 0 ||
	    prov_query_parse(p, names, values, 3, NULL, &q, &why) < 0) {
		fprintf(stderr, "prov_phases: cannot open or parse: %s\n", why ? why : "");
		return 1;
	}
	t = xcalloc((size_t)n * PH_N, sizeof(*t));
	for (int i = 0; i < n; i++) {
		int rc = one_run(p, &q, &t[(size_t)i * PH_N], &bytes);
		if (rc < 0) {
			fprintf(stderr, "prov_phases: %s\n", opus_strerror(rc));
			return 1;
		}
	}
	printf("%zu bytes, %d runs\n", bytes, n);
	for (int k = 0; k < PH_N; k++) {
		double *v = xcalloc((size_t)n, sizeof(*v));
		for (int i = 0; i < n; i++)
			v[i] = t[(size_t)i * PH_N + k];
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
		printf("  %-8s p50 %8.2f ms  min %8.2f ms\n", ph_names[k], v[n / 2], v[0]);
		free(v);
	}
	free(t);
	prov_query_release(&q);
	prov_close(p);
	store_close(st);
	free(dbpath);
	free(versions);
	return 0;
}
