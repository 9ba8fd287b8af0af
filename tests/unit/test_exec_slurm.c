/* Tests of src/exec/exec_slurm.c. Without a cluster: what the backend
 * refuses before any command (bad values, foreign handles) and a cluster that
 * does not answer (sbatch's own message, exec_reachable false), workdir_root's
 * copy to the cluster's directory and the paths it moves. With
 * OPUS_TEST_SLURM_CONF set to the slurm.conf of a running cluster
 * (tests/slurm starts one with scripts/slurm.sh and runs this binary): real
 * jobs that complete, fail, are cancelled PENDING and RUNNING (TERM and
 * KILL), and one SLURM never knew (LOST). */
#include "base/base.h"
#include "check.h"
#include "exec/exec.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EVS 256

struct rec {
	char job_id[64], handle[EXEC_HANDLE_MAX], reason[200];
	struct exec_event ev;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct rec recs[MAX_EVS];
static size_t nrecs;
static char tmp[256];

static void on_event(void *ctx, const struct exec_event *ev)
{
	(void)ctx;
	if (ev->kind == EXEC_EV_REACHABLE)
		return; /* no job's (the cluster answers again) */
	pthread_mutex_lock(&lock);
	if (nrecs < MAX_EVS) {
		struct rec *r = &recs[nrecs++];
		snprintf(r->job_id, sizeof(r->job_id), "%s", ev->job_id);
		snprintf(r->handle, sizeof(r->handle), "%s", ev->handle);
		snprintf(r->reason, sizeof(r->reason), "%s", ev->reason ? ev->reason : "");
		r->ev = *ev;
	}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Index of the event `kind` of job `id`, waiting up to timeout_ms; -1. */
static int wait_ev(const char *id, enum exec_event_kind kind, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	int found = -1;

	pthread_mutex_lock(&lock);
	while (found < 0) {
		struct timespec ts;
		for (size_t i = 0; i < nrecs && found < 0; i++) {
			if (strcmp(recs[i].job_id, id) == 0 && recs[i].ev.kind == kind)
				found = (int)i;
		}
		if (found >= 0 || time_mono_ms() >= end)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int count_ev(const char *id, enum exec_event_kind kind)
{
	int n = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nrecs; i++)
		n += strcmp(recs[i].job_id, id) == 0 && recs[i].ev.kind == kind;
	pthread_mutex_unlock(&lock);
	return n;
}

struct job {
	char id[64], dir[512], priv[600], script[700], out[700], err[700];
};

static void job_files(struct job *j, const char *id, const char *script)
{
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->dir, sizeof(j->dir), "%s/%s", tmp, id);
	snprintf(j->priv, sizeof(j->priv), "%s/.opusd", j->dir);
	snprintf(j->script, sizeof(j->script), "%s/script.sh", j->priv);
	snprintf(j->out, sizeof(j->out), "%s/stdout", j->priv);
	snprintf(j->err, sizeof(j->err), "%s/stderr", j->priv);
	CHECK(mkdir_p(j->priv, 0755) == 0);
	CHECK(file_write_all(j->script, script, strlen(script), 0644) == 0);
}

static char *const job_env[] = {
    "PATH=/usr/bin:/bin",
    "OPUS_PARAM=it's $(touch /tmp/opusd-slurm-pwned)\n`id` \"q\"",
    "SLURM_CONF=/must/not/reach/sbatch",
    NULL,
};

static struct exec_spec spec_of(const struct job *j)
{
	struct exec_spec s = {
	    .job_id = j->id,
	    .workdir = j->dir,
	    .script_path = j->script,
	    .envp = job_env,
	    .stdout_path = j->out,
	    .stderr_path = j->err,
	    .time_limit_s = 600,
	};
	return s;
}

static struct exec *open_backend(const struct exec_slurm_config *sc)
{
	struct exec_config c = {.backend = "slurm", .on_event = on_event, .slurm = sc};
	struct exec *ex = NULL;
	if (exec_open(&c, &ex) != 0)
		return NULL;
	return ex;
}

TEST(test_refusals)
{
	struct exec_slurm_config bad = {.partition = "debug\n#SBATCH --uid=0"};
	struct exec_slurm_config bad_args = {.sbatch_args = "--qos=a;b"};
	struct exec_slurm_config ok = {.slurm_conf = "/nonexistent/slurm.conf",
				       .command_timeout_ms = 3000};
	struct exec_submitted sub;
	struct exec *ex;
	struct job j;
	char *why = NULL;

	CHECK(open_backend(&bad) == NULL);
	CHECK(open_backend(&bad_args) == NULL);
	ex = open_backend(&ok);
	CHECK(ex != NULL);
	if (!ex)
		return;
	CHECK(exec_keeps(ex) == EXEC_KEEP_ALL);
	CHECK_STR(exec_backend_name(ex), "slurm");
	/* Another backend's handle, another cluster's, garbage. */
	CHECK(exec_adopt(ex, "j1", "12345") == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "j1", "slurm:other:12") == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "j1", "slurm:slurm:12x") == OPUS_ERR_NOTFOUND);
	CHECK(exec_adopt(ex, "j1", "slurm:slurm:") == OPUS_ERR_NOTFOUND);
	CHECK(exec_cancel(ex, "777", SIGTERM) == OPUS_ERR_NOTFOUND);
	/* A resource value that would be script text. */
	job_files(&j, "refused1", "true\n");
	{
		struct exec_spec s = spec_of(&j);
		s.res.gres = "gpu:1 --uid=0";
		CHECK(exec_submit(ex, &s, &sub, &why) == OPUS_ERR_INVAL);
		CHECK(why && strstr(why, "--gres"));
		free(why);
		why = NULL;
		s.res.gres = NULL;
		s.res.partition = "$(id)";
		CHECK(exec_submit(ex, &s, &sub, &why) == OPUS_ERR_INVAL);
		CHECK(why && strstr(why, "--partition"));
		free(why);
		why = NULL;
	}
	/* No cluster behind that configuration: sbatch's own words. */
	{
		struct exec_spec s = spec_of(&j);
		CHECK(exec_submit(ex, &s, &sub, &why) != 0);
		CHECK(why && strstr(why, "sbatch") != NULL);
		fprintf(stderr, "  (no cluster: %s)\n", why ? why : "");
		free(why);
		why = NULL;
		CHECK(!exec_reachable(ex, &why));
		CHECK(why != NULL);
		free(why);
		why = NULL;
	}
	CHECK(count_ev("refused1", EXEC_EV_SUBMITTED) == 0);
	exec_close(ex);
}

