/*
 * http_perm: the rules of issue 13 that every route shares. A description
 * the caller may not run (auth_may_run: its roles' globs with [auth]
 * check_permissions, an application's own list always) is out of its reach
 * everywhere: /rest/{jobdef}/..., /jdl/{jobdef}, the entities and
 * provenance of its jobs; 403 naming it. A description disabled for
 * maintenance takes no new job and no RUN; its jobs keep working otherwise.
 * Quotas on jobs and bytes stored are checked at create and RUN from the
 * usage totals the store keeps (never a scan). Each check answers the
 * request itself when it refuses: true means "go on".
 */
#include "http/http-int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool http_perm_applies(const struct http_request *req)
{
	return req->srv->deps.auth &&
	       (req->srv->deps.conf->auth_check_permissions || req->who.app[0]);
}

bool http_may_run(const struct http_request *req, const char *jobdef)
{
	return !http_perm_applies(req) ||
	       auth_may_run(req->srv->deps.auth, &req->who, jobdef ? jobdef : "");
}

bool http_check_run(struct http_request *req, const char *jobdef)
{
	if (http_may_run(req, jobdef))
		return true;
	http_reply_text(req, 403, "you may not run job description %s\n", jobdef);
	return false;
}

bool http_check_enabled(struct http_request *req, const char *jobdef)
{
	bool enabled = true;
	int ret = store_jdl_is_enabled(req->srv->deps.store, jobdef, &enabled);

	if (ret < 0 && ret != OPUS_ERR_NOTFOUND) {
		http_reply_error(req, ret, "cannot read the state of the job description");
		return false;
	}
	if (ret == 0 && !enabled) {
		http_reply_text(req, 403, "job description %s is disabled for maintenance\n",
				jobdef);
		return false;
	}
	return true;
}

/* The owner whose usage a request of this identity adds to (NULL: anonymous). */
static const char *usage_owner(const struct http_request *req)
{
	return req->who.anonymous ? NULL : req->who.name;
}

static const char *owner_label(const char *owner)
{
	return owner ? owner : "anonymous";
}

/* The bytes quota: the results the owner holds already (not ARCHIVED). */
static bool bytes_ok(struct http_request *req, const char *owner,
		     const struct store_usage_totals *u)
{
	int64_t max = req->who.grants.quota.max_bytes;

	if (max <= 0 || u->bytes < max)
		return true;
	http_reply_text(req, 403,
			"quota max_bytes: the results of %s take %" PRId64 " bytes, the limit is "
			"%" PRId64 "; delete jobs to free space\n",
			owner_label(owner), u->bytes, max);
	return false;
}

static bool usage_get(struct http_request *req, const char *owner, struct store_usage_totals *u)
{
	int ret = store_owner_usage(req->srv->deps.store, owner, u);

	if (ret < 0)
		http_reply_error(req, ret, "cannot read the usage totals");
	return ret == 0;
}

bool http_check_quota_create(struct http_request *req)
{
	const struct store_quota *q = &req->who.grants.quota;
	const char *owner = usage_owner(req);
	struct store_usage_totals u = {0};

	if (q->max_jobs <= 0 && q->max_bytes <= 0)
		return true;
	if (!usage_get(req, owner, &u))
		return false;
	if (q->max_jobs > 0 && u.jobs >= q->max_jobs) {
		http_reply_text(req, 403,
				"quota max_jobs: %s holds %" PRId64 " jobs, the limit is %" PRId64
				"; delete jobs first\n",
				owner_label(owner), u.jobs, q->max_jobs);
		return false;
	}
	return bytes_ok(req, owner, &u);
}

bool http_check_quota_run(struct http_request *req, const char *job_owner)
{
	const char *owner = usage_owner(req);
	struct store_usage_totals u = {0};

	if (req->who.grants.quota.max_bytes <= 0)
		return true;
	/* an admin running another's job: that owner's quota is not the admin's */
	if ((owner == NULL) != (job_owner == NULL) || (owner && strcmp(owner, job_owner) != 0))
		return true;
	return usage_get(req, owner, &u) && bytes_ok(req, owner, &u);
}

/* The description of a job, or of a deleted job by its activity; NULL when
 * neither is known, or the job is not the caller's (whoever asks about it
 * learns only what an unknown id tells). Caller frees. */
static char *job_jobdef(struct http_request *req, const char *job_id)
{
	struct store *st = req->srv->deps.store;
	struct uws_job job = {0};
	struct store_activity act = {0};
	char *jobdef = NULL;

	if (store_job_get(st, job_id, &job) == 0) {
		if (job.jobdef && auth_may_access(&req->who, job.owner))
			jobdef = xstrdup(job.jobdef);
	} else if (store_activity_get(st, job_id, &act) == 0) {
		if (act.jobdef && auth_may_access(&req->who, act.owner))
			jobdef = xstrdup(act.jobdef);
	}
	uws_job_release(&job);
	store_activity_release(&act);
	return jobdef;
}

char *http_jobdef_of(struct http_request *req, const char *id)
{
	struct store_entity e = {0};
	char *jobdef = NULL;

	if (!id)
		return NULL;
	if (uws_id_is_valid(id))
		return job_jobdef(req, id);
	if (store_entity_id_is_valid(id) && store_entity_get(req->srv->deps.store, id, &e) == 0 &&
	    e.generated_by)
		jobdef = job_jobdef(req, e.generated_by);
	store_entity_release(&e);
	return jobdef;
}

bool http_check_ids(struct http_request *req, char *const *ids, size_t n)
{
	if (!http_perm_applies(req))
		return true; /* no look-up when nothing is to be checked */
	for (size_t i = 0; i < n; i++) {
		char *jobdef = http_jobdef_of(req, ids[i]);
		bool ok = !jobdef || http_check_run(req, jobdef);
		free(jobdef);
		if (!ok)
			return false;
	}
	return true;
}
