/*
 * test_prov_draw.c: the pieces that make large ProvSAP answers fast: the
 * summarised drawing of a graph past PROV_DRAW_DOT_MAX elements
 * (prov_draw.c: well-formed SVG, every job and file with its link, what is
 * left out, the layout's direction, cycles), and the graph's arena, index
 * and number and time formatting (prov_graph.c), checked against the
 * library functions they stand in for.
 */
#include "check.h"
#include "prov/prov-int.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE "http://h:1"

static struct prov P = {.max_depth = 10, .base_url = BASE, .version = "9.9"};

static char *job_qname(int k)
{
	return xasprintf("opus_job:chain.%032x", k + 1);
}

static char *file_qname(int k, const char *what)
{
	return xasprintf("opus_store:e%s%029x", what, k + 1);
}

static void element(struct prov_graph *g, enum prov_kind kind, enum prov_style style,
		    const char *id, const char *label, const char *url)
{
	bool is_new;
	size_t at = prov_graph_element(g, kind, style, id, &is_new);

	prov_rec_attr(&g->recs[at], "prov:label", PROV_V_STRING, label);
	if (url)
		g->recs[at].url = xstrdup(url);
}

static void relation(struct prov_graph *g, enum prov_kind kind, const char *a, const char *b,
		     const char *role)
{
	bool is_new;
	size_t at = prov_graph_relation(g, kind, a, b, NULL, role, &is_new);

	if (role)
		prov_rec_attr(&g->recs[at], "prov:role", PROV_V_STRING, role);
}

/*
 * A chain of n jobs, the newest first as the builder adds them: job k used
 * the out file of job k + 1 and generated its own out and log files; each
 * job has a parameter (an element the summary leaves out). cycle: the
 * oldest job also used the newest job's out file.
 */
static void chain_graph(struct prov_graph *g, int n, const char *gd, bool cycle)
{
	memset(g, 0, sizeof(*g));
	g->attributes = true;
	memcpy(g->graph_dir, gd, 3);
	for (int k = 0; k < n; k++) {
		char *job = job_qname(k), *out = file_qname(k, "aaa"), *log = file_qname(k, "bbb");
		char *param = xasprintf("%s.param.label", job);
		char *url = xasprintf(BASE "/rest/chain/%032x", k + 1);
		char *ourl = xasprintf(BASE "/store/?ID=%s", out + strlen("opus_store:"));
		element(g, PROV_K_ACTIVITY, PROV_S_JOB, job, "chain", url);
		element(g, PROV_K_ENTITY, PROV_S_FILE, out, "out <&> \"x\".txt", ourl);
		element(g, PROV_K_ENTITY, PROV_S_FILE, log, "stdout", NULL);
		element(g, PROV_K_ENTITY, PROV_S_PARAMETER, param, "label = 1", NULL);
		relation(g, PROV_K_GENERATED, out, job, "out");
		relation(g, PROV_K_GENERATED, log, job, "stdout");
		relation(g, PROV_K_INFLUENCED, job, param, NULL);
		free(job), free(out), free(log), free(param), free(url), free(ourl);
	}
	for (int k = 0; k + 1 < n; k++) {
		char *job = job_qname(k), *prev = file_qname(k + 1, "aaa");
		relation(g, PROV_K_USED, job, prev, "data");
		free(job), free(prev);
	}
	if (cycle) {
		char *oldest = job_qname(n - 1), *newest = file_qname(0, "aaa");
		relation(g, PROV_K_USED, oldest, newest, "data");
		free(oldest), free(newest);
	}
}

static xmlDocPtr draw(const struct prov_graph *g, struct sbuf *svg)
{
	CHECK(prov_svg_render(&P, g, "svg", svg) == 0);
	return xmlReadMemory(svg->buf, (int)svg->len, "p.svg", NULL, XML_PARSE_NONET);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *c = hay; (c = strstr(c, needle)); c++)
		n++;
	return n;
}

/* The x (or y) of the box drawn for a job, from the SVG text. */
static double job_at(const char *svg, int k, const char *coord)
{
	char *title = job_qname(k);
	const char *c = strstr(svg, title);
	char key[8];
	double v = -1;

	snprintf(key, sizeof(key), " %s=\"", coord);
	c = c ? strstr(c, "<rect") : NULL;
	c = c ? strstr(c, key) : NULL;
	if (c)
		v = strtod(c + strlen(key), NULL);
	free(title);
	return v;
}

/* Past PROV_DRAW_DOT_MAX elements: jobs and files drawn, with their links,
 * the newest job first (left), parameters left out; PNG refused. */