/* slurm.workdir_root without a cluster: what is refused at open; the job's
 * directory copied to ROOT/{id} before sbatch (which then finds no cluster),
 * the batch script's paths and the environment's paths of the job's
 * directory (HOME, an input) moved there, other values left alone. */
TEST(test_workdir_root)
{
	char root[300], jobs[320], data[300], path[PATH_MAX + 16], home[600], input[1500];
	struct exec_slurm_config c = {.slurm_conf = "/nonexistent/slurm.conf",
				      .command_timeout_ms = 3000};
	struct exec_submitted sub;
	struct exec *ex;
	struct job j;
	char *why = NULL, *text = NULL;
	size_t len = 0;

	snprintf(root, sizeof(root), "%s/cluster", tmp);
	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(jobs, sizeof(jobs), "%s/jobs", data);
	c.jobs_dir = jobs;
	c.workdir_root = "relative/dir";
	CHECK(open_backend(&c) == NULL);
	c.workdir_root = data; /* data_dir itself, inside it, holding it */
	CHECK(open_backend(&c) == NULL);
	c.workdir_root = jobs;
	CHECK(open_backend(&c) == NULL);
	c.workdir_root = tmp;
	CHECK(open_backend(&c) == NULL);
	c.workdir_root = root;
	c.jobs_dir = NULL;
	CHECK(open_backend(&c) == NULL);
	c.jobs_dir = jobs;
	ex = open_backend(&c);
	CHECK(ex != NULL);
	if (!ex)
		return;
	job_files(&j, "moved1", "true\n");
	snprintf(path, sizeof(path), "%s/in.txt", j.dir);
	CHECK(file_write_all(path, "input\n", 6, 0644) == 0);
	snprintf(home, sizeof(home), "HOME=%s", j.dir);
	snprintf(input, sizeof(input), "input=%s/in.txt %s/in.txt", j.dir, j.dir);
	{
		char *const env[] = {home, input, "OTHER=x/moved1 /elsewhere", NULL};
		struct exec_spec s = spec_of(&j);
		s.envp = env;
		CHECK(exec_submit(ex, &s, &sub, &why) != 0);
		CHECK(why && strstr(why, "sbatch") != NULL); /* copied, then no cluster */
		free(why);
	}
	snprintf(path, sizeof(path), "%s/moved1/in.txt", root);
	CHECK(file_read_all(path, 4096, &text, &len) == 0);
	CHECK_STR(text, "input\n");
	free(text);
	snprintf(path, sizeof(path), "%s/moved1/.opusd/slurm.sh", root);
	CHECK(file_read_all(path, 1 << 20, &text, &len) == 0);
	snprintf(path, sizeof(path), "#SBATCH --chdir=%s/moved1\n", root);
	CHECK(text && strstr(text, path) != NULL);
	snprintf(path, sizeof(path), "#SBATCH --output=%s/moved1/.opusd/stdout\n", root);
	CHECK(text && strstr(text, path) != NULL);
	snprintf(path, sizeof(path), "opus_script='%s/moved1/.opusd/script.sh'", root);
	CHECK(text && strstr(text, path) != NULL);
	free(text);
	snprintf(path, sizeof(path), "%s/moved1/.opusd/slurm.env", root);
	CHECK(file_read_all(path, 1 << 20, &text, &len) == 0);
	{
		char want[1200];
		int n = snprintf(want, sizeof(want), "HOME=%s/moved1", root);
		CHECK(text && memmem(text, len, want, (size_t)n + 1) != NULL);
		n = snprintf(want, sizeof(want), "input=%s/moved1/in.txt %s/moved1/in.txt", root,
			     root);
		CHECK(text && memmem(text, len, want, (size_t)n + 1) != NULL);
		CHECK(text && memmem(text, len, "OTHER=x/moved1 /elsewhere", 26) != NULL);
	}
	free(text);
	exec_close(ex);
}

