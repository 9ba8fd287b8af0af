/*
 * prov_graph_build.c: prov_graph_build (prov-int.h), the graph of one or
 * more lineages (store_lineage_get's answer per start id) as a ProvSAP
 * query asks for it. Two passes: first what is in the answer and at which
 * depth (DEPTH counts steps of the bipartite activity/entity graph from the
 * start, the nearest start winning; nothing of another owner unless admin),
 * then the records of what is in, with a relation wherever both ends are.
 * docs/provenance.md says which PROV and voprov terms mean what.
 */
#include "prov/prov-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* voprov's term in the IVOA model, opusd's own in the W3C one. */
#define VO(g, term) ((g)->w3c ? "opus:" term : "voprov:" term)

/* Where a kept activity or entity came from and at which depth. */
struct kept {
	const void *rec; /* struct store_activity or struct store_entity */
	int depth;
	char *qname; /* in the graph's arena */
	size_t *gen; /* activities: the kept entities they generated (indices into ents) */
	size_t ngen, gen_alloc;
};

/* The kept activities or entities, and their index by store id. */
struct kept_set {
	struct prov_index *ix; /* id -> index into v */
	struct kept *v;
	size_t n, alloc;
};

struct build {
	const struct prov_build *b;
	int depth; /* the query's */
	struct prov_graph *g;
	struct kept_set acts, ents;
	struct sbuf scratch; /* names being made */
	/* the description version last asked for: a chain runs one */
	struct jdl *jdl;
	const char *jdl_jobdef, *jdl_hash;
	bool jdl_asked;
	/* the owner agent last made */
	const char *owner_of, *owner_id;
};

static bool visible(const struct build *bd, const char *owner)
{
	const char *user = bd->b->user;

	if (bd->b->admin)
		return true;
	return user ? owner && !strcmp(owner, user) : owner == NULL;
}

/* The scratch text, copied into the graph's arena (names live as long as
 * the graph: no frees). */
static char *scratch_done(struct build *bd)
{
	return prov_arena_strndup(bd->g->arena, bd->scratch.buf ? bd->scratch.buf : "",
				  bd->scratch.len);
}

/* prefix + mid + the qualified-name-safe form of name, in the arena. */
static char *qname_join(struct build *bd, const char *prefix, const char *mid, const char *name)
{
	sbuf_reset(&bd->scratch);
	sbuf_adds(&bd->scratch, prefix);
	sbuf_adds(&bd->scratch, mid);
	prov_qname_local(&bd->scratch, name);
	return scratch_done(bd);
}

static char *qname(struct build *bd, const char *prefix, const char *local)
{
	return qname_join(bd, prefix, ":", local);
}

/* a, b and c joined, in the arena (c may be NULL). */
static char *join(struct build *bd, const char *a, const char *b, const char *c)
{
	sbuf_reset(&bd->scratch);
	sbuf_adds(&bd->scratch, a);
	sbuf_adds(&bd->scratch, b);
	if (c)
		sbuf_adds(&bd->scratch, c);
	return scratch_done(bd);
}

/* The parts joined, malloc'd (a record's url, which the graph frees). */
#define URL_PARTS 5
static char *url_join(const char *const part[URL_PARTS])
{
	size_t len[URL_PARTS], n = 1;
	char *u, *p;

	for (int i = 0; i < URL_PARTS; i++)
		n += len[i] = part[i] ? strlen(part[i]) : 0;
	u = p = xmalloc(n);
	for (int i = 0; i < URL_PARTS; i++) {
		memcpy(p, part[i] ? part[i] : "", len[i]);
		p += len[i];
	}
	*p = '\0';
	return u;
}

/* opus_job:{jobdef}.{id}: '.' is in no job description name. */
static char *activity_qname(struct build *bd, const struct store_activity *a)
{
	sbuf_reset(&bd->scratch);
	sbuf_adds(&bd->scratch, "opus_job:");
	prov_qname_local(&bd->scratch, a->jobdef ? a->jobdef : "job");
	sbuf_addc(&bd->scratch, '.');
	sbuf_adds(&bd->scratch, a->id); /* 32 hex digits: nothing to replace */
	return scratch_done(bd);
}

