/* Unit tests for src/exec (local backend): environment, cwd, exit status,
 * process groups, output files, descriptors and signals of the child. */
#include "base/base.h"
#include "check.h"
#include "exec/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_RECS 128

/* An ENDED event as the tests look at it (the handle back as a pgid). */
struct exit_rec {
	int64_t handle;
	bool exited; /* EXEC_END_EXITED */
	int exit_code;
	int term_signal;
	enum exec_end end;
	int64_t cpu_ms;
	int64_t max_rss_kb;
};

struct rec {
	char id[64];
	bool done;
	struct exit_rec ee;
};

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cond = PTHREAD_COND_INITIALIZER;
static struct rec recs[MAX_RECS];
static size_t nrecs;
static char tmp[PATH_MAX];
static struct exec *ex;

static void on_event_cb(void *ctx, const struct exec_event *ev)
{
	(void)ctx;
	if (ev->kind != EXEC_EV_ENDED)
		return; /* local jobs start inside exec_submit */
	pthread_mutex_lock(&rec_lock);
	if (nrecs < MAX_RECS) {
		struct rec *r = &recs[nrecs++];
		snprintf(r->id, sizeof(r->id), "%s", ev->job_id);
		r->ee = (struct exit_rec){
		    .handle = strtoll(ev->handle, NULL, 10),
		    .exited = ev->end == EXEC_END_EXITED,
		    .exit_code = ev->exit_code,
		    .term_signal = ev->term_signal,
		    .end = ev->end,
		    .cpu_ms = ev->cpu_ms,
		    .max_rss_kb = ev->max_rss_kb,
		};
		r->done = true;
	}
	pthread_cond_broadcast(&rec_cond);
	pthread_mutex_unlock(&rec_lock);
}

/* Waits for the exit of job `id`; false on timeout. */
static bool wait_exit(const char *id, int64_t timeout_ms, struct exit_rec *out)
{
	int64_t end = time_now_ms() + timeout_ms;
	bool found = false;

	pthread_mutex_lock(&rec_lock);
	for (;;) {
		for (size_t i = 0; i < nrecs && !found; i++) {
			if (strcmp(recs[i].id, id) == 0) {
				*out = recs[i].ee;
				found = true;
			}
		}
		if (found || time_now_ms() >= end)
			break;
		struct timespec ts = {.tv_sec = (time_t)(end / 1000),
				      .tv_nsec = (long)(end % 1000) * 1000000};
		pthread_cond_timedwait(&rec_cond, &rec_lock, &ts);
	}
	pthread_mutex_unlock(&rec_lock);
	return found;
}

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", tmp, name);
}

static void write_text(const char *name, const char *text)
{
	char *p = path_in(name);
	CHECK(file_write_all(p, text, strlen(text), 0640) == 0);
	free(p);
}

/* The file's content, or "" when missing; caller frees. */
static char *read_text(const char *name)
{
	char *p = path_in(name), *buf = NULL;
	size_t len;
	if (file_read_all(p, 1 << 20, &buf, &len) != 0)
		buf = xstrdup("");
	free(p);
	return buf;
}

/* What a test asks of a start beyond the script. */
struct job_opts {
	const char *cgroup;
	const struct exec_user *user;
	struct exec_limits limits;
	const char *workdir; /* default: tmp */
};

static int start_job_with(const char *id, const char *script, char *const *envp,
			  const struct job_opts *o, int64_t *handle);

/* Starts job `id` running the script text, with files {id}.sh/.out/.err. */
static int start_job(const char *id, const char *script, char *const *envp, int64_t *handle)
{
	const struct job_opts o = {0};
	return start_job_with(id, script, envp, &o, handle);
}

