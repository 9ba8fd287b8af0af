/*
 * exec: running a job's script behind one interface, on a backend chosen by
 * name: "local" (exec_local.c: `bash SCRIPT` in the job's working directory,
 * in a process group and, where the machine offers one, a cgroup of its own,
 * as the configured user, under the job's resource limits) or "slurm"
 * (exec_slurm.c: a batch job on a SLURM cluster, submitted with sbatch,
 * directly or through ssh to a login node). This is the only module that
 * creates processes: the SLURM commands run through exec's own command helper
 * (exec-int.h: exec_cmd_run, argv only, output captured, with a timeout).
 *
 * Job parameters never reach a shell as text: they arrive in the
 * environment (envp) the caller builds; the script is a file.
 *
 * A job's life as the backend reports it, through one event callback:
 *   SUBMITTED  the backend holds the job (exec_submit returned its handle);
 *              only backends that queue (SLURM PENDING) report it;
 *   STARTED    it runs (SLURM RUNNING). Local jobs start inside exec_submit
 *              (exec_submitted.started is true) and never report STARTED;
 *   ENDED      once per job, with an end state (enum exec_end) that says more
 *              than an exit status: timeout, cancelled, node failure, out of
 *              memory, lost.
 * Events of one job come in that order, each at most once, and may come
 * before exec_submit has returned to its caller (the caller must hold them
 * back until it has recorded the handle, as sched does for a launch).
 *
 * A handle is an opaque string of at most EXEC_HANDLE_MAX - 1 printable
 * ASCII bytes that the caller stores with the job (jobs.exec_handle): the
 * process group id in decimal for "local" ("12345"), "slurm:{cluster}:{jobid}"
 * for SLURM. The empty string means "no handle". Never parse it outside exec.
 *
 * Threading: every function is thread-safe. exec_submit may block (a spawn,
 * an sbatch of hundreds of milliseconds, or its timeout while slurmctld is
 * down): call it on a worker, never on a request thread nor under a job's
 * lock. exec_cancel and exec_poll never block: a backend whose cancel runs a
 * command (scancel) queues it on its own thread. exec_adopt may block (it is
 * called at start-up recovery). The event callback runs on a backend thread,
 * with no exec lock held; it must not call exec_close().
 * Ownership: exec copies what it keeps from the spec; the caller keeps its
 * strings. Strings in an event are borrowed for the call.
 */
#ifndef OPUS_EXEC_H
#define OPUS_EXEC_H

#include "base/base.h"

#include <sys/types.h>

#define EXEC_HANDLE_MAX 96

struct exec;

/* REACHABLE: no job's; the backend's cluster answers again after it did not
 * (job_id and handle NULL). */
enum exec_event_kind { EXEC_EV_SUBMITTED, EXEC_EV_STARTED, EXEC_EV_ENDED, EXEC_EV_REACHABLE };

/* How a job ended: X(NAME, words for an error summary). */
#define EXEC_ENDS(X)                                                                               \
	X(EXITED, "exited")			  /* exit_code valid */                            \
	X(SIGNALLED, "killed by a signal")	  /* term_signal valid (0: status lost) */         \
	X(TIMEOUT, "execution duration exceeded") /* the backend's time limit */                   \
	X(CANCELLED, "cancelled")		  /* exec_cancel, or someone else (scancel) */     \
	X(NODE_FAIL, "node failure")		  /* reason: the backend's words */                \
	X(PREEMPTED, "preempted")                                                                  \
	X(OUT_OF_MEMORY, "out of memory")                                                          \
	X(FAILED, "failed to run")     /* the backend could not run it at all; reason */           \
	X(LOST, "lost by the cluster") /* the backend no longer knows the job */
#define EXEC_END_ENUM(name, words) EXEC_END_##name,
enum exec_end { EXEC_ENDS(EXEC_END_ENUM) EXEC_END_COUNT };
#undef EXEC_END_ENUM
/* The words of an end state ("execution duration exceeded"); static. */
const char *exec_end_words(enum exec_end end);

