/*
 * exec_local: jobs as processes of this machine. A start is one posix_spawn
 * (glibc clones with CLONE_VM|CLONE_VFORK, so it costs tens of microseconds
 * whatever the daemon's size, against ~4 ms for bash to start) of
 * `bash SCRIPT` in a process group of its own; one reaper thread blocks in
 * waitpid(-1) while children run and reports each exit.
 *
 * The child gets: the caller's environment and nothing else, an empty signal
 * mask and default dispositions (the daemon ignores SIGPIPE and blocks
 * SIGTERM/SIGINT/SIGHUP, and both would otherwise be inherited), stdin from
 * /dev/null, stdout/stderr to the given files, no other descriptor (closefrom 3
 * even though the daemon opens everything close-on-exec: libraries may not).
 */
#include "exec/exec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOCAL_BUCKETS	  64
#define LOCAL_ENVIRON_MAX (4u << 20)

struct local_child {
	struct local_child *next;
	pid_t pid;
	char *job_id;
};

struct local {
	/* Guards everything below. Held across posix_spawn so that the reaper
	 * cannot look up a pid before its start has recorded it. */
	pthread_mutex_t lock;
	pthread_cond_t started; /* a start happened, or stopping */
	struct local_child *buckets[LOCAL_BUCKETS];
	size_t nrunning;
	uint64_t nstarts; /* lets the reaper tell "no child yet" from "child lost" */
	bool stopping;
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

static void local_report(struct exec *ex, struct local_child *c, int status, bool known)
{
	struct exec_exit ee = {
	    .job_id = c->job_id,
	    .handle = c->pid,
	    .exited = known && WIFEXITED(status),
	    .exit_code = known && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    .term_signal = known && WIFSIGNALED(status) ? WTERMSIG(status) : 0,
	};
	ex->on_exit(ex->ctx, &ee);
	free(c->job_id);
	free(c);
}

/*
 * waitpid() says there is no child left while the table still holds some:
 * someone else reaped them (or SIGCHLD is ignored), their status is lost.
 * Reports them (exited false, term_signal 0) so nobody waits for them forever.
 */
static void local_report_lost(struct exec *ex, struct local *l)
{
	for (size_t b = 0; b < LOCAL_BUCKETS; b++) {
		while (l->buckets[b]) {
			struct local_child *c = local_take(l, l->buckets[b]->pid);
			log_error("exec: child %d of job %s was reaped elsewhere", (int)c->pid,
				  c->job_id);
			pthread_mutex_unlock(&l->lock);
			local_report(ex, c, 0, false);
			pthread_mutex_lock(&l->lock);
		}
	}
}

/*
 * The reaper. It blocks in waitpid(-1) only while children of ours run
 * (nrunning > 0, which only it decreases), else on the condition variable.
 * local_close() wakes it from waitpid() with a child that exits at once.
 */
static void *local_reaper(void *arg)
{
	struct exec *ex = arg;
	struct local *l = ex->priv;
	int status = 0;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		uint64_t nstarts;
		pid_t pid;
		int err;
		struct local_child *c;

		while (!l->stopping && l->nrunning == 0)
			pthread_cond_wait(&l->started, &l->lock);
		if (l->stopping)
			break;
		nstarts = l->nstarts;
		pthread_mutex_unlock(&l->lock);
		pid = waitpid(-1, &status, 0);
		err = errno;
		pthread_mutex_lock(&l->lock);
		if (pid < 0) {
			if (err == ECHILD && nstarts == l->nstarts && l->nrunning > 0)
				local_report_lost(ex, l);
			else if (err != EINTR && err != ECHILD)
				log_error("exec: waitpid: %s", strerror(err));
			continue;
		}
		c = local_take(l, pid);
		if (!c)
			continue; /* not started here (e.g. glibc reaps a failed spawn itself) */
		/* The group dies with its leader: nothing of a finished job keeps
		 * running. Under the lock, so the pid cannot be reused by a start. */
		if (kill(-pid, SIGKILL) < 0 && errno != ESRCH)
			log_warn("exec: kill group %d: %s", (int)pid, strerror(errno));
		pthread_mutex_unlock(&l->lock);
		local_report(ex, c, status, true);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int local_attr_init(posix_spawnattr_t *attr)
{
	sigset_t none, dflt;
	int err;

	sigemptyset(&none);
	/* glibc's sigfillset leaves out its internal signals; KILL/STOP cannot change. */
	sigfillset(&dflt);
	sigdelset(&dflt, SIGKILL);
	sigdelset(&dflt, SIGSTOP);
	err = posix_spawnattr_init(attr);
	if (err)
		return err;
	err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						 POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = posix_spawnattr_setpgroup(attr, 0);
	if (!err)
		err = posix_spawnattr_setsigmask(attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(attr, &dflt);
	if (err)
		posix_spawnattr_destroy(attr);
	return err;
}

static int local_actions_init(posix_spawn_file_actions_t *fa, const struct exec_spec *spec)
{
	const int out_flags = O_WRONLY | O_CREAT | O_TRUNC;
	int err = posix_spawn_file_actions_init(fa);

	if (err)
		return err;
	/* Opened before the chdir: relative paths mean what they mean to the caller. */
	err = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (!err)
		err = posix_spawn_file_actions_addopen(fa, 1, spec->stdout_path, out_flags, 0640);
	if (!err)
		err = posix_spawn_file_actions_addopen(fa, 2, spec->stderr_path, out_flags, 0640);
	if (!err)
		err = posix_spawn_file_actions_addclosefrom_np(fa, 3);
	if (!err)
		err = posix_spawn_file_actions_addchdir_np(fa, spec->workdir);
	if (err)
		posix_spawn_file_actions_destroy(fa);
	return err;
}

static int local_start(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out)
{
	struct local *l = ex->priv;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char arg0[] = "bash";
	char *argv[] = {arg0, (char *)spec->script_path, NULL};
	struct local_child *c;
	pid_t pid;
	int err, ret = OPUS_ERR_INTERNAL;

	err = local_attr_init(&attr);
	if (err) {
		log_error("exec: spawn attributes: %s", strerror(err));
		return ret;
	}
	err = local_actions_init(&fa, spec);
	if (err) {
		log_error("exec: spawn file actions: %s", strerror(err));
		goto done_attr;
	}
	pthread_mutex_lock(&l->lock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->lock);
		ret = OPUS_ERR_BUSY;
		goto done;
	}
	err = posix_spawn(&pid, "/bin/bash", &fa, &attr, argv, spec->envp);
	if (err) {
		pthread_mutex_unlock(&l->lock);
		log_error("exec: start job %s in %s: %s", spec->job_id, spec->workdir,
			  strerror(err));
		ret = OPUS_ERR_IO;
		goto done;
	}
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->job_id = xstrdup(spec->job_id);
	c->next = l->buckets[(unsigned)pid % LOCAL_BUCKETS];
	l->buckets[(unsigned)pid % LOCAL_BUCKETS] = c;
	l->nrunning++;
	l->nstarts++;
	pthread_cond_signal(&l->started);
	pthread_mutex_unlock(&l->lock);
	log_debug("exec: job %s started, pid %d", spec->job_id, (int)pid);
	*handle_out = pid;
	ret = 0;
done:
	posix_spawn_file_actions_destroy(&fa);
done_attr:
	posix_spawnattr_destroy(&attr);
	return ret;
}

/* kill(-1) and kill(0) would hit far more than one job. */
static bool local_handle_ok(int64_t handle)
{
	return handle > 1 && handle <= INT_MAX;
}

/*
 * Only a group whose leader we have not reaped yet: once reaped, the reaper
 * has killed the rest of the group and the id may be reused by anything.
 * Under the lock, so the reaper cannot reap it in between.
 */
static int local_signal(struct exec *ex, int64_t handle, int sig)
{
	struct local *l = ex->priv;
	int ret = 0;

	if (!local_handle_ok(handle))
		return OPUS_ERR_INVAL;
	pthread_mutex_lock(&l->lock);
	if (*local_slot(l, (pid_t)handle) && kill(-(pid_t)handle, sig) < 0 && errno != ESRCH) {
		log_error("exec: kill group %lld: %s", (long long)handle, strerror(errno));
		ret = OPUS_ERR_IO;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* A child that exits at once: makes a reaper blocked in waitpid() return.
 * (Not pthread_cancel: unwinding a thread confuses the sanitizers.) */
static pid_t local_sentinel(void)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	return pid;
}

static void local_close(struct exec *ex)
{
	struct local *l = ex->priv;
	pid_t sentinel = 0;
	bool in_waitpid;

	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	in_waitpid = l->nrunning > 0;
	pthread_cond_broadcast(&l->started);
	pthread_mutex_unlock(&l->lock);
	if (in_waitpid) {
		sentinel = local_sentinel();
		if (sentinel < 0)
			log_error("exec: cannot wake the reaper: %s", strerror(errno));
	}
	pthread_join(l->reaper, NULL);
	/* The reaper may have returned for a job's exit instead. */
	if (sentinel > 0)
		while (waitpid(sentinel, NULL, 0) < 0 && errno == EINTR)
			;
	for (size_t b = 0; b < LOCAL_BUCKETS; b++) {
		while (l->buckets[b]) {
			struct local_child *c = l->buckets[b];
			l->buckets[b] = c->next;
			free(c->job_id);
			free(c);
		}
	}
	pthread_cond_destroy(&l->started);
	pthread_mutex_destroy(&l->lock);
	free(l);
	ex->priv = NULL;
}

static int local_open(struct exec *ex)
{
	struct local *l = xcalloc(1, sizeof(*l));
	int err;

	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->started, NULL);
	ex->priv = l;
	err = pthread_create(&l->reaper, NULL, local_reaper, ex);
	if (err) {
		log_error("exec: reaper thread: %s", strerror(err));
		pthread_cond_destroy(&l->started);
		pthread_mutex_destroy(&l->lock);
		free(l);
		ex->priv = NULL;
		return OPUS_ERR_INTERNAL;
	}
	return 0;
}

static const struct exec_ops local_ops = {
    .name = "local",
    .start = local_start,
    .signal = local_signal,
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

int exec_signal_orphan_job(int64_t handle, const char *job_id, int sig)
{
	char path[64];
	char *env = NULL;
	size_t len = 0;
	pid_t pid;
	int ret = OPUS_ERR_NOTFOUND;

	if (!local_handle_ok(handle))
		return OPUS_ERR_INVAL;
	pid = (pid_t)handle;
	if (getpgid(pid) != pid)
		goto done; /* no such process, or no longer the leader of that group */
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if (file_read_all(path, LOCAL_ENVIRON_MAX, &env, &len) != 0)
		goto done; /* gone, or not ours to read */
	if (!environ_has_job(env, len, job_id)) {
		log_warn("exec: process group %d is not %s%s; left alone", (int)pid,
			 job_id ? "job " : "an opusd job", job_id ? job_id : "");
		goto done;
	}
	if (kill(-pid, sig) < 0) {
		if (errno != ESRCH) {
			log_error("exec: kill group %d: %s", (int)pid, strerror(errno));
			ret = OPUS_ERR_IO;
		}
		goto done;
	}
	ret = 0;
done:
	free(env);
	return ret;
}

int exec_signal_orphan(int64_t handle, int sig)
{
	return exec_signal_orphan_job(handle, NULL, sig);
}
