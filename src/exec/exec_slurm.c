/*
 * exec_slurm: jobs as batch jobs of a SLURM cluster. Every SLURM command runs
 * through exec_cmd_run (argv only, a timeout), here or, with ssh_host, on a
 * login node through ssh. Without workdir_root the job's directory is on a
 * file system both see under the same path. With workdir_root the job runs in
 * ROOT/{job id} on the cluster: submission copies the job's directory there
 * (`tar -C DIR -cf - .` here, its output the stdin of `tar -C R -xf -` there,
 * after `mkdir -p R`; over ssh with the commands' own options and quoting),
 * and before a job's ENDED is reported the thread copies R back the same way
 * (`tar --no-same-owner`, which replaces a file rather than writing through
 * it: a link to a blob of the entity store stays as it is) and removes R
 * (`rm -rf`). The archive goes through a nameless temporary file beside the
 * job's directory (O_TMPFILE), never through memory. A copy back that the
 * cluster did not answer (ssh's 255, a timeout) is tried again every round,
 * the job's ENDED held until then (an abort meanwhile ends it CANCELLED and
 * leaves R); one that fails otherwise makes the end FAILED with what went
 * wrong (R is then kept).
 *
 * Submission writes two files beside the job's script (its .opusd dir):
 *   slurm.sh   the batch script: #SBATCH lines whose values are checked
 *              against strict character sets (refused otherwise), then a
 *              fixed text that runs `/bin/bash SCRIPT`, traps TERM (scancel,
 *              SLURM's time limit) and posts the job's phases with curl;
 *   slurm.env  the job's environment, NAME=value entries separated by NUL
 *              bytes, handed to `sbatch --export-file`. So a value never
 *              becomes text that a shell parses, newlines and quotes
 *              included. sbatch itself runs under `env -i PATH=..`: with
 *              the default --export=ALL the job gets exactly that file plus
 *              SLURM's own variables. (--export=NONE is not an option: it
 *              ignores --export-file and loads the login environment, as
 *              measured on 22.05.)
 * The job is named opus-{opusd id}: SLURM ids restart after a cluster wipe,
 * so every answer about a SLURM id is checked against that name.
 *
 * One thread follows the submitted and adopted jobs: every poll_interval_ms,
 * and at once on exec_poll() (then again after 250 ms, 500 ms, .. 8 s: a job's
 * own COMPLETED signal comes while its batch script still runs) or after a
 * cancel, one `squeue --states=all
 * --name=opus-a,opus-b,..` for all of them (PENDING: nothing; RUNNING and
 * later: STARTED once). A job that squeue shows ended, or no longer lists, is
 * looked up once: first `scontrol show job -o ID` (slurmctld keeps an ended
 * job MinJobAge seconds, 300 by default, with its state, exit code and
 * reason, and answers from any login node), then `sacct -c -j ID` (the
 * jobcomp/filetxt log: permanent, but only readable where JobCompLoc is;
 * plain sacct says "accounting storage is disabled" without slurmdbd and
 * prints nothing). Known to neither: ENDED LOST. A command that fails
 * changes nothing but exec_reachable.
 * Cancels are queued to the same thread (scancel takes tens of ms, or its
 * timeout while slurmctld is down): SIGTERM is `scancel ID` (the batch shell
 * gets SIGTERM, SLURM kills after KillWait), SIGKILL `scancel --signal=KILL
 * --full ID`, which also takes a PENDING job out of the queue (measured).
 */
#include "exec/exec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLURM_DEFAULT_PATH   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SLURM_NAMES_PER_CALL 400
#define SLURM_ID_MAX	     24
/* After exec_poll: rounds again after 250 ms, 500 ms, 1 s, .. 8 s (6 rounds). */
#define SLURM_HURRY_ROUNDS   6
#define SLURM_HURRY_FIRST_MS 250
/* workdir_root: how many command timeouts one step of a copy may take. */
#define SLURM_STAGE_TIMES 10

/* What a value of an #SBATCH line or an option may hold. */
static const char value_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:,=-";
/* What a path in the batch script may hold (opusd's own paths). */
static const char path_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:,=+@/-";

struct sjob {
	struct sjob *next;
	char job_id[64];
	char handle[EXEC_HANDLE_MAX];
	char slurm_id[SLURM_ID_MAX];
	bool report_submitted; /* SUBMITTED still to report */
	bool started;	       /* STARTED reported */
	bool done;	       /* ENDED reported: removed by the thread */
	char *local_dir;       /* workdir_root: where its files come back to; else NULL */
	/* workdir_root: it ended but its files did not come back (the cluster
	 * did not answer): its ENDED, held until they do; else NULL. */
	struct pending_ev *held;
	bool held_cancelled; /* aborted meanwhile: ENDED CANCELLED without them */
};

struct scancel {
	struct scancel *next;
	char slurm_id[SLURM_ID_MAX];
	int sig;
};

struct slurm {
	struct exec *ex; /* its owner, for exec_emit */
	/* The configuration, copied. */
	char *cluster, *partition, *account, *sbatch_args, *path, *conf_file, *event_url;
	char *root, *jobs_dir; /* workdir_root (NULL: none) and the local job directories */
	int64_t poll_ms, timeout_ms;
	struct exec_ssh ssh;
	bool use_ssh;
	char *ssh_host, *ssh_user, *ssh_key, *ssh_known;
	char *env_path, *env_conf;
	const char *envp[3];

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t wake;
	struct sjob *jobs;
	struct scancel *cancels, **cancels_tail;
	bool poll_now, stopping;
	int hurry; /* rounds left at a short, doubling interval (exec_poll) */
	bool reachable;
	char *unreachable_why;
	pthread_t thread;
};

static struct slurm *slurm_of(struct exec *ex)
{
	return ex->priv;
}

static bool value_ok(const char *s)
{
	return s && *s && strspn(s, value_chars) == strlen(s);
}

static bool path_ok(const char *s)
{
	return s && s[0] == '/' && strspn(s, path_chars) == strlen(s) && !strstr(s, "/../");
}

/* Did the command reach SLURM (an exit status of its own, not ssh's 255, not
 * 126/127 of a command that is not there, nor "no controller")? A timeout or
 * a failed run is checked before. */
static bool answered(const struct exec_cmd_result *r)
{
	return r->exit_code >= 0 && r->exit_code != 255 && r->exit_code != 126 &&
	       r->exit_code != 127 && !strstr(r->err, "Unable to contact") &&
	       !strstr(r->err, "Socket timed out");
}

/*
 * Records whether the cluster answered. squeue's arguments are ours, so any
 * failure of it is the cluster's; sbatch and scancel also fail for the job's
 * own reasons (an invalid partition, a job gone), which is an answer. Not
 * an answer: no run, a timeout, ssh's own failure (255), no controller.
 */
static void note_answer(struct slurm *sl, const char *what, int ret,
			const struct exec_cmd_result *r)
{
	bool strict = strcmp(what, "squeue") == 0;
	bool ok = ret == 0 && !r->timed_out && (r->exit_code == 0 || (!strict && answered(r)));
	bool back;
	char *why = NULL;

	if (!ok) {
		if (ret != 0)
			why = xasprintf("%s could not be run: %s", what, opus_strerror(ret));
		else if (r->timed_out)
			why = xasprintf("%s did not answer within %lld ms", what,
					(long long)sl->timeout_ms);
		else
			why =
			    xasprintf("%s failed: %.*s", what, (int)strcspn(r->err, "\n"), r->err);
	}
	pthread_mutex_lock(&sl->lock);
	if (sl->reachable != ok)
		log_warn("exec: slurm: cluster %s%s%s",
			 ok ? "reachable again" : "unreachable: ", ok ? "" : why, "");
	back = ok && !sl->reachable;
	sl->reachable = ok;
	free(sl->unreachable_why);
	sl->unreachable_why = why;
	pthread_mutex_unlock(&sl->lock);
	if (back) /* held starts need not wait out their back-off */
		exec_emit(sl->ex, &(const struct exec_event){.kind = EXEC_EV_REACHABLE});
}