/* Keeps a record at a depth, or lowers the depth it is kept at. */
static void keep(struct kept_set *set, const char *id, const void *rec, int depth)
{
	size_t at;

	if (prov_index_get(set->ix, id, &at) && set->v) {
		if (depth < set->v[at].depth)
			set->v[at].depth = depth;
		return;
	}
	if (set->n == set->alloc) {
		set->alloc = set->alloc ? 2 * set->alloc : 64;
		set->v = xrealloc(set->v, set->alloc * sizeof(*set->v));
	}
	set->v[set->n] = (struct kept){.rec = rec, .depth = depth};
	prov_index_put(set->ix, id, set->n++);
}

static struct kept *kept_in(const struct kept_set *set, const char *id)
{
	size_t at;

	return id && prov_index_get(set->ix, id, &at) ? &set->v[at] : NULL;
}

static const struct kept *kept_act(const struct build *bd, const char *id)
{
	return kept_in(&bd->acts, id);
}

static const struct kept *kept_ent(const struct build *bd, const char *id)
{
	return kept_in(&bd->ents, id);
}

/* An activity's entities are in when one more step is within DEPTH. */
static bool expanded(const struct build *bd, const struct kept *k)
{
	return k && k->depth + 1 <= bd->depth;
}

/*
 * Pass 1a, per source: the activities within DEPTH. A job start is its
 * activity at hop 0 (depth 0); from an entity, the activity one hop away
 * is at depth 1. OPUS_ERR_NOTFOUND when the start is not there or not
 * visible.
 */
static int keep_activities(struct build *bd, const struct prov_source *s)
{
	const struct store_lineage *l = s->lin;
	bool from_entity = store_entity_id_is_valid(s->start_id), found = false;

	for (size_t i = 0; i < l->nactivities; i++) {
		const struct store_activity *a = &l->activities[i];
		int d = 2 * l->hops[i] - (from_entity ? 1 : 0);
		if (d < 0 || d > bd->depth || !visible(bd, a->owner))
			continue;
		keep(&bd->acts, a->id, a, d);
		found |= !from_entity && !strcmp(a->id, s->start_id);
	}
	for (size_t i = 0; from_entity && i < l->nentities; i++) {
		const struct store_entity *e = &l->entities[i];
		if (!strcmp(e->id, s->start_id) && visible(bd, e->owner)) {
			keep(&bd->ents, e->id, e, 0);
			found = true;
		}
	}
	return found ? 0 : OPUS_ERR_NOTFOUND;
}

/* Pass 1b: the entities one step from an expanded activity (used or generated). */
static void keep_entities(struct build *bd, const struct prov_source *s)
{
	const struct store_lineage *l = s->lin;

	for (size_t i = 0; i < l->nentities; i++) {
		const struct store_entity *e = &l->entities[i];
		const struct kept *k = kept_act(bd, e->generated_by);
		if (expanded(bd, k) && visible(bd, e->owner))
			keep(&bd->ents, e->id, e, k->depth + 1);
	}
	struct prov_index *ix = prov_index_new();
	for (size_t i = 0; i < l->nentities; i++)
		prov_index_put(ix, l->entities[i].id, i);
	for (size_t i = 0; i < l->nusages; i++) {
		const struct store_usage *u = &l->usages[i];
		const struct kept *k = kept_act(bd, u->job_id);
		size_t at;
		if (!expanded(bd, k) || !prov_index_get(ix, u->entity_id, &at))
			continue;
		const struct store_entity *e = &l->entities[at];
		if (visible(bd, e->owner))
			keep(&bd->ents, e->id, e, k->depth + 1);
	}
	prov_index_free(ix);
}

static struct prov_rec *element(struct build *bd, enum prov_kind kind, enum prov_style style,
				const char *id, bool *is_new)
{
	size_t at = prov_graph_element(bd->g, kind, style, id, is_new);

	return &bd->g->recs[at];
}

static struct prov_rec *relation(struct build *bd, enum prov_kind kind, const char *a,
				 const char *b, const char *c, const char *role, bool *is_new)
{
	size_t at = prov_graph_relation(bd->g, kind, a, b, c, role, is_new);
	struct prov_rec *r = &bd->g->recs[at];

	if (*is_new && role)
		prov_rec_attr(r, "prov:role", PROV_V_STRING, role);
	return r;
}

static void attr_long(struct build *bd, struct prov_rec *r, const char *name, int64_t v)
{
	sbuf_reset(&bd->scratch);
	prov_add_int(&bd->scratch, v);
	prov_rec_attr(r, name, PROV_V_LONG, sbuf_str(&bd->scratch));
}