static int start_job_with(const char *id, const char *script, char *const *envp,
			  const struct job_opts *o, int64_t *handle)
{
	char *sh = xasprintf("%s.sh", id);
	char *spath = path_in(sh), *out = xasprintf("%s/%s.out", tmp, id);
	char *err = xasprintf("%s/%s.err", tmp, id);
	char *const empty[] = {NULL};
	struct exec_spec spec = {
	    .job_id = id,
	    .workdir = o->workdir ? o->workdir : tmp,
	    .script_path = spath,
	    .envp = envp ? envp : empty,
	    .stdout_path = out,
	    .stderr_path = err,
	    .user = o->user,
	    .limits = o->limits,
	    .cgroup = o->cgroup,
	};
	struct exec_submitted sub;
	char *why = NULL;
	int ret;

	if (script)
		write_text(sh, script);
	ret = exec_submit(ex, &spec, &sub, &why);
	if (ret == 0) {
		/* The local backend: started at once, the handle is the pgid. */
		CHECK(sub.started);
		*handle = strtoll(sub.handle, NULL, 10);
		CHECK(*handle > 1);
	} else {
		CHECK(why != NULL && *why);
	}
	free(why);
	free(sh);
	free(spath);
	free(out);
	free(err);
	return ret;
}

/* exec_cancel by a handle the tests hold as a number. */
static int cancel_h(int64_t h, int sig)
{
	char handle[EXEC_HANDLE_MAX];
	snprintf(handle, sizeof(handle), "%lld", (long long)h);
	return exec_cancel(ex, handle, sig);
}

/* Is this pid gone (or a zombie nobody reaped yet)? */
static bool pid_gone(pid_t pid)
{
	char path[64], *buf = NULL;
	size_t len;
	bool gone;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (file_read_all(path, 4096, &buf, &len) != 0)
		return true;
	const char *rp = strrchr(buf, ')');
	gone = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	free(buf);
	return gone;
}

