/*
 * exec: running a job's script behind one interface. The local backend
 * (exec_local.c) starts `bash SCRIPT` in the job's working directory, in a
 * process group and (where the machine offers one) a cgroup of its own, as
 * the configured user, under the job's resource limits, with an explicit
 * environment; a SLURM backend (exec_slurm.c) will plug in through the same
 * table. This is the only module that creates processes.
 *
 * Job parameters never reach a shell as text: they arrive in the
 * environment (envp) the caller builds; the script is a file.
 *
 * Threading: exec_start/exec_signal are thread-safe. The exit callback runs
 * on the backend's own reaper thread, once per started job; it must not call
 * back into exec_close().
 * Ownership: exec copies what it keeps from the spec; the caller keeps its
 * strings. The job_id passed to the callback is borrowed for the call.
 */
#ifndef OPUS_EXEC_H
#define OPUS_EXEC_H

#include "base/base.h"

#include <sys/types.h>

struct exec;

/* How a job ended. */
struct exec_exit {
	const char *job_id;
	int64_t handle; /* what exec_start returned */
	bool exited;	/* exited normally: exit_code is valid */
	int exit_code;
	int term_signal; /* killed by this signal when !exited; 0: status lost */
	/* What the run cost (wait4's rusage of the process group leader and what
	 * it reaped, or the job's cgroup when there is one); -1: unknown. */
	int64_t cpu_ms;
	int64_t max_rss_kb;
};

typedef void (*exec_exit_fn)(void *ctx, const struct exec_exit *ex);

/* Resource limits of one job; 0 means none. */
struct exec_limits {
	int64_t memory_bytes; /* RLIMIT_AS, and the memory cgroup's limit */
	int64_t processes;    /* the pids cgroup's pids.max (else RLIMIT_NPROC, see README) */
	int64_t open_files;   /* RLIMIT_NOFILE */
	int64_t cpu_seconds;  /* RLIMIT_CPU */
};

/* Who jobs run as (exec_user_resolve). */
struct exec_user {
	bool change; /* false: as the daemon's own user */
	uid_t uid;
	gid_t gid;
	char name[64];
};

struct exec_spec {
	const char *job_id;
	const char *workdir;	 /* exists; becomes the cwd */
	const char *script_path; /* run as: /bin/bash script_path */
	char *const *envp;	 /* NULL-terminated "NAME=value" strings */
	const char *stdout_path; /* created/truncated, mode 0640 */
	const char *stderr_path;
	/* NULL or !change: the daemon's user. Otherwise the workdir tree is
	 * given to that user (the script's directory stays the daemon's,
	 * readable by the user's group) before the job starts. */
	const struct exec_user *user;
	struct exec_limits limits;
	/* "auto" or NULL: a cgroup per job where one is usable (README);
	 * "off": the process group only. */
	const char *cgroup;
};

struct exec_ops {
	const char *name;
	int (*start)(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out);
	int (*signal)(struct exec *ex, int64_t handle, int sig);
	void (*close)(struct exec *ex);
};

/*
 * The user jobs run as, from the setting jobs.run_as (a name or a uid).
 * As root: an empty setting is refused (*why_out says what to set); "root"
 * is taken as asked. Not as root: only empty or the daemon's own user.
 * Returns 0 or OPUS_ERR_INVAL with *why_out (malloc'd).
 */
int exec_user_resolve(const char *run_as, struct exec_user *out, char **why_out) OPUS_WUR;
/* Can u reach job directories below dir (an absolute path)? dir itself is
 * made searchable (o+x) when it is not; an ancestor that u cannot search is
 * OPUS_ERR_INVAL with *why_out (malloc'd) saying which and what to do. */
int exec_user_check_reach(const struct exec_user *u, const char *dir, char **why_out) OPUS_WUR;
/* Is this a valid jobs.cgroup setting ("auto", "off")? */
bool exec_cgroup_setting_ok(const char *setting);
/* The tighter of two sets of limits, field by field (0 = none). */
struct exec_limits exec_limits_min(const struct exec_limits *a, const struct exec_limits *b);

/* Opens a backend by name ("local"); `on_exit` is called once per started job. */
int exec_open(const char *backend, exec_exit_fn on_exit, void *ctx, struct exec **out) OPUS_WUR;
/* Starts a job; *handle_out is what later identifies it (the local backend:
 * the process group id, which equals the pid of the job's bash). */
int exec_start(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out) OPUS_WUR;
/* Sends a signal to the whole job (local: its cgroup when it has one, and
 * its process group; SIGKILL kills the cgroup at once). 0 even if the job
 * already ended (ESRCH is not an error). When a job's leader exits, what is
 * left of the job is killed and its cgroup removed before on_exit runs. */
int exec_signal(struct exec *ex, int64_t handle, int sig);
/* Stops the reaper; jobs still running are not waited for. NULL ok. */
void exec_close(struct exec *ex);
/* For restart recovery: signal a process group left over from an earlier
 * daemon (not our child). 0 when sent, OPUS_ERR_NOTFOUND when gone.
 * A process group id may have been reused since (after a reboot, by anything),
 * so the group is signalled only when its leader is still alive and was started
 * by exec (its environment holds OPUS_JOB_ID); otherwise OPUS_ERR_NOTFOUND. */
int exec_signal_orphan(int64_t handle, int sig);
/* The same, and the leader must have been started for this job
 * (OPUS_JOB_ID=job_id in its environment). */
int exec_signal_orphan_job(int64_t handle, const char *job_id, int sig);

#endif