static void attr_time(struct prov_rec *r, const char *name, int64_t ms)
{
	char buf[TIME_STR_MAX];

	if (ms <= 0)
		return;
	prov_time_format(ms, buf);
	prov_rec_attr(r, name, PROV_V_TIME, buf);
}

/* ---- agents ---- */

/* The owner's agent, made when new; its id (in the arena). */
static const char *agent_owner(struct build *bd, const char *owner)
{
	const char *name = owner ? owner : "anonymous";
	char *id;
	bool is_new;
	struct prov_rec *r;

	if (bd->owner_id && !strcmp(bd->owner_of, name)) /* a chain has one owner */
		return bd->owner_id;
	id = qname(bd, "opus_user", name);
	r = element(bd, PROV_K_AGENT, PROV_S_AGENT, id, &is_new);
	if (is_new) {
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, "prov:Person");
		prov_rec_attr(r, "prov:label", PROV_V_STRING, name);
	}
	bd->owner_of = name;
	bd->owner_id = id;
	return id;
}

static void agent_software(struct build *bd, const char *act)
{
	bool is_new;
	struct prov_rec *r = element(bd, PROV_K_AGENT, PROV_S_AGENT, "opus:opusd", &is_new);

	if (is_new) {
		char *label = xasprintf("opusd %s", bd->b->version ? bd->b->version : "");
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, "prov:SoftwareAgent");
		prov_rec_attr(r, "prov:label", PROV_V_STRING, label);
		prov_rec_attr(r, "opus:version", PROV_V_STRING, bd->b->version);
		free(label);
	}
	relation(bd, PROV_K_ASSOCIATED, act, "opus:opusd", NULL, "executor", &is_new);
}

/* The description's contact (its name, else its address). */
static void agent_contact(struct build *bd, const char *act, const struct jdl *j)
{
	const char *name = j->contact_name ? j->contact_name : j->contact_email;
	char *id;
	bool is_new;
	struct prov_rec *r;

	if (!name)
		return;
	id = qname(bd, "opus_jdl", join(bd, j->name, ".contact", NULL));
	r = element(bd, PROV_K_AGENT, PROV_S_AGENT, id, &is_new);
	if (is_new) {
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, "prov:Person");
		prov_rec_attr(r, "prov:label", PROV_V_STRING, name);
		prov_rec_attr(r, "foaf:name", PROV_V_STRING, j->contact_name);
		if (j->contact_email) {
			char *mbox = xasprintf("mailto:%s", j->contact_email);
			prov_rec_attr(r, "foaf:mbox", PROV_V_URI, mbox);
			free(mbox);
		}
	}
	relation(bd, PROV_K_ASSOCIATED, act, id, NULL, "contact", &is_new);
}

/* ---- configuration ---- */

/* Activity --wasConfiguredBy--> parameter (a voprov relation: an influence). */
static void configured_by(struct build *bd, const char *act, const char *param)
{
	bool is_new;
	struct prov_rec *r = relation(bd, PROV_K_INFLUENCED, act, param, NULL, NULL, &is_new);

	if (!is_new)
		return;
	prov_rec_attr(r, "prov:type", PROV_V_QNAME, VO(bd->g, "wasConfiguredBy"));
	if (bd->b->q->attributes)
		prov_rec_attr(r, VO(bd->g, "artefactType"), PROV_V_STRING, "Parameter");
}

/* x --isDescribedBy--> its description (a voprov relation: an influence). */
static void described_by(struct build *bd, const char *x, const char *desc)
{
	bool is_new;
	struct prov_rec *r = relation(bd, PROV_K_INFLUENCED, x, desc, NULL, NULL, &is_new);

	if (is_new)
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, VO(bd->g, "isDescribedBy"));
}

static void member(struct build *bd, const char *coll, const char *id)
{
	bool is_new;

	relation(bd, PROV_K_MEMBER, coll, id, NULL, NULL, &is_new);
}

/* "name = value", the value cut at 37 bytes and "..." past 40. */
static const char *param_label(struct build *bd, const struct store_param_rec *pr)
{
	const char *v = pr->value ? pr->value : "";
	size_t n = strlen(v);

	sbuf_reset(&bd->scratch);
	sbuf_adds(&bd->scratch, pr->name);
	sbuf_adds(&bd->scratch, " = ");
	sbuf_add(&bd->scratch, v, n > 40 ? 37 : n);
	if (n > 40)
		sbuf_adds(&bd->scratch, "...");
	return sbuf_str(&bd->scratch);
}

