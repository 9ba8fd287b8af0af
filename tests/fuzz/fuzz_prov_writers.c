/*
 * Fuzz target: the provenance writers' escaping. Client-given text (file
 * names, parameter values, error summaries, roles) goes into a small graph;
 * its PROV-JSON must parse (jansson) and give the text back as
 * prov_text_clean() made it, its PROV-XML must be well-formed (libxml2), and
 * PROV-N and DOT must be written. The writers are compiled in (they need
 * base and libxml2 only).
 */
#include "prov/prov_dot.c"
#include "prov/prov_graph.c"
#include "prov/prov_json.c"
#include "prov/prov_n.c"
#include "prov/prov_xml.c"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* The i-th NUL-separated piece of the input ("" past the last). */
static const char *piece(const char *s, size_t size, int i)
{
	const char *end = s + size;

	for (; i > 0 && s < end; i--)
		s += strlen(s) + 1;
	return s < end ? s : "";
}

static void check_json(const struct prov_graph *g, const char *label)
{
	struct sbuf sb = SBUF_INIT;
	json_t *root, *e;
	char *want = prov_text_clean(label);

	if (prov_json_write(g, "http://h", &sb))
		abort();
	root = json_loads(sbuf_str(&sb), 0, NULL);
	e = json_object_get(json_object_get(root, "entity"), "opus_store:e1");
	if (!root || !e || strcmp(json_string_value(json_object_get(e, "prov:label")), want))
		abort();
	json_decref(root);
	sbuf_release(&sb);
	free(want);
}

static void check_xml(const struct prov_graph *g)
{
	struct sbuf sb = SBUF_INIT;
	xmlDocPtr d;

	if (prov_xml_write(g, "http://h", &sb))
		abort();
	d = xmlReadMemory(sb.buf, (int)sb.len, "p.xml", NULL, XML_PARSE_NONET);
	if (!d)
		abort();
	xmlFreeDoc(d);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);
	struct prov_graph g = {.attributes = true, .graph_dir = "LR"};
	struct sbuf sb = SBUF_INIT;
	bool is_new;
	size_t at;

	memcpy(s, data, size);
	s[size] = '\0';
	at = prov_graph_element(&g, PROV_K_ENTITY, PROV_S_FILE, "opus_store:e1", &is_new);
	prov_rec_attr(&g.recs[at], "prov:label", PROV_V_STRING, piece(s, size, 0));
	prov_rec_attr(&g.recs[at], "opus:source", PROV_V_STRING, piece(s, size, 1));
	g.recs[at].url = xstrdup(piece(s, size, 2));
	at = prov_graph_element(&g, PROV_K_ACTIVITY, PROV_S_JOB, "opus_job:j.a", &is_new);
	prov_rec_attr(&g.recs[at], "opus:errorSummary", PROV_V_STRING, piece(s, size, 1));
	g.recs[at].start_time = 1700000000000;
	at = prov_graph_relation(&g, PROV_K_USED, "opus_job:j.a", "opus_store:e1", NULL,
				 piece(s, size, 3), &is_new);
	prov_rec_attr(&g.recs[at], "prov:role", PROV_V_STRING, piece(s, size, 3));
	check_json(&g, piece(s, size, 0));
	check_xml(&g);
	if (prov_n_write(&g, "http://h", &sb) || prov_dot_write(&g, &sb))
		abort();
	sbuf_release(&sb);
	prov_graph_release(&g);
	free(s);
	return 0;
}
