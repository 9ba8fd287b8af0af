/*
 * exec_local: jobs as processes of this machine. A start is one vfork of
 * `bash SCRIPT` (posix_spawn cannot join a cgroup, drop privileges or set
 * limits); the child only makes async-signal-safe calls, and a close-on-exec
 * pipe tells the parent whether it reached execve (libuv's way). One reaper
 * thread waits for its own children only: each has a pidfd (pidfd_open) in
 * the reaper's epoll set, beside an eventfd that wakes it for the close.
 * When a pidfd is readable its leader has exited: the rest of its process
 * group is killed while the leader is still an unreaped zombie (so its id
 * cannot have been reused), then wait4(pid) reaps that one pid, and the
 * reaper reports the end with what it cost (the leader's rusage, or the
 * job's cgroup v2 counters). Never waitpid(-1): other children of the
 * daemon (exec's own commands, a library's) are theirs to reap.
 *
 * The child gets, in this order: default signal dispositions, its cgroups
 * (joined before anything of the job runs), a process group of its own,
 * stdin from /dev/null and stdout/stderr to the given files (opened by the
 * parent), the job's resource limits, the working directory, the job's user
 * (groups, gid, uid: no way back), every other descriptor closed at exec
 * (even though the daemon opens everything close-on-exec: libraries may
 * not), an empty signal mask (the daemon blocks SIGTERM/SIGINT/SIGHUP), and
 * the caller's environment and nothing else.
 *
 * What is left of a job when its leader exits (children in the background,
 * in another session) is killed: its cgroup where it has one, else its
 * process group and every process whose environment holds its OPUS_JOB_ID.
 */
#include "exec/exec-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOCAL_BUCKETS	  64
#define LOCAL_ENVIRON_MAX (4u << 20)
#define LOCAL_EVENTS	  32
/* The epoll tag of the eventfd; a child's is its pid (> 1). */
#define LOCAL_WAKE_TAG 0

#ifndef P_PIDFD
#define P_PIDFD 3 /* linux/wait.h, since 5.4 */
#endif

struct local_child {
	struct local_child *next;
	pid_t pid;
	int pidfd; /* in the reaper's epoll set while the child is in the table */
	char *job_id;
	bool has_cg;
	struct exec_cg_job cg;
};

struct local {
	/* Guards everything below. Held across the fork so that the reaper
	 * cannot look up a pid before its start has recorded it. */
	pthread_mutex_t lock;
	struct local_child *buckets[LOCAL_BUCKETS];
	size_t nrunning;
	bool stopping;
	bool cg_detected; /* cg holds what the machine offers */
	struct exec_cgroups cg;
	int epfd;   /* the children's pidfds and wakefd */
	int wakefd; /* an eventfd: local_close wakes the reaper */
	pthread_t reaper;
};

static struct local_child **local_slot(struct local *l, pid_t pid)
{
	struct local_child **pp = &l->buckets[(unsigned)pid % LOCAL_BUCKETS];
	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

/* Removes the child with this pid from the table; NULL when not ours. */
static struct local_child *local_take(struct local *l, pid_t pid)
{
	struct local_child **pp = local_slot(l, pid);
	struct local_child *c = *pp;
	if (c) {
		*pp = c->next;
		l->nrunning--;
	}
	return c;
}

static bool environ_has_job(const char *env, size_t len, const char *job_id);

/*
 * Without a cgroup: every process whose environment holds OPUS_JOB_ID=job_id,
 * wherever it went (a new session, reparented to init). A process that
 * rewrote its environment escapes this; README says so.
 */
static void local_signal_by_env(const char *job_id, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[64], *env = NULL;
		size_t len = 0;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 1 || pid == self ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
		if (file_read_all(path, LOCAL_ENVIRON_MAX, &env, &len) == 0 &&
		    environ_has_job(env, len, job_id) && kill((pid_t)pid, sig) < 0 &&
		    errno != ESRCH)
			log_warn("exec: kill %ld of job %s: %s", pid, job_id, strerror(errno));
		free(env);
	}
	closedir(d);
}