/* One parameter of the activity `act` as a voprov:Parameter entity. */
static void parameter(struct build *bd, const char *act, const struct store_param_rec *pr,
		      const char *coll, const char *adesc)
{
	char *id = qname_join(bd, act, ".param.", pr->name);
	bool is_new;
	struct prov_rec *r = element(bd, PROV_K_ENTITY, PROV_S_PARAMETER, id, &is_new);

	prov_rec_attr(r, "prov:label", PROV_V_STRING, param_label(bd, pr));
	prov_rec_attr(r, "prov:type", PROV_V_QNAME, VO(bd->g, "Parameter"));
	prov_rec_attr(r, "prov:value", PROV_V_STRING, pr->value ? pr->value : "");
	if (bd->b->q->attributes) {
		prov_rec_attr(r, VO(bd->g, "name"), PROV_V_STRING, pr->name);
		prov_rec_attr(r, "opus:isDefault", PROV_V_BOOL, pr->is_default ? "true" : "false");
	}
	configured_by(bd, act, id);
	if (coll)
		member(bd, coll, id);
	if (adesc)
		described_by(bd, id, qname_join(bd, adesc, ".param.", pr->name));
}

/* The parameters of an activity (MEMBERS: gathered in a collection);
 * `adesc` (NULL: none) is the description whose ParameterDescriptions
 * describe them. */
static void parameters(struct build *bd, const struct store_activity *a, const char *act,
		       const char *adesc)
{
	char *coll = NULL;
	bool is_new;

	if (bd->b->q->members && a->nparams) {
		coll = join(bd, act, ".parameters", NULL);
		struct prov_rec *c = element(bd, PROV_K_ENTITY, PROV_S_COLLECTION, coll, &is_new);
		if (is_new) {
			prov_rec_attr(c, "prov:label", PROV_V_STRING, "parameters");
			prov_rec_attr(c, "prov:type", PROV_V_QNAME, "prov:Collection");
		}
	}
	for (size_t i = 0; i < a->nparams; i++)
		parameter(bd, act, &a->params[i], coll, adesc);
}

/* ---- descriptions (the job description version the activity ran) ---- */

/* A Usage- or GenerationDescription, member of the ActivityDescription. */
static void entity_description(struct build *bd, const char *adesc, const struct jdl_entity *e,
			       bool used)
{
	char *id = qname_join(bd, adesc, used ? ".used." : ".generated.", e->name);
	bool is_new;
	struct prov_rec *r = element(bd, PROV_K_ENTITY, PROV_S_DESCRIPTION, id, &is_new);
	struct prov_graph *g = bd->g;

	if (is_new) {
		prov_rec_attr(r, "prov:label", PROV_V_STRING, e->name);
		prov_rec_attr(r, "prov:type", PROV_V_QNAME,
			      used ? VO(g, "UsageDescription") : VO(g, "GenerationDescription"));
		prov_rec_attr(r, VO(g, "name"), PROV_V_STRING, e->name);
		prov_rec_attr(r, VO(g, "role"), PROV_V_STRING, e->role ? e->role : e->name);
		prov_rec_attr(r, VO(g, "description"), PROV_V_STRING, e->description);
		if (bd->b->q->descriptions > 1) {
			prov_rec_attr(r, VO(g, "multiplicity"), PROV_V_STRING, e->multiplicity);
			prov_rec_attr(r, VO(g, "contentType"), PROV_V_STRING, e->content_type);
			prov_rec_attr(r, VO(g, "default"), PROV_V_STRING, e->default_value);
			prov_rec_attr(r, "opus:url", PROV_V_STRING, e->url);
		}
	}
	member(bd, adesc, id);
}