TEST(summary_of_a_long_chain)
{
	const int n = PROV_DRAW_DOT_MAX / 4 + 50; /* 4 elements a job */
	struct prov_graph g;
	struct sbuf svg = SBUF_INIT, png = SBUF_INIT;
	xmlDocPtr d;

	chain_graph(&g, n, "LR", false);
	d = draw(&g, &svg);
	CHECK(d && !strcmp((const char *)xmlDocGetRootElement(d)->name, "svg"));
	xmlFreeDoc(d);
	CHECK(count_of(sbuf_str(&svg), "<g class=\"node\">") == (size_t)(3 * n));
	CHECK(count_of(sbuf_str(&svg), "<g class=\"edge\">") == (size_t)(2 * n + n - 1));
	CHECK(strstr(sbuf_str(&svg),
		     "xlink:href=\"" BASE "/rest/chain/00000000000000000000000000000001\""));
	CHECK(strstr(sbuf_str(&svg), "/store/?ID=eaaa"));
	CHECK(strstr(sbuf_str(&svg), "out &lt;&amp;&gt; &quot;x&quot;.txt")); /* escaped */
	CHECK(!strstr(sbuf_str(&svg), ".param.label</title>"));		      /* left out */
	CHECK(strstr(sbuf_str(&svg), "parameters, agents and descriptions left out"));
	CHECK(job_at(sbuf_str(&svg), 0, "x") < job_at(sbuf_str(&svg), 1, "x"));
	CHECK(job_at(sbuf_str(&svg), n - 2, "x") < job_at(sbuf_str(&svg), n - 1, "x"));
	CHECK(prov_svg_render(&P, &g, "png", &png) == OPUS_ERR_TOOBIG && png.len == 0);
	sbuf_release(&svg);
	prov_graph_release(&g);
}

/* GD=TB: the chain is a column, the newest job on top; BT reverses it. */
TEST(summary_directions)
{
	const int n = PROV_DRAW_DOT_MAX / 4 + 10;
	struct prov_graph g;
	struct sbuf svg = SBUF_INIT;
	xmlDocPtr d;

	chain_graph(&g, n, "TB", false);
	d = draw(&g, &svg);
	CHECK(d != NULL);
	xmlFreeDoc(d);
	CHECK(job_at(sbuf_str(&svg), 0, "y") < job_at(sbuf_str(&svg), 1, "y"));
	CHECK(job_at(sbuf_str(&svg), 0, "x") == job_at(sbuf_str(&svg), 1, "x"));
	sbuf_release(&svg);
	prov_graph_release(&g);
	chain_graph(&g, n, "BT", false);
	d = draw(&g, &svg);
	CHECK(d != NULL);
	xmlFreeDoc(d);
	CHECK(job_at(sbuf_str(&svg), 0, "y") > job_at(sbuf_str(&svg), 1, "y"));
	sbuf_release(&svg);
	prov_graph_release(&g);
}

/* A cycle (provenance has none, the graph does not promise it) is drawn. */
TEST(summary_with_a_cycle)
{
	const int n = PROV_DRAW_DOT_MAX / 4 + 10;
	struct prov_graph g;
	struct sbuf svg = SBUF_INIT;
	xmlDocPtr d;

	chain_graph(&g, n, "LR", true);
	d = draw(&g, &svg);
	CHECK(d != NULL);
	xmlFreeDoc(d);
	CHECK(count_of(sbuf_str(&svg), "<g class=\"node\">") == (size_t)(3 * n));
	sbuf_release(&svg);
	prov_graph_release(&g);
}

/* A label is cut at 40 characters, never inside a UTF-8 sequence. */
TEST(summary_cuts_labels_at_characters)
{
	const int n = PROV_DRAW_DOT_MAX / 4 + 10;
	struct prov_graph g;
	struct sbuf svg = SBUF_INIT, label = SBUF_INIT;
	xmlDocPtr d;
	bool is_new;

	chain_graph(&g, n, "LR", false);
	for (int i = 0; i < 50; i++)
		sbuf_adds(&label, "\xc3\xa9"); /* é */
	size_t at = prov_graph_element(&g, PROV_K_ENTITY, PROV_S_FILE, "opus_store:eutf8", &is_new);
	prov_rec_attr(&g.recs[at], "prov:label", PROV_V_STRING, sbuf_str(&label));
	d = draw(&g, &svg);
	CHECK(d != NULL); /* libxml2 refuses a cut sequence */
	xmlFreeDoc(d);
	sbuf_reset(&label);
	for (int i = 0; i < 40; i++)
		sbuf_adds(&label, "\xc3\xa9");
	CHECK(strstr(sbuf_str(&svg), sbuf_str(&label)));
	sbuf_adds(&label, "\xc3\xa9");
	CHECK(!strstr(sbuf_str(&svg), sbuf_str(&label)));
	sbuf_release(&label);
	sbuf_release(&svg);
	prov_graph_release(&g);
}