/* Whatever the job left: its cgroup (removed), else what carries its id. */
static void local_kill_rest(struct local_child *c)
{
	if (c->has_cg)
		exec_cg_job_remove(&c->cg);
	else
		local_signal_by_env(c->job_id, SIGKILL);
	c->has_cg = false;
}

/* What a run cost; -1: unknown. */
struct local_cost {
	int64_t cpu_ms, max_rss_kb;
};

/* wait4's rusage of the leader: itself and the descendants it reaped. */
static struct local_cost cost_of_rusage(const struct rusage *ru)
{
	struct local_cost c = {
	    .cpu_ms = (int64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
		      (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000,
	    .max_rss_kb = ru->ru_maxrss,
	};
	return c;
}

/* A number after `key` in a cgroup file ("usage_usec 123"), or the file's
 * only number when key is NULL; -1 when absent. */
static int64_t cg_read_number(const char *dir, const char *file, const char *key)
{
	char *path = xasprintf("%s/%s", dir, file), *buf = NULL;
	size_t len = 0, kl = key ? strlen(key) : 0;
	int64_t v = -1;

	if (file_read_all(path, 65536, &buf, &len) == 0) {
		for (const char *line = buf; line && *line; line = strchr(line, '\n')) {
			line += *line == '\n';
			if (!key || (strncmp(line, key, kl) == 0 && line[kl] == ' ')) {
				v = strtoll(line + kl, NULL, 10);
				break;
			}
		}
	}
	free(buf);
	free(path);
	return v;
}

/* The job's cgroup v2 counts every process it had, reaped or not: its CPU
 * time (cpu.stat) and peak memory (memory.peak, where the kernel has it). */
static void cost_of_cgroup(const struct local_child *c, struct local_cost *cost)
{
	const char *dir = c->has_cg ? c->cg.dir[EXEC_CG_V2] : NULL;
	int64_t usec, peak;

	if (!dir)
		return;
	usec = cg_read_number(dir, "cpu.stat", "usage_usec");
	peak = cg_read_number(dir, "memory.peak", NULL);
	if (usec >= 0)
		cost->cpu_ms = usec / 1000;
	if (peak >= 0)
		cost->max_rss_kb = peak / 1024;
}

static void local_report(struct exec *ex, struct local_child *c, int status, bool known,
			 struct local_cost cost)
{
	char handle[EXEC_HANDLE_MAX];
	struct exec_event ev = {
	    .kind = EXEC_EV_ENDED,
	    .job_id = c->job_id,
	    .handle = handle,
	    .end = known && WIFEXITED(status) ? EXEC_END_EXITED : EXEC_END_SIGNALLED,
	    .exit_code = known && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    .term_signal = known && WIFSIGNALED(status) ? WTERMSIG(status) : 0,
	    .cpu_ms = cost.cpu_ms,
	    .max_rss_kb = cost.max_rss_kb,
	};
	snprintf(handle, sizeof(handle), "%d", (int)c->pid);
	exec_emit(ex, &ev);
	free(c->job_id);
	free(c);
}

/* Takes the child out of the table and the epoll set. l->lock held. */
static void local_forget_locked(struct local *l, struct local_child *c)
{
	(void)local_take(l, c->pid);
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->pidfd, NULL) < 0)
		log_warn("exec: epoll del %d: %s", (int)c->pid, strerror(errno));
	close(c->pidfd);
	c->pidfd = -1;
}

/*
 * The pidfd of child pid is readable: it has exited, or someone else reaped
 * it (ECHILD: SIGCHLD ignored, a stray waitpid(-1) of a library): then its
 * status is lost, reported as SIGNALLED with term_signal 0 so that nobody
 * waits for it forever. l->lock held; dropped around the report.
 */
