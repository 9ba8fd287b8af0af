/* Unit tests of the entity store half of prov (prov_blob.c, prov_ingest.c)
 * against the real store (SQLite) in a temp dir. */
#include "base/base.h"
#include "check.h"
#include "jdl/jdl.h"
#include "prov/prov-int.h"
#include "store/store.h"
#include "uws/uws.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[PATH_MAX];
static char *data;
static struct store *st;
static struct jdl_registry *reg;
static struct prov *pv;

static const char *jdl_xml =
    "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" version=\"1.3\">\n"
    "<RESOURCE ID=\"gen\" name=\"gen\" type=\"meta\" utype=\"voprov:ActivityDescription\">\n"
    "<DESCRIPTION>test job</DESCRIPTION>\n"
    "<PARAM name=\"script\" value=\"true\" arraysize=\"*\" datatype=\"char\"/>\n"
    "<GROUP name=\"InputParams\">"
    "<PARAM name=\"text\" datatype=\"char\" arraysize=\"*\" value=\"Hello\"/>"
    "<PARAM name=\"n\" datatype=\"int\" value=\"3\"/>"
    "<PARAM name=\"flag\" datatype=\"char\" arraysize=\"*\" value=\"x\"/>"
    "</GROUP>\n"
    "<GROUP name=\"Used\"/>\n"
    "<GROUP name=\"Generated\">"
    "<GROUP name=\"output\" utype=\"voprov:WasGeneratedBy\">"
    "<PARAM name=\"default\" value=\"output.txt\" arraysize=\"*\" datatype=\"char\"/>"
    "<PARAM name=\"content_type\" value=\"text/plain\" arraysize=\"*\" datatype=\"char\"/>"
    "</GROUP>"
    "<GROUP name=\"images\" utype=\"voprov:WasGeneratedBy\">"
    "<PARAM name=\"default\" value=\"*.png\" arraysize=\"*\" datatype=\"char\"/>"
    "</GROUP></GROUP>\n"
    "</RESOURCE>\n</VOTABLE>\n";

/* A job row (PENDING) with a directory of its own. */
static void job_new(struct uws_job *job, const char *owner, char **dir_out)
{
	struct jdl *j = jdl_registry_get(reg, "gen");

	memset(job, 0, sizeof(*job));
	uws_id_new(job->id);
	job->jobdef = xstrdup("gen");
	job->owner = owner ? xstrdup(owner) : NULL;
	job->phase = UWS_PENDING;
	job->creation_time = time_now_ms();
	job->jdl_hash = xstrdup(j ? j->hash : "");
	jdl_unref(j);
	CHECK(store_job_create(st, job) == 0);
	*dir_out = xasprintf("%s/jobs/%s", data, job->id);
	CHECK(mkdir_p(*dir_out, 0750) == 0);
}