/* What a command gets beyond its argv: stdin, a cap of its output, a timeout. */
struct run_io {
	const char *in;
	size_t in_len;
	int in_fd, out_fd; /* exec_cmd's: > 0 when set */
	size_t output_max;
	int64_t timeout_ms;
};

static int slurm_run_io(struct slurm *sl, const char *const *argv, const struct run_io *io,
			struct exec_cmd_result *res);

/* Runs one SLURM command: `env -i PATH=.. [SLURM_CONF=..] argv..`, here or
 * through ssh. 0 when it ran (see res), else a negative code. */
static int slurm_run(struct slurm *sl, const char *const *argv, struct exec_cmd_result *res)
{
	const struct run_io io = {.output_max = 4u << 20, .timeout_ms = sl->timeout_ms};
	return slurm_run_io(sl, argv, &io, res);
}

static int slurm_run_io(struct slurm *sl, const char *const *argv, const struct run_io *io,
			struct exec_cmd_result *res)
{
	const char *av[64];
	size_t n = 0;

	av[n++] = "env";
	av[n++] = "-i";
	av[n++] = sl->env_path;
	if (sl->env_conf)
		av[n++] = sl->env_conf;
	for (size_t i = 0; argv[i] && n < OPUS_ARRAY_LEN(av) - 1; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	struct exec_cmd c = {
	    .argv = av,
	    .envp = sl->envp,
	    .stdin_data = io->in,
	    .stdin_len = io->in_len,
	    .in_fd = io->in_fd,
	    .out_fd = io->out_fd,
	    .timeout_ms = io->timeout_ms,
	    .output_max = io->output_max,
	    .ssh = sl->use_ssh ? &sl->ssh : NULL,
	};
	return exec_cmd_run(&c, res);
}

/* ---- workdir_root: the job's directory copied to the cluster and back ---- */

/* R, the job's directory on the cluster; malloc'd. */
static char *remote_dir(const struct slurm *sl, const char *job_id)
{
	return xasprintf("%s/%s", sl->root, job_id);
}

/* Where a path of the job's directory is on the cluster: itself without
 * workdir_root, else the same below R (check_spec made sure it is below). */
static char *cluster_path(const struct slurm *sl, const struct exec_spec *spec, const char *path)
{
	if (!sl->root)
		return xstrdup(path);
	return xasprintf("%s/%s%s", sl->root, spec->job_id, path + strlen(spec->workdir));
}

/* One step of a copy: 0 when it went well; else *why says what failed and the
 * code is OPUS_ERR_BUSY when the cluster (a remote step) did not answer (not
 * run, a timeout, ssh's 255: try again later), OPUS_ERR_IO otherwise. */
static int step_result(const char *what, bool remote, int ret, const struct exec_cmd_result *r,
		       char **why)
{
	if (ret == 0 && !r->timed_out && r->exit_code == 0)
		return 0;
	if (ret != 0)
		*why = xasprintf("%s could not be run: %s", what, opus_strerror(ret));
	else if (r->timed_out)
		*why = xasprintf("%s did not end in time", what);
	else if (r->err_len && strncmp(r->err, what, strlen(what)) == 0)
		*why = xasprintf("%.*s", (int)strcspn(r->err, "\n"), r->err); /* "tar: ..." */
	else if (r->err_len)
		*why = xasprintf("%s: %.*s", what, (int)strcspn(r->err, "\n"), r->err);
	else
		*why = xasprintf("%s: exit code %d", what, r->exit_code);
	if (remote && (ret != 0 || r->timed_out || r->exit_code == 255 || r->exit_code < 0))
		return OPUS_ERR_BUSY;
	return OPUS_ERR_IO;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash != path ? xstrndup(path, (size_t)(slash - path)) : xstrdup("/");
}

/* A nameless file for an archive, beside the job's directory (so on the
 * file system of the job directories, not in memory nor in /tmp); gone when
 * closed. -1 and *why when it cannot be made. */
static int archive_file(const char *job_dir, char **why)
{
	char *dir = dir_of(job_dir);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* No O_TMPFILE on this file system: a name, unlinked at once. */
		char *name = xasprintf("%s/.opusd-archive-XXXXXX", dir);
		fd = mkostemp(name, O_CLOEXEC);
		if (fd >= 0)
			unlink(name);
		free(name);
	}
	if (fd < 0)
		*why = xasprintf("no file for the archive in %s: %s", dir, strerror(errno));
	free(dir);
	return fd;
}

/* Back to the start of the archive, for the step that reads it. */
static int rewind_archive(int fd, char **why)
{
	if (lseek(fd, 0, SEEK_SET) == 0)
		return 0;
	*why = xasprintf("archive: %s", strerror(errno));
	return OPUS_ERR_IO;
}

/* tar of dir, here, into the archive file. */
static int pack_here(const struct slurm *sl, const char *dir, int archive,
		     struct exec_cmd_result *r)
{
	static const char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	const char *const argv[] = {"tar", "-C", dir, "-cf", "-", ".", NULL};
	const struct exec_cmd c = {.argv = argv,
				   .envp = envp,
				   .out_fd = archive,
				   .timeout_ms = sl->timeout_ms * SLURM_STAGE_TIMES,
				   .output_max = 64u << 10};
	return exec_cmd_run(&c, r);
}

/* Unpacks the archive file into dir, here, keeping no owner of the cluster's. */
static int unpack_here(const struct slurm *sl, const char *dir, int archive,
		       struct exec_cmd_result *r)
{
	static const char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	/* GNU tar creates a file with O_EXCL and unlinks what is there first
	 * (no --overwrite): a link to a blob of the entity store stays as it is. */
	const char *const argv[] = {"tar", "-C", dir, "--no-same-owner", "-xf", "-", NULL};
	const struct exec_cmd c = {.argv = argv,
				   .envp = envp,
				   .in_fd = archive,
				   .timeout_ms = sl->timeout_ms * SLURM_STAGE_TIMES,
				   .output_max = 64u << 10};
	return exec_cmd_run(&c, r);
}

/* The job's directory to R, before sbatch. 0, or a code of step_result. */
static int stage_in(struct slurm *sl, const struct exec_spec *spec, char **why)
{
	char *rdir = remote_dir(sl, spec->job_id), *what = NULL;
	const char *const mk[] = {"mkdir", "-p", rdir, NULL};
	const char *const unpack[] = {"tar", "-C", rdir, "-xf", "-", NULL};
	struct exec_cmd_result r;
	struct run_io io = {.timeout_ms = sl->timeout_ms * SLURM_STAGE_TIMES,
			    .output_max = 64u << 10};
	int archive = archive_file(spec->workdir, &what);
	int ret = archive < 0 ? OPUS_ERR_IO : 0;

	if (ret == 0) {
		ret =
		    step_result("tar", false, pack_here(sl, spec->workdir, archive, &r), &r, &what);
		exec_cmd_result_release(&r);
	}
	if (ret == 0)
		ret = rewind_archive(archive, &what);
	if (ret == 0) {
		ret = step_result("mkdir", true, slurm_run_io(sl, mk, &io, &r), &r, &what);
		exec_cmd_result_release(&r);
	}
	if (ret == 0) {
		io.in_fd = archive;
		ret = step_result("tar", true, slurm_run_io(sl, unpack, &io, &r), &r, &what);
		exec_cmd_result_release(&r);
	}
	if (ret)
		*why =
		    xasprintf("cannot copy the job's files to %s%s%s: %s",
			      sl->use_ssh ? sl->ssh_host : "", sl->use_ssh ? ":" : "", rdir, what);
	if (archive >= 0)
		close(archive);
	free(what);
	free(rdir);
	return ret;
}