struct exec_event {
	enum exec_event_kind kind;
	int slot; /* the slot of the backend that reports it (exec_emit sets it) */
	const char *job_id;
	const char *handle;
	/* ENDED only: */
	enum exec_end end;
	int exit_code;	    /* EXITED: the script's; FAILED/NODE_FAIL: the backend's or -1 */
	int term_signal;    /* SIGNALLED */
	const char *reason; /* NULL, or the backend's own words (SLURM's Reason=...) */
	/* What the run cost (local: wait4's rusage or the job's cgroup); -1: unknown. */
	int64_t cpu_ms;
	int64_t max_rss_kb;
};

typedef void (*exec_event_fn)(void *ctx, const struct exec_event *ev);

/* Resource limits of one job; 0 means none. Local: setrlimit and cgroups.
 * SLURM: memory_bytes becomes --mem (MiB, rounded up); the others are local only. */
struct exec_limits {
	int64_t memory_bytes; /* RLIMIT_AS, and the memory cgroup's limit */
	int64_t processes;    /* the pids cgroup's pids.max (else RLIMIT_NPROC, see README) */
	int64_t open_files;   /* RLIMIT_NOFILE */
	int64_t cpu_seconds;  /* RLIMIT_CPU */
};

/* What a batch backend asks its scheduler for; NULL or 0: the backend's
 * configured default (or none). Ignored by "local". Borrowed strings,
 * checked by the caller against [A-Za-z0-9_.:,=-] (they become argv of
 * sbatch or #SBATCH lines, never shell text). */
struct exec_resources {
	const char *partition;
	const char *account;
	const char *gres; /* "gpu:1" */
	int64_t nodes;
	int64_t tasks_per_node;
	int64_t cpus_per_task;
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
	 * "off": the process group only. Local only. */
	const char *cgroup;
	/* The job's execution duration in seconds (0: none). sched enforces it
	 * itself for every backend; a batch backend also hands it to its
	 * scheduler (--time, rounded up to whole minutes, plus a margin). */
	int64_t time_limit_s;
	struct exec_resources res;
	/* The backend to run it on (a job description's own); NULL: the default. */
	const char *backend;
};

struct exec_submitted {
	char handle[EXEC_HANDLE_MAX];
	bool started; /* it runs already (local); else STARTED comes later */
};

/* What a backend does with its jobs when the daemon stops, and so at the next start. */
enum exec_keep {
	EXEC_KEEP_NONE, /* local: sched kills and requeues them; adopt finds them gone */
	EXEC_KEEP_ALL,	/* slurm: they keep running; the next daemon adopts them */
};

struct exec_ops {
	const char *name;
	enum exec_keep keep;
	int (*submit)(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
		      char **why_out);
	int (*cancel)(struct exec *ex, const char *handle, int sig);
	int (*adopt)(struct exec *ex, const char *job_id, const char *handle);
	void (*poll)(struct exec *ex);
	/* Is the backend's cluster reachable (last command answered)? NULL: always. */
	bool (*reachable)(struct exec *ex, char **why_out);
	/* Is this handle of this backend's form? (Routes a handle when several
	 * backends are open.) */
	bool (*owns)(const char *handle);
	void (*close)(struct exec *ex);
};

