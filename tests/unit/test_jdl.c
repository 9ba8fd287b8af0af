/*
 * Unit tests for src/jdl: the OPUS examples read field by field, every
 * datatype and VALUES rule, each load-time refusal (tests/data/bad-jdl),
 * the registry's reload and references, the shipped jobdefs/, and the
 * writers (VOTable round trip of every example, JSON for forms).
 * Runs from the repository root (paths are relative to it).
 */
#include "check.h"
#include "jdl/jdl.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPUS1 "tests/data/opus-jdl/test_activity_1_vot.xml"
#define OPUS2 "tests/data/opus-jdl/test_activity_2_vot.xml"

static char tmp[PATH_MAX];

/* A minimal valid description around the given InputParams and groups. */
static char *doc(const char *name, const char *params, const char *groups)
{
	return xasprintf("<VOTABLE version=\"1.3\">\n"
			 "<RESOURCE name=\"%s\" utype=\"voprov:ActivityDescription\">\n"
			 "<DESCRIPTION>%s</DESCRIPTION>\n"
			 "<PARAM name=\"script\" value=\"echo hi&#10;\" datatype=\"char\"/>\n"
			 "<GROUP name=\"InputParams\">%s</GROUP>\n%s\n"
			 "</RESOURCE></VOTABLE>\n",
			 name, name, params, groups);
}

static struct jdl *parse_str(const char *xml, const char *name, char **err)
{
	struct jdl *j = NULL;
	*err = NULL;
	if (jdl_parse_buffer(xml, strlen(xml), name, &j, err) != 0)
		return NULL;
	return j;
}

/* Expects refusal; returns the message (caller frees) or NULL if accepted. */
static char *refusal_of(const char *xml)
{
	char *err = NULL;
	struct jdl *j = parse_str(xml, NULL, &err);
	if (j) {
		jdl_unref(j);
		return NULL;
	}
	return err;
}

TEST(opus_example_1)
{
	struct jdl *j = NULL;
	char *err = NULL;
	const struct jdl_param *p;
	const struct jdl_entity *g;

	CHECK(jdl_parse_file(OPUS1, "test_activity_1", &j, &err) == 0);
	CHECK(err == NULL);
	if (!j)
		return;
	CHECK_STR(j->name, "test_activity_1");
	CHECK_STR(j->description, "Job for tests, simply copies input text in a file");
	CHECK(j->doculink == NULL);
	CHECK_STR(j->type, "test");
	CHECK_STR(j->subtype, "test");
	CHECK_STR(j->version, "1");
	CHECK_STR(j->contact_name, "opus-admin");
	CHECK_STR(j->contact_email, "admin@opus");
	CHECK(j->execution_duration == 20);
	CHECK(j->quote == 10);
	CHECK_STR(j->script, "sleep 10\r\necho $text > $output\r\n");
	CHECK(strstr(j->script, "\r\n") != NULL);
	CHECK_STR(j->hash, "0f2a97c53cd6b8e986de2485454d624111f57c196eb26552d3041eec30545d08");
	CHECK(j->refs == 1);

	CHECK(j->nparams == 1);
	p = jdl_find_param(j, "TEXT");
	CHECK(p == &j->params[0]);
	if (p) {
		CHECK_STR(p->name, "text");
		CHECK(p->type == JDL_CHAR);
		CHECK_STR(p->datatype, "char");
		CHECK_STR(p->arraysize, "*");
		CHECK(p->xtype == NULL && p->unit == NULL && p->ucd == NULL && p->utype == NULL);
		CHECK_STR(p->description, "Input text for test job");
		CHECK_STR(p->default_value, "Hello World");
		CHECK(!p->required);
		CHECK(p->min == NULL && p->max == NULL && p->noptions == 0);
	}
	CHECK(j->nused == 0);
	CHECK(j->ngenerated == 1);
	g = jdl_find_generated(j, "output");
	CHECK(g == &j->generated[0]);
	if (g) {
		CHECK_STR(g->name, "output");
		CHECK_STR(g->description, "Output file that contains the input text");
		CHECK(g->role == NULL && g->multiplicity == NULL && g->url == NULL);
		CHECK_STR(g->default_value, "output.txt");
		CHECK_STR(g->content_type, "text/plain");
	}
	CHECK(jdl_find_used(j, "output") == NULL);
	CHECK(jdl_find_param(j, "output") == NULL);
	jdl_unref(j);
}

TEST(opus_example_2)
{
	struct jdl *j = NULL;
	char *err = NULL;
	const struct jdl_entity *u, *g;

	/* No expected name: the RESOURCE's own name is used. */
	CHECK(jdl_parse_file(OPUS2, NULL, &j, &err) == 0);
	CHECK(err == NULL);
	if (!j)
		return;
	CHECK_STR(j->name, "test_activity_2");
	CHECK_STR(j->description, "Job for tests, simply adds input text to a given file");
	CHECK_STR(j->script, "sleep 10\r\ncat $input > $output\r\necho $text >> $output\r\n");
	CHECK_STR(j->hash, "cd92493c951c74496f56cde3465c10d852e7408da5e6d4d048157b639c681ce3");
	CHECK(j->execution_duration == 20 && j->quote == 10);
	CHECK(j->nparams == 1 && j->nused == 1 && j->ngenerated == 1);
	CHECK_STR(j->params[0].default_value, "!");
	CHECK_STR(j->params[0].description, "Input text for test job 2");
	CHECK(!j->params[0].required);
	u = jdl_find_used(j, "Input");
	CHECK(u != NULL);
	if (u) {
		CHECK_STR(u->name, "input");
		CHECK_STR(u->description, "Input entity for test job 2");
		CHECK_STR(u->default_value, "input.txt");
		CHECK_STR(u->url, "file://$ID");
		CHECK(u->content_type == NULL && u->role == NULL && u->multiplicity == NULL);
	}
	g = jdl_find_generated(j, "output");
	CHECK(g && g->default_value && strcmp(g->default_value, "output.txt") == 0);
	CHECK(g && g->content_type && strcmp(g->content_type, "text/plain") == 0);
	jdl_unref(j);
}

TEST(expected_name_must_match)
{
	struct jdl *j = (struct jdl *)&j;
	char *err = NULL;

	CHECK(jdl_parse_file(OPUS1, "other", &j, &err) == OPUS_ERR_INVAL);
	CHECK(j == NULL);
	CHECK_STR(err, "RESOURCE name \"test_activity_1\" does not match the job description "
		       "name \"other\"");
	free(err);
	err = NULL;
	CHECK(jdl_parse_file("tests/data/opus-jdl/none.xml", "none", &j, &err) ==
	      OPUS_ERR_NOTFOUND);
	CHECK(err != NULL);
	free(err);
}

static const char all_types[] =
    "<PARAM name=\"b\" datatype=\"boolean\" value=\"TRUE\"/>"
    "<PARAM name=\"s\" datatype=\"short\" value=\"5\"><VALUES><MIN value=\"-10\"/>"
    "<MAX value=\"10\"/></VALUES></PARAM>"
    "<PARAM name=\"i\" datatype=\"int\" unit=\"s\" ucd=\"time.duration\" "
    "utype=\"x:y\"><DESCRIPTION>  an int\n </DESCRIPTION><VALUES><MIN value=\"1\"/>"
    "</VALUES></PARAM>"
    "<PARAM name=\"l\" datatype=\"long\" type=\"no_query\"><VALUES><MAX value=\"100\"/>"
    "</VALUES></PARAM>"
    "<PARAM name=\"c\" datatype=\"char\" arraysize=\"*\" value=\"fast\"><VALUES>"
    "<OPTION value=\"fast\"/><OPTION value=\"slow\"><OPTION value=\"slower\"/></OPTION>"
    "</VALUES></PARAM>"
    "<PARAM name=\"f\" datatype=\"float\" value=\"0.5\"><VALUES><MIN value=\"0\"/>"
    "<MAX value=\"1\"/></VALUES></PARAM>"
    "<PARAM name=\"d\" datatype=\"double\" value=\"\"/>"
    "<PARAM name=\"u\" datatype=\"anyURI\" value=\"https://example.org/x\"/>"
    "<PARAM name=\"up\" datatype=\"file\"/>"
    "<PARAM name=\"up2\" datatype=\"char\" xtype=\"application/octet-stream\" "
    "arraysize=\"*\"/>";

TEST(every_datatype)
{
	static const struct {
		const char *name;
		enum jdl_type type;
		bool required;
	} want[] = {
	    {"b", JDL_BOOLEAN, false}, {"s", JDL_SHORT, false},	 {"i", JDL_INT, true},
	    {"l", JDL_LONG, false},    {"c", JDL_CHAR, false},	 {"f", JDL_FLOAT, false},
	    {"d", JDL_DOUBLE, true},   {"u", JDL_ANYURI, false}, {"up", JDL_FILE, true},
	    {"up2", JDL_FILE, true},
	};
	char *xml = doc("types", all_types, ""), *err = NULL;
	struct jdl *j = parse_str(xml, "types", &err);
	const struct jdl_param *p;

	CHECK(j != NULL);
	CHECK(err == NULL);
	if (err)
		fprintf(stderr, "  %s\n", err);
	free(xml);
	free(err);
	if (!j)
		return;
	CHECK(j->nparams == OPUS_ARRAY_LEN(want));
	for (size_t i = 0; i < OPUS_ARRAY_LEN(want) && i < j->nparams; i++) {
		CHECK_STR(j->params[i].name, want[i].name);
		CHECK(j->params[i].type == want[i].type);
		CHECK(j->params[i].required == want[i].required);
	}
	CHECK(j->execution_duration == 0 && j->quote == 0);
	p = jdl_find_param(j, "i");
	CHECK(p && p->min && strcmp(p->min, "1") == 0 && !p->max);
	CHECK(p && p->unit && strcmp(p->unit, "s") == 0);
	CHECK(p && p->ucd && strcmp(p->ucd, "time.duration") == 0);
	CHECK(p && p->utype && strcmp(p->utype, "x:y") == 0);
	CHECK(p && p->description && strcmp(p->description, "an int") == 0);
	p = jdl_find_param(j, "c");
	CHECK(p && p->noptions == 3);
	if (p && p->noptions == 3) {
		CHECK_STR(p->options[0], "fast");
		CHECK_STR(p->options[1], "slow");
		CHECK_STR(p->options[2], "slower");
	}
	p = jdl_find_param(j, "d");
	CHECK(p && p->default_value == NULL); /* value="" is no default */
	p = jdl_find_param(j, "up2");
	CHECK(p && p->xtype && strcmp(p->xtype, "application/octet-stream") == 0);
	CHECK_STR(jdl_type_name(JDL_ANYURI), "anyURI");
	CHECK_STR(jdl_type_name(JDL_BOOLEAN), "boolean");
	CHECK_STR(jdl_type_name(JDL_FILE), "file");
	jdl_unref(j);
}