/* R back into the job's own directory, then R removed. 0, or a code with *why. */
static int stage_out(struct slurm *sl, const struct sjob *j, char **why)
{
	char *rdir = remote_dir(sl, j->job_id), *what = NULL;
	const char *const pack[] = {"tar", "-C", rdir, "-cf", "-", ".", NULL};
	const char *const rm[] = {"rm", "-rf", "--", rdir, NULL};
	struct exec_cmd_result r;
	int archive = archive_file(j->local_dir, &what);
	const struct run_io io = {.timeout_ms = sl->timeout_ms * SLURM_STAGE_TIMES,
				  .out_fd = archive,
				  .output_max = 64u << 10};
	int ret = archive < 0 ? OPUS_ERR_IO : 0;

	if (ret == 0) {
		ret = step_result("tar", true, slurm_run_io(sl, pack, &io, &r), &r, &what);
		exec_cmd_result_release(&r);
	}
	if (ret == 0)
		ret = rewind_archive(archive, &what);
	if (ret == 0) {
		ret = step_result("tar", false, unpack_here(sl, j->local_dir, archive, &r), &r,
				  &what);
		exec_cmd_result_release(&r);
	}
	if (archive >= 0)
		close(archive);
	if (ret == 0) {
		char *rm_why = NULL;
		if (step_result("rm", true, slurm_run(sl, rm, &r), &r, &rm_why) != 0)
			log_warn("exec: slurm: job %s: %s left behind: %s", j->job_id, rdir,
				 rm_why);
		exec_cmd_result_release(&r);
		free(rm_why);
	} else {
		*why =
		    xasprintf("could not bring back the job's files from %s%s%s: %s",
			      sl->use_ssh ? sl->ssh_host : "", sl->use_ssh ? ":" : "", rdir, what);
	}
	free(what);
	free(rdir);
	return ret;
}

/* ---- submission ---- */

/* One #SBATCH line with a checked value; false (and *why) when it is not. */
static bool add_opt(struct sbuf *b, const char *opt, const char *value, char **why)
{
	if (!value_ok(value)) {
		*why = xasprintf("%s: value not allowed (letters, digits and _.:,=- only)", opt);
		return false;
	}
	sbuf_addf(b, "#SBATCH %s=%s\n", opt, value);
	return true;
}

static bool add_num(struct sbuf *b, const char *opt, int64_t v)
{
	if (v > 0)
		sbuf_addf(b, "#SBATCH %s=%lld\n", opt, (long long)v);
	return true;
}

/* sbatch_args: options separated by spaces, each "--name[=value]". */
static bool add_extra(struct sbuf *b, const char *args, char **why)
{
	char *copy = xstrdup(args), *save = NULL;
	bool ok = true;

	for (char *t = strtok_r(copy, " \t", &save); t && ok; t = strtok_r(NULL, " \t", &save)) {
		if (strncmp(t, "--", 2) != 0 || !value_ok(t + 2)) {
			*why =
			    xasprintf("slurm.sbatch_args: \"%s\" is not an option --name[=value] "
				      "of letters, digits and _.:,=-",
				      t);
			ok = false;
		} else {
			sbuf_addf(b, "#SBATCH %s\n", t);
		}
	}
	free(copy);
	return ok;
}

/* The fixed part of the batch script: no value of the job in it. */
static const char batch_body[] =
    "# The job's parameters are in its environment (sbatch --export-file), never\n"
    "# in this text. Its phases go to OPUS_EVENT_URL when it and OPUS_EVENT_TOKEN\n"
    "# are set (the token in a header read from stdin, not in curl's argv).\n"
    "opus_post() {\n"
    "\t[ -n \"${OPUS_EVENT_URL:-}\" ] && [ -n \"${OPUS_EVENT_TOKEN:-}\" ] || return 0\n"
    "\tprintf 'Authorization: Bearer %s\\n' \"$OPUS_EVENT_TOKEN\" |\n"
    "\t\tcurl -s -m 10 -o /dev/null -H @- --data-urlencode \"job_id=$opus_job\" \\\n"
    "\t\t\t--data-urlencode \"phase=$1\" --data-urlencode \"message=${2:-}\" \\\n"
    "\t\t\t\"$OPUS_EVENT_URL\" 2>/dev/null || true\n"
    "}\n"
    "opus_child=\n"
    "opus_term() {\n"
    "\ttrap - TERM\n"
    "\t[ -z \"$opus_child\" ] || kill -TERM \"$opus_child\" 2>/dev/null\n"
    "\topus_post ERROR \"terminated by SLURM (cancelled, or over its time limit)\"\n"
    "\texit 143\n"
    "}\n"
    "trap opus_term TERM\n"
    "opus_post EXECUTING\n"
    "# In the background, so that the trap runs at once (bash runs traps\n"
    "# between commands, and wait is one).\n"
    "/bin/bash \"$opus_script\" </dev/null &\n"
    "opus_child=$!\n"
    "wait \"$opus_child\"\n"
    "opus_rc=$?\n"
    "if [ \"$opus_rc\" -eq 0 ]; then\n"
    "\topus_post COMPLETED\n"
    "else\n"
    "\topus_post ERROR \"exit code $opus_rc\"\n"
    "fi\n"
    "exit \"$opus_rc\"\n";

/* The job's paths as the cluster sees them (cluster_path); malloc'd. */
struct cpaths {
	char *workdir, *script, *out, *err, *batch, *env;
};

static void cpaths_init(struct cpaths *cp, const struct slurm *sl, const struct exec_spec *spec,
			const char *batch, const char *env)
{
	cp->workdir = cluster_path(sl, spec, spec->workdir);
	cp->script = cluster_path(sl, spec, spec->script_path);
	cp->out = cluster_path(sl, spec, spec->stdout_path);
	cp->err = cluster_path(sl, spec, spec->stderr_path);
	cp->batch = cluster_path(sl, spec, batch);
	cp->env = cluster_path(sl, spec, env);
}

static void cpaths_release(struct cpaths *cp)
{
	free(cp->workdir);
	free(cp->script);
	free(cp->out);
	free(cp->err);
	free(cp->batch);
	free(cp->env);
}

static char *batch_script(struct slurm *sl, const struct exec_spec *spec, const struct cpaths *cp,
			  char **why)
{
	const struct exec_resources *r = &spec->res;
	struct sbuf b = SBUF_INIT;
	const char *partition = r->partition ? r->partition : sl->partition;
	const char *account = r->account ? r->account : sl->account;
	bool ok = true;

	sbuf_init(&b, 1 << 20);
	sbuf_adds(&b, "#!/bin/bash\n");
	sbuf_addf(&b, "#SBATCH --job-name=opus-%s\n", spec->job_id);
	sbuf_addf(&b, "#SBATCH --output=%s\n#SBATCH --error=%s\n#SBATCH --chdir=%s\n", cp->out,
		  cp->err, cp->workdir);
	sbuf_adds(&b, "#SBATCH --no-requeue\n");
	/* Whole minutes, rounded up, and one more: sched ends the job at its
	 * exact duration; SLURM's limit only catches what sched could not. */
	if (spec->time_limit_s > 0)
		add_num(&b, "--time", (spec->time_limit_s + 59) / 60 + 1);
	if (spec->limits.memory_bytes > 0)
		sbuf_addf(&b, "#SBATCH --mem=%lldM\n",
			  (long long)((spec->limits.memory_bytes + (1 << 20) - 1) >> 20));
	if (partition)
		ok = ok && add_opt(&b, "--partition", partition, why);
	if (account)
		ok = ok && add_opt(&b, "--account", account, why);
	if (r->gres)
		ok = ok && add_opt(&b, "--gres", r->gres, why);
	add_num(&b, "--nodes", r->nodes);
	add_num(&b, "--ntasks-per-node", r->tasks_per_node);
	add_num(&b, "--cpus-per-task", r->cpus_per_task);
	if (sl->sbatch_args)
		ok = ok && add_extra(&b, sl->sbatch_args, why);
	/* Both are checked by the caller (name_is_safe, path_ok). */
	sbuf_addf(&b, "opus_job='%s'\nopus_script='%s'\n", spec->job_id, cp->script);
	sbuf_adds(&b, batch_body);
	if (!ok || b.err) {
		if (!*why)
			*why = xstrdup("batch script too large");
		sbuf_release(&b);
		return NULL;
	}
	return sbuf_detach(&b, NULL);
}

/* Appends "NAME=value" with every path of the job's directory `from` in it
 * (a word of the value that is `from` or starts with `from/`: HOME, the
 * inputs' space-separated paths) moved to `to`, the job's directory on the
 * cluster. */
