/* auth_roles: the role cache, grants, and description globs. See auth.h. */
#include "auth/auth-int.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

int auth_roles_reload(struct auth *a)
{
	struct store_role *roles = NULL, *old;
	size_t n = 0, nold;
	int ret = store_role_list(a->st, &roles, &n);
	if (ret < 0) {
		log_error("cannot read the roles: %s", opus_strerror(ret));
		return ret;
	}
	pthread_rwlock_wrlock(&a->roles_lock);
	old = a->roles;
	nold = a->nroles;
	a->roles = roles;
	a->nroles = n;
	pthread_rwlock_unlock(&a->roles_lock);
	store_roles_free(old, nold);
	return 0;
}

void auth_roles_release(struct auth *a)
{
	store_roles_free(a->roles, a->nroles);
	a->roles = NULL;
	a->nroles = 0;
}

/* Calls fn for each name of a comma- or space-separated list; stops at the
 * first nonzero return and returns it. Names longer than the buffer are
 * passed truncated to "" so that they match nothing. */
typedef int (*each_fn)(const char *word, void *arg);

static int each_word(const char *list, each_fn fn, void *arg)
{
	char word[AUTH_GLOBS_MAX];
	const char *p = list ? list : "";

	while (*p) {
		size_t len = strcspn(p, ", \t");
		int ret;
		if (len == 0) {
			p++;
			continue;
		}
		if (len < sizeof(word))
			memcpy(word, p, len);
		word[len < sizeof(word) ? len : 0] = '\0';
		ret = fn(word, arg);
		if (ret)
			return ret;
		p += len;
	}
	return 0;
}

static const struct store_role *role_find(const struct auth *a, const char *name)
{
	for (size_t i = 0; i < a->nroles; i++) {
		if (!strcmp(a->roles[i].name, name))
			return &a->roles[i];
	}
	return NULL;
}

/* 0 = none beats any number; else the larger. */
static int64_t generous(int64_t have, int64_t add, bool first)
{
	if (first)
		return add;
	if (have == 0 || add == 0)
		return 0;
	return add > have ? add : have;
}

/* Appends words to a space-separated list without splitting one. */
void auth_globs_append(char *dst, const char *globs)
{
	char *save = NULL, *copy = xstrdup(globs ? globs : "");
	for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		size_t have = strlen(dst), len = strlen(w);
		if (have + (have ? 1 : 0) + len >= AUTH_GLOBS_MAX) {
			log_warn("a role's globs pass %d characters: \"%s\" ignored",
				 AUTH_GLOBS_MAX, w);
			continue;
		}
		if (have)
			dst[have++] = ' ';
		memcpy(dst + have, w, len + 1);
	}
	free(copy);
}

struct grants_acc {
	const struct auth *a;
	struct auth_grants *g;
	bool any;
};

static int grant_one(const char *name, void *arg)
{
	struct grants_acc *acc = arg;
	const struct store_role *r = role_find(acc->a, name);
	if (!r)
		return 0; /* a role deleted since: grants nothing */
	acc->g->admin |= r->admin;
	acc->g->submit |= r->submit;
	auth_globs_append(acc->g->run, r->run);
	acc->g->quota.max_running =
	    generous(acc->g->quota.max_running, r->quota.max_running, !acc->any);
	acc->g->quota.max_jobs = generous(acc->g->quota.max_jobs, r->quota.max_jobs, !acc->any);
	acc->g->quota.max_bytes = generous(acc->g->quota.max_bytes, r->quota.max_bytes, !acc->any);
	acc->any = true;
	return 0;
}

void auth_grants_of_roles(struct auth *a, const char *roles, const struct store_quota *own,
			  struct auth_grants *out)
{
	struct grants_acc acc = {.a = a, .g = out};

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&a->roles_lock);
	(void)each_word(roles, grant_one, &acc);
	pthread_rwlock_unlock(&a->roles_lock);
	if (own && own->max_running >= 0)
		out->quota.max_running = own->max_running;
	if (own && own->max_jobs >= 0)
		out->quota.max_jobs = own->max_jobs;
	if (own && own->max_bytes >= 0)
		out->quota.max_bytes = own->max_bytes;
}

static int role_missing(const char *name, void *arg)
{
	const struct auth *a = arg;
	return role_find(a, name) ? 0 : 1;
}

bool auth_roles_exist(struct auth *a, const char *roles, const char **why_out)
{
	int missing;
	pthread_rwlock_rdlock(&a->roles_lock);
	missing = each_word(roles, role_missing, a);
	pthread_rwlock_unlock(&a->roles_lock);
	if (missing && why_out)
		*why_out = "no such role";
	return !missing;
}

static int join_one(const char *name, void *arg)
{
	struct sbuf *sb = arg;
	size_t len = strlen(name);
	const char *p = sbuf_str(sb);
	/* skip a name already in the list */
	for (const char *hit = strstr(p, name); hit; hit = strstr(hit + 1, name)) {
		if ((hit == p || hit[-1] == ',') && (hit[len] == ',' || hit[len] == '\0'))
			return 0;
	}
	if (sb->len)
		sbuf_addc(sb, ',');
	sbuf_adds(sb, name);
	return 0;
}

char *auth_roles_normalise(const char *roles)
{
	struct sbuf sb = SBUF_INIT;
	(void)each_word(roles, join_one, &sb);
	return sbuf_detach(&sb, NULL);
}

struct match_arg {
	const char *name;
};

static int glob_hits(const char *glob, void *arg)
{
	const struct match_arg *m = arg;
	return *glob && fnmatch(glob, m->name, 0) == 0;
}

bool auth_globs_match(const char *globs, const char *name)
{
	struct match_arg m = {.name = name};
	if (!globs || !name)
		return false;
	return each_word(globs, glob_hits, &m) != 0;
}

bool auth_may_run(const struct auth *a, const struct auth_identity *who, const char *jobdef)
{
	if (!who || !jobdef)
		return false;
	if (who->app[0] && !auth_globs_match(who->app_run, jobdef))
		return false;
	if (!a || !a->cfg.check_permissions)
		return true;
	return auth_globs_match(who->grants.run, jobdef);
}

bool auth_may_access(const struct auth_identity *who, const char *owner)
{
	if (who->admin)
		return true;
	if (who->anonymous)
		return owner == NULL;
	return owner && strcmp(owner, who->name) == 0;
}