/* Checks one value: want NULL means accepted, else the exact reason. */
static void expect(const struct jdl_param *p, const char *value, const char *want)
{
	char *why = (char *)"unset";
	int ret = jdl_check_value(p, value, &why);
	if (!want) {
		CHECK(ret == 0);
		CHECK(why == NULL);
		if (ret)
			fprintf(stderr, "  %s=\"%s\" refused: %s\n", p->name, value, why);
	} else {
		CHECK(ret == OPUS_ERR_INVAL);
		CHECK_STR(why, want);
	}
	free(why);
}

TEST(check_value_types)
{
	struct jdl_param p = {.name = (char *)"v"};
	char *big;

	p.type = JDL_BOOLEAN;
	expect(&p, "true", NULL);
	expect(&p, "False", NULL);
	expect(&p, "YES", NULL);
	expect(&p, "no", NULL);
	expect(&p, "1", NULL);
	expect(&p, "0", NULL);
	expect(&p, "maybe", "must be true or false");
	expect(&p, "", "must be true or false");

	p.type = JDL_SHORT;
	expect(&p, "-32768", NULL);
	expect(&p, "32767", NULL);
	expect(&p, "32768", "must be an integer between -32768 and 32767");
	expect(&p, "1.0", "must be an integer");

	p.type = JDL_INT;
	expect(&p, "2147483647", NULL);
	expect(&p, "-2147483649", "must be an integer between -2147483648 and 2147483647");
	expect(&p, "12abc", "must be an integer");
	expect(&p, " 12", "must be an integer");
	expect(&p, "", "must be an integer");

	p.type = JDL_LONG;
	expect(&p, "-9223372036854775808", NULL);
	expect(&p, "9223372036854775808", "must be an integer");

	p.type = JDL_DOUBLE;
	expect(&p, "1.5", NULL);
	expect(&p, "-2e-3", NULL);
	expect(&p, "42", NULL);
	expect(&p, "1e999", "must be a finite decimal number");
	expect(&p, "nan", "must be a finite decimal number");
	expect(&p, "inf", "must be a finite decimal number");
	expect(&p, "0x10", "must be a finite decimal number");
	expect(&p, "1.5 ", "must be a finite decimal number");
	expect(&p, "", "must be a finite decimal number");

	p.type = JDL_FLOAT;
	expect(&p, "3.4e38", NULL);
	expect(&p, "1e39", "must be a finite decimal number");

	p.type = JDL_CHAR;
	expect(&p, "", NULL);
	expect(&p, "any text; $(rm -rf /) \"quoted\"", NULL);
	big = xcalloc(64 * 1024 + 2, 1);
	memset(big, 'a', 64 * 1024);
	expect(&p, big, NULL);
	big[64 * 1024] = 'a';
	expect(&p, big, "must be at most 65536 bytes long");
	free(big);

	p.type = JDL_ANYURI;
	expect(&p, "https://example.org/a?b=c", NULL);
	expect(&p, "file:///tmp/x", NULL);
	expect(&p, "ivo://ivoa.net/std/UWS", NULL);
	expect(&p, "urn:x", NULL);
	expect(&p, "example.org/a", "must be a URI with a scheme, such as https://...");
	expect(&p, "1http://x", "must be a URI with a scheme, such as https://...");
	expect(&p, "http:", "must be a URI with a scheme, such as https://...");
	expect(&p, "http://a b", "must be a URI with a scheme, such as https://...");

	p.type = JDL_FILE;
	expect(&p, "anything at all", NULL);
	expect(&p, NULL, "is required");
	CHECK(jdl_check_value(&p, NULL, NULL) == OPUS_ERR_INVAL);
}

TEST(check_value_bounds_and_options)
{
	char *xml = doc("bounds", all_types, ""), *err = NULL;
	struct jdl *j = parse_str(xml, NULL, &err);

	free(xml);
	CHECK(j != NULL);
	free(err);
	if (!j)
		return;
	expect(jdl_find_param(j, "s"), "-10", NULL);
	expect(jdl_find_param(j, "s"), "10", NULL);
	expect(jdl_find_param(j, "s"), "-11", "must be >= -10");
	expect(jdl_find_param(j, "s"), "11", "must be <= 10");
	expect(jdl_find_param(j, "s"), "ten", "must be an integer");
	expect(jdl_find_param(j, "i"), "0", "must be >= 1");
	expect(jdl_find_param(j, "i"), "2000000", NULL);
	expect(jdl_find_param(j, "l"), "101", "must be <= 100");
	expect(jdl_find_param(j, "l"), "-5000000000", NULL);
	expect(jdl_find_param(j, "f"), "1", NULL);
	expect(jdl_find_param(j, "f"), "1.0001", "must be <= 1");
	expect(jdl_find_param(j, "f"), "-0.1", "must be >= 0");
	expect(jdl_find_param(j, "c"), "slow", NULL);
	expect(jdl_find_param(j, "c"), "slower", NULL);
	expect(jdl_find_param(j, "c"), "Slow", "must be one of: fast, slow, slower");
	expect(jdl_find_param(j, "c"), "", "must be one of: fast, slow, slower");
	jdl_unref(j);
}

TEST(reserved_names)
{
	/* clang-format off */
	static const char *const refused[] = {
	    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LD_PRELOAD", "LD_LIBRARY_PATH",
	    "IFS", "PWD", "OLDPWD", "TMPDIR", "ENV", "BASH_ENV", "BASH_FUNC_x", "PS4",
	    "SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE", "OPUS_JOB_ID", "OPUS_x",
	    "OPUS_EVENT_TOKEN", "OPUS_EVENT_URL",
	    "SECONDS", "RANDOM", "SRANDOM", "LINENO", "SHLVL", "UID", "EUID", "PPID",
	    "GLIBC_TUNABLES", "GCONV_PATH", "TZDIR", "MALLOC_ARENA_MAX", "_", "BASH",
	    /* UWS words stay refused whatever their case */
	    "phase", "PHASE", "Phase", "action", "runid", "RUNID", "executionDuration",
	    "destruction", "wait", "quote", "owner", "jobid", "parameters", "results", "error",
	};
	/* clang-format on */
	/* Free names: not what the environment or bash use, which compare exactly
	 * (issue 11: OPUS descriptions with these names were skipped). */
	static const char *const allowed[] = {
	    "text",   "input",	  "output",   "n",    "mode",	    "paths",
	    "phases", "home_dir", "ld",	      "opus", "seconds",    "user",
	    "lang",   "term",	  "random",   "home", "tz",	    "path",
	    "ifs",    "pwd",	  "shell",    "bash", "ld_preload", "ld_library_path",
	    "opus_x", "lc_all",	  "bash_env", "USER", "TERM",	    "TZ",
	    "SHELL",  "LOGNAME",  "Seconds",  "Home",
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(refused); i++) {
		CHECK(jdl_name_is_reserved(refused[i]));
		if (!jdl_name_is_reserved(refused[i]))
			fprintf(stderr, "  %s not reserved\n", refused[i]);
	}
	for (size_t i = 0; i < OPUS_ARRAY_LEN(allowed); i++) {
		CHECK(!jdl_name_is_reserved(allowed[i]));
		if (jdl_name_is_reserved(allowed[i]))
			fprintf(stderr, "  %s reserved\n", allowed[i]);
	}
	CHECK(!jdl_name_is_reserved(NULL));
}

/* Issue 11: OPUS descriptions whose names only match an environment name
 * case-insensitively load; the exact environment names are refused. */
TEST(env_names_compare_exactly)
{
	static const char *const free_names[] = {"seconds", "user", "lang", "term",
						 "random",  "home", "tz"};
	static const char *const exact[] = {"SECONDS", "HOME", "LANG", "RANDOM", "IFS"};
	struct sbuf params = SBUF_INIT;
	char *xml, *err = NULL;
	struct jdl *j;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(free_names); i++)
		sbuf_addf(&params, "<PARAM name=\"%s\" datatype=\"char\" value=\"v\"/>",
			  free_names[i]);
	xml = doc("lower", sbuf_str(&params), "");
	j = parse_str(xml, "lower", &err);
	CHECK(j != NULL && err == NULL);
	if (err)
		fprintf(stderr, "  refused: %s\n", err);
	CHECK(j && j->nparams == OPUS_ARRAY_LEN(free_names));
	CHECK(j && jdl_find_param(j, "SECONDS") == &j->params[0]); /* lookups: any case */
	jdl_unref(j);
	free(err);
	free(xml);
	sbuf_release(&params);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(exact); i++) {
		char *param = xasprintf("<PARAM name=\"%s\" datatype=\"char\"/>", exact[i]);
		char *want = xasprintf("PARAM \"%s\" in GROUP InputParams: name would clobber the "
				       "job's environment",
				       exact[i]);
		xml = doc("upper", param, "");
		err = refusal_of(xml);
		CHECK(err && strcmp(err, want) == 0);
		if (!err || strcmp(err, want) != 0)
			fprintf(stderr, "  %s: got \"%s\"\n", exact[i], err ? err : "(accepted)");
		free(err);
		free(xml);
		free(want);
		free(param);
	}
}

/* Every file of tests/data/bad-jdl and (part of) the reason it gives. */
static const struct {
	const char *file;
	const char *reason;
} bad_files[] = {
    {"bad_name.xml", "PARAM \"1abc\" in GROUP InputParams: name must be an identifier"},
    {"long_name.xml", "in GROUP InputParams: name must be an identifier"},
    {"reserved_path.xml",
     "PARAM \"PATH\" in GROUP InputParams: name would clobber the job's environment"},
    {"reserved_phase.xml", "PARAM \"Phase\" in GROUP InputParams: name is reserved by UWS"},
    {"reserved_prefix.xml",
     "PARAM \"LD_PRELOAD\" in GROUP InputParams: name would clobber the job's environment"},
    {"reserved_generated.xml",
     "GROUP \"HOME\" in GROUP Generated: name would clobber the job's environment"},
    {"duplicate.xml", "GROUP \"TEXT\" in GROUP Generated: duplicate name (also PARAM \"text\" "
		      "in GROUP InputParams)"},
    {"missing_script.xml", "PARAM \"script\": missing or empty"},
    {"empty_script.xml", "PARAM \"script\": missing or empty"},
    {"unknown_datatype.xml", "PARAM \"z\" in GROUP InputParams: unknown datatype \"complex\""},
    {"missing_datatype.xml", "PARAM \"z\" in GROUP InputParams: missing datatype"},
    {"bad_default.xml",
     "PARAM \"n\" in GROUP InputParams: default value \"ten\" must be an integer"},
    {"default_out_of_range.xml",
     "PARAM \"n\" in GROUP InputParams: default value \"11\" must be <= 10"},
    {"default_not_option.xml", "PARAM \"mode\" in GROUP InputParams: default value "
			       "\"medium\" must be one of: fast, slow"},
    {"min_above_max.xml", "PARAM \"n\" in GROUP InputParams: VALUES MIN is greater than MAX"},
    {"bad_min.xml", "PARAM \"n\" in GROUP InputParams: VALUES MIN \"one\" must be an integer"},
    {"negative_duration.xml",
     "PARAM \"executionDuration\": value \"-5\" must be a non-negative integer"},
    {"missing_param_name.xml", "PARAM in GROUP InputParams: missing name attribute"},
    {"malformed.xml", "malformed XML at line "},
    {"not_votable.xml", "the root element must be VOTABLE"},
    {"entity_bomb.xml", "DOCTYPE: document type declarations are refused"},
    {"external_dtd.xml", "DOCTYPE: document type declarations are refused"},
};