static void add_moved(struct sbuf *out, const char *entry, const char *from, const char *to)
{
	size_t n = strlen(from);
	const char *p = strchr(entry, '=') + 1;

	sbuf_add(out, entry, (size_t)(p - entry));
	while (*p) {
		bool word = p[-1] == '=' || p[-1] == ' ';
		if (word && strncmp(p, from, n) == 0 && strchr("/ ", p[n]) != NULL) {
			sbuf_adds(out, to);
			p += n;
		} else {
			sbuf_addc(out, *p++);
		}
	}
}

/* The job's environment as sbatch --export-file reads it: NUL-separated. */
static void env_file(struct slurm *sl, const struct exec_spec *spec, const struct cpaths *cp,
		     struct sbuf *out)
{
	char *const *envp = spec->envp;
	bool has_url = false;

	for (size_t i = 0; envp[i]; i++) {
		/* SLURM_* would steer sbatch itself (SLURM_CONF, ...). */
		if (strncmp(envp[i], "SLURM_", 6) == 0 || !strchr(envp[i], '='))
			continue;
		has_url = has_url || strncmp(envp[i], "OPUS_EVENT_URL=", 15) == 0;
		if (sl->root)
			add_moved(out, envp[i], spec->workdir, cp->workdir);
		else
			sbuf_adds(out, envp[i]);
		sbuf_addc(out, '\0');
	}
	if (sl->event_url && !has_url) {
		sbuf_addf(out, "OPUS_EVENT_URL=%s", sl->event_url);
		sbuf_addc(out, '\0');
	}
}

/* Is path below dir ("dir/...")? */
static bool below(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;
	return path && n && strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool check_spec(const struct slurm *sl, const struct exec_spec *spec, char **why)
{
	const char *bad = NULL;

	if (!name_is_safe(spec->job_id, 48))
		bad = "job id";
	else if (!path_ok(spec->workdir))
		bad = spec->workdir;
	else if (!path_ok(spec->script_path))
		bad = spec->script_path;
	else if (!path_ok(spec->stdout_path))
		bad = spec->stdout_path;
	else if (!path_ok(spec->stderr_path))
		bad = spec->stderr_path;
	if (!bad && sl->root) {
		/* copied with the job's directory: they must be in it */
		const char *const in[] = {spec->script_path, spec->stdout_path, spec->stderr_path};
		for (size_t i = 0; i < OPUS_ARRAY_LEN(in) && !bad; i++) {
			if (!below(in[i], spec->workdir))
				bad = in[i];
		}
		if (bad) {
			*why = xasprintf("slurm: %s: not in the job's directory %s", bad,
					 spec->workdir);
			return false;
		}
	}
	if (bad)
		*why = xasprintf("slurm: %s: not usable in a batch script (letters, digits, "
				 "_.:,=+@/- only)",
				 bad);
	return !bad;
}

/* "123" or "123;cluster" from sbatch --parsable. */
static bool parse_jobid(const char *out, char id[SLURM_ID_MAX])
{
	size_t n = strspn(out, "0123456789");
	if (n == 0 || n >= SLURM_ID_MAX || (out[n] && !strchr(";\n", out[n])))
		return false;
	memcpy(id, out, n);
	id[n] = '\0';
	return true;
}

static void sjob_free(struct sjob *j)
{
	if (!j)
		return;
	free(j->local_dir);
	free(j->held);
	free(j);
}

/* local_dir: workdir_root's way back (copied), or NULL. */
static void follow(struct slurm *sl, const char *job_id, const char *handle, const char *slurm_id,
		   const char *local_dir, bool submitted)
{
	struct sjob *j = xcalloc(1, sizeof(*j));

	snprintf(j->job_id, sizeof(j->job_id), "%s", job_id);
	snprintf(j->handle, sizeof(j->handle), "%s", handle);
	snprintf(j->slurm_id, sizeof(j->slurm_id), "%s", slurm_id);
	j->report_submitted = submitted;
	j->local_dir = xstrdup(local_dir);
	pthread_mutex_lock(&sl->lock);
	j->next = sl->jobs;
	sl->jobs = j;
	sl->poll_now = true;
	pthread_cond_signal(&sl->wake);
	pthread_mutex_unlock(&sl->lock);
}

static int sbatch(struct slurm *sl, const struct exec_spec *spec, const struct cpaths *cp,
		  char id[SLURM_ID_MAX], char **why)
{
	char *export = xasprintf("--export-file=%s", cp->env);
	char uid[32], gid[32];
	const char *argv[8] = {"sbatch", "--parsable", export};
	size_t n = 3;
	struct exec_cmd_result r;
	int ret;

	if (spec->user && spec->user->change) {
		snprintf(uid, sizeof(uid), "--uid=%u", (unsigned)spec->user->uid);
		snprintf(gid, sizeof(gid), "--gid=%u", (unsigned)spec->user->gid);
		argv[n++] = uid;
		argv[n++] = gid;
	}
	argv[n++] = cp->batch;
	argv[n] = NULL;
	ret = slurm_run(sl, argv, &r);
	note_answer(sl, "sbatch", ret, &r);
	if (ret == 0 && !r.timed_out && r.exit_code == 0 && parse_jobid(r.out, id)) {
		ret = 0;
	} else if (ret == 0 && r.timed_out) {
		*why = xasprintf("sbatch did not answer within %lld ms", (long long)sl->timeout_ms);
		ret = OPUS_ERR_BUSY;
	} else if (ret == 0 && !answered(&r)) {
		/* No controller, or ssh could not reach the login node: not the job's fault. */
		*why = xasprintf("SLURM cluster not reachable: %.*s", (int)strcspn(r.err, "\n"),
				 r.err);
		ret = OPUS_ERR_BUSY;
	} else if (ret == 0) {
		size_t len = r.err_len;
		while (len && (r.err[len - 1] == '\n' || r.err[len - 1] == ' '))
			len--;
		*why = len ? xasprintf("%.*s", (int)len, r.err)
			   : xasprintf("sbatch failed (exit code %d): %.200s", r.exit_code, r.out);
		ret = OPUS_ERR_INVAL;
	} else {
		*why = xasprintf("sbatch could not be run: %s", opus_strerror(ret));
	}
	exec_cmd_result_release(&r);
	free(export);
	return ret;
}

static int slurm_submit(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
			char **why_out)
{
	struct slurm *sl = slurm_of(ex);
	char *dir = NULL, *batch_path = NULL, *env_path = NULL, *text = NULL;
	char id[SLURM_ID_MAX];
	struct sbuf env = SBUF_INIT;
	struct cpaths cp = {0};
	int ret = OPUS_ERR_INVAL;

	*why_out = NULL;
	if (!check_spec(sl, spec, why_out))
		goto done;
	dir = dir_of(spec->script_path);
	batch_path = xasprintf("%s/slurm.sh", dir);
	env_path = xasprintf("%s/slurm.env", dir);
	cpaths_init(&cp, sl, spec, batch_path, env_path);
	text = batch_script(sl, spec, &cp, why_out);
	if (!text)
		goto done;
	env_file(sl, spec, &cp, &env);
	ret = OPUS_ERR_IO;
	/* 0600: the environment may hold the job's event token. */
	if (env.err || file_write_all(env_path, env.buf ? env.buf : "", env.len, 0600) != 0 ||
	    file_write_all(batch_path, text, strlen(text), 0640) != 0) {
		*why_out = xasprintf("cannot write the batch script in %s", dir);
		goto done;
	}
	if (spec->user && spec->user->change && exec_give_tree(spec) != 0) {
		*why_out = xstrdup("cannot give the job's directory to its user");
		goto done;
	}
	if (sl->root) {
		ret = stage_in(sl, spec, why_out);
		if (ret)
			goto done;
	}
	ret = sbatch(sl, spec, &cp, id, why_out);
	if (ret)
		goto done;
	snprintf(out->handle, sizeof(out->handle), "slurm:%s:%s", sl->cluster, id);
	out->started = false;
	log_info("exec: slurm: job %s submitted as %s", spec->job_id, out->handle);
	follow(sl, spec->job_id, out->handle, id, sl->root ? spec->workdir : NULL, true);
done:
	cpaths_release(&cp);
	sbuf_release(&env);
	free(text);
	free(dir);
	free(batch_path);
	free(env_path);
	return ret;
}

/* ---- handles, cancel, adopt ---- */

/* The SLURM id of one of our handles; false for any other. */
static bool handle_id(const struct slurm *sl, const char *handle, char id[SLURM_ID_MAX])
{
	size_t cl = strlen(sl->cluster);

	if (strncmp(handle, "slurm:", 6) != 0 || strncmp(handle + 6, sl->cluster, cl) != 0 ||
	    handle[6 + cl] != ':')
		return false;
	return parse_jobid(handle + 7 + cl, id) && strlen(handle + 7 + cl) == strlen(id);
}

static int slurm_cancel(struct exec *ex, const char *handle, int sig)
{
	struct slurm *sl = slurm_of(ex);
	struct scancel *c;
	char id[SLURM_ID_MAX];

	if (!handle_id(sl, handle, id))
		return OPUS_ERR_NOTFOUND;
	c = xcalloc(1, sizeof(*c));
	snprintf(c->slurm_id, sizeof(c->slurm_id), "%s", id);
	c->sig = sig;
	pthread_mutex_lock(&sl->lock);
	*sl->cancels_tail = c;
	sl->cancels_tail = &c->next;
	pthread_cond_signal(&sl->wake);
	pthread_mutex_unlock(&sl->lock);
	return 0;
}

static int slurm_adopt(struct exec *ex, const char *job_id, const char *handle)
{
	struct slurm *sl = slurm_of(ex);
	char id[SLURM_ID_MAX];

	char *local = NULL;

	if (!name_is_safe(job_id, 48) || !handle_id(sl, handle, id))
		return OPUS_ERR_NOTFOUND;
	if (sl->root)
		local = xasprintf("%s/%s", sl->jobs_dir, job_id);
	follow(sl, job_id, handle, id, local, false);
	free(local);
	return 0;
}

static void slurm_poll(struct exec *ex)
{
	struct slurm *sl = slurm_of(ex);

	pthread_mutex_lock(&sl->lock);
	sl->poll_now = true;
	sl->hurry = SLURM_HURRY_ROUNDS;
	pthread_cond_signal(&sl->wake);
	pthread_mutex_unlock(&sl->lock);
}

static bool slurm_reachable(struct exec *ex, char **why_out)
{
	struct slurm *sl = slurm_of(ex);
	bool ok;

	pthread_mutex_lock(&sl->lock);
	ok = sl->reachable;
	if (!ok)
		*why_out = xstrdup(sl->unreachable_why ? sl->unreachable_why : "unreachable");
	pthread_mutex_unlock(&sl->lock);
	return ok;
}

/* ---- the thread: cancels and reconciliation rounds ---- */

static void run_cancel(struct slurm *sl, const struct scancel *c)
{
	const char *term[] = {"scancel", c->slurm_id, NULL};
	const char *kill[] = {"scancel", "--signal=KILL", "--full", c->slurm_id, NULL};
	struct exec_cmd_result r;
	int ret = slurm_run(sl, c->sig == SIGKILL ? kill : term, &r);

	note_answer(sl, "scancel", ret, &r);
	if (ret == 0 && r.exit_code != 0)
		log_warn("exec: slurm: scancel %s: %.*s", c->slurm_id, (int)strcspn(r.err, "\n"),
			 r.err);
	exec_cmd_result_release(&r);
}

/* A SLURM state and what it means for us. */
struct state_map {
	const char *name;
	int kind; /* 0 waiting, 1 running, 2 ended */
	enum exec_end end;
	bool ran; /* ended after running: STARTED first if not seen */
};

static const struct state_map states[] = {
    {"PENDING", 0, EXEC_END_LOST, false},	 {"CONFIGURING", 0, EXEC_END_LOST, false},
    {"REQUEUED", 0, EXEC_END_LOST, false},	 {"REQUEUE_HOLD", 0, EXEC_END_LOST, false},
    {"REQUEUE_FED", 0, EXEC_END_LOST, false},	 {"RESV_DEL_HOLD", 0, EXEC_END_LOST, false},
    {"RUNNING", 1, EXEC_END_LOST, false},	 {"COMPLETING", 1, EXEC_END_LOST, false},
    {"SUSPENDED", 1, EXEC_END_LOST, false},	 {"STOPPED", 1, EXEC_END_LOST, false},
    {"SIGNALING", 1, EXEC_END_LOST, false},	 {"STAGE_OUT", 1, EXEC_END_LOST, false},
    {"RESIZING", 1, EXEC_END_LOST, false},	 {"COMPLETED", 2, EXEC_END_EXITED, true},
    {"FAILED", 2, EXEC_END_EXITED, true},	 {"TIMEOUT", 2, EXEC_END_TIMEOUT, true},
    {"CANCELLED", 2, EXEC_END_CANCELLED, false}, {"NODE_FAIL", 2, EXEC_END_NODE_FAIL, false},
    {"PREEMPTED", 2, EXEC_END_PREEMPTED, false}, {"OUT_OF_MEMORY", 2, EXEC_END_OUT_OF_MEMORY, true},
    {"BOOT_FAIL", 2, EXEC_END_FAILED, false},	 {"DEADLINE", 2, EXEC_END_FAILED, false},
};

/* The entry of a state word ("CANCELLED" of "CANCELLED by 0"); an unknown
 * state is an end that failed (SPECIAL_EXIT, REVOKED, ...). */
static const struct state_map *state_of(const char *s, size_t len)
{
	static const struct state_map other = {"", 2, EXEC_END_FAILED, false};
	size_t n = strcspn(s, " +|\n");

	if (n > len)
		n = len;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(states); i++) {
		if (strlen(states[i].name) == n && strncmp(states[i].name, s, n) == 0)
			return &states[i];
	}
	return &other;
}