/* The batch script holds no value of the job's environment; the values
 * reach the job intact (through sbatch --export-file), and SLURM_* of the
 * job's environment does not steer sbatch. */
static void check_files(const struct job *j)
{
	char path[PATH_MAX + 16], *text = NULL, *env = NULL;
	size_t len = 0, elen = 0;

	snprintf(path, sizeof(path), "%s/slurm.sh", j->priv);
	CHECK(file_read_all(path, 1 << 20, &text, &len) == 0);
	CHECK(text && strstr(text, "#SBATCH --job-name=opus-") != NULL);
	CHECK(text && strstr(text, "#SBATCH --no-requeue") != NULL);
	CHECK(text && strstr(text, "#SBATCH --time=11\n") != NULL); /* 600 s: 10 + 1 min */
	CHECK(text && strstr(text, "touch") == NULL);
	snprintf(path, sizeof(path), "%s/slurm.env", j->priv);
	CHECK(file_read_all(path, 1 << 20, &env, &elen) == 0);
	CHECK(env && memmem(env, elen, "SLURM_CONF", 10) == NULL);
	free(text);
	free(env);
}

static const char *cluster_conf(void)
{
	const char *c = getenv("OPUS_TEST_SLURM_CONF");
	return c && *c ? c : NULL;
}

static struct exec_slurm_config live_config(void)
{
	struct exec_slurm_config c = {
	    .cluster = "opustest",
	    .slurm_conf = cluster_conf(),
	    .poll_interval_ms = 200,
	    .command_timeout_ms = 20000,
	};
	return c;
}