/* The backend and what it needs. Borrowed for exec_open only (the backend copies). */
struct exec_config {
	const char *backend; /* "local" (NULL: local) or "slurm": the default */
	/* NULL or a NULL-terminated list of other backends opened beside it,
	 * for the job descriptions that name their own (exec_spec.backend). */
	const char *const *also;
	exec_event_fn on_event;
	void *ctx;
	/* "slurm" only: defined by exec_slurm's section below; NULL for "local". */
	const struct exec_slurm_config *slurm;
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

/* Opens a backend (and those of cfg->also beside it: then each call goes to
 * the backend of its spec or handle); cfg->on_event is called for every
 * event of every job of each. */
int exec_open(const struct exec_config *cfg, struct exec **out) OPUS_WUR;
/* Which way the default backend keeps its jobs across a restart. */
enum exec_keep exec_keeps(const struct exec *ex);
/* The same for the backend of one handle (EXEC_KEEP_NONE: no open backend's). */
enum exec_keep exec_keeps_handle(const struct exec *ex, const char *handle);
/* The default backend's name; exec_handle_backend: the name of a handle's
 * backend ("?" when none open has its form). */
const char *exec_backend_name(const struct exec *ex);
const char *exec_handle_backend(const struct exec *ex, const char *handle);
/* Is the backend of this name open? */
bool exec_has_backend(const struct exec *ex, const char *name);
/* Most backends one server opens at once (every compiled-in one). */
#define EXEC_BACKENDS_MAX 2
/* A backend's slot among those open, 0 .. EXEC_BACKENDS_MAX - 1: 0 for
 * NULL (the default), -1 for a name not open. exec_event.slot says whose
 * event it is. */
int exec_backend_slot(const struct exec *ex, const char *name);
/*
 * Hands a job to the backend. 0 with *out filled; else a negative code and
 * *why_out (malloc'd) in words a user may read ("sbatch: error: invalid
 * partition specified: x"), the job then never produces an event.
 * OPUS_ERR_BUSY means the backend could not reach what runs its jobs (no
 * answer, a timeout, ssh's 255, no controller): the job was not submitted
 * and may be submitted again later; any other code is a refusal of this job.
 */
int exec_submit(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
		char **why_out) OPUS_WUR;
/*
 * Sends a signal to the whole job: local: its cgroup when it has one, and its
 * process group (SIGKILL kills the cgroup at once); SLURM: SIGTERM is scancel
 * (the batch shell gets SIGTERM, SLURM kills after KillWait), SIGKILL is
 * scancel --signal=KILL --full; a PENDING job leaves the queue. 0 even if the
 * job already ended (ESRCH is not an error). Never blocks. When a local job's
 * leader exits, what is left of the job is killed and its cgroup removed
 * before ENDED is reported.
 */
int exec_cancel(struct exec *ex, const char *handle, int sig);
/*
 * Restart recovery: takes over a job an earlier daemon submitted, by the
 * handle it stored. 0: the backend follows it now and will report its events
 * (STARTED if it starts, ENDED once; at once when it is over already).
 * OPUS_ERR_NOTFOUND: the backend cannot follow it (local: the earlier
 * daemon's process group was killed if it was still there, started by exec
 * for this job; or the handle is not one of this backend's); the caller ends
 * the job itself ("server restarted").
 */
int exec_adopt(struct exec *ex, const char *job_id, const char *handle) OPUS_WUR;
/* Reconcile now (a signal is overdue): the backend asks its cluster for the
 * state of every job it follows and reports what changed. Never blocks;
 * local: nothing to do. */
void exec_poll(struct exec *ex);
/* True when the backend can reach what runs its jobs (every open backend);
 * false with *why_out (malloc'd) otherwise. Never blocks (the last answer seen). */
bool exec_reachable(struct exec *ex, char **why_out);
/* Stops the backend's threads; jobs still running are not waited for
 * (local: sched has killed them; slurm: they keep running). NULL ok. */
void exec_close(struct exec *ex);

/* ---- exec_slurm: its configuration ([slurm] in opusd.conf; owned by the
 * SLURM backend's author, who may add fields). ---- */
struct exec_slurm_config {
	const char *cluster; /* the handle's middle part ("slurm:{cluster}:{id}"); NULL: "slurm" */
	const char *slurm_conf; /* SLURM_CONF of the commands; NULL: SLURM's default */
	const char *path; /* PATH of the commands (here, or on the login node); NULL: standard */
	/* NULL: a job runs in its own directory (exec_spec.workdir), which the
	 * cluster sees under the same path. Else an absolute directory on the
	 * cluster (here, or on ssh_host): the job runs in workdir_root/{job id},
	 * its directory is copied there before sbatch and back (into
	 * jobs_dir/{job id}) before ENDED is reported, then removed there. */
	const char *workdir_root;
	const char *jobs_dir;  /* the local job directories (jobs_dir/{id}); with workdir_root */
	const char *partition; /* defaults of struct exec_resources */
	const char *account;
	const char *sbatch_args;    /* extra #SBATCH lines, checked like resources; NULL none */
	int64_t poll_interval_ms;   /* reconciliation without an overdue signal */
	int64_t command_timeout_ms; /* each sbatch / squeue / scancel / sacct */
	const char *ssh_host;	    /* NULL: the commands run here */
	const char *ssh_user;
	int ssh_port;
	const char *ssh_key;	     /* identity file */
	const char *ssh_known_hosts; /* UserKnownHostsFile, StrictHostKeyChecking=yes */
	const char *event_url;	     /* what a job posts its events to (/handler/job_event) */
};

#endif