/* What a round found out about one job. */
struct found {
	bool seen; /* squeue listed it (by id and name) */
	const struct state_map *st;
	bool final; /* its end is known */
	bool lost;
	int exit_code, term_signal;
	char reason[160];
	char state[32];
};

/* The value of KEY=... in a `scontrol show job -o` line. */
static bool kv(const char *line, const char *key, char *out, size_t out_len)
{
	size_t kl = strlen(key);
	for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");
			snprintf(out, out_len, "%.*s", (int)n, p + kl + 1);
			return true;
		}
	}
	return false;
}

static void exit_code_of(const char *s, struct found *f)
{
	/* "3:0": the exit code, then the signal that ended it. */
	char *end = NULL;
	long code = strtol(s, &end, 10), sig = 0;

	if (end && *end == ':')
		sig = strtol(end + 1, NULL, 10);
	f->exit_code = (int)code;
	f->term_signal = (int)sig;
}

static void set_final(struct found *f, const char *state, const char *exitcode, const char *reason)
{
	snprintf(f->state, sizeof(f->state), "%.*s", (int)strcspn(state, " "), state);
	f->st = state_of(state, strlen(state));
	if (f->st->kind != 2)
		return; /* not over after all: the next round sees it */
	f->final = true;
	exit_code_of(exitcode, f);
	snprintf(f->reason, sizeof(f->reason), "%s",
		 reason && *reason && strcmp(reason, "None") != 0 ? reason : "");
}

/* scontrol show job -o ID: 1 found (f filled), 0 not known, -1 no answer. */
static int lookup_scontrol(struct slurm *sl, const struct sjob *j, struct found *f)
{
	const char *argv[] = {"scontrol", "show", "job", "-o", j->slurm_id, NULL};
	char name[80], want[80 + 8], state[64] = "", code[32] = "0:0", reason[160] = "";
	struct exec_cmd_result r;
	int ret = slurm_run(sl, argv, &r), found = -1;

	snprintf(want, sizeof(want), "opus-%s", j->job_id);
	if (ret == 0 && !r.timed_out) {
		if (r.exit_code == 0 && kv(r.out, "JobName", name, sizeof(name)) &&
		    strcmp(name, want) == 0 && kv(r.out, "JobState", state, sizeof(state))) {
			(void)kv(r.out, "ExitCode", code, sizeof(code));
			(void)kv(r.out, "Reason", reason, sizeof(reason));
			set_final(f, state, code, reason);
			found = 1;
		} else if (r.exit_code == 0 || strstr(r.err, "Invalid job id")) {
			found = 0; /* another job under that id (a wiped cluster), or none */
		}
	}
	exec_cmd_result_release(&r);
	return found;
}