static int submit(struct exec *ex, const struct job *j, const struct exec_resources *res,
		  char handle[EXEC_HANDLE_MAX])
{
	struct exec_spec s = spec_of(j);
	struct exec_submitted sub;
	char *why = NULL;
	int ret;

	if (res)
		s.res = *res;
	ret = exec_submit(ex, &s, &sub, &why);
	if (ret)
		fprintf(stderr, "  submit %s: %s\n", j->id, why ? why : "?");
	free(why);
	CHECK(ret == 0);
	CHECK(!sub.started);
	CHECK(strncmp(sub.handle, "slurm:opustest:", 15) == 0);
	snprintf(handle, EXEC_HANDLE_MAX, "%s", sub.handle);
	return ret;
}

#define LONG_WAIT 90000

TEST(test_completes)
{
	struct exec_slurm_config c = live_config();
	struct exec *ex = open_backend(&c);
	char h[EXEC_HANDLE_MAX], *out = NULL;
	size_t len = 0;
	struct job j;
	int e;

	CHECK(ex != NULL);
	if (!ex)
		return;
	job_files(&j, "done1",
		  "printf '%s' \"$OPUS_PARAM\" > param.txt\necho \"out $SLURM_JOB_ID\"\n"
		  "echo err >&2\n");
	if (submit(ex, &j, NULL, h) == 0) {
		check_files(&j);
		CHECK(wait_ev("done1", EXEC_EV_SUBMITTED, LONG_WAIT) >= 0);
		e = wait_ev("done1", EXEC_EV_ENDED, LONG_WAIT);
		CHECK(e >= 0);
		if (e >= 0) {
			CHECK(recs[e].ev.end == EXEC_END_EXITED);
			CHECK(recs[e].ev.exit_code == 0);
			CHECK_STR(recs[e].handle, h);
		}
		CHECK(count_ev("done1", EXEC_EV_STARTED) == 1);
		CHECK(count_ev("done1", EXEC_EV_ENDED) == 1);
		CHECK(file_read_all(j.out, 4096, &out, &len) == 0);
		{
			char want[64];
			snprintf(want, sizeof(want), "out %s\n", strrchr(h, ':') + 1);
			CHECK_STR(out, want);
		}
		free(out);
		{
			char p[PATH_MAX + 16];
			snprintf(p, sizeof(p), "%s/param.txt", j.dir);
			CHECK(file_read_all(p, 4096, &out, &len) == 0);
			CHECK(out && strcmp(out, job_env[1] + strlen("OPUS_PARAM=")) == 0);
			free(out);
		}
		CHECK(access("/tmp/opusd-slurm-pwned", F_OK) != 0);
		CHECK(exec_reachable(ex, &out));
	}
	exec_close(ex);
}

TEST(test_fails)
{
	struct exec_slurm_config c = live_config();
	struct exec *ex = open_backend(&c);
	char h[EXEC_HANDLE_MAX];
	struct job j;
	int e;

	CHECK(ex != NULL);
	if (!ex)
		return;
	/* sbatch refuses it: its own words, and the cluster did answer. */
	job_files(&j, "nopart1", "true\n");
	{
		struct exec_spec s = spec_of(&j);
		struct exec_submitted sub;
		char *why = NULL;
		s.res.partition = "nosuchpartition";
		CHECK(exec_submit(ex, &s, &sub, &why) != 0);
		CHECK(why && strstr(why, "partition") != NULL);
		free(why);
		why = NULL;
		CHECK(exec_reachable(ex, &why));
		free(why);
	}
	job_files(&j, "fail1", "echo bad input >&2\nexit 3\n");
	if (submit(ex, &j, NULL, h) == 0) {
		e = wait_ev("fail1", EXEC_EV_ENDED, LONG_WAIT);
		CHECK(e >= 0);
		if (e >= 0) {
			CHECK(recs[e].ev.end == EXEC_END_EXITED);
			CHECK(recs[e].ev.exit_code == 3);
		}
	}
	exec_close(ex);
}

/* A RUNNING job that holds every CPU, one PENDING behind it: the pending one
 * cancelled with TERM leaves without starting, the running one with KILL. A
 * third, running, with TERM (its trap runs). */
