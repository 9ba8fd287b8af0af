/*
 * exec: running a job's script behind one interface. The local backend
 * (exec_local.c) starts `bash SCRIPT` with posix_spawn in the job's working
 * directory, in a process group of its own, with an explicit environment;
 * a SLURM backend (exec_slurm.c) will plug in through the same table.
 * This is the only module that creates processes.
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

struct exec;

/* How a job ended. */
struct exec_exit {
	const char *job_id;
	int64_t handle; /* what exec_start returned */
	bool exited;	/* exited normally: exit_code is valid */
	int exit_code;
	int term_signal; /* killed by this signal when !exited; 0: status lost */
};

typedef void (*exec_exit_fn)(void *ctx, const struct exec_exit *ex);

struct exec_spec {
	const char *job_id;
	const char *workdir;	 /* exists; becomes the cwd */
	const char *script_path; /* run as: /bin/bash script_path */
	char *const *envp;	 /* NULL-terminated "NAME=value" strings */
	const char *stdout_path; /* created/truncated, mode 0640 */
	const char *stderr_path;
};

struct exec_ops {
	const char *name;
	int (*start)(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out);
	int (*signal)(struct exec *ex, int64_t handle, int sig);
	void (*close)(struct exec *ex);
};

/* Opens a backend by name ("local"); `on_exit` is called once per started job. */
int exec_open(const char *backend, exec_exit_fn on_exit, void *ctx, struct exec **out) OPUS_WUR;
/* Starts a job; *handle_out is what later identifies it (the local backend:
 * the process group id, which equals the pid of the job's bash). */
int exec_start(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out) OPUS_WUR;
/* Sends a signal to the whole job (local: the process group). 0 even if
 * the job already ended (ESRCH is not an error). */
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