TEST(load_time_refusals)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(bad_files); i++) {
		char *path = xasprintf("tests/data/bad-jdl/%s", bad_files[i].file), *err = NULL;
		struct jdl *j = NULL;
		int ret = jdl_parse_file(path, NULL, &j, &err);

		CHECK(ret == OPUS_ERR_INVAL);
		CHECK(j == NULL);
		CHECK(err && strstr(err, bad_files[i].reason));
		if (!err || !strstr(err, bad_files[i].reason))
			fprintf(stderr, "  %s: got \"%s\"\n", bad_files[i].file,
				err ? err : "(accepted)");
		jdl_unref(j);
		free(err);
		free(path);
	}
}

/* The JSON view carries the limits too, so a description edited through it
 * (the web client's editor) keeps them; a negative one is refused by name. */
static void json_limits_round_trip(const struct jdl *a)
{
	struct sbuf js = SBUF_INIT;
	struct jdl *c = NULL;
	char *err = NULL, *bad;

	CHECK(jdl_write_json(a, &js) == 0);
	CHECK(strstr(sbuf_str(&js), "\"maxMemory\":8589934592") != NULL);
	/* the shape of GET /jdl/{name}/json plus the script is what an upload takes */
	bad = xasprintf("{\"name\": \"lim\", \"script\": \"echo\", \"maxOpenFiles\": 64, "
			"\"maxProcesses\": 50, \"maxCpuTime\": 30, \"maxMemory\": 8589934592}");
	CHECK(jdl_parse_json(bad, strlen(bad), NULL, &c, &err) == 0);
	CHECK(c && c->max_memory == 8589934592LL && c->max_processes == 50 &&
	      c->max_open_files == 64 && c->max_cpu_time == 30);
	free(bad);
	jdl_unref(c);
	c = NULL;
	bad = xstrdup("{\"name\": \"lim\", \"script\": \"echo\", \"maxMemory\": -1}");
	CHECK(jdl_parse_json(bad, strlen(bad), NULL, &c, &err) != 0 && c == NULL);
	CHECK(err && strstr(err, "maxMemory: must be a non-negative integer (bytes)") != NULL);
	free(err);
	free(bad);
	sbuf_release(&js);
}

/* The resource limits a description asks for, read and written back (a
 * memory size past 2^31 is a VOTable long, not an int). */
TEST(limits_round_trip)
{
	char *xml = xasprintf("<VOTABLE version=\"1.3\">\n"
			      "<RESOURCE name=\"lim\" utype=\"voprov:ActivityDescription\">\n"
			      "<PARAM name=\"maxMemory\" value=\"8589934592\" datatype=\"long\"/>\n"
			      "<PARAM name=\"maxProcesses\" value=\"50\" datatype=\"int\"/>\n"
			      "<PARAM name=\"maxOpenFiles\" value=\"64\" datatype=\"int\"/>\n"
			      "<PARAM name=\"maxCpuTime\" value=\"30\" datatype=\"int\"/>\n"
			      "<PARAM name=\"script\" value=\"echo hi&#10;\" datatype=\"char\"/>\n"
			      "<GROUP name=\"InputParams\"/>\n</RESOURCE></VOTABLE>\n");
	char *err = NULL;
	struct jdl *a = parse_str(xml, NULL, &err), *b = NULL;
	struct sbuf out = SBUF_INIT;

	CHECK(a != NULL);
	if (a) {
		CHECK(a->max_memory == 8589934592LL && a->max_processes == 50 &&
		      a->max_open_files == 64 && a->max_cpu_time == 30);
		CHECK(jdl_write_xml(a, &out) == 0);
		CHECK(strstr(sbuf_str(&out), "name=\"maxMemory\" value=\"8589934592\" "
					     "datatype=\"long\"") != NULL);
		b = parse_str(sbuf_str(&out), NULL, &err);
		CHECK(b && b->max_memory == a->max_memory && b->max_cpu_time == 30);
		json_limits_round_trip(a);
	}
	jdl_unref(a);
	jdl_unref(b);
	sbuf_release(&out);
	free(err);
	free(xml);
}

/* What a SLURM job asks for (partition ... cpusPerTask): read from the
 * VOTable and the JSON view, written back by both, and refused at load when a
 * string holds a character the SLURM backend would not put in #SBATCH. */
static const char batch_xml[] =
    "<VOTABLE version=\"1.3\">\n"
    "<RESOURCE name=\"bat\" utype=\"voprov:ActivityDescription\">\n"
    "<PARAM name=\"partition\" value=\"long\" datatype=\"char\" arraysize=\"*\"/>\n"
    "<PARAM name=\"account\" value=\"astro-1\" datatype=\"char\" arraysize=\"*\"/>\n"
    "<PARAM name=\"gres\" value=\"gpu:2\" datatype=\"char\" arraysize=\"*\"/>\n"
    "<PARAM name=\"nodes\" value=\"3\" datatype=\"int\"/>\n"
    "<PARAM name=\"tasksPerNode\" value=\"4\" datatype=\"int\"/>\n"
    "<PARAM name=\"cpusPerTask\" value=\"2\" datatype=\"int\"/>\n"
    "<PARAM name=\"script\" value=\"echo hi&#10;\" datatype=\"char\"/>\n"
    "<GROUP name=\"InputParams\"/>\n</RESOURCE></VOTABLE>\n";

static void expect_batch(const struct jdl *j)
{
	CHECK(j && j->partition && strcmp(j->partition, "long") == 0);
	CHECK(j && j->account && strcmp(j->account, "astro-1") == 0);
	CHECK(j && j->gres && strcmp(j->gres, "gpu:2") == 0);
	CHECK(j && j->nodes == 3 && j->tasks_per_node == 4 && j->cpus_per_task == 2);
}

TEST(batch_resources_round_trip)
{
	char *err = NULL;
	struct jdl *a = parse_str(batch_xml, NULL, &err), *b = NULL, *c = NULL;
	struct sbuf out = SBUF_INIT, js = SBUF_INIT;

	CHECK(a != NULL);
	expect_batch(a);
	if (a) {
		CHECK(jdl_write_xml(a, &out) == 0);
		CHECK(strstr(sbuf_str(&out), "name=\"cpusPerTask\" value=\"2\"") != NULL);
		b = parse_str(sbuf_str(&out), NULL, &err);
		expect_batch(b);
		CHECK(jdl_write_json(a, &js) == 0);
		CHECK(strstr(sbuf_str(&js), "\"partition\":\"long\"") != NULL);
		CHECK(strstr(sbuf_str(&js), "\"tasksPerNode\":4") != NULL);
		/* the JSON view read back (with the script, as an upload has it) */
		const char *tail = strrchr(sbuf_str(&js), '}');
		char *up = xasprintf("%.*s,\"script\":\"echo\"}", (int)(tail - sbuf_str(&js)),
				     sbuf_str(&js));
		CHECK(jdl_parse_json(up, strlen(up), NULL, &c, &err) == 0);
		expect_batch(c);
		free(up);
	}
	/* absent: NULL and 0, and nothing written */
	char *plain = doc("plain", "", "");
	struct jdl *d = parse_str(plain, NULL, &err);
	struct sbuf none = SBUF_INIT;
	CHECK(d && !d->partition && !d->account && !d->gres && d->nodes == 0 &&
	      d->cpus_per_task == 0);
	CHECK(d && jdl_write_xml(d, &none) == 0 && !strstr(sbuf_str(&none), "partition"));
	sbuf_release(&none);
	free(plain);
	jdl_unref(d);
	jdl_unref(a);
	jdl_unref(b);
	jdl_unref(c);
	sbuf_release(&out);
	sbuf_release(&js);
	free(err);
}

TEST(batch_resources_refusals)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    {"value=\"long\"", "value=\"lo ng\"", "PARAM \"partition\": value must be"},
	    {"value=\"astro-1\"", "value=\"a;b\"", "PARAM \"account\": value must be"},
	    {"value=\"gpu:2\"", "value=\"gpu$(id)\"", "PARAM \"gres\": value must be"},
	    {"value=\"3\"", "value=\"-3\"", "PARAM \"nodes\": value \"-3\" must be"},
	    {"value=\"4\"", "value=\"four\"", "PARAM \"tasksPerNode\": value"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++) {
		const char *at = strstr(batch_xml, cases[i].from);
		char *xml = xasprintf("%.*s%s%s", (int)(at - batch_xml), batch_xml, cases[i].to,
				      at + strlen(cases[i].from));
		char *err = refusal_of(xml);
		CHECK(err && strstr(err, cases[i].want) != NULL);
		if (!err || !strstr(err, cases[i].want))
			fprintf(stderr, "case %zu: %s\n", i, err ? err : "(accepted)");
		free(err);
		free(xml);
	}
	/* 65 characters: one too many */
	char *longp = xasprintf("{\"name\": \"bat\", \"script\": \"echo\", \"partition\": "
				"\"%065d\"}",
				0);
	struct jdl *j = NULL;
	char *err = NULL;
	CHECK(jdl_parse_json(longp, strlen(longp), NULL, &j, &err) != 0 && !j);
	CHECK(err && strstr(err, "partition") != NULL);
	free(err);
	err = NULL;
	free(longp);
	longp = xstrdup("{\"name\": \"bat\", \"script\": \"echo\", \"cpusPerTask\": -2}");
	CHECK(jdl_parse_json(longp, strlen(longp), NULL, &j, &err) != 0 && !j);
	CHECK(err && strstr(err, "cpusPerTask: must be a non-negative integer") != NULL);
	free(err);
	free(longp);
	/* the job's own values */
	CHECK(jdl_resource_index("PARTITION") == 0 && jdl_resource_index("cpuspertask") == 5 &&
	      jdl_resource_index("runid") == -1);
	char *why = jdl_resource_check(0, "debug");
	CHECK(why == NULL);
	free(why);
	why = jdl_resource_check(2, "gpu 1");
	CHECK(why && strstr(why, "[A-Za-z0-9_.:,=-]") != NULL);
	free(why);
	why = jdl_resource_check(3, "0");
	CHECK(why && strstr(why, "1 to 100000") != NULL);
	free(why);
	why = jdl_resource_check(5, "2");
	CHECK(why == NULL);
	free(why);
}