static void parameter_description(struct build *bd, const char *adesc, const struct jdl_param *p)
{
	char *id = qname_join(bd, adesc, ".param.", p->name);
	bool is_new;
	struct prov_rec *r = element(bd, PROV_K_ENTITY, PROV_S_DESCRIPTION, id, &is_new);
	struct prov_graph *g = bd->g;

	if (is_new) {
		prov_rec_attr(r, "prov:label", PROV_V_STRING, p->name);
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, VO(g, "ParameterDescription"));
		prov_rec_attr(r, VO(g, "name"), PROV_V_STRING, p->name);
		prov_rec_attr(r, VO(g, "valueType"), PROV_V_STRING,
			      p->datatype ? p->datatype : jdl_type_name(p->type));
		prov_rec_attr(r, VO(g, "description"), PROV_V_STRING, p->description);
		if (bd->b->q->descriptions > 1) {
			prov_rec_attr(r, VO(g, "unit"), PROV_V_STRING, p->unit);
			prov_rec_attr(r, VO(g, "ucd"), PROV_V_STRING, p->ucd);
			prov_rec_attr(r, VO(g, "utype"), PROV_V_STRING, p->utype);
			prov_rec_attr(r, VO(g, "arraysize"), PROV_V_STRING, p->arraysize);
			prov_rec_attr(r, VO(g, "xtype"), PROV_V_STRING, p->xtype);
			prov_rec_attr(r, VO(g, "default"), PROV_V_STRING, p->default_value);
			prov_rec_attr(r, VO(g, "min"), PROV_V_STRING, p->min);
			prov_rec_attr(r, VO(g, "max"), PROV_V_STRING, p->max);
			for (size_t i = 0; i < p->noptions; i++)
				prov_rec_attr(r, VO(g, "options"), PROV_V_STRING, p->options[i]);
			prov_rec_attr(r, "opus:required", PROV_V_BOOL,
				      p->required ? "true" : "false");
		}
	}
	member(bd, adesc, id);
}

/* The ActivityDescription of a job's description version; its id (in the arena). */
static char *activity_description(struct build *bd, const char *act, const struct jdl *j)
{
	char hash16[17];
	char *local, *id;

	snprintf(hash16, sizeof(hash16), "%.16s", j->hash);
	local = join(bd, j->name, j->hash[0] ? "." : "", j->hash[0] ? hash16 : NULL);
	id = qname(bd, "opus_jdl", local);
	bool is_new;
	struct prov_rec *r = element(bd, PROV_K_ENTITY, PROV_S_DESCRIPTION, id, &is_new);
	struct prov_graph *g = bd->g;

	if (is_new) {
		char *url =
		    url_join((const char *const[URL_PARTS]){bd->b->base_url, "/jdl/", j->name});
		prov_rec_attr(r, "prov:label", PROV_V_STRING, j->name);
		prov_rec_attr(r, "prov:location", PROV_V_STRING, url);
		prov_rec_attr(r, "prov:type", PROV_V_QNAME,
			      g->w3c ? "prov:Plan" : "voprov:ActivityDescription");
		prov_rec_attr(r, "prov:type", PROV_V_QNAME, "prov:Collection");
		prov_rec_attr(r, VO(g, "name"), PROV_V_STRING, j->name);
		prov_rec_attr(r, VO(g, "version"), PROV_V_STRING, j->version);
		prov_rec_attr(r, VO(g, "type"), PROV_V_STRING, j->type);
		prov_rec_attr(r, VO(g, "subtype"), PROV_V_STRING, j->subtype);
		prov_rec_attr(r, VO(g, "doculink"), PROV_V_STRING, j->doculink);
		prov_rec_attr(r, VO(g, "description"), PROV_V_STRING, j->description);
		if (bd->b->q->descriptions > 1) {
			prov_rec_attr(r, "opus:sha256", PROV_V_STRING, j->hash[0] ? j->hash : NULL);
			if (j->execution_duration)
				attr_long(bd, r, "opus:executionDuration", j->execution_duration);
			if (j->quote)
				attr_long(bd, r, "opus:quote", j->quote);
		}
		bd->g->recs[r - bd->g->recs].url = url;
		for (size_t i = 0; i < j->nused; i++)
			entity_description(bd, id, &j->used[i], true);
		for (size_t i = 0; i < j->ngenerated; i++)
			entity_description(bd, id, &j->generated[i], false);
		for (size_t i = 0; i < j->nparams; i++)
			parameter_description(bd, id, &j->params[i]);
	}
	described_by(bd, act, id);
	return id;
}

/* ---- activities and entities ---- */

