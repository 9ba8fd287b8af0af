/*
 * exec-int: what the dispatcher (exec.c) and the backends (exec_local.c,
 * exec_slurm.c) share. A backend is a table of operations plus an open
 * function that sets ex->priv; struct exec itself is only defined here.
 * A backend reports events with exec_emit(), which calls the owner's
 * callback (no exec lock may be held by the backend while it does).
 *
 * Threading: see exec.h. Ownership: the backend owns ex->priv and frees it in
 * its close operation; exec.c frees the struct exec.
 * Included by: the .c files of src/exec only.
 */
#ifndef OPUS_EXEC_INT_H
#define OPUS_EXEC_INT_H

#include "exec/exec.h"

struct exec {
	const struct exec_ops *ops;
	exec_event_fn on_event;
	void *ctx;
	void *priv; /* the backend's state */
	/* Several backends open (exec_config.also): ops is NULL, and each call
	 * goes to one of these (sub[0]: the default). */
	struct exec **sub;
	size_t nsub;
	int slot; /* its place in its dispatcher's sub (0: the default, or alone) */
};

struct exec_backend {
	const struct exec_ops *ops;
	/* Sets ex->priv, starts backend threads. cfg is borrowed for the call. */
	int (*open)(struct exec *ex, const struct exec_config *cfg);
};

/* Hands an event to the owner's callback. */
void exec_emit(struct exec *ex, const struct exec_event *ev);

extern const struct exec_backend exec_local_backend;

/*
 * exec_cgroup.c: a cgroup per job. What the machine offers is found once
 * (exec_cgroups_detect): a cgroup2 hierarchy where the daemon may create
 * cgroups (killed whole through cgroup.kill; memory.max and pids.max when
 * those controllers are given to it), else the cgroup v1 freezer (killed by
 * freeze, kill, thaw), plus the v1 pids and memory hierarchies for limits when
 * cgroup2 lacks those controllers. Job cgroups live in a directory "opusd"
 * below the daemon's own cgroup of each hierarchy, named "{daemon pid}-{job}".
 */
enum exec_cg_kind { EXEC_CG_V2, EXEC_CG_FREEZER, EXEC_CG_PIDS, EXEC_CG_MEMORY, EXEC_CG_KINDS };

struct exec_cgroups {
	char *parent[EXEC_CG_KINDS]; /* where job cgroups go; NULL: not usable */
	bool v2_pids, v2_memory;     /* controllers the cgroup2 parent hands down */
};

struct exec_cg_job {
	char *dir[EXEC_CG_KINDS];    /* this job's cgroups; NULL: none of that kind */
	int procs_fd[EXEC_CG_KINDS]; /* cgroup.procs, open for the child; -1 */
};

void exec_cgroups_detect(struct exec_cgroups *cg);
void exec_cgroups_release(struct exec_cgroups *cg);
/* Kills and removes the job cgroups of daemons that are gone (kill -9). */
void exec_cgroups_reap_orphans(const struct exec_cgroups *cg);
bool exec_cgroups_any(const struct exec_cgroups *cg);
/* Creates the job's cgroups with its limits and opens their cgroup.procs.
 * 0, or a negative code (nothing left behind). */
int exec_cg_job_create(const struct exec_cgroups *cg, const char *job_id,
		       const struct exec_limits *lim, struct exec_cg_job *out) OPUS_WUR;
/* In the child after vfork: moves itself into every cgroup of the job.
 * Async-signal-safe; 0 or an errno value. */
int exec_cg_job_join(const struct exec_cg_job *j);
void exec_cg_job_close_fds(struct exec_cg_job *j);
/* Does the job have a pids cgroup (then RLIMIT_NPROC is not needed)? */
bool exec_cg_job_limits_pids(const struct exec_cg_job *j);
/* Sends sig to every process of the job's cgroups; SIGKILL kills them whole. */
void exec_cg_job_signal(const struct exec_cg_job *j, int sig);
/* Kills what is left, waits (briefly) until empty, removes the cgroups, frees. */
void exec_cg_job_remove(struct exec_cg_job *j);
/* Frees the record and leaves the cgroups as they are. */
void exec_cg_job_forget(struct exec_cg_job *j);