/* OPUS names an output file with a parameter and a result of the same name. */
TEST(result_named_like_a_parameter_loads)
{
	char *xml = doc("named", "<PARAM name=\"outfile\" datatype=\"char\" value=\"a.fits\"/>",
			"<GROUP name=\"Generated\"><GROUP name=\"outfile\"><PARAM "
			"name=\"default\" value=\"a.fits\" datatype=\"char\"/></GROUP></GROUP>");
	char *err = refusal_of(xml);
	CHECK(err == NULL);
	if (err)
		fprintf(stderr, "  got \"%s\"\n", err);
	free(err);
	free(xml);
	/* but only that pair, and only with the very same name */
	xml = doc("named", "<PARAM name=\"outfile\" datatype=\"char\" value=\"a.fits\"/>",
		  "<GROUP name=\"Generated\"><GROUP name=\"Outfile\"/></GROUP>");
	err = refusal_of(xml);
	CHECK(err && strstr(err, "duplicate name"));
	free(err);
	free(xml);
}

TEST(inline_refusals)
{
	static const struct {
		const char *params, *groups, *reason;
	} cases[] = {
	    {"<PARAM name=\"x\" datatype=\"char\"/>",
	     "<GROUP name=\"Used\"><GROUP name=\"X\"/></GROUP>",
	     "GROUP \"X\" in GROUP Used: duplicate name (also PARAM \"x\" in GROUP InputParams)"},
	    {"",
	     "<GROUP name=\"Used\"><GROUP name=\"a\"/></GROUP>"
	     "<GROUP name=\"Generated\"><GROUP name=\"A\"/></GROUP>",
	     "GROUP \"A\" in GROUP Generated: duplicate name (also GROUP \"a\" in GROUP Used)"},
	    {"<PARAM name=\"a-b\" datatype=\"char\"/>", "",
	     "PARAM \"a-b\" in GROUP InputParams: name must be an identifier"},
	    {"", "<GROUP name=\"Used\"><GROUP name=\"wait\"/></GROUP>",
	     "GROUP \"wait\" in GROUP Used: name is reserved by UWS"},
	    {"<PARAM name=\"x\" datatype=\"char\"><VALUES><MIN value=\"1\"/></VALUES></PARAM>", "",
	     "PARAM \"x\" in GROUP InputParams: VALUES MIN/MAX only apply to numeric datatypes"},
	    {"<PARAM name=\"x\" datatype=\"int\"><VALUES><MIN value=\"1\" inclusive=\"no\"/>"
	     "</VALUES></PARAM>",
	     "", "PARAM \"x\" in GROUP InputParams: VALUES MIN inclusive=\"no\" is not supported"},
	    {"<PARAM name=\"x\" datatype=\"int\"><VALUES><OPTION value=\"one\"/></VALUES></PARAM>",
	     "", "PARAM \"x\" in GROUP InputParams: OPTION \"one\" must be an integer"},
	    {"<PARAM name=\"x\" datatype=\"int\"><VALUES><OPTION/></VALUES></PARAM>", "",
	     "PARAM \"x\" in GROUP InputParams: OPTION without a value"},
	    {"", "<GROUP name=\"Used\"><GROUP utype=\"x\"/></GROUP>",
	     "GROUP in GROUP Used: missing name attribute"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++) {
		char *xml = doc("inline", cases[i].params, cases[i].groups);
		char *err = refusal_of(xml);
		CHECK(err && strncmp(err, cases[i].reason, strlen(cases[i].reason)) == 0);
		if (!err || strncmp(err, cases[i].reason, strlen(cases[i].reason)) != 0)
			fprintf(stderr, "  case %zu: got \"%s\"\n", i, err ? err : "(accepted)");
		free(err);
		free(xml);
	}
}

TEST(buffer_edge_cases)
{
	char *xml = doc("edge", "", ""), *err = NULL;
	size_t len = strlen(xml);
	char *copy = xmalloc(len + 5);
	struct jdl *j = NULL;

	/* Not NUL-terminated: only len bytes may be read. */
	memcpy(copy, xml, len);
	memcpy(copy + len, "<junk", 5);
	CHECK(jdl_parse_buffer(copy, len, "edge", &j, &err) == 0);
	CHECK(j && j->nparams == 0 && j->nused == 0 && j->ngenerated == 0);
	CHECK(j && strcmp(j->script, "echo hi\n") == 0);
	jdl_unref(j);
	CHECK(jdl_parse_buffer(copy, len + 5, "edge", &j, &err) == OPUS_ERR_INVAL);
	CHECK(err && strncmp(err, "malformed XML", 13) == 0);
	free(err);
	err = NULL;
	CHECK(jdl_parse_buffer("", 0, "edge", &j, &err) == OPUS_ERR_INVAL && err);
	free(err);
	err = NULL;
	/* Unsafe expected name. */
	CHECK(jdl_parse_buffer(xml, len, "../x", &j, &err) == OPUS_ERR_INVAL);
	free(err);
	free(copy);
	free(xml);

	/* Namespace absent, unknown PARAMs and GROUPs ignored, a second RESOURCE. */
	xml = xstrdup("<VOTABLE><RESOURCE name=\"other\" utype=\"x\"/>"
		      "<RESOURCE name=\"ns\" utype=\"voprov:ActivityDescription\">"
		      "<PARAM name=\"script\" value=\"true\"/><PARAM name=\"extra\" value=\"1\"/>"
		      "<GROUP name=\"Other\"><PARAM name=\"PATH\" datatype=\"char\"/></GROUP>"
		      "</RESOURCE></VOTABLE>");
	j = parse_str(xml, NULL, &err);
	CHECK(j && strcmp(j->name, "ns") == 0 && j->nparams == 0);
	jdl_unref(j);
	free(err);
	free(xml);

	xml = xstrdup("<VOTABLE><RESOURCE name=\"x\"><PARAM name=\"script\" value=\"a\"/>"
		      "<PARAM name=\"script\" value=\"b\"/></RESOURCE></VOTABLE>");
	err = refusal_of(xml);
	CHECK_STR(err, "PARAM \"script\": given twice");
	free(err);
	free(xml);
}

TEST(refcount)
{
	struct jdl *j = NULL;
	char *err = NULL;

	CHECK(jdl_parse_file(OPUS1, NULL, &j, &err) == 0);
	if (!j)
		return;
	CHECK(jdl_ref(j) == j);
	CHECK(j->refs == 2);
	jdl_unref(j);
	CHECK(j->refs == 1);
	CHECK(jdl_ref(NULL) == NULL);
	jdl_unref(NULL);
	jdl_unref(j);
}

static void put(const char *dir, const char *file, const char *text)
{
	char *path = xasprintf("%s/%s", dir, file);
	CHECK(file_write_all(path, text, strlen(text), 0640) == 0);
	free(path);
}

TEST(registry_reload)
{
	char *dir = xasprintf("%s/reg", tmp);
	char *good = doc("good", "<PARAM name=\"text\" datatype=\"char\" value=\"v1\"/>", "");
	char *good2 = doc("good", "<PARAM name=\"text\" datatype=\"char\" value=\"v2\"/>", "");
	char *bad = doc("bad", "<PARAM name=\"PATH\" datatype=\"char\"/>", "");
	struct jdl_registry *reg;
	struct jdl *old, *cur;
	char hash1[65];
	char **names;
	size_t n = 99;

	CHECK(mkdir_p(dir, 0750) == 0);
	put(dir, "good.xml", good);
	put(dir, "bad.xml", bad);
	put(dir, "notes.txt", "not a description");
	reg = jdl_registry_new(dir, NULL);
	names = jdl_registry_names(reg, &n);
	CHECK(n == 0 && names && names[0] == NULL);
	free(names);
	CHECK(jdl_registry_load(reg) == 1);
	old = jdl_registry_get(reg, "good");
	CHECK(old != NULL);
	CHECK(jdl_registry_get(reg, "bad") == NULL);
	CHECK(jdl_registry_get(reg, "GOOD") == NULL);
	CHECK(jdl_registry_get(reg, NULL) == NULL);
	if (!old)
		goto done;
	CHECK(old->refs == 2);
	memcpy(hash1, old->hash, sizeof(hash1));

	put(dir, "good.xml", good2);
	CHECK(jdl_registry_load(reg) == 1);
	cur = jdl_registry_get(reg, "good");
	CHECK(cur != NULL && cur != old);
	CHECK(cur && strcmp(cur->hash, hash1) != 0);
	CHECK(cur && strcmp(cur->params[0].default_value, "v2") == 0);
	/* The job that held the old one still sees it whole; the registry keeps
	 * it too, as a superseded version. */
	CHECK(old->refs == 2);
	CHECK_STR(old->hash, hash1);
	CHECK_STR(old->params[0].default_value, "v1");
	jdl_unref(old);
	jdl_unref(cur);

	/* A directory that cannot be read keeps the current set. */
	CHECK(rm_rf(dir) == 0);
	CHECK(jdl_registry_load(reg) < 0);
	cur = jdl_registry_get(reg, "good");
	CHECK(cur != NULL);
	jdl_unref(cur);
done:
	jdl_registry_free(reg);
	free(dir);
	free(good);
	free(good2);
	free(bad);
}

/* Writes v1 or v2 of "ver" (a different script each) into dir. */
static void put_version(const char *dir, int v)
{
	char *xml = xasprintf("<VOTABLE version=\"1.3\">\n"
			      "<RESOURCE name=\"ver\" utype=\"voprov:ActivityDescription\">\n"
			      "<PARAM name=\"script\" value=\"echo v%d&#10;\" datatype=\"char\"/>\n"
			      "</RESOURCE></VOTABLE>\n",
			      v);
	put(dir, "ver.xml", xml);
	free(xml);
}

/* The script of version `hash` of "ver", as a registry sees it (NULL: none). */
static char *script_of(struct jdl_registry *reg, const char *hash)
{
	struct jdl *j = jdl_registry_get_version(reg, "ver", hash);
	char *script = j ? xstrdup(j->script) : NULL;

	CHECK(!j || strcmp(j->hash, hash) == 0);
	jdl_unref(j);
	return script;
}

TEST(registry_versions)
{
	char *dir = xasprintf("%s/ver", tmp), *vdir = xasprintf("%s/ver-versions", tmp);
	struct jdl_registry *reg = jdl_registry_new(dir, vdir), *reg2;
	char hash1[65] = "", hash2[65] = "", *script;
	struct jdl *j;

	CHECK(mkdir_p(dir, 0750) == 0);
	put_version(dir, 1);
	CHECK(jdl_registry_load(reg) == 1);
	if ((j = jdl_registry_get(reg, "ver")))
		memcpy(hash1, j->hash, sizeof(hash1));
	jdl_unref(j);
	put_version(dir, 2);
	CHECK(jdl_registry_load(reg) == 1);
	if ((j = jdl_registry_get(reg, "ver")))
		memcpy(hash2, j->hash, sizeof(hash2));
	jdl_unref(j);
	CHECK(hash1[0] && hash2[0] && strcmp(hash1, hash2) != 0);

	CHECK_STR((script = script_of(reg, hash1)), "echo v1\n");
	free(script);
	CHECK_STR((script = script_of(reg, hash2)), "echo v2\n");
	free(script);
	/* No hash (jobs from before versions were kept): the current one. */
	j = jdl_registry_get_version(reg, "ver", "");
	CHECK(j && strcmp(j->hash, hash2) == 0);
	jdl_unref(j);
	j = jdl_registry_get_version(reg, "ver", NULL);
	CHECK(j && strcmp(j->hash, hash2) == 0);
	jdl_unref(j);

	/* A new registry on the same versions_dir (a restart) still has v1. */
	reg2 = jdl_registry_new(dir, vdir);
	CHECK(jdl_registry_load(reg2) == 1);
	CHECK_STR((script = script_of(reg2, hash1)), "echo v1\n");
	free(script);
	CHECK_STR((script = script_of(reg2, hash1)), "echo v1\n"); /* now from memory */
	free(script);
	/* Malformed or unknown: NULL, never a path outside versions_dir. */
	CHECK(jdl_registry_get_version(reg2, "ver", "../x") == NULL);
	CHECK(jdl_registry_get_version(reg2, "../ver", hash1) == NULL);
	CHECK(jdl_registry_get_version(reg2, "ver", "ABC") == NULL);
	CHECK(jdl_registry_get_version(reg2, "ver",
				       "0000000000000000000000000000000000000000000000"
				       "000000000000000000") == NULL);
	CHECK(jdl_registry_get_version(reg2, "other", hash1) == NULL);
	jdl_registry_free(reg2);

	/* Without a versions_dir, superseded versions live in memory only. */
	reg2 = jdl_registry_new(dir, NULL);
	CHECK(jdl_registry_load(reg2) == 1);
	CHECK(jdl_registry_get_version(reg2, "ver", hash1) == NULL);
	jdl_registry_free(reg2);

	/* A description removed runs no more jobs, whatever their version. */
	put(dir, "ver.xml", "");
	CHECK(jdl_registry_load(reg) == 0);
	CHECK(jdl_registry_get_version(reg, "ver", hash1) == NULL);
	CHECK(jdl_registry_get_version(reg, "ver", hash2) == NULL);

	jdl_registry_free(reg);
	free(dir);
	free(vdir);
}

TEST(registry_names_sorted)
{
	static const char *const order[] = {"Zeta", "a", "b-2", "b_1", "c"};
	char *dir = xasprintf("%s/names", tmp);
	struct jdl_registry *reg = jdl_registry_new(dir, NULL);
	char **names;
	size_t n = 0;

	CHECK(mkdir_p(dir, 0750) == 0);
	for (size_t i = OPUS_ARRAY_LEN(order); i-- > 0;) {
		char *file = xasprintf("%s.xml", order[i]), *xml = doc(order[i], "", "");
		put(dir, file, xml);
		free(file);
		free(xml);
	}
	/* Skipped: a file name that is not a safe name, a subdirectory. */
	put(dir, "bad name.xml", "<VOTABLE/>");
	{
		char *sub = xasprintf("%s/sub.xml", dir);
		CHECK(mkdir_p(sub, 0750) == 0);
		free(sub);
	}
	CHECK(jdl_registry_load(reg) == (int)OPUS_ARRAY_LEN(order));
	names = jdl_registry_names(reg, &n);
	CHECK(n == OPUS_ARRAY_LEN(order));
	for (size_t i = 0; i < n && i < OPUS_ARRAY_LEN(order); i++)
		CHECK_STR(names[i], order[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	jdl_registry_free(reg);
	jdl_registry_free(NULL);
	free(dir);
}

TEST(shipped_jobdefs)
{
	static const char *const want[] = {
	    "cat_file", "copy", "fail", "sleep", "test_activity_1", "test_activity_2", "typed"};
	struct jdl_registry *reg = jdl_registry_new("jobdefs", NULL);
	struct jdl *j;
	const struct jdl_param *p;
	char **names;
	size_t n = 0;

	CHECK(jdl_registry_load(reg) == (int)OPUS_ARRAY_LEN(want));
	names = jdl_registry_names(reg, &n);
	CHECK(n == OPUS_ARRAY_LEN(want));
	for (size_t i = 0; i < n && i < OPUS_ARRAY_LEN(want); i++)
		CHECK_STR(names[i], want[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	j = jdl_registry_get(reg, "test_activity_1");
	CHECK(j && strcmp(j->hash, "0f2a97c53cd6b8e986de2485454d624111f57c196eb26552d3041eec3"
				   "0545d08") == 0);
	jdl_unref(j);

	j = jdl_registry_get(reg, "copy");
	CHECK(j && j->nparams == 1 && j->ngenerated == 1);
	p = jdl_find_param(j, "text");
	CHECK(p && p->default_value && strcmp(p->default_value, "Hello") == 0 && !p->required);
	CHECK(j && strcmp(j->generated[0].default_value, "output.txt") == 0);
	CHECK(j && strcmp(j->script, "printf '%s\\n' \"$text\" > \"$output\"\n") == 0);
	jdl_unref(j);

	j = jdl_registry_get(reg, "sleep");
	CHECK(j && j->execution_duration == 60);
	p = jdl_find_param(j, "duration");
	CHECK(p && p->type == JDL_INT && p->min && strcmp(p->min, "0") == 0 && p->max &&
	      strcmp(p->max, "3600") == 0 && p->default_value &&
	      strcmp(p->default_value, "1") == 0);
	jdl_unref(j);

	j = jdl_registry_get(reg, "fail");
	CHECK(j && strstr(j->script, "exit 3") && strstr(j->script, ">&2"));
	p = jdl_find_param(j, "message");
	CHECK(p && p->default_value && strcmp(p->default_value, "failing on purpose") == 0);
	jdl_unref(j);

	j = jdl_registry_get(reg, "cat_file");
	p = jdl_find_param(j, "input");
	CHECK(p && p->type == JDL_FILE && p->required && !p->default_value);
	CHECK(j && jdl_find_generated(j, "output"));
	jdl_unref(j);

	j = jdl_registry_get(reg, "typed");
	CHECK(j && j->nparams == 4);
	p = jdl_find_param(j, "n");
	CHECK(p && p->type == JDL_INT && p->default_value && strcmp(p->default_value, "3") == 0);
	expect(p, "11", "must be <= 10");
	p = jdl_find_param(j, "x");
	CHECK(p && p->type == JDL_DOUBLE && strcmp(p->default_value, "1.5") == 0);
	p = jdl_find_param(j, "flag");
	CHECK(p && p->type == JDL_BOOLEAN && strcmp(p->default_value, "false") == 0);
	p = jdl_find_param(j, "mode");
	CHECK(p && p->noptions == 2);
	expect(p, "medium", "must be one of: fast, slow");
	jdl_unref(j);
	jdl_registry_free(reg);
}

/* ---- writers ---------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool param_equal(const struct jdl_param *a, const struct jdl_param *b)
{
	bool same = str_eq(a->name, b->name) && a->type == b->type &&
		    str_eq(a->datatype, b->datatype) && str_eq(a->xtype, b->xtype) &&
		    str_eq(a->arraysize, b->arraysize) && str_eq(a->unit, b->unit) &&
		    str_eq(a->ucd, b->ucd) && str_eq(a->utype, b->utype) &&
		    str_eq(a->description, b->description) &&
		    str_eq(a->default_value, b->default_value) && a->required == b->required &&
		    str_eq(a->min, b->min) && str_eq(a->max, b->max) && a->noptions == b->noptions;
	for (size_t i = 0; same && i < a->noptions; i++)
		same = str_eq(a->options[i], b->options[i]);
	return same;
}

static bool entities_equal(const struct jdl_entity *a, const struct jdl_entity *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].description, b[i].description) ||
		    !str_eq(a[i].role, b[i].role) ||
		    !str_eq(a[i].multiplicity, b[i].multiplicity) ||
		    !str_eq(a[i].default_value, b[i].default_value) ||
		    !str_eq(a[i].content_type, b[i].content_type) || !str_eq(a[i].url, b[i].url))
			return false;
	}
	return true;
}

/* Every field but the hash and the reference count. */
static bool jdl_equal(const struct jdl *a, const struct jdl *b)
{
	bool same = str_eq(a->name, b->name) && str_eq(a->description, b->description) &&
		    str_eq(a->doculink, b->doculink) && str_eq(a->type, b->type) &&
		    str_eq(a->subtype, b->subtype) && str_eq(a->version, b->version) &&
		    str_eq(a->contact_name, b->contact_name) &&
		    str_eq(a->contact_email, b->contact_email) &&
		    a->execution_duration == b->execution_duration && a->quote == b->quote &&
		    str_eq(a->script, b->script) && a->nparams == b->nparams &&
		    a->nused == b->nused && a->ngenerated == b->ngenerated;
	for (size_t i = 0; same && i < a->nparams; i++)
		same = param_equal(&a->params[i], &b->params[i]);
	return same && entities_equal(a->used, b->used, a->nused) &&
	       entities_equal(a->generated, b->generated, a->ngenerated);
}

/* parse → write → parse of one file gives the same struct. */
static void round_trip(const char *path, const char *name)
{
	struct jdl *a = NULL, *b = NULL;
	struct sbuf out = SBUF_INIT;
	char *err = NULL;

	CHECK(jdl_parse_file(path, name, &a, &err) == 0);
	CHECK(err == NULL);
	free(err);
	err = NULL;
	if (!a)
		return;
	CHECK(jdl_write_xml(a, &out) == 0);
	CHECK(jdl_parse_buffer(out.buf, out.len, name, &b, &err) == 0);
	if (err)
		fprintf(stderr, "%s: %s\n", path, err);
	CHECK(b && jdl_equal(a, b));
	if (b && !jdl_equal(a, b))
		fprintf(stderr, "%s: round trip differs:\n%s\n", path, sbuf_str(&out));
	free(err);
	sbuf_release(&out);
	jdl_unref(a);
	jdl_unref(b);
}

TEST(write_xml_round_trip)
{
	static const struct {
		const char *path, *name;
	} files[] = {
	    {OPUS1, "test_activity_1"},
	    {OPUS2, "test_activity_2"},
	    {"jobdefs/cat_file.xml", "cat_file"},
	    {"jobdefs/copy.xml", "copy"},
	    {"jobdefs/fail.xml", "fail"},
	    {"jobdefs/sleep.xml", "sleep"},
	    {"jobdefs/test_activity_1.xml", "test_activity_1"},
	    {"jobdefs/test_activity_2.xml", "test_activity_2"},
	    {"jobdefs/typed.xml", "typed"},
	};
	for (size_t i = 0; i < OPUS_ARRAY_LEN(files); i++)
		round_trip(files[i].path, files[i].name);
}

/* Every attribute, no_query, a nested OPTION and CR/LF in attributes. */
TEST(write_xml_every_field)
{
	char *xml = doc("full",
			"<PARAM name=\"a\" datatype=\"double\" unit=\"deg\" ucd=\"pos.eq.ra\" "
			"utype=\"u:a\" arraysize=\"1\" type=\"no_query\">"
			"<DESCRIPTION>line1&#13;&#10;line2 &amp; &lt;x&gt;</DESCRIPTION>"
			"<VALUES><MIN value=\"0\"/><MAX value=\"360\"/></VALUES></PARAM>"
			"<PARAM name=\"b\" datatype=\"char\" value=\"x&#13;&#10;y\">"
			"<VALUES><OPTION value=\"x&#13;&#10;y\"><OPTION value=\"z\"/></OPTION>"
			"</VALUES></PARAM>"
			"<PARAM name=\"f\" datatype=\"file\" xtype=\"application/octet-stream\"/>",
			"<GROUP name=\"Used\"><GROUP name=\"in\"><DESCRIPTION>d</DESCRIPTION>"
			"<PARAM name=\"url\" value=\"file://$ID\"/>"
			"<PARAM name=\"role\" value=\"r\"/></GROUP></GROUP>");
	char *err = NULL;
	struct jdl *a = parse_str(xml, "full", &err), *b = NULL;
	struct sbuf out = SBUF_INIT;

	CHECK(a != NULL);
	if (a) {
		CHECK(jdl_write_xml(a, &out) == 0);
		CHECK(strstr(sbuf_str(&out), "value=\"x&#13;&#10;y\"") != NULL);
		CHECK(strstr(sbuf_str(&out), "type=\"no_query\"") != NULL);
		b = parse_str(sbuf_str(&out), "full", &err);
		CHECK(b && jdl_equal(a, b));
		CHECK(b && b->nparams == 3 && !b->params[0].required && b->params[2].required);
	}
	free(err);
	free(xml);
	sbuf_release(&out);
	jdl_unref(a);
	jdl_unref(b);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

TEST(write_json_typed)
{
	struct jdl *j = NULL;
	struct sbuf out = SBUF_INIT;
	char *err = NULL;
	json_t *root = NULL, *params, *p, *g;

	CHECK(jdl_parse_file("jobdefs/typed.xml", "typed", &j, &err) == 0);
	if (!j)
		goto done;
	CHECK(jdl_write_json(j, &out) == 0);
	root = json_loads(sbuf_str(&out), 0, NULL);
	CHECK(json_is_object(root));
	CHECK_STR(jstr(root, "name"), "typed");
	CHECK_STR(jstr(root, "description"), "Writes its typed parameters into a file");
	CHECK(json_is_null(json_object_get(root, "doculink")));
	CHECK_STR(jstr(root, "type"), "example");
	CHECK_STR(jstr(root, "contact_email"), "admin@opus");
	CHECK(json_integer_value(json_object_get(root, "executionDuration")) == 20);
	CHECK(json_integer_value(json_object_get(root, "quote")) == 1);
	params = json_object_get(root, "parameters");
	CHECK(json_array_size(params) == 4);
	p = json_array_get(params, 0);
	CHECK_STR(jstr(p, "name"), "n");
	CHECK_STR(jstr(p, "datatype"), "int");
	CHECK(json_is_false(json_object_get(p, "required")));
	CHECK_STR(jstr(p, "default"), "3");
	CHECK_STR(jstr(p, "description"), "A count from 1 to 10");
	CHECK_STR(jstr(p, "min"), "1");
	CHECK_STR(jstr(p, "max"), "10");
	CHECK(json_is_null(json_object_get(p, "unit")));
	CHECK(json_is_null(json_object_get(p, "arraysize")));
	CHECK(json_array_size(json_object_get(p, "options")) == 0);
	p = json_array_get(params, 3);
	CHECK_STR(jstr(p, "name"), "mode");
	CHECK_STR(jstr(p, "arraysize"), "*");
	CHECK(json_is_null(json_object_get(p, "min")));
	CHECK(json_array_size(json_object_get(p, "options")) == 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(p, "options"), 1)), "slow");
	CHECK(json_array_size(json_object_get(root, "used")) == 0);
	g = json_array_get(json_object_get(root, "generated"), 0);
	CHECK_STR(jstr(g, "name"), "output");
	CHECK_STR(jstr(g, "multiplicity"), "1");
	CHECK_STR(jstr(g, "default"), "output.txt");
	CHECK_STR(jstr(g, "content_type"), "text/plain");
	CHECK(json_is_null(json_object_get(g, "role")));
	CHECK(json_is_null(json_object_get(g, "url")));
done:
	json_decref(root);
	free(err);
	sbuf_release(&out);
	jdl_unref(j);
}

/* The JSON of GET /jdl/{name}/json with the script added (that shape has
 * none): what an admin uploads after editing it. Caller decrefs. */
static json_t *upload_json_of(const struct jdl *j)
{
	struct sbuf out = SBUF_INIT;
	json_t *root = NULL;

	if (jdl_write_json(j, &out) == 0)
		root = json_loads(sbuf_str(&out), 0, NULL);
	if (root)
		json_object_set_new(root, "script", json_string(j->script));
	sbuf_release(&out);
	return root;
}

/* VOTable → JSON → jdl_parse_json: the same struct, the same VOTable written
 * back, and the hash of that VOTable as the XML reader would give it. */
static void json_round_trip(const char *path)
{
	struct jdl *a = NULL, *b = NULL, *c = NULL;
	struct sbuf xa = SBUF_INIT, xb = SBUF_INIT;
	json_t *root = NULL;
	char *text = NULL, *err = NULL;

	CHECK(jdl_parse_file(path, NULL, &a, &err) == 0);
	if (!a)
		goto done;
	CHECK((root = upload_json_of(a)) != NULL);
	text = json_dumps(root, JSON_COMPACT);
	CHECK(text && jdl_parse_json(text, strlen(text), NULL, &b, &err) == 0);
	if (err)
		fprintf(stderr, "%s: %s\n", path, err);
	if (!b)
		goto done;
	CHECK(jdl_equal(a, b));
	CHECK(jdl_write_xml(a, &xa) == 0 && jdl_write_xml(b, &xb) == 0);
	CHECK_STR(sbuf_str(&xb), sbuf_str(&xa));
	CHECK(jdl_parse_buffer(xb.buf, xb.len, b->name, &c, NULL) == 0);
	CHECK(c && strcmp(c->hash, b->hash) == 0);
	CHECK(b->refs == 1);
done:
	if (!b || !jdl_equal(a, b))
		fprintf(stderr, "%s: JSON round trip differs\n", path);
	free(text);
	free(err);
	json_decref(root);
	sbuf_release(&xa);
	sbuf_release(&xb);
	jdl_unref(a);
	jdl_unref(b);
	jdl_unref(c);
}

TEST(parse_json_round_trip)
{
	static const char *const dirs[] = {"tests/data/opus-jdl", "jobdefs"};
	size_t n = 0;

	for (size_t d = 0; d < OPUS_ARRAY_LEN(dirs); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;
		CHECK(dir != NULL);
		while (dir && (e = readdir(dir))) {
			size_t len = strlen(e->d_name);
			char *path;
			if (len < 5 || strcmp(e->d_name + len - 4, ".xml") != 0)
				continue;
			path = xasprintf("%s/%s", dirs[d], e->d_name);
			json_round_trip(path);
			free(path);
			n++;
		}
		if (dir)
			closedir(dir);
	}
	CHECK(n >= 9);
}

/* typed.xml as an upload, changed by edit(), then read: the refusal, or NULL. */
static char *json_refusal(void (*edit)(json_t *root))
{
	struct jdl *a = NULL, *b = NULL;
	json_t *root = NULL;
	char *text = NULL, *err = NULL;

	CHECK(jdl_parse_file("jobdefs/typed.xml", "typed", &a, NULL) == 0);
	if (a && (root = upload_json_of(a))) {
		edit(root);
		text = json_dumps(root, JSON_COMPACT);
		CHECK(jdl_parse_json(text, strlen(text), NULL, &b, &err) == OPUS_ERR_INVAL || b);
		CHECK((b == NULL) == (err != NULL));
	}
	free(text);
	json_decref(root);
	jdl_unref(a);
	jdl_unref(b);
	return err;
}

static json_t *param0(json_t *root)
{
	return json_array_get(json_object_get(root, "parameters"), 0);
}

static void edit_nothing(json_t *root)
{
	(void)root;
}

static void edit_datatype(json_t *root)
{
	json_object_set_new(json_array_get(json_object_get(root, "parameters"), 2), "datatype",
			    json_string("integer"));
}

static void edit_path(json_t *root)
{
	json_object_set_new(param0(root), "name", json_string("PATH"));
}

static void edit_no_script(json_t *root)
{
	json_object_del(root, "script");
}

static void edit_unknown_keys(json_t *root)
{
	json_object_set_new(root, "colour", json_string("blue"));
	json_object_set_new(root, "size", json_integer(3));
}

static void edit_param_key(json_t *root)
{
	json_object_set_new(param0(root), "xtype", json_string("timestamp"));
}

static void edit_required(json_t *root)
{
	json_object_set_new(param0(root), "required", json_true());
}

static void edit_duration(json_t *root)
{
	json_object_set_new(root, "executionDuration", json_integer(-1));
}

static void edit_generated_url(json_t *root)
{
	json_object_set_new(json_array_get(json_object_get(root, "generated"), 0), "url",
			    json_string("file://$ID"));
}

static void edit_control_char(json_t *root)
{
	json_object_set_new(root, "description", json_string("bell\a"));
}

static void edit_duplicate(json_t *root)
{
	json_object_set_new(json_array_get(json_object_get(root, "generated"), 0), "name",
			    json_string("N"));
}

static void edit_bound(json_t *root)
{
	json_object_set_new(param0(root), "max", json_string("ten"));
}

static void edit_option(json_t *root)
{
	json_array_append_new(
	    json_object_get(json_array_get(json_object_get(root, "parameters"), 3), "options"),
	    json_integer(1));
}

static void check_prefix(char *err, const char *want)
{
	CHECK(err && strncmp(err, want, strlen(want)) == 0);
	if (err && strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "got \"%s\", want \"%s...\"\n", err, want);
	free(err);
}

TEST(parse_json_refusals)
{
	static const struct {
		void (*edit)(json_t *root);
		const char *want; /* the start of the message */
	} cases[] = {
	    {edit_datatype, "parameters[2].datatype: unknown type \"integer\" (known: boolean, "},
	    {edit_path, "PARAM \"PATH\" in GROUP InputParams: name would clobber the job's "
			"environment"},
	    {edit_no_script, "script: missing or empty"},
	    {edit_unknown_keys, "unknown keys \"colour\", \"size\""},
	    {edit_param_key, "parameters[0]: unknown key \"xtype\""},
	    {edit_required, "parameters[0].required: true, but a parameter with a default"},
	    {edit_duration, "executionDuration: must be a non-negative integer"},
	    {edit_generated_url, "generated[0].url: only \"used\" entities have a url"},
	    {edit_control_char, "description: character U+0007 cannot be written in XML"},
	    {edit_duplicate, "GROUP \"N\" in GROUP Generated: duplicate name"},
	    {edit_bound, "PARAM \"n\" in GROUP InputParams: VALUES MAX \"ten\" must be an integer"},
	    {edit_option, "parameters[3].options[2]: must be a string"},
	};
	char *err = json_refusal(edit_nothing);

	CHECK(err == NULL);
	free(err);
	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++)
		check_prefix(json_refusal(cases[i].edit), cases[i].want);
}

static char *json_error_of(const char *text, const char *name)
{
	struct jdl *j = NULL;
	char *err = NULL;
	CHECK(jdl_parse_json(text, strlen(text), name, &j, &err) == OPUS_ERR_INVAL);
	CHECK(j == NULL);
	return err;
}

TEST(parse_json_malformed_and_names)
{
	static const char ok[] = "{\"name\": \"tiny\", \"script\": \"echo hi\\n\"}";
	struct jdl *j = NULL;
	char *err = NULL;

	check_prefix(json_error_of("{\"name\": \"x\",", NULL), "malformed JSON at line 1");
	check_prefix(json_error_of("[1, 2]", NULL), "the description must be a JSON object");
	check_prefix(json_error_of("{\"name\": \"a\", \"name\": \"b\"}", NULL),
		     "malformed JSON at line 1, column 20: duplicate object key");
	check_prefix(json_error_of("{\"script\": \"echo\"}", NULL), "name: missing");
	check_prefix(json_error_of("{\"name\": \"../x\", \"script\": \"echo\"}", NULL),
		     "name: \"../x\" must be 1 to 64 characters");
	check_prefix(json_error_of(ok, "other"),
		     "name: \"tiny\" does not match the job description name \"other\"");
	check_prefix(json_error_of("{\"name\": \"tiny\", \"script\": 3}", NULL),
		     "script: must be a string or null");
	check_prefix(
	    json_error_of("{\"name\": \"t\", \"script\": \"e\", \"parameters\": {}}", NULL),
	    "parameters: must be an array or null");
	check_prefix(
	    json_error_of("{\"name\": \"t\", \"script\": \"e\", \"parameters\": [{}]}", NULL),
	    "parameters[0].name: missing");

	/* the least a description needs; absent keys are null */
	CHECK(jdl_parse_json(ok, strlen(ok), "tiny", &j, &err) == 0);
	CHECK(err == NULL);
	if (j) {
		CHECK_STR(j->name, "tiny");
		CHECK_STR(j->script, "echo hi\n");
		CHECK(j->nparams == 0 && j->nused == 0 && j->ngenerated == 0);
		CHECK(j->description == NULL && j->execution_duration == 0);
		CHECK(strlen(j->hash) == 64);
	}
	free(err);
	jdl_unref(j);
}

/* "file" comes back the OPUS way; "" is absent, as value="" is in the VOTable. */
TEST(parse_json_file_and_empty)
{
	static const char text[] =
	    "{\"name\": \"f\", \"script\": \"cat \\\"$in\\\"\", \"description\": \"  d \\n\","
	    " \"parameters\": [{\"name\": \"in\", \"datatype\": \"file\", \"unit\": \"\","
	    " \"default\": \"\", \"required\": false, \"options\": [\"\"]}]}";
	struct jdl *j = NULL;
	char *err = NULL;

	CHECK(jdl_parse_json(text, strlen(text), NULL, &j, &err) == 0);
	if (err)
		fprintf(stderr, "%s\n", err);
	if (j && j->nparams == 1) {
		const struct jdl_param *p = &j->params[0];
		CHECK_STR(j->description, "d");
		CHECK(p->type == JDL_FILE);
		CHECK_STR(p->datatype, "char");
		CHECK_STR(p->xtype, "application/octet-stream");
		CHECK(p->unit == NULL && p->default_value == NULL && !p->required);
		CHECK(p->noptions == 1 && p->options[0][0] == '\0');
	}
	free(err);
	jdl_unref(j);
}

/* ---- an OPUS site's folder (issue 11 item 5) ------------------------- */

#define SITE "tests/data/opus-site"

/* The description's source reads back (as opusd's own VOTable) to itself. */
static void check_canonical(const struct jdl *j)
{
	struct jdl *again = NULL;
	char *err = NULL, hash[65];

	sha256_hex(j->source, j->source_len, hash);
	CHECK_STR(j->hash, hash);
	CHECK(jdl_parse_buffer(j->source, j->source_len, j->name, &again, &err) == 0);
	CHECK(again && strcmp(again->hash, j->hash) == 0);
	CHECK(again && strcmp(again->script, j->script) == 0);
	if (err)
		fprintf(stderr, "  %s: %s\n", j->name, err);
	jdl_unref(again);
	free(err);
}

TEST(opus_site_loads_every_format)
{
	static const char *const want[] = {"json_only", "shadowed", "vot_embedded", "vot_script",
					   "wadl_only"};
	struct jdl_registry *reg = jdl_registry_new(SITE, NULL);
	struct jdl *j;
	char **names;
	size_t n = 0;

	CHECK(jdl_registry_load(reg) == (int)OPUS_ARRAY_LEN(want));
	names = jdl_registry_names(reg, &n);
	CHECK(n == OPUS_ARRAY_LEN(want));
	for (size_t i = 0; i < n && i < OPUS_ARRAY_LEN(want); i++)
		CHECK_STR(names[i], want[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	/* the VOTable comes first, and a script inside it before scripts/ */
	j = jdl_registry_get(reg, "shadowed");
	CHECK(j && strstr(j->description, "The VOTable of shadowed"));
	jdl_unref(j);
	j = jdl_registry_get(reg, "vot_embedded");
	CHECK(j && strcmp(j->script, "echo $text > $output\r\n") == 0);
	CHECK(j && strncmp(j->source, "<VOTABLE xmlns:xsi", 18) == 0); /* the file itself */
	jdl_unref(j);
	/* a VOTable without a script takes scripts/{name}.sh and stands alone */
	j = jdl_registry_get(reg, "vot_script");
	CHECK(j && strcmp(j->script, "cat $input > $output\necho $text >> $output\n") == 0);
	CHECK(j && j->nused == 1 && strcmp(j->used[0].url, "file://$ID") == 0);
	if (j)
		check_canonical(j);
	jdl_unref(j);
	jdl_registry_free(reg);
}

TEST(opus_json_fields)
{
	struct jdl_registry *reg = jdl_registry_new(SITE, NULL);
	struct jdl *j;
	const struct jdl_param *p;

	CHECK(jdl_registry_load(reg) > 0);
	j = jdl_registry_get(reg, "json_only");
	CHECK(j != NULL);
	if (!j)
		goto done;
	CHECK_STR(j->description, "Job described only in OPUS's JSON: repeats a word");
	CHECK_STR(j->type, "test");
	CHECK_STR(j->contact_email, "admin@opus");
	CHECK(j->doculink == NULL);
	CHECK(j->execution_duration == 30 && j->quote == 5);
	CHECK(j->nparams == 3 && j->nused == 0 && j->ngenerated == 1);
	p = jdl_find_param(j, "word");
	CHECK(p && p->type == JDL_CHAR && strcmp(p->default_value, "hi") == 0 && !p->required);
	CHECK(p && strcmp(p->description, "The word") == 0 && p->unit == NULL);
	p = jdl_find_param(j, "times");
	CHECK(p && p->type == JDL_LONG && strcmp(p->min, "1") == 0 && strcmp(p->max, "5") == 0);
	expect(p, "6", "must be <= 5");
	p = jdl_find_param(j, "sep");
	CHECK(p && p->noptions == 2 && strcmp(p->options[1], "+") == 0);
	CHECK_STR(j->generated[0].default_value, "output.txt");
	CHECK_STR(j->generated[0].content_type, "text/plain");
	CHECK(strstr(j->script, "for i in $(seq $times)") == j->script);
	check_canonical(j);
	jdl_unref(j);
done:
	jdl_registry_free(reg);
}

TEST(opus_wadl_fields)
{
	struct jdl_registry *reg = jdl_registry_new(SITE, NULL);
	struct jdl *j;
	const struct jdl_param *p;

	CHECK(jdl_registry_load(reg) > 0);
	CHECK(jdl_registry_get(reg, "uws_template") == NULL); /* OPUS's template, no job */
	j = jdl_registry_get(reg, "wadl_only");
	CHECK(j != NULL);
	if (!j)
		goto done;
	CHECK_STR(j->description, "Job described only in OPUS's WADL");
	CHECK_STR(j->doculink, "https://opus.example.org/doc");
	CHECK_STR(j->contact_name, "opus-admin");
	CHECK(j->execution_duration == 25 && j->quote == 4);
	CHECK(j->nparams == 5 && j->nused == 0 && j->ngenerated == 1);
	p = jdl_find_param(j, "text");
	CHECK(p && p->type == JDL_CHAR &&
	      strcmp(p->description, "Text written to the output") == 0);
	p = jdl_find_param(j, "n");
	CHECK(p && p->type == JDL_LONG && strcmp(p->max, "9") == 0);
	p = jdl_find_param(j, "mode");
	CHECK(p && p->noptions == 2 && strcmp(p->options[0], "fast") == 0);
	expect(p, "medium", "must be one of: fast, slow");
	CHECK(jdl_find_param(j, "x") && jdl_find_param(j, "x")->type == JDL_DOUBLE);
	CHECK(jdl_find_param(j, "flag") && jdl_find_param(j, "flag")->type == JDL_BOOLEAN);
	CHECK_STR(j->generated[0].name, "output");
	CHECK_STR(j->generated[0].content_type, "text/plain");
	CHECK_STR(j->generated[0].default_value, "output.txt");
	CHECK(strncmp(j->script, "#!/bin/bash\n", 12) == 0);
	check_canonical(j);
	jdl_unref(j);
done:
	jdl_registry_free(reg);
}

typedef int (*reader_fn)(const struct jdl_doc *, struct jdl **, char **);

/* The reader's message for text (NULL when it loads). */
static char *refusal_by(reader_fn read, const char *text, const char *name, const char *script)
{
	const struct jdl_doc d = {.buf = text, .len = strlen(text), .name = name, .script = script};
	struct jdl *j = NULL;
	char *err = NULL;

	if (read(&d, &j, &err) == 0) {
		CHECK(err == NULL);
		jdl_unref(j);
		return NULL;
	}
	CHECK(j == NULL);
	return err ? err : xstrdup("(no message)");
}

#define WADL_HEAD "<application xmlns=\"http://wadl.dev.java.net/2009/02\">"
#define WADL_JOBLIST(params)                                                                       \
	WADL_HEAD "<resources><resource id=\"joblist\" path=\"w\"><method><request "               \
		  "id=\"create_job_parameters\">" params "</request></method></resource>"          \
		  "</resources></application>"

TEST(opus_wadl_refusals)
{
	static const struct {
		const char *text, *script, *reason;
	} cases[] = {
	    {WADL_JOBLIST(""), NULL, "script: missing or empty (and no scripts/{name}.sh)"},
	    {WADL_JOBLIST(""), "  \n", "script: missing or empty"},
	    {WADL_JOBLIST("<param name=\"a\" type=\"xs:complex\"/>"), "true",
	     "param \"a\": unknown type \"xs:complex\""},
	    {WADL_JOBLIST("<param name=\"a\" type=\"xs:string\" required=\"maybe\"/>"), "true",
	     "param \"a\": \"maybe\" is neither true nor false"},
	    {WADL_JOBLIST("<param name=\"SECONDS\" type=\"xs:int\"/>"), "true",
	     "PARAM \"SECONDS\" in GROUP InputParams: name would clobber the job's environment"},
	    {WADL_JOBLIST("<param name=\"n\" type=\"xs:int\" default=\"x\"/>"), "true",
	     "default value \"x\" must be an integer"},
	    {WADL_JOBLIST("<param name=\"a\"/><param name=\"A\"/>"), "true", "duplicate name"},
	    {WADL_HEAD "<resources/></application>", "true",
	     "application: no resource id=\"joblist\""},
	    {"<VOTABLE/>", "true", "the root element must be a WADL application"},
	    {"<application", "true", "malformed XML at line 1"},
	    {"<!DOCTYPE a [<!ENTITY e \"x\">]><application/>", "true",
	     "DOCTYPE: document type declarations are refused"},
	    {WADL_HEAD "<resource id=\"joblist\" path=\"w\"/><param name=\"EXECUTIONDURATION\" "
		       "default=\"-1\"/></application>",
	     "true", "param name=\"EXECUTIONDURATION\" default: \"-1\" must be a non-negative"},
	    {WADL_JOBLIST(""), "echo \x01", "script: character U+0001 cannot be written in XML"},
	    {WADL_JOBLIST(""), "echo \xff", "script: not UTF-8 text"},
	};
	char *err;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++) {
		err = refusal_by(jdl_parse_wadl, cases[i].text, "w", cases[i].script);
		CHECK(err && strstr(err, cases[i].reason));
		if (!err || !strstr(err, cases[i].reason))
			fprintf(stderr, "  wadl case %zu: got \"%s\"\n", i, err ? err : "(loaded)");
		free(err);
	}
	/* the path names it when no file does; the file's name wins otherwise */
	CHECK((err = refusal_by(jdl_parse_wadl, WADL_JOBLIST(""), NULL, "true")) == NULL);
	free(err);
	CHECK((err = refusal_by(jdl_parse_wadl, WADL_JOBLIST(""), "other", "true")) == NULL);
	free(err);
}

TEST(opus_json_refusals)
{
	static const struct {
		const char *text, *script, *reason;
	} cases[] = {
	    {"{\"name\": \"o\"}", NULL, "script: missing or empty"},
	    {"{\"name\": \"p\", \"script\": \"true\"}", NULL,
	     "name \"p\" does not match the job description name \"o\""},
	    {"[1]", "true", "the description must be a JSON object"},
	    {"{", "true", "malformed JSON at line"},
	    {"{\"a\": 1, \"a\": 2}", "true", "malformed JSON"},
	    {"{\"parameters\": [1]}", "true", "parameters: must be an object keyed by name"},
	    {"{\"parameters\": {\"a\": 1}}", "true", "parameters.a: must be an object"},
	    {"{\"parameters\": {\"a\": {\"datatype\": \"xs:str\"}}}", "true",
	     "parameters.a.datatype: unknown type \"xs:str\""},
	    {"{\"parameters\": {\"a\": {\"required\": \"yes\"}}}", "true",
	     "parameters.a.required: \"yes\" is neither true nor false"},
	    {"{\"parameters\": {\"a\": {\"default\": [1]}}}", "true",
	     "parameters.a.default: must be a string, a number or null"},
	    {"{\"parameters\": {\"a\": {\"options\": [1]}}}", "true",
	     "parameters.a.options[0]: must be a string"},
	    {"{\"parameters\": {\"a\": {\"annotation\": \"\\u0007\"}}}", "true",
	     "parameters.a.annotation: character U+0007 cannot be written in XML"},
	    {"{\"parameters\": {\"PATH\": {}}}", "true",
	     "PARAM \"PATH\" in GROUP InputParams: name would clobber the job's environment"},
	    {"{\"executionDuration\": \"soon\"}", "true",
	     "executionDuration: \"soon\" must be a non-negative integer (seconds)"},
	    {"{\"quote\": -3}", "true", "quote: \"-3\" must be a non-negative integer"},
	    {"{\"used\": {\"i\": {}}, \"generated\": {\"I\": {}}}", "true", "duplicate name"},
	};
	char *err;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(cases); i++) {
		err = refusal_by(jdl_parse_opus_json, cases[i].text, "o", cases[i].script);
		CHECK(err && strstr(err, cases[i].reason));
		if (!err || !strstr(err, cases[i].reason))
			fprintf(stderr, "  json case %zu: got \"%s\"\n", i, err ? err : "(loaded)");
		free(err);
	}
}

TEST(opus_json_variants)
{
	/* numbers where OPUS usually writes text, the older "executionduration",
	 * options as a list, required as a boolean, and keys opusd ignores */
	static const char text[] =
	    "{\"name\": \"o\", \"executionduration\": 7, \"quote\": \"\", \"group\": \"g\","
	    " \"parameters\": {\"n\": {\"datatype\": \"xs:int\", \"default\": 3,"
	    " \"required\": true, \"options\": [\"1\", \"3\"]},"
	    " \"b\": {\"datatype\": \"boolean\", \"required\": false},"
	    " \"f\": {\"datatype\": \"file\", \"required\": \"True\"}},"
	    " \"used\": {\"i\": {\"url\": \"file://$ID\", \"datatype\": \"xs:string\"}},"
	    " \"script\": \"\"}";
	const struct jdl_doc d = {
	    .buf = text, .len = strlen(text), .name = "o", .script = "true\n"};
	struct jdl *j = NULL;
	char *err = NULL;
	const struct jdl_param *p;

	CHECK(jdl_parse_opus_json(&d, &j, &err) == 0);
	if (err)
		fprintf(stderr, "  %s\n", err);
	free(err);
	if (!j)
		return;
	CHECK(j->execution_duration == 7 && j->quote == 0);
	CHECK_STR(j->script, "true\n");
	p = jdl_find_param(j, "n");
	CHECK(p && strcmp(p->default_value, "3") == 0 && !p->required && p->noptions == 2);
	p = jdl_find_param(j, "b");
	CHECK(p && p->type == JDL_BOOLEAN && !p->required);
	p = jdl_find_param(j, "f");
	CHECK(p && p->type == JDL_FILE && p->required && strcmp(p->datatype, "char") == 0);
	CHECK_STR(j->used[0].url, "file://$ID");
	check_canonical(j);
	jdl_unref(j);
}

/* SIGHUP with the OPUS layout: a script changed in scripts/, a shadowing
 * VOTable removed, a new JSON added. */
TEST(opus_site_reload)
{
	char *dir = xasprintf("%s/site", tmp), *cmd;
	struct jdl_registry *reg;
	struct jdl *old, *cur;

	cmd = xasprintf("rm -rf '%s' && cp -r " SITE " '%s'", dir, dir);
	CHECK(system(cmd) == 0);
	free(cmd);
	reg = jdl_registry_new(dir, NULL);
	CHECK(jdl_registry_load(reg) == 5);
	old = jdl_registry_get(reg, "wadl_only");
	cmd = xasprintf("%s/scripts/wadl_only.sh", dir);
	CHECK(file_write_all(cmd, "echo v2 > $output\n", 18, 0644) == 0);
	free(cmd);
	cmd = xasprintf("%s/votable/shadowed_vot.xml", dir);
	CHECK(unlink(cmd) == 0);
	free(cmd);
	cmd = xasprintf("%s/json/added.json", dir);
	CHECK(file_write_all(cmd, "{\"name\": \"added\", \"script\": \"true\"}", 35, 0644) == 0);
	free(cmd);
	CHECK(jdl_registry_load(reg) == 6);
	cur = jdl_registry_get(reg, "wadl_only");
	CHECK(old && cur && strcmp(old->hash, cur->hash) != 0);
	CHECK(cur && strcmp(cur->script, "echo v2 > $output\n") == 0);
	CHECK(old && strncmp(old->script, "#!/bin/bash", 11) == 0); /* jobs keep theirs */
	jdl_unref(cur);
	cur = jdl_registry_get(reg, "shadowed");
	CHECK(cur && strstr(cur->description, "The JSON of shadowed"));
	jdl_unref(cur);
	cur = jdl_registry_get(reg, "added");
	CHECK(cur != NULL);
	jdl_unref(cur);
	jdl_unref(old);
	jdl_registry_free(reg);
	CHECK(rm_rf(dir) == 0);
	free(dir);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-test-jdl-XXXXXX";

	log_set_level(LOG_ERROR);
	if (!mkdtemp(tmpl) || !realpath(tmpl, tmp))
		return 2;
	RUN(opus_example_1);
	RUN(opus_example_2);
	RUN(expected_name_must_match);
	RUN(every_datatype);
	RUN(check_value_types);
	RUN(check_value_bounds_and_options);
	RUN(reserved_names);
	RUN(env_names_compare_exactly);
	RUN(load_time_refusals);
	RUN(inline_refusals);
	RUN(result_named_like_a_parameter_loads);
	RUN(limits_round_trip);
	RUN(batch_resources_round_trip);
	RUN(batch_resources_refusals);
	RUN(buffer_edge_cases);
	RUN(refcount);
	RUN(registry_reload);
	RUN(registry_versions);
	RUN(registry_names_sorted);
	RUN(shipped_jobdefs);
	RUN(write_xml_round_trip);
	RUN(write_xml_every_field);
	RUN(write_json_typed);
	RUN(parse_json_round_trip);
	RUN(parse_json_refusals);
	RUN(parse_json_malformed_and_names);
	RUN(parse_json_file_and_empty);
	RUN(opus_site_loads_every_format);
	RUN(opus_json_fields);
	RUN(opus_wadl_fields);
	RUN(opus_wadl_refusals);
	RUN(opus_json_refusals);
	RUN(opus_json_variants);
	RUN(opus_site_reload);
	rm_rf(tmp);
	return CHECK_DONE();
}
