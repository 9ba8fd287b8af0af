/*
 * Fuzz target: ProvSAP arguments (prov_query_parse), as a query string
 * "NAME=value&NAME=value..." (the first byte's low bit: a per-job URL, ID
 * refused). A query that parses must hold only valid values; one that does
 * not must say why, naming a parameter, and hold nothing. prov_query.c is
 * compiled in (it needs base only), not the whole prov module.
 */
#include "prov/prov_query.c"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_parsed(const struct prov *p, const struct prov_query *q)
{
	static const char *const dirs[] = {"LR", "TB", "BT", "RL"};
	bool dir_ok = false;

	for (size_t i = 0; i < OPUS_ARRAY_LEN(dirs); i++)
		dir_ok |= !strcmp(q->graph_dir, dirs[i]);
	if (!dir_ok || q->nids == 0 || q->depth < 0 || q->depth > p->max_depth ||
	    q->descriptions < 0 || q->descriptions > 2 || q->format > PROV_FMT_DOT)
		abort();
	for (size_t i = 0; i < q->nids; i++)
		if (!id_is_valid(q->ids[i]))
			abort();
}

static void check_refused(const struct prov_query *q, const char *why)
{
	int named = 0;

	if (!why || q->ids || q->nids)
		abort();
	for (size_t i = 0; i < OPUS_ARRAY_LEN(params); i++) {
		size_t n = strlen(params[i].name);
		named |= !strncmp(why, params[i].name, n) && why[n] == ':';
	}
	if (!named)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct prov p = {.max_depth = 100};
	char *s = malloc(size + 1), *save = NULL, *why = NULL;
	const char *names[64], *values[64];
	size_t n = 0;
	struct prov_query q;
	bool per_job = size && (data[0] & 1);

	memcpy(s, data, size);
	s[size] = '\0';
	for (char *t = strtok_r(s + (size ? 1 : 0), "&", &save); t && n < 64;
	     t = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(t, '=');
		if (eq)
			*eq = '\0';
		names[n] = t;
		values[n++] = eq ? eq + 1 : "";
	}
	if (prov_query_parse(&p, names, values, n,
			     per_job ? "0123456789abcdef0123456789abcdef" : NULL, &q, &why) == 0) {
		check_parsed(&p, &q);
		if (why)
			abort();
		prov_query_release(&q);
	} else {
		check_refused(&q, why);
	}
	free(why);
	free(s);
	return 0;
}