static void activity_attrs(struct build *bd, struct prov_rec *r, const struct store_activity *a)
{
	const struct uws_metrics *m = &a->metrics;

	prov_rec_attr(r, "prov:label", PROV_V_STRING, a->jobdef);
	if (!bd->b->q->attributes)
		return;
	prov_rec_attr(r, "prov:location", PROV_V_STRING, r->url);
	prov_rec_attr(r, "opus:phase", PROV_V_STRING, uws_phase_name(a->phase));
	if (a->phase == UWS_ERROR)
		prov_rec_attr(r, "opus:errorSummary", PROV_V_STRING, a->error_summary);
	prov_rec_attr(r, "opus:runId", PROV_V_STRING, a->run_id && *a->run_id ? a->run_id : NULL);
	attr_time(r, "opus:creationTime", a->creation_time);
	if (m->known) {
		attr_long(bd, r, "opus:wallTimeMs", m->wall_ms);
		attr_long(bd, r, "opus:cpuTimeMs", m->cpu_ms);
		attr_long(bd, r, "opus:maxRssKb", m->max_rss_kb);
		attr_long(bd, r, "opus:exitCode", m->exit_code);
	}
}

/* The description version an activity ran (borrowed: the build keeps the
 * last one asked for, as a chain asks for the same one a thousand times). */
static const struct jdl *description_of(struct build *bd, const struct store_activity *a)
{
	const char *hash = a->jdl_hash ? a->jdl_hash : "";

	if (!bd->b->jdl_of)
		return NULL;
	if (bd->jdl_asked && a->jobdef && bd->jdl_jobdef && !strcmp(a->jobdef, bd->jdl_jobdef) &&
	    !strcmp(hash, bd->jdl_hash))
		return bd->jdl;
	jdl_unref(bd->jdl);
	bd->jdl = bd->b->jdl_of(bd->b->ctx, a->jobdef, a->jdl_hash);
	bd->jdl_jobdef = a->jobdef;
	bd->jdl_hash = hash;
	bd->jdl_asked = true;
	return bd->jdl;
}

/* A kept activity; its agents, parameters and descriptions when its
 * entities are in too (one step further is within DEPTH). */
static void add_activity(struct build *bd, struct kept *k)
{
	const struct store_activity *a = k->rec;
	const struct prov_query *q = bd->b->q;
	const struct jdl *j = NULL;
	char *adesc = NULL;
	bool is_new;
	struct prov_rec *r;

	k->qname = activity_qname(bd, a);
	r = element(bd, PROV_K_ACTIVITY, PROV_S_JOB, k->qname, &is_new);
	r->start_time = a->start_time;
	r->end_time = a->end_time;
	r->url = url_join((const char *const[URL_PARTS]){
	    bd->b->base_url, "/rest/", a->jobdef ? a->jobdef : "(null)", "/", a->id});
	activity_attrs(bd, r, a);
	if (!expanded(bd, k))
		return;
	if (q->descriptions || q->agents)
		j = description_of(bd, a);
	if (j && q->descriptions)
		adesc = activity_description(bd, k->qname, j);
	if (q->agents) {
		relation(bd, PROV_K_ASSOCIATED, k->qname, agent_owner(bd, a->owner), NULL, "owner",
			 &is_new);
		if (j)
			agent_contact(bd, k->qname, j);
		agent_software(bd, k->qname);
	}
	if (q->configuration)
		parameters(bd, a, k->qname, q->descriptions > 1 ? adesc : NULL);
}

static void entity_attrs(struct build *bd, struct prov_rec *r, const struct store_entity *e)
{
	prov_rec_attr(r, "prov:label", PROV_V_STRING, e->file_name ? e->file_name : e->id);
	prov_rec_attr(r, "opus:sha256", PROV_V_STRING, e->sha256);
	if (!bd->b->q->attributes)
		return;
	prov_rec_attr(r, "prov:location", PROV_V_STRING, r->url);
	attr_long(bd, r, "opus:size", e->size);
	prov_rec_attr(r, "opus:contentType", PROV_V_STRING, e->content_type);
	prov_rec_attr(r, "opus:fileName", PROV_V_STRING, e->file_name);
	prov_rec_attr(r, "opus:resultId", PROV_V_STRING, e->result_id);
	prov_rec_attr(r, "opus:source", PROV_V_STRING, e->source);
	attr_time(r, "opus:creationTime", e->creation_time);
}

static void add_entity(struct build *bd, struct kept *k)
{
	const struct store_entity *e = k->rec;
	const struct kept *inv = kept_act(bd, e->invalidated_by);
	bool is_new;
	struct prov_rec *r;

	k->qname = qname(bd, "opus_store", e->id);
	r = element(bd, PROV_K_ENTITY, PROV_S_FILE, k->qname, &is_new);
	r->url = url_join((const char *const[URL_PARTS]){bd->b->base_url, "/store/?ID=", e->id});
	entity_attrs(bd, r, e);
	if (e->invalidation_time > 0) {
		r = relation(bd, PROV_K_INVALIDATED, k->qname, inv ? inv->qname : NULL, NULL, NULL,
			     &is_new);
		r->time = e->invalidation_time;
	}
	if (bd->b->q->agents && expanded(bd, k)) { /* its agent is one step away */
		relation(bd, PROV_K_ATTRIBUTED, k->qname, agent_owner(bd, e->owner), NULL, NULL,
			 &is_new);
	}
}

