/*
 * sched_owner: the per-owner side of the run queue (issue 13, quota
 * max_running). Each owner with a job queued or holding a slot has an entry
 * that counts its queued jobs and the slots it holds (starting, staging,
 * running, ending) and remembers its limit as last looked up; an entry goes
 * when both counts fall to zero. A job whose owner is at its limit stays
 * QUEUED and the queue passes it over, in order, until one of that owner's
 * runs ends: a client cannot be asked to retry a RUN (UWS has no such
 * answer), and waiting in a queue is what batch systems do.
 *
 * The limit is read from the store when a job is queued (create with RUN,
 * RUN, restart), never under s->lock: the account's own max_running where
 * set, else the most generous of its roles' (0 = none beats any number);
 * a job without an owner (anonymous) has the role "anonymous", an owner
 * without an account (a user an application acts for) the role "user". This is auth's rule for
 * effective quotas (auth.h), read straight from the store so that sched
 * needs no auth handle. The counts are under s->lock.
 */
#include "sched/sched-int.h"

#include <stdlib.h>
#include <string.h>

static size_t owner_bucket(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++)
		h = (h ^ *p) * 16777619u;
	return name ? h % SCHED_OWNER_BUCKETS : 0;
}

static bool owner_is(const struct sched_owner *o, const char *name)
{
	if (!o->name || !name)
		return !o->name && !name;
	return strcmp(o->name, name) == 0;
}

struct sched_owner *sched_owner_get_locked(struct sched *s, const char *name)
{
	size_t b = owner_bucket(name);
	struct sched_owner *o;

	for (o = s->owners[b]; o; o = o->next) {
		if (owner_is(o, name))
			return o;
	}
	o = xcalloc(1, sizeof(*o));
	o->name = name ? xstrdup(name) : NULL;
	o->next = s->owners[b];
	s->owners[b] = o;
	return o;
}

void sched_owner_put_locked(struct sched *s, struct sched_owner *o)
{
	struct sched_owner **pp;

	if (!o || o->running || o->queued)
		return;
	for (pp = &s->owners[owner_bucket(o->name)]; *pp && *pp != o; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = o->next;
	free(o->name);
	free(o);
}

bool sched_owner_may_start(const struct sched_owner *o)
{
	return !o || o->max_running <= 0 || o->running < (size_t)o->max_running;
}

void sched_owner_slot_end_locked(struct sched *s, struct sched_owner *o)
{
	if (!o)
		return;
	if (o->running)
		o->running--;
	sched_owner_put_locked(s, o);
}

void sched_owners_free(struct sched *s)
{
	for (size_t b = 0; b < SCHED_OWNER_BUCKETS; b++) {
		while (s->owners[b]) {
			struct sched_owner *o = s->owners[b];
			s->owners[b] = o->next;
			free(o->name);
			free(o);
		}
	}
}

/* The most generous max_running of these roles (comma-separated names);
 * 0 when one of them has none, or none exists. */
static int64_t roles_max_running(struct store *st, const char *roles)
{
	int64_t best = -1;
	char *list = xstrdup(roles ? roles : ""), *save = NULL;

	for (char *r = strtok_r(list, ", ", &save); r && best != 0;
	     r = strtok_r(NULL, ", ", &save)) {
		struct store_role role = {0};
		if (store_role_get(st, r, &role) == 0) {
			int64_t q = role.quota.max_running;
			if (q <= 0 || q > best)
				best = q <= 0 ? 0 : q;
		}
		store_role_release(&role);
	}
	free(list);
	return best < 0 ? 0 : best;
}

int64_t sched_owner_limit(struct sched *s, const char *owner)
{
	struct store_account a = {0};
	int64_t limit;
	int ret;

	if (!owner)
		return roles_max_running(s->st, "anonymous");
	ret = store_account_get(s->st, owner, &a);
	if (ret == 0 && a.quota.max_running >= 0)
		limit = a.quota.max_running;
	else
		limit = roles_max_running(s->st, ret == 0 ? a.roles : "user");
	store_account_release(&a);
	return limit;
}
