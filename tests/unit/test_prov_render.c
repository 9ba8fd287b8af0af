/*
 * test_prov_render.c: prov_render end to end over a real store (SQLite in a
 * temporary directory): chains of jobs recorded with store_job_end and
 * store_usage_put, answered in every format, for their owner, another user
 * and an admin.
 */
#include "check.h"
#include "prov/prov-int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[64];

struct chain {
	char (*jobs)[UWS_ID_LEN + 1];
	char (*ents)[STORE_ENTITY_ID_LEN + 1];
	size_t n;
};

/* Ends a job COMPLETED with one result; its entity id into gen. */
static void end_job(struct store *st, struct uws_job *j, char gen[STORE_ENTITY_ID_LEN + 1])
{
	struct store_activity a = {0};
	struct store_param_rec params[2] = {{"x", "1", false}, {"y", "dflt", true}};
	struct store_entity g = {0};

	j->phase = UWS_COMPLETED;
	j->start_time = j->creation_time + 10;
	j->end_time = j->creation_time + 20;
	j->metrics = (struct uws_metrics){true, 10, 7, 2048, 0};
	store_entity_id_new(g.id);
	memset(g.sha256, 'a', 64);
	g.size = 5;
	g.file_name = "out.txt";
	g.role = "out";
	g.result_id = "out";
	g.owner = j->owner;
	g.creation_time = j->end_time;
	uws_job_add_result(j, "out", "out.txt", "text/plain", 5);
	j->results[0].entity_id = xstrdup(g.id);
	j->results[0].sha256 = xstrdup(g.sha256);
	memcpy(gen, g.id, sizeof(g.id));
	a.jobdef = j->jobdef;
	a.jdl_hash = "abcd";
	a.owner = j->owner;
	a.creation_time = j->creation_time;
	a.start_time = j->start_time;
	a.end_time = j->end_time;
	a.metrics = j->metrics;
	a.params = params;
	a.nparams = 2;
	CHECK(store_job_end(st, j, &a, &g, 1, UWS_PENDING) == 0);
}

/* n jobs of `owner`, each using the result of the one before. */
static void make_chain(struct store *st, const char *owner, size_t n, struct chain *c)
{
	c->jobs = xcalloc(n, sizeof(*c->jobs));
	c->ents = xcalloc(n, sizeof(*c->ents));
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		struct uws_job j = {0};
		rand_hex(j.id, UWS_ID_BYTES);
		j.jobdef = xstrdup("step");
		j.owner = xstrdup(owner);
		j.phase = UWS_PENDING;
		j.creation_time = time_now_ms();
		CHECK(store_job_create(st, &j) == 0);
		if (i)
			CHECK(store_usage_put(st, j.id, "in", 0, c->ents[i - 1]) == 0);
		end_job(st, &j, c->ents[i]);
		memcpy(c->jobs[i], j.id, sizeof(j.id));
		uws_job_release(&j);
	}
}

static void chain_free(struct chain *c)
{
	free(c->jobs);
	free(c->ents);
}

/* prov_render of a query string for user; the document in *out. */
static int render(struct prov *p, const char *args, const char *user, bool admin, struct sbuf *out,
		  const char **ctype)
{
	char *copy = xstrdup(args), *save = NULL, *why = NULL;
	const char *names[16], *values[16];
	size_t n = 0;
	struct prov_query q;
	int rc;

	for (char *t = strtok_r(copy, "&", &save); t && n < 16; t = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(t, '=');
		*eq = '\0';
		names[n] = t, values[n++] = eq + 1;
	}
	rc = prov_query_parse(p, names, values, n, NULL, &q, &why);
	CHECK(rc == 0);
	free(why);
	if (rc == 0) {
		rc = prov_render(p, &q, user, admin, out, ctype);
		prov_query_release(&q);
	}
	free(copy);
	return rc;
}

static size_t json_count(const char *doc, const char *kind)
{
	json_t *root = json_loads(doc, 0, NULL);
	size_t n = json_object_size(json_object_get(root, kind));

	CHECK(root != NULL);
	json_decref(root);
	return n;
}