static void local_reap_locked(struct exec *ex, struct local *l, pid_t pid)
{
	struct local_child *c = *local_slot(l, pid);
	struct local_cost cost = {-1, -1};
	struct rusage ru;
	siginfo_t si;
	int status = 0;
	pid_t got;

	if (!c)
		return; /* reported already (a second event of one batch) */
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno != ECHILD) {
			log_error("exec: waitid %d: %s", (int)pid, strerror(errno));
			return;
		}
		log_error("exec: child %d of job %s was reaped elsewhere", (int)pid, c->job_id);
		local_forget_locked(l, c);
		pthread_mutex_unlock(&l->lock);
		local_kill_rest(c);
		local_report(ex, c, 0, false, cost);
		pthread_mutex_lock(&l->lock);
		return;
	}
	if (si.si_pid == 0)
		return; /* not exited (yet): a pid reused by a new child of ours */
	/* The group dies with its leader: nothing of a finished job keeps
	 * running. While the leader is an unreaped zombie its id is still its own. */
	if (kill(-pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("exec: kill group %d: %s", (int)pid, strerror(errno));
	do
		got = wait4(pid, &status, 0, &ru); /* a zombie: at once */
	while (got < 0 && errno == EINTR);
	local_forget_locked(l, c);
	pthread_mutex_unlock(&l->lock);
	if (got == pid)
		cost = cost_of_rusage(&ru);
	else
		log_error("exec: wait4 %d: %s", (int)pid, strerror(errno));
	cost_of_cgroup(c, &cost);
	local_kill_rest(c);
	local_report(ex, c, status, got == pid, cost);
	pthread_mutex_lock(&l->lock);
}

/* The reaper: epoll on the children's pidfds and the wake eventfd. */
static void *local_reaper(void *arg)
{
	struct exec *ex = arg;
	struct local *l = ex->priv;
	struct epoll_event evs[LOCAL_EVENTS];

	for (;;) {
		int n = epoll_wait(l->epfd, evs, LOCAL_EVENTS, -1);
		bool stop;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("exec: epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&l->lock);
		stop = l->stopping;
		for (int i = 0; i < n && !stop; i++) {
			if (evs[i].data.u64 != LOCAL_WAKE_TAG)
				local_reap_locked(ex, l, (pid_t)evs[i].data.u64);
			stop = l->stopping;
		}
		pthread_mutex_unlock(&l->lock);
		if (stop)
			break;
	}
	return NULL;
}

/* The cgroups of the machine, found at the first start that wants them. l->lock held. */
static const struct exec_cgroups *local_cgroups(struct local *l, const char *setting)
{
	if (setting && strcmp(setting, "off") == 0)
		return NULL;
	if (!l->cg_detected) {
		const struct exec_cgroups *cg = &l->cg;
		l->cg_detected = true;
		exec_cgroups_detect(&l->cg);
		if (!exec_cgroups_any(cg))
			log_info("exec: no usable cgroup; a job's processes are found by process "
				 "group and by OPUS_JOB_ID");
		else
			log_info("exec: a cgroup per job: %s%s%s%s%s%s%s",
				 cg->parent[EXEC_CG_V2] ? cg->parent[EXEC_CG_V2] : "",
				 cg->parent[EXEC_CG_FREEZER] ? cg->parent[EXEC_CG_FREEZER] : "",
				 cg->v2_pids || cg->v2_memory ? " (with limits)" : "",
				 cg->parent[EXEC_CG_PIDS] ? ", pids: " : "",
				 cg->parent[EXEC_CG_PIDS] ? cg->parent[EXEC_CG_PIDS] : "",
				 cg->parent[EXEC_CG_MEMORY] ? ", memory: " : "",
				 cg->parent[EXEC_CG_MEMORY] ? cg->parent[EXEC_CG_MEMORY] : "");
		exec_cgroups_reap_orphans(cg);
	}
	return &l->cg;
}

/* RLIMIT_NPROC counts every process of the job's user: only where no pids
 * cgroup limits the job, and not for the daemon's own (non-root) user, whose
 * threads would count against it. */
static bool local_wants_nproc(const struct exec_spec *spec, const struct exec_cg_job *cg)
{
	if (spec->limits.processes <= 0 || (cg && exec_cg_job_limits_pids(cg)))
		return false;
	return (spec->user && spec->user->change) || geteuid() == 0;
}

/* Records a started child and watches its pidfd. l->lock held. */
static void local_record(struct local *l, pid_t pid, int pidfd, const struct exec_spec *spec,
			 struct exec_cg_job *cg)
{
	struct local_child *c = xcalloc(1, sizeof(*c));
	struct epoll_event ev = {.events = EPOLLIN};

	c->pid = pid;
	c->pidfd = pidfd;
	c->job_id = xstrdup(spec->job_id);
	if (cg) {
		c->has_cg = true;
		c->cg = *cg;
	}
	c->next = l->buckets[(unsigned)pid % LOCAL_BUCKETS];
	l->buckets[(unsigned)pid % LOCAL_BUCKETS] = c;
	l->nrunning++;
	ev.data.u64 = (uint64_t)pid;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0)
		log_error("exec: epoll add %d: %s", (int)pid, strerror(errno)); /* cannot fail */
}

/* A child we cannot watch is not left behind: killed and reaped here. */
static void local_abandon_child(pid_t pid)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int local_start(struct exec *ex, const struct exec_spec *spec, pid_t *pid_out)
{
	struct local *l = ex->priv;
	struct exec_cg_job cg;
	struct exec_child child = {.spec = spec};
	const struct exec_cgroups *cgs;
	pid_t pid = 0;
	int ret;

	if (!exec_cgroup_setting_ok(spec->cgroup))
		return OPUS_ERR_INVAL;
	if (spec->user && spec->user->change && exec_give_tree(spec) != 0)
		return OPUS_ERR_IO;
	pthread_mutex_lock(&l->lock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->lock);
		return OPUS_ERR_BUSY;
	}
	cgs = local_cgroups(l, spec->cgroup);
	if (cgs && exec_cgroups_any(cgs) &&
	    exec_cg_job_create(cgs, spec->job_id, &spec->limits, &cg) == 0)
		child.cg = &cg;
	child.set_nproc = local_wants_nproc(spec, child.cg);
	/* Under the lock: the reaper cannot look up the pid before it is recorded. */
	ret = exec_spawn(&child, &pid);
	if (child.cg)
		exec_cg_job_close_fds(&cg);
	if (ret == 0) {
		/* Our unreaped child: its pid cannot name another process yet. */
		int pidfd = pidfd_open(pid, 0);
		if (pidfd < 0) {
			log_error("exec: pidfd_open %d: %s", (int)pid, strerror(errno));
			local_abandon_child(pid);
			ret = OPUS_ERR_INTERNAL;
		} else {
			local_record(l, pid, pidfd, spec, child.cg ? &cg : NULL);
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (ret != 0) {
		if (child.cg)
			exec_cg_job_remove(&cg);
		return ret;
	}
	log_debug("exec: job %s started, pid %d", spec->job_id, (int)pid);
	*pid_out = pid;
	return 0;
}

static int local_submit(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
			char **why_out)
{
	pid_t pid = 0;
	int ret = local_start(ex, spec, &pid);

	if (ret) {
		*why_out = xstrdup(ret == OPUS_ERR_BUSY ? "the server is stopping"
							: "could not start the job");
		return ret;
	}
	snprintf(out->handle, sizeof(out->handle), "%d", (int)pid);
	out->started = true;
	return 0;
}

/* A handle back to its process group: decimal digits only, and never 0 or
 * 1 (kill(-1) and kill(0) would hit far more than one job). */
static bool local_handle_parse(const char *handle, pid_t *pid_out)
{
	size_t len = strlen(handle);
	long long v;

	if (len == 0 || len > 10 || strspn(handle, "0123456789") != len || handle[0] == '0')
		return false;
	v = strtoll(handle, NULL, 10);
	if (v <= 1 || v > INT_MAX)
		return false;
	*pid_out = (pid_t)v;
	return true;
}

/*
 * Only a group whose leader we have not reaped yet: once reaped, the reaper
 * has killed the rest of the group and the id may be reused by anything.
 * Under the lock, so the reaper cannot reap it in between.
 */
static int local_cancel(struct exec *ex, const char *handle, int sig)
{
	struct local *l = ex->priv;
	struct local_child *c;
	pid_t pgid;
	int ret = 0;

	if (!local_handle_parse(handle, &pgid))
		return OPUS_ERR_INVAL;
	pthread_mutex_lock(&l->lock);
	c = *local_slot(l, pgid);
	if (c && kill(-pgid, sig) < 0 && errno != ESRCH) {
		log_error("exec: kill group %d: %s", (int)pgid, strerror(errno));
		ret = OPUS_ERR_IO;
	}
	if (c && c->has_cg)
		exec_cg_job_signal(&c->cg, sig);
	else if (c)
		local_signal_by_env(c->job_id, sig);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static void local_close(struct exec *ex)
{
	struct local *l = ex->priv;
	uint64_t one = 1;

	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	if (write(l->wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("exec: cannot wake the reaper: %s", strerror(errno));
	pthread_join(l->reaper, NULL);
	for (size_t b = 0; b < LOCAL_BUCKETS; b++) {
		while (l->buckets[b]) {
			struct local_child *c = l->buckets[b];
			l->buckets[b] = c->next;
			if (c->has_cg) /* not waited for: its cgroup stays with it */
				exec_cg_job_forget(&c->cg);
			close(c->pidfd);
			free(c->job_id);
			free(c);
		}
	}
	exec_cgroups_release(&l->cg);
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
	ex->priv = NULL;
}

static int local_open(struct exec *ex, const struct exec_config *cfg)
{
	struct local *l = xcalloc(1, sizeof(*l));
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LOCAL_WAKE_TAG};
	int err;

	(void)cfg;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		log_error("exec: reaper's epoll: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&l->lock, NULL);
	ex->priv = l;
	err = pthread_create(&l->reaper, NULL, local_reaper, ex);
	if (err) {
		log_error("exec: reaper thread: %s", strerror(err));
		pthread_mutex_destroy(&l->lock);
		ex->priv = NULL;
		goto fail;
	}
	return 0;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	free(l);
	return OPUS_ERR_INTERNAL;
}

static int local_adopt(struct exec *ex, const char *job_id, const char *handle);

static void local_poll(struct exec *ex)
{
	(void)ex; /* the reaper sees every end as it happens */
}

static bool local_owns(const char *handle)
{
	pid_t pid;
	return local_handle_parse(handle, &pid);
}

static const struct exec_ops local_ops = {
    .name = "local",
    .keep = EXEC_KEEP_NONE,
    .submit = local_submit,
    .cancel = local_cancel,
    .adopt = local_adopt,
    .poll = local_poll,
    .reachable = NULL,
    .owns = local_owns,
    .close = local_close,
};

const struct exec_backend exec_local_backend = {
    .ops = &local_ops,
    .open = local_open,
};

/* Does this NUL-separated environment hold OPUS_JOB_ID (=job_id when given)? */
static bool environ_has_job(const char *env, size_t len, const char *job_id)
{
	static const char key[] = "OPUS_JOB_ID=";
	const char *p = env, *end = env + len;

	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));
		if (n >= sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0) {
			const char *v = p + sizeof(key) - 1;
			size_t vn = n - (sizeof(key) - 1);
			return !job_id || (strlen(job_id) == vn && memcmp(v, job_id, vn) == 0);
		}
		p += n + 1;
	}
	return false;
}

/*
 * A process group left by an earlier daemon is not ours to follow (it is not
 * our child): it is killed when it is still this job's, and the caller ends
 * the job. A process group id may have been reused since (after a reboot, by
 * anything), so the group is killed only when its leader is still alive and
 * was started by exec for this job (OPUS_JOB_ID=job_id in its environment).
 */
static int local_adopt(struct exec *ex, const char *job_id, const char *handle)
{
	char path[64];
	char *env = NULL;
	size_t len = 0;
	pid_t pid;

	(void)ex;
	if (!local_handle_parse(handle, &pid))
		return OPUS_ERR_NOTFOUND; /* not a handle of this backend */
	if (getpgid(pid) != pid)
		goto done; /* no such process, or no longer the leader of that group */
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if (file_read_all(path, LOCAL_ENVIRON_MAX, &env, &len) != 0)
		goto done; /* gone, or not ours to read */
	if (!environ_has_job(env, len, job_id)) {
		log_warn("exec: process group %d is not job %s; left alone", (int)pid, job_id);
		goto done;
	}
	if (kill(-pid, SIGKILL) < 0) {
		if (errno != ESRCH)
			log_error("exec: kill group %d: %s", (int)pid, strerror(errno));
		goto done;
	}
	log_warn("job %s: killed process group %d left by the previous run", job_id, (int)pid);
done:
	free(env);
	return OPUS_ERR_NOTFOUND;
}