/* ---- relations between what is kept ---- */

/* wasGeneratedBy, and each activity's list of what it generated. */
static void add_generations(struct build *bd)
{
	bool is_new;

	for (size_t i = 0; i < bd->ents.n; i++) {
		const struct store_entity *e = bd->ents.v[i].rec;
		struct kept *a = kept_in(&bd->acts, e->generated_by);
		if (!a)
			continue;
		relation(bd, PROV_K_GENERATED, bd->ents.v[i].qname, a->qname, NULL, e->role,
			 &is_new);
		if (a->ngen == a->gen_alloc) {
			a->gen_alloc = a->gen_alloc ? 2 * a->gen_alloc : 4;
			a->gen = xrealloc(a->gen, a->gen_alloc * sizeof(*a->gen));
		}
		a->gen[a->ngen++] = i;
	}
}

/* used, and what follows from it: each result of the job derived from each
 * of its inputs, the job informed by the job that generated the input. */
static void add_usage(struct build *bd, const struct store_usage *u)
{
	const struct kept *a = kept_act(bd, u->job_id), *e = kept_ent(bd, u->entity_id);
	const struct store_entity *ue;
	const struct kept *from;
	bool is_new;

	if (!a || !e)
		return;
	relation(bd, PROV_K_USED, a->qname, e->qname, NULL, u->role, &is_new);
	ue = e->rec;
	from = kept_act(bd, ue->generated_by);
	if (from && from != a)
		relation(bd, PROV_K_INFORMED, a->qname, from->qname, NULL, NULL, &is_new);
	for (size_t i = 0; i < a->ngen; i++) {
		const struct kept *g = &bd->ents.v[a->gen[i]];
		if (g != e)
			relation(bd, PROV_K_DERIVED, g->qname, e->qname, a->qname, NULL, &is_new);
	}
}

static void build_release(struct build *bd)
{
	for (size_t i = 0; i < bd->acts.n; i++)
		free(bd->acts.v[i].gen);
	free(bd->acts.v);
	free(bd->ents.v);
	prov_index_free(bd->acts.ix);
	prov_index_free(bd->ents.ix);
	sbuf_release(&bd->scratch);
	jdl_unref(bd->jdl);
}

/* About the records a build makes (a chain's job: its activity, its
 * parameters, three relations each and some six more; a file: its entity
 * and four relations), so that the graph is sized once. */
static size_t records_expected(const struct build *bd)
{
	size_t n = 8 * bd->acts.n + 5 * bd->ents.n;

	for (size_t i = 0; i < bd->acts.n; i++)
		n += 3 * ((const struct store_activity *)bd->acts.v[i].rec)->nparams;
	return n;
}

int prov_graph_build(const struct prov_build *b, const struct prov_source *src, size_t n,
		     struct prov_graph *out)
{
	struct build bd = {.b = b, .depth = b->q->depth, .g = out};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->w3c = b->q->w3c;
	out->attributes = b->q->attributes;
	memcpy(out->graph_dir, b->q->graph_dir[0] ? b->q->graph_dir : "LR", 3);
	out->arena = prov_arena_new();
	bd.acts.ix = prov_index_new();
	bd.ents.ix = prov_index_new();
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = keep_activities(&bd, &src[i]);
	for (size_t i = 0; i < n && rc == 0; i++)
		keep_entities(&bd, &src[i]);
	if (rc == 0) {
		prov_graph_reserve(out, records_expected(&bd));
		for (size_t i = 0; i < bd.acts.n; i++)
			add_activity(&bd, &bd.acts.v[i]);
		for (size_t i = 0; i < bd.ents.n; i++)
			add_entity(&bd, &bd.ents.v[i]);
		add_generations(&bd);
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < src[i].lin->nusages; k++)
				add_usage(&bd, &src[i].lin->usages[k]);
	}
	build_release(&bd);
	if (rc < 0)
		prov_graph_release(out);
	return rc;
}