TEST(every_format_and_who_sees_it)
{
	char *db = xasprintf("%s/a.db", tmp);
	struct store_config sc = {.backend = "sqlite", .path = db};
	struct prov_config pc = {.data_dir = tmp,
				 .base_url = "http://h:1",
				 .version = "1.2",
				 .max_depth = 50,
				 .max_activities = 1000};
	struct store *st = NULL;
	struct prov *p = NULL;
	struct chain c;
	struct sbuf out = SBUF_INIT;
	const char *ctype = NULL;
	char *args;

	CHECK(store_open(&sc, &st) == 0);
	CHECK(prov_open(&pc, st, NULL, &p) == 0);
	make_chain(st, "alice", 3, &c);

	args = xasprintf("ID=%s&DEPTH=ALL&RESPONSEFORMAT=PROV-JSON", c.jobs[2]);
	CHECK(render(p, args, "alice", false, &out, &ctype) == 0);
	CHECK_STR(ctype, "application/json");
	CHECK(json_count(sbuf_str(&out), "activity") == 3);
	CHECK(json_count(sbuf_str(&out), "wasInformedBy") == 2);
	CHECK(strstr(sbuf_str(&out), c.ents[0]) &&
	      strstr(sbuf_str(&out), "\"opus:isDefault\": true"));
	sbuf_reset(&out);
	CHECK(render(p, args, "bob", false, &out, &ctype) == OPUS_ERR_NOTFOUND);
	CHECK(render(p, args, NULL, false, &out, &ctype) == OPUS_ERR_NOTFOUND);
	CHECK(render(p, args, "boss", true, &out, &ctype) == 0);
	CHECK(json_count(sbuf_str(&out), "activity") == 3);
	sbuf_reset(&out);
	free(args);

	/* DEPTH=2 from the last job: it and the job before */
	args = xasprintf("ID=%s&DEPTH=2&RESPONSEFORMAT=JSON", c.jobs[2]);
	CHECK(render(p, args, "alice", false, &out, &ctype) == 0);
	CHECK(json_count(sbuf_str(&out), "activity") == 2);
	sbuf_reset(&out);
	free(args);

	/* From the first result, forwards: the job that used it */
	args = xasprintf("ID=%s&DEPTH=1&DIRECTION=FORTH&RESPONSEFORMAT=PROV-JSON", c.ents[0]);
	CHECK(render(p, args, "alice", false, &out, &ctype) == 0);
	CHECK(json_count(sbuf_str(&out), "activity") == 1 && strstr(sbuf_str(&out), c.jobs[1]));
	sbuf_reset(&out);
	free(args);

	/* an unknown id: the same answer as another's */
	CHECK(render(p, "ID=0123456789abcdef0123456789abcdef", "alice", false, &out, &ctype) ==
	      OPUS_ERR_NOTFOUND);
	CHECK(render(p, "ID=e0123456789abcdef0123456789abcdef", "alice", false, &out, &ctype) ==
	      OPUS_ERR_NOTFOUND);

	static const struct {
		const char *fmt, *ctype, *start;
	} fmts[] = {
	    {"PROV-XML", "application/xml; charset=utf-8", "<?xml"},
	    {"PROV-N", "text/provenance-notation; charset=utf-8", "document\n"},
	    {"DOT", "text/vnd.graphviz; charset=utf-8", "digraph provenance {"},
	    {"PROV-SVG", "image/svg+xml", "<?xml"},
	    {"PROV-PNG", "image/png", "\x89PNG"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(fmts); i++) {
		args = xasprintf("ID=%s&ID=%s&DEPTH=3&RESPONSEFORMAT=%s", c.jobs[2], c.ents[0],
				 fmts[i].fmt);
		sbuf_reset(&out);
		CHECK(render(p, args, "alice", false, &out, &ctype) == 0);
		CHECK_STR(ctype, fmts[i].ctype);
		CHECK(out.len > 4 && !memcmp(out.buf, fmts[i].start, strlen(fmts[i].start)));
		free(args);
	}
	sbuf_release(&out);
	chain_free(&c);
	prov_close(p);
	store_close(st);
	free(db);
}

/* A chain of 200 jobs, DEPTH=ALL in PROV-JSON: every job, in bounded time. */
TEST(long_chain)
{
	char *db = xasprintf("%s/b.db", tmp);
	struct store_config sc = {.backend = "sqlite", .path = db};
	struct prov_config pc = {.data_dir = tmp,
				 .base_url = "http://h:1",
				 .version = "1.2",
				 .max_depth = 1000,
				 .max_activities = 10000};
	struct store *st = NULL;
	struct prov *p = NULL;
	struct chain c;
	struct sbuf out = SBUF_INIT;
	const char *ctype = NULL;
	char *args;
	int64_t t0;

	CHECK(store_open(&sc, &st) == 0);
	CHECK(prov_open(&pc, st, NULL, &p) == 0);
	make_chain(st, "alice", 200, &c);
	args = xasprintf("ID=%s&DEPTH=ALL&RESPONSEFORMAT=PROV-JSON", c.jobs[199]);
	t0 = time_mono_ms();
	CHECK(render(p, args, "alice", false, &out, &ctype) == 0);
	printf("prov_render: 200-job chain DEPTH=ALL PROV-JSON in %lld ms, %zu bytes\n",
	       (long long)(time_mono_ms() - t0), out.len);
	CHECK(json_count(sbuf_str(&out), "activity") == 200);
	CHECK(json_count(sbuf_str(&out), "wasDerivedFrom") == 199);
	free(args);
	sbuf_release(&out);
	chain_free(&c);
	prov_close(p);
	store_close(st);
	free(db);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/opus-test-prov-%d", (int)getpid());
	rm_rf(tmp);
	CHECK(mkdir_p(tmp, 0700) == 0);
	RUN(every_format_and_who_sees_it);
	RUN(long_chain);
	rm_rf(tmp);
	return CHECK_DONE();
}