static bool wait_gone(pid_t pid, int64_t timeout_ms)
{
	int64_t end = time_now_ms() + timeout_ms;
	while (!pid_gone(pid)) {
		if (time_now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

TEST(env_arrives_as_data)
{
	char *foo = xasprintf("a $(touch %s/pwned1) `touch %s/pwned2` 'q' \"dq\"; touch %s/pwned3\n"
			      "touch %s/pwned4",
			      tmp, tmp, tmp, tmp);
	char *foo_env = xasprintf("FOO=%s", foo);
	char *const envp[] = {foo_env, "BAR=plain", NULL};
	struct exit_rec ee;
	int64_t h = 0;
	struct stat stb;

	CHECK(start_job("env",
			"printf '%s' \"$FOO\" > foo.txt\nprintf '%s' \"$BAR\" > bar.txt\n"
			"printf '%s' \"${OPUS_TEST_DAEMON-unset}\" > path.txt\n",
			envp, &h) == 0);
	CHECK(wait_exit("env", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	char *got = read_text("foo.txt");
	CHECK_STR(got, foo);
	free(got);
	got = read_text("bar.txt");
	CHECK_STR(got, "plain");
	free(got);
	got = read_text("path.txt");
	CHECK_STR(got, "unset"); /* nothing but envp: the daemon's environment stays out */
	free(got);
	for (int i = 1; i <= 4; i++) {
		char *p = xasprintf("%s/pwned%d", tmp, i);
		CHECK(stat(p, &stb) < 0 && errno == ENOENT);
		free(p);
	}
	free(foo);
	free(foo_env);
}

TEST(cwd_is_workdir_and_outputs)
{
	struct exit_rec ee;
	int64_t h = 0;
	CHECK(start_job("cwd", "pwd > cwd.txt\necho out\necho err >&2\nexit 7\n", NULL, &h) == 0);
	CHECK(wait_exit("cwd", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 7 && ee.handle == h);
	char *got = read_text("cwd.txt");
	char *want = xasprintf("%s\n", tmp);
	CHECK_STR(got, want);
	free(got);
	free(want);
	got = read_text("cwd.out");
	CHECK_STR(got, "out\n");
	free(got);
	got = read_text("cwd.err");
	CHECK_STR(got, "err\n");
	free(got);
}

/* An exit reports what the run cost: CPU time (user + system) and peak
 * memory, of the leader and what it ran (its rusage, or its cgroup). */
TEST(exit_reports_cpu_and_memory)
{
	struct exit_rec ee;
	int64_t h = 0;
	CHECK(start_job("cost",
			"x=$(head -c 40000000 /dev/zero | tr '\\0' a)\n"
			"i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done\n"
			"echo ${#x}\n",
			NULL, &h) == 0);
	CHECK(wait_exit("cost", 60000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	CHECK(ee.cpu_ms >= 100);
	CHECK(ee.max_rss_kb >= 40000);
	/* a job that does nothing costs little */
	CHECK(start_job("cheap", "exit 0\n", NULL, &h) == 0);
	CHECK(wait_exit("cheap", 5000, &ee));
	CHECK(ee.cpu_ms >= 0 && ee.cpu_ms < 1000 && ee.max_rss_kb > 0);
	char *got = read_text("cost.out");
	CHECK_STR(got, "40000000\n");
	free(got);
}

TEST(missing_script_is_127)
{
	struct exit_rec ee;
	int64_t h = 0;
	CHECK(start_job("missing", NULL, NULL, &h) == 0);
	CHECK(wait_exit("missing", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 127);
}

TEST(bad_workdir_fails_start)
{
	char *spath = path_in("cwd.sh"), *out = path_in("x.out");
	char *const empty[] = {NULL};
	struct exec_spec spec = {
	    .job_id = "nowhere",
	    .workdir = "/nonexistent/opusd",
	    .script_path = spath,
	    .envp = empty,
	    .stdout_path = out,
	    .stderr_path = out,
	};
	struct exec_submitted sub;
	char *why = NULL;
	CHECK(exec_submit(ex, &spec, &sub, &why) < 0);
	CHECK(why != NULL && *why);
	free(why);
	free(spath);
	free(out);
}

TEST(own_process_group)
{
	struct exit_rec ee;
	int64_t h = 0;
	pid_t child = 0;
	char *got;

	CHECK(start_job("group", "sleep 30 &\necho $! > group.pid\nwait\n", NULL, &h) == 0);
	for (int i = 0; i < 500 && !child; i++) {
		got = read_text("group.pid");
		if (strchr(got, '\n'))
			child = (pid_t)atoi(got);
		free(got);
		if (!child)
			usleep(10000);
	}
	CHECK(child > 0);
	CHECK(getpgid((pid_t)h) == (pid_t)h);
	CHECK(getpgid((pid_t)h) != getpgrp());
	CHECK(child > 0 && getpgid(child) == (pid_t)h);
	CHECK(cancel_h(h, SIGKILL) == 0);
	CHECK(wait_exit("group", 5000, &ee));
	CHECK(!ee.exited && ee.term_signal == SIGKILL);
	CHECK(child > 0 && wait_gone(child, 3000));
	/* Signalling a group that is gone is not an error. */
	CHECK(cancel_h(h, SIGTERM) == 0);
	CHECK(cancel_h(0, SIGTERM) == OPUS_ERR_INVAL);
	CHECK(exec_cancel(ex, "1", SIGTERM) == OPUS_ERR_INVAL);
	CHECK(exec_cancel(ex, "12x", SIGTERM) == OPUS_ERR_INVAL);
	CHECK(exec_cancel(ex, "", SIGTERM) == OPUS_ERR_INVAL);
	CHECK(cancel_h(-1, SIGTERM) == OPUS_ERR_INVAL);
}

TEST(leftovers_die_with_the_leader)
{
	struct exit_rec ee;
	int64_t h = 0;
	pid_t child = 0;
	CHECK(start_job("left", "sleep 30 &\necho $! > left.pid\n", NULL, &h) == 0);
	CHECK(wait_exit("left", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	char *got = read_text("left.pid");
	child = (pid_t)atoi(got);
	free(got);
	CHECK(child > 0 && wait_gone(child, 3000));
}

TEST(no_fd_or_signal_state_leaks)
{
	struct exit_rec ee;
	int64_t h = 0;
	int fd = open("/dev/null", O_RDONLY); /* deliberately not close-on-exec */
	CHECK(fd >= 0 && dup2(fd, 100) == 100);
	CHECK(
	    start_job("fds",
		      "if [ -e /proc/$$/fd/100 ]; then echo leaked; else echo clean; fi > fds.txt\n"
		      "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > sig.txt\n",
		      NULL, &h) == 0);
	CHECK(wait_exit("fds", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	char *got = read_text("fds.txt");
	CHECK_STR(got, "clean\n");
	free(got);
	got = read_text("sig.txt");
	unsigned long long blk = 1, ign = 1;
	CHECK(sscanf(got, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk, &ign) == 2);
	CHECK(blk == 0);
	/* Signals 32 and 33 are glibc's own: its posix_spawn leaves them ignored. */
	CHECK((ign & 0x7fffffffull) == 0);
	free(got);
	close(100);
	close(fd);
}

TEST(concurrent_jobs_reaped)
{
	char ids[8][16];
	struct exit_rec ee;
	int64_t h;
	for (int i = 0; i < 8; i++) {
		char script[64];
		snprintf(ids[i], sizeof(ids[i]), "many%d", i);
		snprintf(script, sizeof(script), "sleep 0.%d\nexit %d\n", 8 - i, 10 + i);
		CHECK(start_job(ids[i], script, NULL, &h) == 0);
	}
	for (int i = 0; i < 8; i++) {
		CHECK(wait_exit(ids[i], 5000, &ee));
		CHECK(ee.exited && ee.exit_code == 10 + i);
	}
}

/* The process state letter of pid ('Z': a zombie), or 0 when there is none. */
static char pid_state(pid_t pid)
{
	char path[64], *buf = NULL, st = 0;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (file_read_all(path, 4096, &buf, &len) != 0)
		return 0;
	const char *rp = strrchr(buf, ')');
	if (rp && rp[1] == ' ')
		st = rp[2];
	free(buf);
	return st;
}

/*
 * The reaper waits for its own children only: children the daemon spawned
 * elsewhere (posix_spawn, as exec's commands or a library would) exit while
 * exec's jobs run and end, and are still there for their own waitpid(pid),
 * with their status; exec's jobs report as ever.
 */
TEST(reaps_only_its_own_children)
{
	char *const argv[] = {"/bin/sh", "-c", "exit 7", NULL};
	pid_t outside[3];
	struct exit_rec ee;
	int64_t h;
	int st;

	for (int i = 0; i < 3; i++)
		CHECK(posix_spawn(&outside[i], "/bin/sh", NULL, NULL, argv, environ) == 0);
	/* Zombies before exec's jobs run: a waitpid(-1) anywhere would take them. */
	for (int i = 0; i < 3; i++) {
		int64_t end = time_mono_ms() + 5000;
		while (pid_state(outside[i]) != 'Z' && time_mono_ms() < end)
			usleep(5000);
		CHECK(pid_state(outside[i]) == 'Z');
	}
	for (int i = 0; i < 3; i++) {
		char id[32], script[64];
		snprintf(id, sizeof(id), "own%d", i);
		snprintf(script, sizeof(script), "sleep 0.0%d\nexit %d\n", i, 20 + i);
		CHECK(start_job(id, script, NULL, &h) == 0);
	}
	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof(id), "own%d", i);
		CHECK(wait_exit(id, 5000, &ee));
		CHECK(ee.exited && ee.exit_code == 20 + i && ee.end == EXEC_END_EXITED);
	}
	for (int i = 0; i < 3; i++) {
		CHECK(pid_state(outside[i]) == 'Z');
		CHECK(waitpid(outside[i], &st, WNOHANG) == outside[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	}
}

/* A job the daemon reaped itself behind exec's back (its status lost to
 * exec) is still reported, as SIGNALLED with term_signal 0, and the rest of
 * it is killed; whichever of the two waits won, one end comes. */
TEST(status_lost_is_reported)
{
	struct exit_rec ee;
	int64_t h = 0;
	pid_t got;
	int st = 0;

	CHECK(start_job("lost", "sleep 0.2\nexit 5\n", NULL, &h) == 0);
	do
		got = waitpid((pid_t)h, &st, 0);
	while (got < 0 && errno == EINTR);
	CHECK(wait_exit("lost", 5000, &ee));
	if (got == (pid_t)h) {
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
		CHECK(!ee.exited && ee.end == EXEC_END_SIGNALLED && ee.term_signal == 0);
	} else {
		CHECK(got < 0 && errno == ECHILD);
		CHECK(ee.exited && ee.exit_code == 5);
	}
}

/* Twenty quick jobs in a row all start and are reaped; the spawn cost is
 * printed for information (speed targets live in `make bench`). */
TEST(spawn_many_in_a_row)
{
	struct exit_rec ee;
	int64_t h, total = 0;
	struct timespec a, b;
	const int n = 20;
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "fast%d", i);
		char *sh = xasprintf("%s.sh", id);
		write_text(sh, "exit 0\n");
		free(sh);
		clock_gettime(CLOCK_MONOTONIC, &a);
		CHECK(start_job(id, NULL, NULL, &h) == 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		total += (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
		CHECK(wait_exit(id, 5000, &ee));
		CHECK(ee.exited && ee.exit_code == 0);
	}
	printf("exec: posix_spawn of bash takes %lld us on average\n", (long long)(total / n));
}

/* The local backend adopts nothing (its jobs die with the daemon): a group
 * left by an earlier daemon is killed when it is that job's, and the caller
 * is told OPUS_ERR_NOTFOUND either way. */
TEST(adopt_kills_the_job_group_and_refuses)
{
	struct exit_rec ee;
	int64_t plain = 0, h = 0;
	char hs[EXEC_HANDLE_MAX], ps[EXEC_HANDLE_MAX];
	char *const envp[] = {"OPUS_JOB_ID=orphan2", NULL};
	char *const envp_plain[] = {"OPUS_JOB_ID_NOT=orphan1", NULL};

	CHECK(exec_keeps(ex) == EXEC_KEEP_NONE);
	CHECK_STR(exec_backend_name(ex), "local");
	CHECK(start_job("orphan1", "sleep 30\n", envp_plain, &plain) == 0);
	CHECK(start_job("orphan2", "sleep 30\n", envp, &h) == 0);
	snprintf(hs, sizeof(hs), "%lld", (long long)h);
	snprintf(ps, sizeof(ps), "%lld", (long long)plain);
	/* bash's environment is what adopt reads: wait until both have exec'd. */
	for (int i = 0; i < 500; i++) {
		char path[64], *env = NULL;
		size_t len = 0;
		bool ready;
		snprintf(path, sizeof(path), "/proc/%lld/environ", (long long)plain);
		ready = file_read_all(path, 1 << 20, &env, &len) == 0 && len > 0 &&
			memmem(env, len, "OPUS_JOB_ID_NOT", 15);
		free(env);
		snprintf(path, sizeof(path), "/proc/%lld/environ", (long long)h);
		env = NULL;
		ready = ready && file_read_all(path, 1 << 20, &env, &len) == 0 && len > 0 &&
			memmem(env, len, "OPUS_JOB_ID=orphan2", 19);
		free(env);
		if (ready)
			break;
		usleep(10000);
	}
	/* Without OPUS_JOB_ID in its environment a group is never taken for a job. */
	CHECK(exec_adopt(ex, "orphan1", ps) == OPUS_ERR_NOTFOUND);
	CHECK(!pid_gone((pid_t)plain));
	CHECK(exec_adopt(ex, "someone-else", hs) == OPUS_ERR_NOTFOUND);
	CHECK(!pid_gone((pid_t)h));
	CHECK(exec_adopt(ex, "orphan2", hs) == OPUS_ERR_NOTFOUND);
	CHECK(wait_exit("orphan2", 5000, &ee));
	CHECK(!ee.exited && ee.term_signal == SIGKILL);
	CHECK(exec_adopt(ex, "orphan2", hs) == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "orphan2", "1") == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "orphan2", "slurm:c:12") == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "orphan2", "") == OPUS_ERR_NOTFOUND);
	CHECK(cancel_h(plain, SIGKILL) == 0);
	CHECK(wait_exit("orphan1", 5000, &ee));
}

/* Is the `sleep MARKER` alive? Only the sleep itself counts, not the setsid
 * that execs it: while a process execs, its command line reads empty, so a
 * marker seen in "setsid sleep M" could vanish for an instant. */
static bool marker_alive(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d)) != NULL) {
		char path[300], *cmd = NULL;
		size_t len = 0;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if (file_read_all(path, 1 << 16, &cmd, &len) == 0) {
			for (size_t i = 0; i + 1 < len; i++)
				if (cmd[i] == '\0')
					cmd[i] = ' ';
			found = strncmp(cmd, "sleep ", 6) == 0 && strstr(cmd, marker) &&
				!pid_gone((pid_t)atoi(de->d_name));
		}
		free(cmd);
	}
	if (d)
		closedir(d);
	return found;
}

static bool wait_marker_gone(const char *marker, int64_t timeout_ms)
{
	int64_t end = time_now_ms() + timeout_ms;
	while (marker_alive(marker)) {
		if (time_now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* A job's `setsid sleep &` leaves its process group and session; killing the
 * job must still kill it (cgroup, or OPUS_JOB_ID without one). */
static void check_setsid_dies(const char *cgroup, bool by_signal)
{
	char *id = xasprintf("setsid-%s-%d-%d", cgroup, (int)getpid(), by_signal);
	char *marker = xasprintf("111.%d%d%d", (int)getpid(), by_signal, cgroup[0] == 'o');
	char *envid = xasprintf("OPUS_JOB_ID=%s", id);
	/* Without a signal the job ends by itself, once the test saw its
	 * grandchild (the gate file): never before, however slow the machine. */
	char *gate = xasprintf("%s.go", id);
	char *script = by_signal ? xasprintf("setsid sleep %s &\nsleep 100\n", marker)
				 : xasprintf("setsid sleep %s &\n"
					     "while [ ! -e %s ]; do sleep 0.01; done\n",
					     marker, gate);
	char *const envp[] = {envid, "PATH=/usr/bin:/bin", NULL};
	const struct job_opts o = {.cgroup = cgroup};
	struct exit_rec ee;
	int64_t h = 0;

	CHECK(start_job_with(id, script, envp, &o, &h) == 0);
	for (int i = 0; i < 1000 && !marker_alive(marker); i++)
		usleep(10000);
	CHECK(marker_alive(marker));
	if (by_signal)
		CHECK(cancel_h(h, SIGKILL) == 0);
	else
		write_text(gate, "");
	CHECK(wait_exit(id, 10000, &ee));
	CHECK(wait_marker_gone(marker, 5000));
	free(gate);
	free(id);
	free(marker);
	free(envid);
	free(script);
}

TEST(setsid_grandchild_dies_with_the_job)
{
	check_setsid_dies("auto", true);
	check_setsid_dies("auto", false);
	check_setsid_dies("off", true);
	check_setsid_dies("off", false);
}

/* As root: a job runs as the user asked, in a directory it may write. */
TEST(runs_as_the_configured_user)
{
	struct exec_user u;
	char *why = NULL, *work = path_in("asuser"), *dot = path_in("asuser/.opusd");
	char *script = xasprintf("asuser/.opusd/%s.sh", "user");
	const struct job_opts o = {.user = &u, .workdir = work};
	struct exit_rec ee;
	int64_t h = 0;

	if (geteuid() != 0) {
		CHECK(exec_user_resolve("", &u, &why) == 0 && !u.change);
		free(why);
		goto done;
	}
	CHECK(exec_user_resolve("", &u, &why) == OPUS_ERR_INVAL && why && strstr(why, "run_as"));
	free(why);
	CHECK(exec_user_resolve("no-such-user-opusd", &u, &why) == OPUS_ERR_INVAL);
	free(why);
	CHECK(exec_user_resolve("nobody", &u, &why) == 0 && u.change && u.uid == 65534);
	CHECK(mkdir_p(dot, 0750) == 0);
	CHECK(chmod(tmp, 0711) == 0);
	write_text(script, "id -u > uid.txt\nid -g > gid.txt\ntouch .opusd/x 2>/dev/null || "
			   "echo refused > dot.txt\n");
	/* start_job_with writes {id}.sh in tmp; the script given here is that file */
	CHECK(start_job_with("asuser/.opusd/user", NULL, NULL, &o, &h) == 0);
	CHECK(wait_exit("asuser/.opusd/user", 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	char *got = read_text("asuser/uid.txt");
	CHECK_STR(got, "65534\n");
	free(got);
	got = read_text("asuser/dot.txt");
	CHECK_STR(got, "refused\n"); /* the script's directory is not the job's */
	free(got);
done:
	free(work);
	free(dot);
	free(script);
}

/* The job sees its limits (rlimits; pids.max in its cgroup where there is one). */
TEST(limits_are_seen_by_the_job)
{
	const struct job_opts o = {
	    .limits = {.memory_bytes = 1LL << 30,
		       .processes = 50,
		       .open_files = 64,
		       .cpu_seconds = 100},
	};
	char *id = xasprintf("limits-%d", (int)getpid());
	struct exit_rec ee;
	int64_t h = 0;
	char *got;

	CHECK(start_job_with(
		  id,
		  "ulimit -n > lim.txt\nulimit -v >> lim.txt\nulimit -t >> lim.txt\n"
		  "p=$(grep -E '^[0-9]+:pids:|^0::' /proc/self/cgroup | grep -v '/$' | "
		  "head -1 | cut -d: -f3)\n"
		  "for f in /sys/fs/cgroup/pids$p/pids.max /sys/fs/cgroup/unified$p/pids.max "
		  "/sys/fs/cgroup$p/pids.max; do [ -r $f ] && cat $f && break; done "
		  "> pids.txt\n",
		  NULL, &o, &h) == 0);
	CHECK(wait_exit(id, 5000, &ee));
	CHECK(ee.exited && ee.exit_code == 0);
	got = read_text("lim.txt");
	CHECK_STR(got, "64\n1048576\n100\n");
	free(got);
	if (access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) == 0 && geteuid() == 0) {
		got = read_text("pids.txt");
		CHECK_STR(got, "50\n");
		free(got);
	}
	free(id);
}

TEST(close_with_running_children)
{
	struct exec *ex2 = NULL;
	int64_t h = 0;
	struct exec *saved = ex;
	struct exec_config ec = {.backend = "local", .on_event = on_event_cb};
	CHECK(exec_open(&ec, &ex2) == 0);
	ex = ex2;
	CHECK(start_job("closing", "sleep 30\n", NULL, &h) == 0);
	ex = saved;
	int64_t t0 = time_mono_ms();
	exec_close(ex2);
	CHECK(time_mono_ms() - t0 < 1000);
	/* Not started by ex: exec_cancel() leaves it alone. */
	CHECK(cancel_h(h, SIGKILL) == 0);
	CHECK(!pid_gone((pid_t)h));
	CHECK(kill(-(pid_t)h, SIGKILL) == 0);
	CHECK(wait_gone((pid_t)h, 3000));
	/* Nobody reaps it but its parent now (exec waits for its own only). */
	CHECK(waitpid((pid_t)h, NULL, 0) == (pid_t)h);
	ec.backend = "nosuch";
	CHECK(exec_open(&ec, &ex2) == OPUS_ERR_INVAL);
	ec.backend = NULL; /* NULL: local */
	CHECK(exec_open(&ec, &ex2) == 0);
	CHECK_STR(exec_backend_name(ex2), "local");
	exec_close(ex2);
	exec_close(NULL);
}

int main(void)
{
	sigset_t block;
	char tmpl[] = "/tmp/opusd-test-exec-XXXXXX";

	/* The daemon's signal state: SIGPIPE ignored, the stop signals blocked. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	log_set_level(LOG_WARN);
	setenv("OPUS_TEST_DAEMON", "leaked", 1);

	if (!mkdtemp(tmpl) || !realpath(tmpl, tmp))
		return 2;
	{
		struct exec_config ec = {.backend = "local", .on_event = on_event_cb};
		if (exec_open(&ec, &ex) != 0)
			return 2;
	}
	RUN(env_arrives_as_data);
	RUN(cwd_is_workdir_and_outputs);
	RUN(exit_reports_cpu_and_memory);
	RUN(missing_script_is_127);
	RUN(bad_workdir_fails_start);
	RUN(own_process_group);
	RUN(leftovers_die_with_the_leader);
	RUN(no_fd_or_signal_state_leaks);
	RUN(concurrent_jobs_reaped);
	RUN(spawn_many_in_a_row);
	RUN(reaps_only_its_own_children);
	RUN(status_lost_is_reported);
	RUN(adopt_kills_the_job_group_and_refuses);
	RUN(setsid_grandchild_dies_with_the_job);
	RUN(runs_as_the_configured_user);
	RUN(limits_are_seen_by_the_job);
	RUN(close_with_running_children);
	exec_close(ex);
	rm_rf(tmp);
	return CHECK_DONE();
}
