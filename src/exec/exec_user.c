/*
 * exec_user: who jobs run as, and handing a job's directory to that user.
 * When jobs run as another user than the daemon, the job directory and what
 * is in it (uploads, fetched inputs) become that user's; the directory of the
 * script and of stdout/stderr stays the daemon's (group: the job user's,
 * read-only), so a job cannot swap those files for links.
 */
#include "exec/exec-int.h"

#include <errno.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool exec_cgroup_setting_ok(const char *setting)
{
	return !setting || strcmp(setting, "auto") == 0 || strcmp(setting, "off") == 0;
}

static int64_t min_limit(int64_t a, int64_t b)
{
	if (a <= 0)
		return b > 0 ? b : 0;
	return b > 0 && b < a ? b : a;
}

struct exec_limits exec_limits_min(const struct exec_limits *a, const struct exec_limits *b)
{
	struct exec_limits r = {
	    .memory_bytes = min_limit(a->memory_bytes, b->memory_bytes),
	    .processes = min_limit(a->processes, b->processes),
	    .open_files = min_limit(a->open_files, b->open_files),
	    .cpu_seconds = min_limit(a->cpu_seconds, b->cpu_seconds),
	};
	return r;
}

/* A name or a numeric uid from the password database. */
static int lookup(const char *run_as, struct exec_user *out, char **why_out)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int64_t id;

	if (parse_int64(run_as, &id) == 0 && id >= 0 && id <= UINT32_MAX - 1)
		getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res);
	else
		getpwnam_r(run_as, &pw, buf, sizeof(buf), &res);
	if (!res) {
		*why_out = xasprintf("jobs.run_as: no user \"%s\" on this machine", run_as);
		return OPUS_ERR_INVAL;
	}
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	snprintf(out->name, sizeof(out->name), "%s", pw.pw_name);
	return 0;
}

int exec_user_resolve(const char *run_as, struct exec_user *out, char **why_out)
{
	uid_t self = geteuid();

	memset(out, 0, sizeof(*out));
	*why_out = NULL;
	if (!run_as || !*run_as) {
		if (self != 0)
			return 0;
		*why_out = xstrdup("opusd runs as root, and jobs would too: set jobs.run_as to the "
				   "unprivileged user jobs run as (e.g. nobody, or an account "
				   "made for them), or to root to run them as root knowingly");
		return OPUS_ERR_INVAL;
	}
	if (lookup(run_as, out, why_out) != 0)
		return OPUS_ERR_INVAL;
	if (out->uid == self) {
		out->change = false;
		if (self == 0)
			log_warn("jobs run as root (jobs.run_as = %s)", run_as);
		return 0;
	}
	if (self != 0) {
		*why_out =
		    xasprintf("jobs.run_as = %s: only root can run jobs as another user", run_as);
		return OPUS_ERR_INVAL;
	}
	out->change = true;
	return 0;
}

/* May u search (x) the directory st? Owner, group, other bits; supplementary
 * groups and ACLs are not looked at. */
static bool may_search(const struct exec_user *u, const struct stat *st)
{
	if (st->st_uid == u->uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == u->gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

int exec_user_check_reach(const struct exec_user *u, const char *dir, char **why_out)
{
	char *path = xstrdup(dir);
	struct stat st;
	int ret = 0;

	*why_out = NULL;
	if (!u->change || dir[0] != '/')
		goto done;
	/* The directory itself may be opened up (search, not list): it is opusd's. */
	if (stat(dir, &st) == 0 && !may_search(u, &st) &&
	    chmod(dir, (st.st_mode & 07777) | S_IXOTH) == 0)
		log_info("%s: made searchable (o+x) for the user jobs run as, %s", dir, u->name);
	for (char *slash = path + strlen(path); slash > path && !ret;) {
		if (stat(path, &st) != 0 || !may_search(u, &st)) {
			*why_out =
			    xasprintf("jobs.run_as = %s: %s cannot reach its job directories "
				      "in %s: %s is not searchable by it (chmod o+x %s)",
				      u->name, u->name, dir, path, path);
			ret = OPUS_ERR_INVAL;
		}
		while (slash > path && *slash != '/')
			slash--;
		*slash = '\0';
		if (slash == path && !ret && stat("/", &st) == 0 && !may_search(u, &st)) {
			*why_out =
			    xasprintf("jobs.run_as = %s: / is not searchable by it", u->name);
			ret = OPUS_ERR_INVAL;
		}
	}
done:
	free(path);
	return ret;
}

/* nftw has no context argument; a start runs on one thread at a time here. */
static _Thread_local struct {
	const struct exec_user *u;
	const char *keep; /* the daemon's own directory inside the tree */
	size_t keep_len;
	int err;
} give;

static int give_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	bool kept = strncmp(path, give.keep, give.keep_len) == 0 &&
		    (path[give.keep_len] == '/' || path[give.keep_len] == '\0');
	uid_t uid = kept ? geteuid() : give.u->uid;

	(void)flag, (void)ftw;
	if (st->st_uid == uid && st->st_gid == give.u->gid)
		return 0;
	/* A link to a blob of the entity store (an input): the blob stays the
	 * daemon's, read-only, whatever job links to it. */
	if (S_ISREG(st->st_mode) && st->st_nlink > 1 && st->st_uid == geteuid())
		return 0;
	if (lchown(path, uid, give.u->gid) != 0 && errno != ENOENT) {
		give.err = errno;
		return 1;
	}
	if (kept && S_ISDIR(st->st_mode))
		(void)chmod(path, 0750);
	return 0;
}

/* Lets the job's user reach its directory: search (not list) on the parent. */
static void open_parent(const char *workdir)
{
	char *parent = xstrdup(workdir), *slash = strrchr(parent, '/');
	struct stat st;

	if (slash && slash != parent) {
		*slash = '\0';
		if (stat(parent, &st) == 0 && !(st.st_mode & S_IXOTH))
			(void)chmod(parent, (st.st_mode & 07777) | S_IXOTH);
	}
	free(parent);
}

int exec_give_tree(const struct exec_spec *spec)
{
	char *keep = xstrdup(spec->script_path), *slash = strrchr(keep, '/');
	int ret = 0;

	if (slash)
		*slash = '\0';
	give.u = spec->user;
	give.keep = keep;
	give.keep_len = strlen(keep);
	give.err = 0;
	open_parent(spec->workdir);
	if (nftw(spec->workdir, give_one, 16, FTW_PHYS) != 0) {
		log_error("exec: job %s: cannot give %s to %s: %s", spec->job_id, spec->workdir,
			  spec->user->name, strerror(give.err ? give.err : errno));
		ret = OPUS_ERR_IO;
	}
	free(keep);
	return ret;
}