/* sacct -c (jobcomp/filetxt): 1 found, 0 not there. */
static int lookup_sacct(struct slurm *sl, const struct sjob *j, struct found *f)
{
	const char *argv[] = {"sacct", "-c",	    "-n", "-P",
			      "-j",    j->slurm_id, "-o", "jobid,jobname,state,exitcode",
			      NULL};
	char want[SLURM_ID_MAX + 80];
	struct exec_cmd_result r;
	int ret = slurm_run(sl, argv, &r), found = 0;

	snprintf(want, sizeof(want), "%s|opus-%s|", j->slurm_id, j->job_id);
	if (ret == 0 && !r.timed_out && r.exit_code == 0) {
		/* The last line of that id and name (a wiped cluster reuses ids). */
		const char *hit = NULL;
		for (const char *p = r.out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			if (strncmp(p, want, strlen(want)) == 0)
				hit = p;
		}
		if (hit) {
			const char *state = hit + strlen(want);
			const char *code = strchr(state, '|');
			char st[64];
			snprintf(st, sizeof(st), "%.*s", (int)strcspn(state, "|\n"), state);
			set_final(f, st, code ? code + 1 : "0:0", NULL);
			found = f->final;
		}
	}
	exec_cmd_result_release(&r);
	return found;
}

/* One squeue for a slice of the snapshot. false: no answer. */
static bool squeue_slice(struct slurm *sl, struct sjob **snap, struct found *fd, size_t n)
{
	struct sbuf names = SBUF_INIT;
	struct exec_cmd_result r;
	const char *argv[] = {"squeue",		 "--noheader",
			      "--states=all",	 "--format=%i|%j|%T|%r",
			      NULL /* --name */, NULL};
	bool ok;
	int ret;

	sbuf_adds(&names, "--name=");
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&names, "%sopus-%s", i ? "," : "", snap[i]->job_id);
	argv[4] = sbuf_str(&names);
	ret = slurm_run(sl, argv, &r);
	note_answer(sl, "squeue", ret, &r);
	ok = ret == 0 && !r.timed_out && r.exit_code == 0;
	for (const char *p = r.out; ok && p && *p;) {
		size_t len = strcspn(p, "\n");
		const char *bar1 = memchr(p, '|', len);
		const char *bar2 =
		    bar1 ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - p)) : NULL;
		for (size_t i = 0; bar2 && i < n; i++) {
			size_t il = strlen(snap[i]->slurm_id);
			if ((size_t)(bar1 - p) == il && strncmp(p, snap[i]->slurm_id, il) == 0 &&
			    (size_t)(bar2 - bar1 - 1) == strlen(snap[i]->job_id) + 5 &&
			    strncmp(bar1 + 1 + 5, snap[i]->job_id, strlen(snap[i]->job_id)) == 0) {
				fd[i].seen = true;
				fd[i].st = state_of(bar2 + 1, len - (size_t)(bar2 + 1 - p));
			}
		}
		p += len + (p[len] == '\n');
	}
	exec_cmd_result_release(&r);
	sbuf_release(&names);
	return ok;
}

/* Asks the cluster about every job of the snapshot; false: no answer. */
static bool ask(struct slurm *sl, struct sjob **snap, struct found *fd, size_t n)
{
	for (size_t at = 0; at < n; at += SLURM_NAMES_PER_CALL) {
		size_t k = n - at < SLURM_NAMES_PER_CALL ? n - at : SLURM_NAMES_PER_CALL;
		if (!squeue_slice(sl, snap + at, fd + at, k))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct found *f = &fd[i];
		int got;
		if (f->seen && f->st->kind != 2)
			continue;
		got = lookup_scontrol(sl, snap[i], f);
		if (got < 0)
			continue; /* no answer: ask again next round */
		if (got > 0) {
			f->seen = true; /* over (final), or alive after all (st says how) */
			continue;
		}
		if (lookup_sacct(sl, snap[i], f) > 0)
			continue;
		if (!f->seen) {
			f->lost = true;
		} else if (f->st->kind == 2) {
			/* squeue saw it end, and that is all there is to know. */
			f->final = true;
			f->exit_code =
			    f->st->end == EXEC_END_EXITED && strcmp(f->st->name, "COMPLETED") == 0
				? 0
				: -1;
			snprintf(f->state, sizeof(f->state), "%s", f->st->name);
		}
	}
	return true;
}

struct pending_ev {
	struct exec_event ev;
	char job_id[64], handle[EXEC_HANDLE_MAX], reason[400];
	struct sjob *job; /* only this thread frees jobs: valid for the round */
	bool held;	  /* its ENDED waits (sjob.held has it): not emitted now */
};

static struct pending_ev *ev_slot(struct pending_ev **evs, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*evs = xrealloc(*evs, *cap * sizeof(**evs));
	}
	return &(*evs)[(*n)++];
}

static void ev_add(struct pending_ev **evs, size_t *n, size_t *cap, struct sjob *j,
		   enum exec_event_kind kind)
{
	struct pending_ev *e = ev_slot(evs, n, cap);

	memset(e, 0, sizeof(*e));
	snprintf(e->job_id, sizeof(e->job_id), "%s", j->job_id);
	snprintf(e->handle, sizeof(e->handle), "%s", j->handle);
	e->job = j;
	e->ev.kind = kind;
	e->ev.cpu_ms = -1;
	e->ev.max_rss_kb = -1;
}

/* The ENDED event of what was found. */
static void ev_end(struct pending_ev *e, const struct found *f)
{
	struct exec_event *ev = &e->ev;

	ev->exit_code = -1;
	if (f->lost) {
		ev->end = EXEC_END_LOST;
		return;
	}
	ev->end = f->st->end;
	if (ev->end == EXEC_END_EXITED && f->term_signal > 0) {
		ev->end = EXEC_END_SIGNALLED;
		ev->term_signal = f->term_signal;
	} else if (ev->end == EXEC_END_EXITED) {
		ev->exit_code = f->exit_code;
	}
	if (ev->end != EXEC_END_EXITED && ev->end != EXEC_END_SIGNALLED &&
	    ev->end != EXEC_END_CANCELLED) {
		if (f->reason[0])
			snprintf(e->reason, sizeof(e->reason), "%s (%s)", f->state, f->reason);
		else
			snprintf(e->reason, sizeof(e->reason), "%s", f->state);
	}
}

/* Under the lock: what changed, as events; ended jobs leave the set. */
static void apply_locked(struct slurm *sl, struct sjob **snap, const struct found *fd, size_t n,
			 struct pending_ev **evs, size_t *nev, size_t *cap)
{
	(void)sl;
	for (size_t i = 0; i < n; i++) {
		struct sjob *j = snap[i];
		const struct found *f = &fd[i];
		bool ran = (f->seen && f->st->kind == 1) || (f->final && f->st->ran);

		if (ran && !j->started) {
			ev_add(evs, nev, cap, j, EXEC_EV_STARTED);
			j->started = true;
		}
		if (f->final || f->lost) {
			ev_add(evs, nev, cap, j, EXEC_EV_ENDED);
			ev_end(&(*evs)[*nev - 1], f);
			j->done = true;
		}
	}
}

/* SUBMITTED of the new jobs, under the lock. */
static void submitted_locked(struct slurm *sl, struct pending_ev **evs, size_t *nev, size_t *cap)
{
	for (struct sjob *j = sl->jobs; j; j = j->next) {
		if (j->report_submitted) {
			ev_add(evs, nev, cap, j, EXEC_EV_SUBMITTED);
			j->report_submitted = false;
		}
	}
}