TEST(test_cancel)
{
	struct exec_slurm_config c = live_config();
	struct exec *ex = open_backend(&c);
	struct exec_resources all = {.cpus_per_task = 8};
	char hr[EXEC_HANDLE_MAX], hp[EXEC_HANDLE_MAX], ht[EXEC_HANDLE_MAX];
	struct job r, p, t;
	int e;

	CHECK(ex != NULL);
	if (!ex)
		return;
	job_files(&r, "run1", "sleep 600\n");
	job_files(&p, "pend1", "echo never\n");
	job_files(&t, "term1", "sleep 600\n");
	if (submit(ex, &r, &all, hr) != 0 || submit(ex, &p, &all, hp) != 0) {
		exec_close(ex);
		return;
	}
	CHECK(wait_ev("run1", EXEC_EV_STARTED, LONG_WAIT) >= 0);
	CHECK(wait_ev("pend1", EXEC_EV_SUBMITTED, LONG_WAIT) >= 0);
	CHECK(exec_cancel(ex, hp, SIGTERM) == 0);
	e = wait_ev("pend1", EXEC_EV_ENDED, LONG_WAIT);
	CHECK(e >= 0 && recs[e].ev.end == EXEC_END_CANCELLED);
	CHECK(count_ev("pend1", EXEC_EV_STARTED) == 0);
	CHECK(exec_cancel(ex, hr, SIGKILL) == 0);
	e = wait_ev("run1", EXEC_EV_ENDED, LONG_WAIT);
	CHECK(e >= 0 && recs[e].ev.end == EXEC_END_CANCELLED);
	if (submit(ex, &t, NULL, ht) == 0) {
		CHECK(wait_ev("term1", EXEC_EV_STARTED, LONG_WAIT) >= 0);
		CHECK(exec_cancel(ex, ht, SIGTERM) == 0);
		e = wait_ev("term1", EXEC_EV_ENDED, LONG_WAIT);
		CHECK(e >= 0 && recs[e].ev.end == EXEC_END_CANCELLED);
	}
	exec_close(ex);
}

/* A job SLURM never had, and a real one adopted by a second backend after
 * the first closed (the job kept running meanwhile). */
TEST(test_adopt)
{
	struct exec_slurm_config c = live_config();
	struct exec *ex = open_backend(&c);
	char h[EXEC_HANDLE_MAX];
	struct job j;
	int e;

	CHECK(ex != NULL);
	if (!ex)
		return;
	CHECK(exec_adopt(ex, "ghost1", "slurm:opustest:987654") == 0);
	e = wait_ev("ghost1", EXEC_EV_ENDED, LONG_WAIT);
	CHECK(e >= 0 && recs[e].ev.end == EXEC_END_LOST);
	job_files(&j, "adopt1", "sleep 2\nexit 5\n");
	if (submit(ex, &j, NULL, h) == 0) {
		CHECK(wait_ev("adopt1", EXEC_EV_SUBMITTED, LONG_WAIT) >= 0);
		exec_close(ex);
		ex = open_backend(&c);
		CHECK(ex != NULL);
		if (!ex)
			return;
		CHECK(exec_adopt(ex, "adopt1", h) == 0);
		e = wait_ev("adopt1", EXEC_EV_ENDED, LONG_WAIT);
		CHECK(e >= 0 && recs[e].ev.end == EXEC_END_EXITED && recs[e].ev.exit_code == 5);
	}
	exec_close(ex);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-test-slurm-XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpl))
		return 1;
	snprintf(tmp, sizeof(tmp), "%s", tmpl);
	chmod(tmp, 0755);
	RUN(test_refusals);
	RUN(test_workdir_root);
	if (cluster_conf()) {
		RUN(test_completes);
		RUN(test_fails);
		RUN(test_cancel);
		RUN(test_adopt);
	} else {
		printf("test_exec_slurm: OPUS_TEST_SLURM_CONF unset: the cluster tests run in "
		       "tests/slurm\n");
	}
	(void)rm_rf(tmp);
	return CHECK_DONE();
}