static char *write_in(const char *dir, const char *name, const char *bytes)
{
	char *path = xasprintf("%s/%s", dir, name);
	CHECK(file_write_all(path, bytes, strlen(bytes), 0640) == 0);
	return path;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static nlink_t links_of(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_nlink : 0;
}

TEST(blob_paths)
{
	const char *sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	char *path = prov_blob_path(pv, sha), *want = xasprintf("%s/store/sha256/2c/%s", data, sha);

	CHECK_STR(path, want);
	CHECK(prov_sha256_ok(sha));
	CHECK(!prov_sha256_ok("2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"));
	CHECK(!prov_sha256_ok("2cf24dba"));
	CHECK(!prov_sha256_ok(NULL));
	free(path);
	free(want);
}

/* An input becomes a link to its blob (0444); the same bytes of the same
 * owner in another job are recognised as the same entity and stored once;
 * another owner's are a different entity (never linked to the first's). */
TEST(inputs_are_stored_once_and_recognised)
{
	struct uws_job a, b, c;
	char *da, *db, *dc, *pa, *pb, *pc, *blob, sha[65];
	char ida[STORE_ENTITY_ID_LEN + 1], idb[STORE_ENTITY_ID_LEN + 1],
	    idc[STORE_ENTITY_ID_LEN + 1];
	struct store_entity e = {
	    .content_type = "text/plain", .source = "upload:in.txt", .owner = "alice"};
	struct store_entity got = {0};
	struct stat sb;

	job_new(&a, "alice", &da);
	job_new(&b, "alice", &db);
	job_new(&c, "bob", &dc);
	pa = write_in(da, "input", "the same bytes\n");
	pb = write_in(db, "input", "the same bytes\n");
	pc = write_in(dc, "input", "the same bytes\n");
	sha256_hex("the same bytes\n", 15, sha);
	blob = prov_blob_path(pv, sha);
	/* sha256 NULL: hashed here */
	CHECK(prov_input_add(pv, a.id, "input", 0, pa, NULL, &e, ida) == 0);
	CHECK(store_entity_id_is_valid(ida));
	CHECK(same_file(pa, blob));
	CHECK(stat(blob, &sb) == 0 && (sb.st_mode & 07777) == 0444);
	CHECK(store_entity_get(st, ida, &got) == 0);
	CHECK_STR(got.sha256, sha);
	CHECK(got.size == 15);
	CHECK_STR(got.source, "upload:in.txt");
	CHECK_STR(got.owner, "alice");
	CHECK(got.generated_by == NULL);
	store_entity_release(&got);
	/* the same owner: recognised, linked, stored once */
	CHECK(prov_input_add(pv, b.id, "input", 0, pb, sha, &e, idb) == 0);
	CHECK_STR(idb, ida);
	CHECK(same_file(pb, blob));
	CHECK(links_of(blob) == 3);
	/* another owner: an entity of its own */
	e.owner = "bob";
	CHECK(prov_input_add(pv, c.id, "input", 0, pc, sha, &e, idc) == 0);
	CHECK(strcmp(idc, ida) != 0);
	CHECK(store_entity_get(st, idc, &got) == 0);
	CHECK_STR(got.owner, "bob");
	store_entity_release(&got);
	free(pa);
	free(pb);
	free(pc);
	free(da);
	free(db);
	free(dc);
	free(blob);
	uws_job_release(&a);
	uws_job_release(&b);
	uws_job_release(&c);
}

/* A file the daemon cannot make the blob itself (another link to it exists)
 * is copied into the store, checked, and replaced by a link to the blob. */
TEST(input_with_other_links_is_copied)
{
	struct uws_job a;
	char *da, *pa, *other, *blob, sha[65], id[STORE_ENTITY_ID_LEN + 1];
	struct store_entity e = {.source = "https://example.org/x"};

	job_new(&a, NULL, &da);
	pa = write_in(da, "in", "linked elsewhere");
	other = xasprintf("%s/elsewhere", tmp);
	unlink(other);
	CHECK(link(pa, other) == 0);
	sha256_hex("linked elsewhere", 16, sha);
	CHECK(prov_input_add(pv, a.id, "in", 0, pa, sha, &e, id) == 0);
	blob = prov_blob_path(pv, sha);
	CHECK(same_file(pa, blob));
	CHECK(!same_file(other, blob)); /* the other file is untouched */
	CHECK(links_of(other) == 1);
	/* bytes that do not match the digest given are refused */
	free(pa);
	pa = write_in(da, "in2", "not what the digest says");
	unlink(other);
	CHECK(link(pa, other) == 0);
	CHECK(prov_input_add(pv, a.id, "in2", 0, pa,
			     "1111111111111111111111111111111111111111111111111111111111111111", &e,
			     id) != 0);
	free(blob);
	blob =
	    prov_blob_path(pv, "1111111111111111111111111111111111111111111111111111111111111111");
	CHECK(access(blob, F_OK) != 0);
	unlink(other);
	free(other);
	free(blob);
	free(pa);
	free(da);
	uws_job_release(&a);
}

/* Results are hashed, linked to their blobs and become generated entities
 * with their roles (a pattern's match: the pattern's Generated name). */
TEST(results_register)
{
	struct uws_job a;
	char *da, *po, *pp, *ps, *blob, want[65];
	struct store_entity *gen = NULL;
	size_t n = 0;

	job_new(&a, "alice", &da);
	po = write_in(da, "output.txt", "result bytes\n");
	pp = write_in(da, "x.png", "png bytes");
	ps = xasprintf("%s/.opusd", da);
	CHECK(mkdir_p(ps, 0750) == 0);
	free(ps);
	ps = write_in(da, ".opusd/stdout", "");
	uws_job_add_result(&a, "output", "output.txt", "text/plain", 13);
	uws_job_add_result(&a, "x.png", "x.png", NULL, 9);
	uws_job_add_result(&a, "stdout", ".opusd/stdout", "text/plain", 0);
	uws_job_add_result(&a, "gone", "gone.txt", NULL, 1); /* vanished: no entity */
	CHECK(prov_results_register(pv, &a, da, &gen, &n) == 0);
	CHECK(n == 3);
	sha256_hex("result bytes\n", 13, want);
	CHECK_STR(a.results[0].sha256, want);
	CHECK(a.results[0].entity_id && store_entity_id_is_valid(a.results[0].entity_id));
	CHECK(a.results[3].entity_id == NULL && a.results[3].sha256 == NULL);
	blob = prov_blob_path(pv, want);
	CHECK(same_file(po, blob));
	if (n == 3) {
		CHECK_STR(gen[0].id, a.results[0].entity_id);
		CHECK_STR(gen[0].role, "output");
		CHECK_STR(gen[0].result_id, "output");
		CHECK_STR(gen[0].generated_by, a.id);
		CHECK_STR(gen[0].owner, "alice");
		CHECK_STR(gen[0].content_type, "text/plain");
		CHECK(gen[0].size == 13);
		CHECK_STR(gen[1].role, "images");
		CHECK_STR(gen[1].result_id, "x.png");
		CHECK_STR(gen[2].role, "stdout");
		sha256_hex("", 0, want);
		CHECK_STR(gen[2].sha256, want);
	}
	for (size_t i = 0; i < n; i++)
		store_entity_release(&gen[i]);
	free(gen);
	free(blob);
	free(po);
	free(pp);
	free(ps);
	free(da);
	uws_job_release(&a);
}

/* A blob goes once no live entity refers to it and no job links to it. */
TEST(blobs_collected_when_unused)
{
	struct uws_job a, b;
	char *da, *db, *pa, *pb, *blob, sha[65], id[STORE_ENTITY_ID_LEN + 1];
	struct store_entity e = {.owner = "carol"};
	char **blobs = NULL;
	size_t n = 0;
	char *list[1];

	job_new(&a, "carol", &da);
	job_new(&b, "carol", &db);
	pa = write_in(da, "in", "collect me");
	pb = write_in(db, "in", "collect me");
	sha256_hex("collect me", 10, sha);
	list[0] = sha;
	blob = prov_blob_path(pv, sha);
	CHECK(prov_input_add(pv, a.id, "in", 0, pa, sha, &e, id) == 0);
	CHECK(prov_input_add(pv, b.id, "in", 0, pb, sha, &e, id) == 0);
	/* a still holds it: the blob stays */
	CHECK(store_job_retire(st, b.id, false, time_now_ms(), &blobs, &n) == 0);
	store_ids_free(blobs, n);
	rm_rf(db);
	prov_blobs_collect(pv, list, 1);
	CHECK(access(blob, F_OK) == 0);
	/* a's row is gone but its file still links to the blob: it stays */
	CHECK(store_job_retire(st, a.id, false, time_now_ms(), &blobs, &n) == 0);
	prov_blobs_collect(pv, list, 1);
	CHECK(access(blob, F_OK) == 0);
	/* the last link gone: the blob goes */
	rm_rf(da);
	prov_blobs_collect(pv, blobs, n);
	CHECK(n == 1 && n > 0 && strcmp(blobs[0], sha) == 0);
	CHECK(access(blob, F_OK) != 0);
	store_ids_free(blobs, n);
	free(blob);
	free(pa);
	free(pb);
	free(da);
	free(db);
	uws_job_release(&a);
	uws_job_release(&b);
}

/* An existing entity used again: linked from its blob, no copy. */
TEST(input_use_links_the_entity)
{
	struct uws_job a, b;
	char *da, *db, *pa, *dest, *blob, sha[65], id[STORE_ENTITY_ID_LEN + 1], *ctype = NULL;
	struct store_entity e = {.owner = "dave", .content_type = "text/csv"};

	job_new(&a, "dave", &da);
	job_new(&b, "dave", &db);
	pa = write_in(da, "in", "a,b\n1,2\n");
	sha256_hex("a,b\n1,2\n", 8, sha);
	CHECK(prov_input_add(pv, a.id, "in", 0, pa, sha, &e, id) == 0);
	dest = xasprintf("%s/table", db);
	CHECK(prov_input_use(pv, b.id, "table", 0, dest, id, &ctype) == 0);
	blob = prov_blob_path(pv, sha);
	CHECK(same_file(dest, blob));
	CHECK_STR(ctype, "text/csv");
	free(ctype);
	CHECK(prov_input_use(pv, b.id, "table", 1, dest, "e00000000000000000000000000000000",
			     NULL) == OPUS_ERR_NOTFOUND);
	free(blob);
	free(dest);
	free(pa);
	free(da);
	free(db);
	uws_job_release(&a);
	uws_job_release(&b);
}

/* The configuration: given values, defaults marked, missing defaults added. */
TEST(activity_parameters)
{
	struct jdl *j = jdl_registry_get(reg, "gen");
	struct uws_job job = {0};
	struct store_activity act;
	bool seen_text = false, seen_n = false, seen_flag = false, seen_file = false;

	uws_id_new(job.id);
	job.jobdef = xstrdup("gen");
	job.owner = xstrdup("erin");
	job.phase = UWS_ERROR;
	job.error_summary = xstrdup("boom");
	job.start_time = 10;
	job.end_time = 20;
	job.metrics = (struct uws_metrics){.known = true, .wall_ms = 10, .exit_code = 3};
	uws_job_add_param(&job, "text", "Bonjour", false); /* given */
	uws_job_add_param(&job, "n", "3", false);	   /* the default's value */
	uws_job_add_param(&job, "up", "/x/jobs/y/up", true);
	prov_activity_of(&job, j, &act);
	CHECK_STR(act.id, job.id);
	CHECK_STR(act.jobdef, "gen");
	CHECK_STR(act.owner, "erin");
	CHECK(act.phase == UWS_ERROR);
	CHECK_STR(act.error_summary, "boom");
	CHECK(act.metrics.known && act.metrics.exit_code == 3);
	CHECK(act.nparams == 4);
	for (size_t i = 0; i < act.nparams; i++) {
		const struct store_param_rec *r = &act.params[i];
		if (strcmp(r->name, "text") == 0)
			seen_text = !r->is_default && strcmp(r->value, "Bonjour") == 0;
		if (strcmp(r->name, "n") == 0)
			seen_n = r->is_default && strcmp(r->value, "3") == 0;
		if (strcmp(r->name, "flag") == 0)
			seen_flag = r->is_default && strcmp(r->value, "x") == 0;
		if (strcmp(r->name, "up") == 0)
			seen_file = !r->is_default && strcmp(r->value, "up") == 0;
	}
	CHECK(seen_text && seen_n && seen_flag && seen_file);
	store_activity_release(&act);
	/* no description: the parameters as given */
	prov_activity_of(&job, NULL, &act);
	CHECK(act.nparams == 3);
	store_activity_release(&act);
	uws_job_release(&job);
	jdl_unref(j);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-prov-ingest-XXXXXX";
	char *jdir, *db, *jpath;
	struct store_config scfg;
	struct prov_config pc;

	log_set_level(LOG_WARN);
	if (!mkdtemp(tmpl) || !realpath(tmpl, tmp))
		return 2;
	jdir = xasprintf("%s/jdl", tmp);
	jpath = xasprintf("%s/gen.xml", jdir);
	db = xasprintf("%s/opusd.db", tmp);
	data = xasprintf("%s/data", tmp);
	scfg = (struct store_config){.backend = "sqlite", .path = db};
	pc = (struct prov_config){.data_dir = data, .base_url = "http://x", .max_depth = 4};
	if (mkdir_p(jdir, 0750) != 0 ||
	    file_write_all(jpath, jdl_xml, strlen(jdl_xml), 0640) != 0) {
		fprintf(stderr, "test_prov_ingest: setup failed\n");
		return 2;
	}
	reg = jdl_registry_new(jdir, NULL);
	if (jdl_registry_load(reg) != 1 || store_open(&scfg, &st) != 0 ||
	    prov_open(&pc, st, reg, &pv) != 0) {
		fprintf(stderr, "test_prov_ingest: setup failed\n");
		return 2;
	}
	RUN(blob_paths);
	RUN(inputs_are_stored_once_and_recognised);
	RUN(input_with_other_links_is_copied);
	RUN(results_register);
	RUN(blobs_collected_when_unused);
	RUN(input_use_links_the_entity);
	RUN(activity_parameters);
	prov_close(pv);
	store_close(st);
	jdl_registry_free(reg);
	rm_rf(tmp);
	free(jdir);
	free(jpath);
	free(db);
	free(data);
	return CHECK_DONE();
}
