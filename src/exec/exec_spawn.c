/*
 * exec_spawn: the vfork/exec of one job (exec_local.c says what the child
 * gets). vfork, not fork: the child borrows the daemon's memory until its
 * execve instead of copying its page tables, which in a threaded daemon of
 * tens of MB costs milliseconds per job and stalls every other thread's page
 * faults while it runs (posix_spawn does the same, but cannot join a cgroup,
 * set limits or change the user). So between vfork and execve the child
 * writes no memory of the daemon's but its own stack frames and errno, and
 * makes only async-signal-safe calls; the set*id calls are raw system calls,
 * so that glibc does not try to reach threads the child does not have. If
 * the child fails before execve, it writes the step and errno to a
 * close-on-exec pipe and exits 127; the parent, resumed when the child has
 * exec'd or exited, reads the pipe: end of file means execve succeeded.
 */
#include "exec/exec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum step {
	STEP_CGROUP,
	STEP_PGROUP,
	STEP_STDIO,
	STEP_LIMITS,
	STEP_CHDIR,
	STEP_USER,
	STEP_FDS,
	STEP_EXEC,
};

static const char *const step_names[] = {
    [STEP_CGROUP] = "join its cgroup",
    [STEP_PGROUP] = "make its process group",
    [STEP_STDIO] = "set up stdin/stdout/stderr",
    [STEP_LIMITS] = "set its resource limits",
    [STEP_CHDIR] = "enter its working directory",
    [STEP_USER] = "change to its user",
    [STEP_FDS] = "close descriptors",
    [STEP_EXEC] = "execute /bin/bash",
};

struct child_fds {
	int std[3]; /* what becomes 0, 1, 2 */
	int report; /* the pipe's write end */
};

static _Noreturn void child_fail(const struct child_fds *f, enum step st, int err)
{
	int msg[2] = {(int)st, err};
	ssize_t w = write(f->report, msg, sizeof(msg));
	(void)w;
	_exit(127);
}

static int child_stdio(const struct child_fds *f)
{
	for (int i = 0; i < 3; i++) {
		if (f->std[i] == i) {
			if (fcntl(i, F_SETFD, 0) < 0) /* keep it across exec */
				return -1;
		} else if (dup2(f->std[i], i) < 0) {
			return -1;
		}
	}
	return 0;
}

static int child_limit(int resource, int64_t soft, int64_t hard)
{
	struct rlimit rl = {.rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard};
	return soft > 0 ? setrlimit(resource, &rl) : 0;
}

static int child_limits(const struct exec_child *c)
{
	const struct exec_limits *l = &c->spec->limits;
	/* CPU: SIGXCPU at the limit, SIGKILL a little later if ignored. */
	if (child_limit(RLIMIT_AS, l->memory_bytes, l->memory_bytes) < 0 ||
	    child_limit(RLIMIT_NOFILE, l->open_files, l->open_files) < 0 ||
	    child_limit(RLIMIT_CPU, l->cpu_seconds, l->cpu_seconds + 5) < 0)
		return -1;
	if (c->set_nproc && child_limit(RLIMIT_NPROC, l->processes, l->processes) < 0)
		return -1;
	return 0;
}

/* Groups, gid, uid, with the raw calls (see the top of the file). */
static int child_user(const struct exec_user *u)
{
	gid_t g = u->gid;
	if (!u->change)
		return 0;
	if (syscall(SYS_setgroups, 1, &g) != 0 || syscall(SYS_setresgid, g, g, g) != 0 ||
	    syscall(SYS_setresuid, u->uid, u->uid, u->uid) != 0)
		return -1;
	return 0;
}

static _Noreturn void child_main(const struct exec_child *c, const struct child_fds *f,
				 char *const argv[])
{
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL); /* glibc's own signals: EINVAL */
	}
	if (c->cg) {
		int err = exec_cg_job_join(c->cg);
		if (err)
			child_fail(f, STEP_CGROUP, err);
	}
	if (setpgid(0, 0) < 0)
		child_fail(f, STEP_PGROUP, errno);
	if (child_stdio(f) < 0)
		child_fail(f, STEP_STDIO, errno);
	if (child_limits(c) < 0)
		child_fail(f, STEP_LIMITS, errno);
	if (chdir(c->spec->workdir) < 0)
		child_fail(f, STEP_CHDIR, errno);
	if (c->spec->user && child_user(c->spec->user) < 0)
		child_fail(f, STEP_USER, errno);
	/* Close-on-exec rather than closed: the report pipe must stay open
	 * until execve itself succeeds. */
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
		child_fail(f, STEP_FDS, errno);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/bin/bash", argv, c->spec->envp);
	child_fail(f, STEP_EXEC, errno);
}

/* The parent's side of the pipe: 0 when execve succeeded. */
static int read_report(int fd, pid_t pid, const struct exec_child *c)
{
	int msg[2] = {0, 0};
	ssize_t n;

	do
		n = read(fd, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	/* Not recorded yet, so not watched by the reaper: ours to reap. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(msg) || msg[0] < 0 || msg[0] > STEP_EXEC) {
		log_error("exec: job %s: the child failed before its start", c->spec->job_id);
		return OPUS_ERR_INTERNAL;
	}
	log_error("exec: job %s: cannot %s (%s): %s", c->spec->job_id, step_names[msg[0]],
		  msg[0] == STEP_CHDIR ? c->spec->workdir : "", strerror(msg[1]));
	return OPUS_ERR_IO;
}

static int open_stdio(const struct exec_spec *spec, struct child_fds *f)
{
	const int out_flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY;

	f->std[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	f->std[1] = open(spec->stdout_path, out_flags, 0640);
	f->std[2] = open(spec->stderr_path, out_flags, 0640);
	for (int i = 0; i < 3; i++) {
		if (f->std[i] < 0) {
			log_error("exec: job %s: cannot open %s: %s", spec->job_id,
				  i == 0   ? "/dev/null"
				  : i == 1 ? spec->stdout_path
					   : spec->stderr_path,
				  strerror(errno));
			return OPUS_ERR_IO;
		}
	}
	return 0;
}

/* vfork with every signal blocked (no handler of the daemon may run in the
 * child before it resets them); alone in its frame, so that no local of the
 * caller lives across the vfork. */
static pid_t vfork_child(const struct exec_child *c, const struct child_fds *f, char *const argv[])
{
	sigset_t all, old;
	pid_t pid;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	/* More than execve after vfork, on purpose and with care: see the top
	 * of this file (glibc's posix_spawn and libuv do the same). */
	if (pid == 0)
		child_main(c, f, argv); // NOLINT(clang-analyzer-unix.Vfork)
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

int exec_spawn(const struct exec_child *c, pid_t *pid_out)
{
	struct child_fds f = {.std = {-1, -1, -1}, .report = -1};
	char arg0[] = "bash";
	char *argv[] = {arg0, (char *)c->spec->script_path, NULL};
	int pipefd[2] = {-1, -1}, ret = OPUS_ERR_IO;
	pid_t pid;

	if (open_stdio(c->spec, &f) != 0)
		goto done;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		log_error("exec: pipe: %s", strerror(errno));
		goto done;
	}
	f.report = pipefd[1];
	pid = vfork_child(c, &f, argv);
	if (pid < 0) {
		log_error("exec: vfork for job %s: %s", c->spec->job_id, strerror(errno));
		goto done;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	ret = read_report(pipefd[0], pid, c);
	if (ret == 0)
		*pid_out = pid;
done:
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	}
	for (int i = 0; i < 3; i++) {
		if (f.std[i] >= 0)
			close(f.std[i]);
	}
	return ret;
}