/* A copy back that failed (why): the end says so, unless the job was
 * cancelled or lost anyway. */
static void copy_failed(struct pending_ev *e, const char *why)
{
	log_error("exec: slurm: job %s: %s", e->job_id, why);
	if (e->ev.end != EXEC_END_CANCELLED && e->ev.end != EXEC_END_LOST) {
		e->ev.end = EXEC_END_FAILED;
		e->ev.exit_code = -1;
		snprintf(e->reason, sizeof(e->reason), "%s", why);
	}
}

/* workdir_root: each ended job's files back before its ENDED. When the
 * cluster did not answer the copy, the ENDED is held in the job (it stays in
 * the set, not asked about again) and the copy tried again next round. */
static void stage_out_ended(struct slurm *sl, struct pending_ev *evs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pending_ev *e = &evs[i];
		char *why = NULL;
		int ret;

		if (e->ev.kind != EXEC_EV_ENDED || !e->job->local_dir)
			continue;
		ret = stage_out(sl, e->job, &why);
		if (ret == OPUS_ERR_BUSY && e->ev.end != EXEC_END_CANCELLED) {
			log_warn("exec: slurm: job %s ended; its files wait for the cluster, "
				 "tried again every %lld ms: %s",
				 e->job_id, (long long)sl->poll_ms, why);
			e->held = true;
			pthread_mutex_lock(&sl->lock);
			e->job->held = xmalloc(sizeof(*e));
			*e->job->held = *e;
			e->job->done = false;
			pthread_mutex_unlock(&sl->lock);
		} else if (ret != 0) {
			copy_failed(e, why);
		}
		free(why);
	}
}

/* The held ENDEDs: their copy back again; those it settles (brought back,
 * failed for good, or aborted meanwhile) go into evs and leave the set. */
static void bring_back_held(struct slurm *sl, struct sjob **held, size_t n, struct pending_ev **evs,
			    size_t *nev, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		struct sjob *j = held[i];
		char *rdir, *why = NULL;
		bool cancelled;
		int ret = 0;

		pthread_mutex_lock(&sl->lock);
		cancelled = j->held_cancelled;
		pthread_mutex_unlock(&sl->lock);
		if (cancelled) {
			rdir = remote_dir(sl, j->job_id);
			log_warn("exec: slurm: job %s aborted while its files waited: %s left "
				 "on the cluster",
				 j->job_id, rdir);
			free(rdir);
			j->held->ev.end = EXEC_END_CANCELLED;
			j->held->reason[0] = '\0';
		} else {
			ret = stage_out(sl, j, &why);
		}
		if (ret == OPUS_ERR_BUSY) {
			log_debug("exec: slurm: job %s: files still wait: %s", j->job_id, why);
			free(why);
			continue;
		}
		struct pending_ev *e = ev_slot(evs, nev, cap);
		*e = *j->held;
		e->held = false;
		if (ret != 0)
			copy_failed(e, why);
		free(why);
		pthread_mutex_lock(&sl->lock);
		j->done = true;
		pthread_mutex_unlock(&sl->lock);
	}
}

static void emit_all(struct exec *ex, struct pending_ev *evs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (evs[i].held)
			continue;
		evs[i].ev.job_id = evs[i].job_id;
		evs[i].ev.handle = evs[i].handle;
		evs[i].ev.reason = evs[i].reason[0] ? evs[i].reason : NULL;
		log_debug("exec: slurm: job %s (%s): event %d", evs[i].job_id, evs[i].handle,
			  (int)evs[i].ev.kind);
		exec_emit(ex, &evs[i].ev);
	}
}

static void remove_done_locked(struct slurm *sl)
{
	for (struct sjob **pp = &sl->jobs; *pp;) {
		struct sjob *j = *pp;
		if (j->done) {
			*pp = j->next;
			sjob_free(j);
		} else {
			pp = &j->next;
		}
	}
}

static void round_of(struct exec *ex)
{
	struct slurm *sl = slurm_of(ex);
	struct pending_ev *evs = NULL;
	size_t n = 0, nheld = 0, nev = 0, cap = 0;
	struct sjob **snap, **held;
	struct found *fd;

	pthread_mutex_lock(&sl->lock);
	for (struct sjob *j = sl->jobs; j; j = j->next)
		n++;
	snap = xcalloc(n + 1, sizeof(*snap));
	held = xcalloc(n + 1, sizeof(*held));
	fd = xcalloc(n + 1, sizeof(*fd));
	n = 0;
	/* only this thread frees jobs: the pointers stay valid */
	for (struct sjob *j = sl->jobs; j; j = j->next) {
		if (j->held)
			held[nheld++] = j; /* ended: not asked about again */
		else
			snap[n++] = j;
	}
	submitted_locked(sl, &evs, &nev, &cap);
	pthread_mutex_unlock(&sl->lock);
	emit_all(ex, evs, nev);
	nev = 0;
	bring_back_held(sl, held, nheld, &evs, &nev, &cap);
	if (n > 0 && ask(sl, snap, fd, n)) {
		size_t first = nev;
		pthread_mutex_lock(&sl->lock);
		apply_locked(sl, snap, fd, n, &evs, &nev, &cap);
		pthread_mutex_unlock(&sl->lock);
		if (sl->root)
			stage_out_ended(sl, evs + first, nev - first);
	}
	emit_all(ex, evs, nev);
	pthread_mutex_lock(&sl->lock);
	remove_done_locked(sl);
	pthread_mutex_unlock(&sl->lock);
	free(evs);
	free(snap);
	free(held);
	free(fd);
}

/* Without jobs, the cluster is still asked now and then, for exec_reachable. */
static void ping(struct slurm *sl)
{
	const char *argv[] = {"squeue", "--noheader", "--name=opus-", "--format=%i", NULL};
	struct exec_cmd_result r;
	int ret = slurm_run(sl, argv, &r);

	note_answer(sl, "squeue", ret, &r);
	exec_cmd_result_release(&r);
}

/* An abort of a job whose ENDED is held: it ends CANCELLED next round
 * without its files (scancel had nothing left to cancel). */
