/*
 * prov_json.c: PROV-JSON (W3C member submission, the shape of
 * prov-json.schema.json and of python prov's reader). Elements and
 * relations are objects keyed by identifier under their kind; relations
 * are anonymous ("_:r1"...). Typed values use {"$": ..., "type": ...};
 * integers and booleans are JSON's own, which python prov reads as the
 * same values as PROV-XML's xsd:long and xsd:boolean.
 */
#include "prov/prov-int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *typed(const char *v, const char *type)
{
	return json_pack("{s:s, s:s}", "$", v, "type", type);
}

static json_t *attr_value(const struct prov_attr *a)
{
	int64_t n = 0;

	switch (a->type) {
	case PROV_V_LONG:
		return parse_int64(a->value, &n) == 0 ? json_integer(n) : json_string(a->value);
	case PROV_V_BOOL:
		return json_boolean(!strcmp(a->value, "true"));
	case PROV_V_TIME:
		return typed(a->value, "xsd:dateTime");
	case PROV_V_QNAME:
		return typed(a->value, "prov:QUALIFIED_NAME");
	case PROV_V_URI:
		return typed(a->value, "xsd:anyURI");
	case PROV_V_STRING:
		break;
	}
	return json_string(a->value);
}

/* Sets name to v, making an array when the name is there already. */
static void set_multi(json_t *obj, const char *name, json_t *v)
{
	json_t *old = json_object_get(obj, name);

	if (!old) {
		json_object_set_new(obj, name, v);
	} else if (json_is_array(old)) {
		json_array_append_new(old, v);
	} else {
		json_t *arr = json_array();
		json_array_append(arr, old);
		json_array_append_new(arr, v);
		json_object_set_new(obj, name, arr);
	}
}

static void set_time(json_t *obj, const char *name, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0)
		return;
	time_format(ms, buf);
	json_object_set_new(obj, name, json_string(buf));
}

static json_t *record(const struct prov_rec *r)
{
	json_t *obj = json_object();

	for (int i = 0; i < 3; i++)
		if (r->args[i] && prov_kind_arg(r->kind, i))
			json_object_set_new(obj, prov_kind_arg(r->kind, i),
					    json_string(r->args[i]));
	set_time(obj, "prov:startTime", r->start_time);
	set_time(obj, "prov:endTime", r->end_time);
	set_time(obj, "prov:time", r->time);
	for (size_t i = 0; i < r->nattrs; i++)
		set_multi(obj, r->attrs[i].name, attr_value(&r->attrs[i]));
	return obj;
}

int prov_json_write(const struct prov_graph *g, const char *base_url, struct sbuf *out)
{
	json_t *root = json_object(), *prefix = json_object();
	size_t nns, anon = 0;
	struct prov_ns *ns = prov_namespaces(g, base_url, &nns);
	char *text;

	for (size_t i = 0; i < nns; i++)
		json_object_set_new(prefix, ns[i].prefix, json_string(ns[i].uri));
	json_object_set_new(root, "prefix", prefix);
	prov_namespaces_free(ns, nns);
	for (int k = 0; k < PROV_K_COUNT; k++) {
		json_t *group = NULL;
		for (size_t i = 0; i < g->nrecs; i++) {
			const struct prov_rec *r = &g->recs[i];
			char key[32];
			if ((int)r->kind != k)
				continue;
			if (!group)
				group = json_object();
			if (!r->id)
				snprintf(key, sizeof(key), "_:r%zu", ++anon);
			json_object_set_new(group, r->id ? r->id : key, record(r));
		}
		if (group)
			json_object_set_new(root, prov_kind_name((enum prov_kind)k), group);
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return OPUS_ERR_INTERNAL;
	sbuf_adds(out, text);
	sbuf_addc(out, '\n');
	free(text);
	return out->err;
}