/* prov_time_format writes what time_format does. */
TEST(time_format_same_as_base)
{
	static const int64_t at[] = {0,
				     1,
				     999,
				     1000,
				     86399999,
				     86400000,
				     951782400000,  /* 2000-02-29 */
				     951868800000,  /* 2000-03-01 */
				     4107542400000, /* 2100-03-01 */
				     1700000001000, /* 2023-11-14 */
				     1709164800123, /* 2024-02-29 */
				     253402300799999 /* 9999-12-31T23:59:59.999Z */};
	char a[TIME_STR_MAX], b[TIME_STR_MAX];
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(at); i++) {
		time_format(at[i], a);
		prov_time_format(at[i], b);
		CHECK_STR(b, a);
	}
	for (int i = 0; i < 100000; i++) { /* xorshift: times to 9999 */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t ms = (int64_t)(x % 253402300800000ULL);
		time_format(ms, a);
		prov_time_format(ms, b);
		if (strcmp(a, b)) {
			CHECK_STR(b, a);
			break;
		}
	}
}

TEST(int_format_same_as_printf)
{
	static const int64_t v[] = {0, 1, -1, 9, 10, -10, 1234567890123LL, INT64_MAX, INT64_MIN};
	char a[PROV_INT_MAX], b[32];

	for (size_t i = 0; i < OPUS_ARRAY_LEN(v); i++) {
		size_t n = prov_int_format(v[i], a);
		snprintf(b, sizeof(b), "%lld", (long long)v[i]);
		CHECK_STR(a, b);
		CHECK(n == strlen(b));
	}
}

/* The arena: aligned blocks, small and large, all kept until freed. */
TEST(arena_blocks)
{
	struct prov_arena *a = prov_arena_new();
	char *small[1000];

	for (int i = 0; i < 1000; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "s%d", i);
		small[i] = prov_arena_strdup(a, buf);
		CHECK(((uintptr_t)prov_arena_alloc(a, 3) % _Alignof(max_align_t)) == 0);
	}
	char *big = prov_arena_alloc(a, 1 << 20);
	memset(big, 'x', 1 << 20);
	char *after = prov_arena_strndup(a, "abcdef", 3);
	CHECK_STR(after, "abc");
	for (int i = 0; i < 1000; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "s%d", i);
		CHECK_STR(small[i], buf);
	}
	CHECK(prov_arena_strdup(a, NULL) == NULL);
	prov_arena_free(a);
	prov_arena_free(NULL);
}

/* The index: many keys that differ in their last characters, through
 * growth and a reservation. */
TEST(index_many_keys)
{
	struct prov_index *ix = prov_index_new();
	struct prov_graph g = {0};
	size_t v;

	for (size_t i = 0; i < 50000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "opus_job:chain.%032zx", i);
		CHECK(prov_index_put(ix, key, i));
		CHECK(!prov_index_put(ix, key, i + 1)); /* was there: kept */
	}
	for (size_t i = 0; i < 50000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "opus_job:chain.%032zx", i);
		CHECK(prov_index_get(ix, key, &v) && v == i);
	}
	CHECK(!prov_index_get(ix, "opus_job:chain.x", &v));
	prov_index_free(ix);
	prov_graph_reserve(&g, 3000);
	for (int k = 0; k < 1000; k++) {
		char *job = job_qname(k);
		element(&g, PROV_K_ACTIVITY, PROV_S_JOB, job, "chain", NULL);
		relation(&g, PROV_K_ASSOCIATED, job, "opus:opusd", "executor");
		relation(&g, PROV_K_ASSOCIATED, job, "opus:opusd", "executor"); /* the same */
		free(job);
	}
	CHECK(g.nrecs == 2000);
	CHECK(prov_graph_find(&g, "opus_job:chain.00000000000000000000000000000001"));
	prov_graph_release(&g);
}

int main(void)
{
	RUN(summary_of_a_long_chain);
	RUN(summary_directions);
	RUN(summary_with_a_cycle);
	RUN(summary_cuts_labels_at_characters);
	RUN(time_format_same_as_base);
	RUN(int_format_same_as_printf);
	RUN(arena_blocks);
	RUN(index_many_keys);
	xmlCleanupParser();
	return CHECK_DONE();
}