/* exec_spawn.c: vfork and exec of one job (exec_local.c says what it gets). */
struct exec_child {
	const struct exec_spec *spec;
	const struct exec_cg_job *cg; /* NULL: no cgroup */
	bool set_nproc;		      /* limits.processes through RLIMIT_NPROC */
};
/* 0 with *pid_out once execve succeeded; a negative code (logged) otherwise. */
int exec_spawn(const struct exec_child *c, pid_t *pid_out) OPUS_WUR;

/* exec_user.c: gives spec->workdir's tree to spec->user (see there). */
int exec_give_tree(const struct exec_spec *spec) OPUS_WUR;

/* exec_slurm.c: batch jobs of a SLURM cluster (see there). */
extern const struct exec_backend exec_slurm_backend;

/*
 * ---- exec_cmd.c: one short command (sbatch, squeue, scancel, sacct,
 * scontrol, ssh), run to its end and its output captured. ----
 * argv only, never a shell: argv[0] without a '/' is looked up in the PATH
 * of cmd->envp (else /usr/bin:/bin). The command gets cmd->envp and nothing
 * else, stdin from cmd->stdin_data, or cmd->in_fd, or /dev/null (stdout to
 * cmd->out_fd instead of captured, when set), a process group of its
 * own, default signal dispositions and an empty signal mask. At the deadline
 * its whole process group gets SIGKILL and res->timed_out is set. Only its
 * own pid is waited for (waitpid(pid), never -1). The caller ignores SIGPIPE
 * (the daemon does: a command that exits without reading its stdin).
 *
 * With cmd->ssh, the command runs on that host instead: argv becomes
 *   ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=K
 *       -i KEY -p PORT USER@HOST -- 'arg0' 'arg1' ...
 * where each argument of cmd->argv is single-quoted for the remote user's
 * POSIX shell (ssh joins its arguments with spaces into one command line):
 * exec_cmd_quote. ssh's own failures are exit status 255.
 * Blocks for up to timeout_ms: for backend threads and workers only.
 * Ownership: the caller keeps cmd; res->out and res->err are malloc'd,
 * NUL-terminated, freed by exec_cmd_result_release.
 */
struct exec_ssh {
	const char *host; /* [A-Za-z0-9.-], not starting with '-' */
	const char *user; /* NULL: ssh's default */
	int port;	  /* 0: 22 */
	const char *key;  /* identity file; NULL: ssh's default */
	const char *known_hosts;
};

struct exec_cmd {
	const char *const *argv; /* NULL-terminated */
	const char *const *envp; /* NULL-terminated; NULL: empty */
	const char *stdin_data;	 /* NULL: in_fd, or /dev/null */
	size_t stdin_len;
	/* > 0: the child's stdin / stdout is (a duplicate of) this descriptor,
	 * read or written from where it is; the caller keeps it. 0: unused (a
	 * daemon's own fd 0 is never one to hand on). out_fd: res->out stays
	 * empty and output_max applies to stderr only. */
	int in_fd, out_fd;
	int64_t timeout_ms;	    /* > 0 */
	size_t output_max;	    /* cap of each of stdout and stderr; 0: 1 MiB */
	const struct exec_ssh *ssh; /* NULL: here */
};

struct exec_cmd_result {
	int exit_code;	 /* -1 unless it exited */
	int term_signal; /* the signal that ended it, or 0 */
	bool timed_out;	 /* killed at the deadline */
	bool truncated;	 /* stdout or stderr passed output_max (the rest dropped) */
	char *out, *err;
	size_t out_len, err_len;
};

/* 0 when the command ran (whatever its status: see res); OPUS_ERR_INVAL for
 * a bad cmd, OPUS_ERR_NOTFOUND when argv[0] is not found, OPUS_ERR_IO when
 * it could not be started (logged). res is filled in every case. */
int exec_cmd_run(const struct exec_cmd *cmd, struct exec_cmd_result *res) OPUS_WUR;
void exec_cmd_result_release(struct exec_cmd_result *res);
/* Appends arg single-quoted for a POSIX shell: ' becomes '\''. */
void exec_cmd_quote(struct sbuf *out, const char *arg);
/* The argv exec_cmd_run executes for cmd (the ssh prefix and quoting, if
 * any); NULL-terminated, free with exec_cmd_argv_free. For tests and logs. */
char **exec_cmd_argv(const struct exec_cmd *cmd);
void exec_cmd_argv_free(char **argv);

#endif