static void cancel_held_locked(struct slurm *sl, const char *slurm_id)
{
	for (struct sjob *j = sl->jobs; j; j = j->next) {
		if (j->held && strcmp(j->slurm_id, slurm_id) == 0)
			j->held_cancelled = true;
	}
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *slurm_thread(void *arg)
{
	struct exec *ex = arg;
	struct slurm *sl = slurm_of(ex);
	int64_t next_round = 0, next_ping = 0;

	pthread_mutex_lock(&sl->lock);
	while (!sl->stopping) {
		struct scancel *c = sl->cancels;
		int64_t now = time_mono_ms();
		bool have_jobs = sl->jobs != NULL;

		if (c) {
			sl->cancels = c->next;
			if (!sl->cancels)
				sl->cancels_tail = &sl->cancels;
			pthread_mutex_unlock(&sl->lock);
			run_cancel(sl, c);
			pthread_mutex_lock(&sl->lock);
			cancel_held_locked(sl, c->slurm_id);
			free(c);
			sl->poll_now = true; /* see the job go */
			continue;
		}
		if (sl->poll_now || (have_jobs && now >= next_round)) {
			sl->poll_now = false;
			pthread_mutex_unlock(&sl->lock);
			round_of(ex);
			next_round = time_mono_ms() + sl->poll_ms;
			next_ping = next_round + 4 * sl->poll_ms;
			pthread_mutex_lock(&sl->lock);
			if (sl->hurry > 0) {
				int64_t gap = SLURM_HURRY_FIRST_MS
					      << (SLURM_HURRY_ROUNDS - sl->hurry);
				sl->hurry--;
				if (gap < sl->poll_ms)
					next_round = time_mono_ms() + gap;
			}
			continue;
		}
		if (!have_jobs && now >= next_ping) {
			pthread_mutex_unlock(&sl->lock);
			ping(sl);
			next_ping = time_mono_ms() + 5 * sl->poll_ms;
			pthread_mutex_lock(&sl->lock);
			continue;
		}
		{
			struct timespec ts;
			int64_t until = have_jobs ? next_round : next_ping;
			deadline_in(&ts, until > now ? until - now : 1);
			pthread_cond_timedwait(&sl->wake, &sl->lock, &ts);
		}
	}
	pthread_mutex_unlock(&sl->lock);
	return NULL;
}

/* ---- open and close ---- */

static void slurm_free(struct slurm *sl)
{
	if (!sl)
		return;
	while (sl->jobs) {
		struct sjob *j = sl->jobs;
		sl->jobs = j->next;
		sjob_free(j);
	}
	while (sl->cancels) {
		struct scancel *c = sl->cancels;
		sl->cancels = c->next;
		free(c);
	}
	free(sl->cluster);
	free(sl->partition);
	free(sl->account);
	free(sl->sbatch_args);
	free(sl->path);
	free(sl->conf_file);
	free(sl->event_url);
	free(sl->root);
	free(sl->jobs_dir);
	free(sl->ssh_host);
	free(sl->ssh_user);
	free(sl->ssh_key);
	free(sl->ssh_known);
	free(sl->env_path);
	free(sl->env_conf);
	free(sl->unreachable_why);
	pthread_mutex_destroy(&sl->lock);
	pthread_cond_destroy(&sl->wake);
	free(sl);
}

/* Would workdir_root and the daemon's data (jobs_dir's parent) meet? */
static bool roots_overlap(const char *root, const char *jobs_dir)
{
	char *data = dir_of(jobs_dir);
	bool meet = strcmp(root, data) == 0 || below(root, data) || below(data, root) ||
		    strcmp(root, "/") == 0;

	free(data);
	return meet;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* Copies and checks the configuration; NULL with a logged reason. */
static struct slurm *slurm_new(const struct exec_slurm_config *c)
{
	struct slurm *sl = xcalloc(1, sizeof(*sl));
	pthread_condattr_t ca;
	const char *bad = NULL;

	pthread_mutex_init(&sl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sl->wake, &ca);
	pthread_condattr_destroy(&ca);
	sl->cancels_tail = &sl->cancels;
	sl->reachable = true;
	sl->cluster = xstrdup(nonempty(c->cluster) ? c->cluster : "slurm");
	sl->partition = xstrdup(nonempty(c->partition));
	sl->account = xstrdup(nonempty(c->account));
	sl->sbatch_args = xstrdup(nonempty(c->sbatch_args));
	sl->path = xstrdup(nonempty(c->path) ? c->path : SLURM_DEFAULT_PATH);
	sl->conf_file = xstrdup(nonempty(c->slurm_conf));
	sl->event_url = xstrdup(nonempty(c->event_url));
	sl->root = xstrdup(nonempty(c->workdir_root));
	sl->jobs_dir = xstrdup(nonempty(c->jobs_dir));
	while (sl->root && strlen(sl->root) > 1 && sl->root[strlen(sl->root) - 1] == '/')
		sl->root[strlen(sl->root) - 1] = '\0';
	sl->poll_ms = c->poll_interval_ms > 0 ? c->poll_interval_ms : 2000;
	sl->timeout_ms = c->command_timeout_ms > 0 ? c->command_timeout_ms : 30000;
	sl->ssh_host = xstrdup(nonempty(c->ssh_host));
	sl->ssh_user = xstrdup(nonempty(c->ssh_user));
	sl->ssh_key = xstrdup(nonempty(c->ssh_key));
	sl->ssh_known = xstrdup(nonempty(c->ssh_known_hosts));
	sl->use_ssh = sl->ssh_host != NULL;
	sl->ssh = (struct exec_ssh){.host = sl->ssh_host,
				    .user = sl->ssh_user,
				    .port = c->ssh_port,
				    .key = sl->ssh_key,
				    .known_hosts = sl->ssh_known};
	sl->env_path = xasprintf("PATH=%s", sl->path);
	sl->env_conf = sl->conf_file ? xasprintf("SLURM_CONF=%s", sl->conf_file) : NULL;
	sl->envp[0] = sl->env_path;
	sl->envp[1] = sl->env_conf;
	sl->envp[2] = NULL;
	if (!name_is_safe(sl->cluster, 32))
		bad = "slurm.cluster: letters, digits, _ and - only";
	else if (sl->partition && !value_ok(sl->partition))
		bad = "slurm.partition: letters, digits and _.:,=- only";
	else if (sl->account && !value_ok(sl->account))
		bad = "slurm.account: letters, digits and _.:,=- only";
	else if (strspn(sl->path, path_chars) != strlen(sl->path))
		bad = "slurm.path: letters, digits and _.:,=+@/- only";
	else if (sl->conf_file && !path_ok(sl->conf_file))
		bad = "slurm.slurm_conf: an absolute path of letters, digits and _.:,=+@/-";
	else if (sl->use_ssh && (!sl->ssh_key || !sl->ssh_known))
		bad = "slurm.ssh_host needs slurm.ssh_key and slurm.ssh_known_hosts";
	else if (sl->root && (!path_ok(sl->root) || strcmp(sl->root, "/") == 0))
		bad = "slurm.workdir_root: an absolute directory other than / of letters, digits "
		      "and _.:,=+@/-";
	else if (sl->root && !sl->jobs_dir)
		bad = "slurm.workdir_root: the daemon's job directories are not known";
	else if (sl->root && roots_overlap(sl->root, sl->jobs_dir))
		bad = "slurm.workdir_root: must not be paths.data_dir, nor be in it or hold it "
		      "(a job's copy there is removed when it ends)";
	if (!bad && sl->sbatch_args) {
		struct sbuf scratch = SBUF_INIT;
		char *why = NULL;
		if (!add_extra(&scratch, sl->sbatch_args, &why)) {
			log_error("exec: %s", why);
			free(why);
			sbuf_release(&scratch);
			slurm_free(sl);
			return NULL;
		}
		sbuf_release(&scratch);
	}
	if (bad) {
		log_error("exec: %s", bad);
		slurm_free(sl);
		return NULL;
	}
	return sl;
}

static int slurm_open(struct exec *ex, const struct exec_config *cfg)
{
	static const struct exec_slurm_config none = {0};
	struct slurm *sl = slurm_new(cfg->slurm ? cfg->slurm : &none);
	int err;

	if (!sl)
		return OPUS_ERR_INVAL;
	ex->priv = sl;
	sl->ex = ex;
	err = pthread_create(&sl->thread, NULL, slurm_thread, ex);
	if (err) {
		log_error("exec: slurm: thread: %s", strerror(err));
		ex->priv = NULL;
		slurm_free(sl);
		return OPUS_ERR_INTERNAL;
	}
	log_info("exec: slurm backend, cluster %s%s%s, every %lld ms%s%s", sl->cluster,
		 sl->use_ssh ? " through ssh to " : "", sl->use_ssh ? sl->ssh_host : "",
		 (long long)sl->poll_ms, sl->root ? ", jobs run in " : "",
		 sl->root ? sl->root : "");
	return 0;
}

static void slurm_close(struct exec *ex)
{
	struct slurm *sl = slurm_of(ex);

	if (!sl)
		return;
	pthread_mutex_lock(&sl->lock);
	sl->stopping = true;
	pthread_cond_signal(&sl->wake);
	pthread_mutex_unlock(&sl->lock);
	pthread_join(sl->thread, NULL);
	slurm_free(sl);
	ex->priv = NULL;
}

/* "slurm:{cluster}:{id}" (adopt checks the cluster and the id). */
static bool slurm_owns(const char *handle)
{
	return strncmp(handle, "slurm:", 6) == 0;
}

static const struct exec_ops slurm_ops = {
    .name = "slurm",
    .keep = EXEC_KEEP_ALL,
    .submit = slurm_submit,
    .cancel = slurm_cancel,
    .adopt = slurm_adopt,
    .poll = slurm_poll,
    .reachable = slurm_reachable,
    .owns = slurm_owns,
    .close = slurm_close,
};

const struct exec_backend exec_slurm_backend = {
    .ops = &slurm_ops,
    .open = slurm_open,
};
