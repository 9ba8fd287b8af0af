/* Unit tests for src/sched against the real store (SQLite), jdl registry
 * and local executor, with a few job descriptions written to a temp dir. */
#include "auth/auth.h"
#include "base/base.h"
#include "check.h"
#include "exec/exec.h"
#include "jdl/jdl.h"
#include "prov/prov.h"
#include "sched/sched.h"
#include "store/store.h"
#include "uws/uws.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[PATH_MAX];
static struct store *st;
static struct jdl_registry *reg;
static struct sched *sc;
static struct sched_config cfg;
static struct prov *pv;
static char data[PATH_MAX + 8];

/* One job description in the OPUS VOTable format; script lines end in \r\n. */
static void write_jdl(const char *name, const char *script_xml, int duration, const char *params,
		      const char *generated)
{
	char *xml = xasprintf(
	    "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" version=\"1.3\">\n"
	    "<RESOURCE ID=\"%s\" name=\"%s\" type=\"meta\" "
	    "utype=\"voprov:ActivityDescription\">\n"
	    "<DESCRIPTION>test job</DESCRIPTION>\n"
	    "<PARAM name=\"executionDuration\" value=\"%d\" datatype=\"int\" "
	    "utype=\"uws:Job.executionDuration\"/>\n"
	    "<PARAM name=\"quote\" value=\"7\" datatype=\"int\" utype=\"uws:Job.quote\"/>\n"
	    "<PARAM name=\"script\" value=\"%s\" arraysize=\"*\" datatype=\"char\"/>\n"
	    "<GROUP name=\"InputParams\">%s</GROUP>\n"
	    "<GROUP name=\"Used\"/>\n"
	    "<GROUP name=\"Generated\">%s</GROUP>\n"
	    "</RESOURCE>\n</VOTABLE>\n",
	    name, name, duration, script_xml, params, generated);
	char *dir = xasprintf("%s/jdl", tmp);
	char *path = xasprintf("%s/%s.xml", dir, name);
	CHECK(mkdir_p(dir, 0750) == 0);
	CHECK(file_write_all(path, xml, strlen(xml), 0640) == 0);
	free(xml);
	free(dir);
	free(path);
}

static void write_jdls(void)
{
	const char *text_param =
	    "<PARAM name=\"text\" datatype=\"char\" arraysize=\"*\" value=\"Hello\"/>";
	const char *secs_param = "<PARAM name=\"secs\" datatype=\"int\" value=\"30\"/>";
	const char *output =
	    "<GROUP name=\"output\" utype=\"voprov:WasGeneratedBy\">"
	    "<PARAM name=\"default\" value=\"output.txt\" arraysize=\"*\" datatype=\"char\"/>"
	    "<PARAM name=\"content_type\" value=\"text/plain\" arraysize=\"*\" "
	    "datatype=\"char\"/></GROUP>";

	write_jdl("copy", "printf '%s\\n' &quot;$text&quot; &gt; &quot;$output&quot;&#13;&#10;", 20,
		  text_param, output);
	write_jdl("fail",
		  "echo starting&#13;&#10;echo &quot;something broke&quot; "
		  "&gt;&amp;2&#13;&#10;exit 3&#13;&#10;",
		  20, "", "");
	write_jdl("sleepy", "sleep &quot;$secs&quot;&#13;&#10;", 0, secs_param, "");
}

static int open_sched(int max_running)
{
	cfg = (struct sched_config){
	    .data_dir = NULL,
	    .exec_backend = "local",
	    .max_running = max_running,
	    .default_execution_duration = 60,
	    .max_execution_duration = 3600,
	    .default_destruction = 86400,
	    .max_destruction = 0,
	    .kill_grace_ms = 500,
	    .prov = pv,
	};
	cfg.data_dir = data;
	return sched_open(&cfg, st, reg, &sc);
}

/* Creates a job with optional parameters "name", "value" pairs (NULL ended). */
static void create(const char *jobdef, bool run, int64_t duration, char id_out[UWS_ID_LEN + 1], ...)
{
	struct uws_job job = {0};
	va_list ap;
	const char *name;

	job.jobdef = xstrdup(jobdef);
	job.execution_duration = duration;
	va_start(ap, id_out);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		uws_job_add_param(&job, name, value, false);
	}
	va_end(ap);
	CHECK(sched_job_create(sc, &job, run) == 0);
	memcpy(id_out, job.id, UWS_ID_LEN + 1);
	uws_job_release(&job);
}

static enum uws_phase phase_of(const char *id)
{
	struct uws_job job = {0};
	enum uws_phase p = UWS_UNKNOWN;
	if (store_job_get(st, id, &job) == 0)
		p = job.phase;
	uws_job_release(&job);
	return p;
}

/* Polls the store until the job is in phase p (test code only). */
static bool wait_phase(const char *id, enum uws_phase p, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (phase_of(id) != p) {
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

static bool job_gone(const char *id)
{
	struct uws_job job = {0};
	bool gone = store_job_get(st, id, &job) == OPUS_ERR_NOTFOUND;
	uws_job_release(&job);
	return gone;
}

static bool dir_exists(const char *id)
{
	char *dir = sched_job_dir(sc, id);
	struct stat sb;
	bool ok = stat(dir, &sb) == 0;
	free(dir);
	return ok;
}

/* The directory is removed by a worker after the delete returned. */
static bool dir_gone(const char *id, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (dir_exists(id)) {
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* The local backend's handle is the job's process group id. */
static int64_t pgid_of(const struct uws_job *job)
{
	return strtoll(job->exec_handle, NULL, 10);
}

static bool group_gone(int64_t pgid, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (pgid > 0 && kill(-(pid_t)pgid, 0) == 0) {
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* After sched_close() exec's reaper is gone: a killed job may linger as a
 * zombie (kill(2) still finds it), so reap the group here as we wait. */
static bool group_gone_after_close(int64_t pgid, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (pgid > 0) {
		while (waitpid(-(pid_t)pgid, NULL, WNOHANG) > 0)
			;
		if (kill(-(pid_t)pgid, 0) != 0)
			return true;
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

static bool wait_idle(int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	struct sched_stats ss;
	for (;;) {
		sched_get_stats(sc, &ss);
		if (ss.running == 0 && ss.queued == 0)
			return true;
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
}

/* The job's activity (provenance): its phase, or UWS_UNKNOWN when none. */
static enum uws_phase activity_phase(const char *id, struct store_activity *out)
{
	struct store_activity a = {0};
	enum uws_phase p = UWS_UNKNOWN;

	if (store_activity_get(st, id, &a) == 0)
		p = a.phase;
	if (out)
		*out = a;
	else
		store_activity_release(&a);
	return p;
}

TEST(create_pending)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0}, bad = {0};
	int64_t now = time_now_ms();

	create("copy", false, 0, id, "text", "hi", NULL);
	CHECK(uws_id_is_valid(id));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_PENDING);
	CHECK(job.creation_time >= now - 1000 && job.creation_time <= now + 1000);
	CHECK(job.quote == 7);
	CHECK(job.execution_duration == 20);
	CHECK(job.jdl_hash && strlen(job.jdl_hash) == 64);
	CHECK(job.destruction_time >= now + 86400000 - 1000);
	CHECK(job.start_time == 0 && job.end_time == 0);
	uws_job_release(&job);
	bad.jobdef = xstrdup("nosuch");
	CHECK(sched_job_create(sc, &bad, false) == OPUS_ERR_NOTFOUND);
	uws_job_release(&bad);
	/* execution duration: unlimited is clamped to the cap */
	create("sleepy", false, 0, id, NULL);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.execution_duration == 60);
	uws_job_release(&job);
	CHECK(sched_job_set_execution_duration(sc, id, 0) == 0);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.execution_duration == 3600);
	uws_job_release(&job);
}

TEST(run_completes_with_results)
{
	char id[UWS_ID_LEN + 1];
	const char *text = "Hello $(touch pwned) `id` 'q' \"dq\"";
	struct uws_job job = {0};

	create("copy", true, 0, id, "text", text, NULL);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.start_time > 0 && job.end_time >= job.start_time);
	CHECK(job.error_summary == NULL);
	const struct uws_result *out = uws_job_result(&job, "output");
	CHECK(out && strcmp(out->path, "output.txt") == 0);
	CHECK(out && out->mime && strcmp(out->mime, "text/plain") == 0);
	CHECK(out && out->size == (int64_t)strlen(text) + 1);
	CHECK(uws_job_result(&job, "stdout") != NULL);
	CHECK(uws_job_result(&job, "stderr") != NULL);
	/* every result is an entity, with the sha256 of its file */
	for (size_t i = 0; i < job.nresults; i++) {
		const struct uws_result *r = &job.results[i];
		struct store_entity e = {0};
		char *dir0 = sched_job_dir(sc, id), *rp = xasprintf("%s/%s", dir0, r->path),
		     hex[65] = "", *blob;
		int64_t size = -1;
		struct stat sa, sb;
		CHECK(sha256_file(rp, hex, &size) == 0);
		CHECK(r->sha256 && strcmp(r->sha256, hex) == 0);
		CHECK(r->entity_id && store_entity_id_is_valid(r->entity_id));
		CHECK(r->entity_id && store_entity_get(st, r->entity_id, &e) == 0);
		CHECK_STR(e.sha256, hex);
		CHECK_STR(e.generated_by, id);
		CHECK_STR(e.result_id, r->id);
		CHECK(e.size == size);
		/* the file is a link to its blob */
		blob = prov_blob_path(pv, hex);
		CHECK(stat(rp, &sa) == 0 && stat(blob, &sb) == 0 && sa.st_ino == sb.st_ino);
		store_entity_release(&e);
		free(blob);
		free(rp);
		free(dir0);
	}
	CHECK(job.metrics.known && job.metrics.exit_code == 0);
	CHECK(job.metrics.wall_ms == job.end_time - job.start_time);
	CHECK(job.metrics.cpu_ms >= 0 && job.metrics.max_rss_kb > 0);
	uws_job_release(&job);
	{
		struct store_activity act;
		bool text_given = false;
		CHECK(activity_phase(id, &act) == UWS_COMPLETED);
		CHECK_STR(act.jobdef, "copy");
		CHECK(act.metrics.known && act.metrics.exit_code == 0);
		for (size_t i = 0; i < act.nparams; i++)
			if (strcmp(act.params[i].name, "text") == 0)
				text_given = !act.params[i].is_default;
		CHECK(text_given);
		store_activity_release(&act);
	}

	char *dir = sched_job_dir(sc, id), *path = xasprintf("%s/output.txt", dir), *buf = NULL;
	char *pwned = xasprintf("%s/pwned", dir), *want = xasprintf("%s\n", text);
	size_t len;
	struct stat sb;
	CHECK(file_read_all(path, 4096, &buf, &len) == 0);
	CHECK_STR(buf, want);
	CHECK(stat(pwned, &sb) < 0);
	free(buf);
	free(path);
	free(pwned);
	free(want);
	path = xasprintf("%s/.opusd/script.sh", dir);
	CHECK(file_read_all(path, 4096, &buf, &len) == 0);
	CHECK(buf && !strchr(buf, '\r'));
	free(buf);
	free(path);
	free(dir);
}

TEST(failing_script_is_error)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};

	create("fail", true, 0, id, NULL);
	CHECK(wait_phase(id, UWS_ERROR, 10000));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK_STR(job.error_summary, "something broke");
	CHECK(uws_job_result(&job, "stdout") && uws_job_result(&job, "stdout")->size == 9);
	CHECK(job.metrics.known && job.metrics.exit_code == 3);
	uws_job_release(&job);
	{
		struct store_activity act;
		CHECK(activity_phase(id, &act) == UWS_ERROR);
		CHECK_STR(act.error_summary, "something broke");
		CHECK(act.metrics.exit_code == 3);
		store_activity_release(&act);
	}
}

TEST(execution_duration_enforced)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	int64_t t0 = time_mono_ms();

	create("sleepy", true, 1, id, "secs", "30", NULL);
	CHECK(wait_phase(id, UWS_ERROR, 4000));
	CHECK(time_mono_ms() - t0 < 3500);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK_STR(job.error_summary, "execution duration exceeded");
	CHECK(group_gone(pgid_of(&job), 2000));
	/* killed by SIGTERM: 128 + 15 */
	CHECK(job.metrics.known && job.metrics.exit_code == 128 + SIGTERM);
	CHECK(activity_phase(id, NULL) == UWS_ERROR);
	uws_job_release(&job);
}

/* What a WAIT woken by an abort sees: the job as a client would read it. */
static atomic_int abort_woken, abort_seen_final;
static void on_abort_wake(void *ctx)
{
	struct uws_job job = {0};
	if (store_job_get(st, ctx, &job) == 0 && job.phase == UWS_ABORTED && job.end_time > 0 &&
	    uws_job_result(&job, "stderr") != NULL)
		atomic_store(&abort_seen_final, 1);
	uws_job_release(&job);
	atomic_store(&abort_woken, 1);
}

TEST(abort_executing)
{
	static char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	int64_t end;

	create("sleepy", true, 0, id, "secs", "30", NULL);
	CHECK(wait_phase(id, UWS_EXECUTING, 5000));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(pgid_of(&job) > 0);
	atomic_store(&abort_woken, 0);
	atomic_store(&abort_seen_final, 0);
	CHECK(sched_wait(sc, id, UWS_EXECUTING, 10000, on_abort_wake, id) == 0);
	CHECK(sched_job_abort(sc, id) == 0);
	CHECK(phase_of(id) == UWS_ABORTED);
	/* The waiter wakes once the job is final with its results, not before. */
	end = time_mono_ms() + 5000;
	while (!atomic_load(&abort_woken) && time_mono_ms() < end)
		usleep(5000);
	CHECK(atomic_load(&abort_woken) && atomic_load(&abort_seen_final));
	CHECK(group_gone(pgid_of(&job), 3000));
	CHECK(wait_idle(3000));
	uws_job_release(&job);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_ABORTED && job.end_time > 0);
	CHECK(uws_job_result(&job, "stderr") != NULL);
	uws_job_release(&job);
	CHECK(activity_phase(id, NULL) == UWS_ABORTED);
	CHECK(sched_job_abort(sc, id) == OPUS_ERR_PHASE);
	CHECK(sched_job_run(sc, id) == OPUS_ERR_PHASE);
	/* PENDING and QUEUED abort at once, with their activity */
	create("sleepy", false, 0, id, NULL);
	CHECK(sched_job_abort(sc, id) == 0);
	CHECK(phase_of(id) == UWS_ABORTED);
	{
		struct store_activity act;
		CHECK(activity_phase(id, &act) == UWS_ABORTED);
		CHECK(act.start_time == 0 && act.end_time > 0 && !act.metrics.known);
		store_activity_release(&act);
	}
	CHECK(sched_job_abort(sc, "0123") == OPUS_ERR_NOTFOUND);
}

static atomic_int wake_count;
static void on_wake(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&wake_count, 1);
}

static bool wait_wakes(int n, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (atomic_load(&wake_count) < n) {
		if (time_mono_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

TEST(wait_wakes_and_times_out)
{
	char id[UWS_ID_LEN + 1];
	struct sched_stats ss;
	int64_t t0;

	atomic_store(&wake_count, 0);
	create("copy", false, 0, id, NULL);
	/* times out */
	t0 = time_mono_ms();
	CHECK(sched_wait(sc, id, UWS_PENDING, 200, on_wake, NULL) == 0);
	sched_get_stats(sc, &ss);
	CHECK(ss.waiters == 1);
	CHECK(wait_wakes(1, 2000));
	CHECK(time_mono_ms() - t0 >= 190);
	usleep(100000);
	CHECK(atomic_load(&wake_count) == 1);
	/* woken by the phase change, long before its timeout */
	t0 = time_mono_ms();
	CHECK(sched_wait(sc, id, UWS_PENDING, 30000, on_wake, NULL) == 0);
	CHECK(sched_wait(sc, id, UWS_PENDING, 30000, on_wake, NULL) == 0);
	CHECK(sched_job_run(sc, id) == 0);
	CHECK(wait_wakes(3, 2000));
	CHECK(time_mono_ms() - t0 < 2000);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(wait_idle(2000));
	usleep(50000);
	CHECK(atomic_load(&wake_count) == 3);
	sched_get_stats(sc, &ss);
	CHECK(ss.waiters == 0);
	/* nothing to wait for */
	CHECK(sched_wait(sc, id, UWS_PENDING, 1000, on_wake, NULL) == 1);
	CHECK(sched_wait(sc, id, UWS_COMPLETED, 1000, on_wake, NULL) == 1);
	CHECK(sched_wait(sc, "ffffffffffffffffffffffffffffffff", UWS_PENDING, 1000, on_wake,
			 NULL) == OPUS_ERR_NOTFOUND);
	CHECK(sched_wait(sc, "../etc", UWS_PENDING, 1000, on_wake, NULL) == OPUS_ERR_NOTFOUND);
	create("copy", false, 0, id, NULL);
	CHECK(sched_wait(sc, id, UWS_PENDING, 0, on_wake, NULL) == 1);
	/* woken by a delete */
	CHECK(sched_wait(sc, id, UWS_PENDING, 30000, on_wake, NULL) == 0);
	CHECK(sched_job_delete(sc, id) == 0);
	CHECK(wait_wakes(4, 2000));
	usleep(50000);
	CHECK(atomic_load(&wake_count) == 4);
}

static atomic_int per_waiter[200];
static void on_wake_one(void *ctx)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

/* Many waiters with mixed timeouts: the heap fires some, the phase change the rest. */
TEST(many_waiters_each_called_once)
{
	char id[UWS_ID_LEN + 1];
	struct sched_stats ss;
	int64_t end;
	bool all = false;

	create("copy", false, 0, id, NULL);
	for (int i = 0; i < 200; i++) {
		atomic_store(&per_waiter[i], 0);
		CHECK(sched_wait(sc, id, UWS_PENDING, 20 + (i * 37) % 400, on_wake_one,
				 &per_waiter[i]) == 0);
	}
	usleep(200000);
	CHECK(sched_job_run(sc, id) == 0);
	end = time_mono_ms() + 3000;
	while (!all && time_mono_ms() < end) {
		all = true;
		for (int i = 0; i < 200; i++)
			all = all && atomic_load(&per_waiter[i]) >= 1;
		usleep(5000);
	}
	CHECK(all);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	usleep(500000);
	for (int i = 0; i < 200; i++)
		CHECK(atomic_load(&per_waiter[i]) == 1);
	sched_get_stats(sc, &ss);
	CHECK(ss.waiters == 0);
}

TEST(params_and_duration_only_when_pending)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	struct uws_param set[] = {{.name = "TEXT", .value = "changed", .by_ref = false}};

	create("copy", false, 0, id, "text", "first", NULL);
	CHECK(sched_job_set_params(sc, id, set, 1) == 0);
	CHECK(sched_job_set_execution_duration(sc, id, 5) == 0);
	CHECK(sched_job_set_execution_duration(sc, id, -1) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.nparams == 1);
	CHECK(uws_job_param(&job, "text") &&
	      strcmp(uws_job_param(&job, "text")->value, "changed") == 0);
	CHECK(job.execution_duration == 5);
	uws_job_release(&job);
	CHECK(sched_job_run(sc, id) == 0);
	CHECK(sched_job_run(sc, id) == 0 || phase_of(id) == UWS_COMPLETED);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(sched_job_set_params(sc, id, set, 1) == OPUS_ERR_PHASE);
	CHECK(sched_job_set_execution_duration(sc, id, 5) == OPUS_ERR_PHASE);
	CHECK(sched_job_run(sc, id) == OPUS_ERR_PHASE);
}

TEST(destruction_in_the_past)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	int64_t t0;

	create("copy", true, 0, id, NULL);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(dir_exists(id));
	t0 = time_mono_ms();
	CHECK(sched_job_set_destruction(sc, id, time_now_ms() - 3600 * 1000) == 0);
	/* destruction archives: ARCHIVED, files gone, record and provenance kept */
	while ((phase_of(id) != UWS_ARCHIVED || dir_exists(id)) && time_mono_ms() - t0 < 3000)
		usleep(10000);
	CHECK(phase_of(id) == UWS_ARCHIVED);
	CHECK(!dir_exists(id));
	CHECK(time_mono_ms() - t0 < 2000);
	CHECK(activity_phase(id, NULL) == UWS_COMPLETED);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.destruction_time == 0); /* never picked again */
	uws_job_release(&job);
	/* created with a past destruction time: clamped to now, then archived,
	 * ending ABORTED first (it never ran) */
	job.jobdef = xstrdup("copy");
	job.destruction_time = 1000;
	job.destruction_set = true;
	CHECK(sched_job_create(sc, &job, false) == 0);
	t0 = time_mono_ms();
	while (phase_of(job.id) != UWS_ARCHIVED && time_mono_ms() - t0 < 3000)
		usleep(10000);
	CHECK(phase_of(job.id) == UWS_ARCHIVED);
	CHECK(activity_phase(job.id, NULL) == UWS_ABORTED);
	uws_job_release(&job);
	/* a running job is stopped, ends ABORTED, then is archived */
	create("sleepy", true, 0, id, "secs", "30", NULL);
	CHECK(wait_phase(id, UWS_EXECUTING, 5000));
	CHECK(sched_job_set_destruction(sc, id, time_now_ms() - 1000) == 0);
	t0 = time_mono_ms();
	while (phase_of(id) == UWS_EXECUTING && time_mono_ms() - t0 < 5000)
		usleep(1000);
	/* final (ABORTED, then ARCHIVED) only with its provenance */
	CHECK(activity_phase(id, NULL) == UWS_ABORTED);
	CHECK(wait_phase(id, UWS_ARCHIVED, 5000));
	CHECK(activity_phase(id, NULL) == UWS_ABORTED);
	CHECK(dir_gone(id, 3000));
	CHECK(wait_idle(3000));
}

TEST(delete_removes_dir)
{
	char id[UWS_ID_LEN + 1], text[17];
	struct uws_job job = {0};

	rand_hex(text, 8); /* an output no other job has: its blob is this job's only */
	create("copy", true, 0, id, "text", text, NULL);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(dir_exists(id));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(sched_job_delete(sc, id) == 0);
	CHECK(job_gone(id));
	CHECK(dir_gone(id, 3000));
	CHECK(sched_job_delete(sc, id) == OPUS_ERR_NOTFOUND);
	/* the record is gone, the provenance stays; the blobs only it held go */
	CHECK(activity_phase(id, NULL) == UWS_COMPLETED);
	{
		const struct uws_result *out = uws_job_result(&job, "output");
		struct store_entity e = {0};
		char *blob = out && out->sha256 ? prov_blob_path(pv, out->sha256) : NULL;
		int64_t end = time_mono_ms() + 3000;
		CHECK(out && out->entity_id && store_entity_get(st, out->entity_id, &e) == 0);
		CHECK(e.invalidation_time > 0);
		while (blob && access(blob, F_OK) == 0 && time_mono_ms() < end)
			usleep(10000);
		CHECK(blob && access(blob, F_OK) != 0);
		store_entity_release(&e);
		free(blob);
	}
	uws_job_release(&job);
	/* a running job is killed too */
	create("sleepy", true, 0, id, "secs", "30", NULL);
	CHECK(wait_phase(id, UWS_EXECUTING, 5000));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(sched_job_delete(sc, id) == 0);
	CHECK(job_gone(id));
	CHECK(group_gone(pgid_of(&job), 3000));
	CHECK(wait_idle(3000));
	CHECK(!dir_exists(id));
	uws_job_release(&job);
}

TEST(concurrency_limit_one)
{
	char ids[3][UWS_ID_LEN + 1];
	struct uws_job jobs[3];
	bool done = false;
	int max_exec = 0;
	int64_t end;

	sched_close(sc);
	sc = NULL;
	CHECK(open_sched(1) == 0);
	for (int i = 0; i < 3; i++)
		create("sleepy", true, 0, ids[i], "secs", "0.3", NULL);
	end = time_mono_ms() + 10000;
	while (!done && time_mono_ms() < end) {
		int executing = 0, completed = 0;
		for (int i = 0; i < 3; i++) {
			enum uws_phase p = phase_of(ids[i]);
			executing += p == UWS_EXECUTING;
			completed += p == UWS_COMPLETED;
		}
		if (executing > max_exec)
			max_exec = executing;
		done = completed == 3;
		usleep(5000);
	}
	CHECK(done);
	CHECK(max_exec == 1);
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 3; i++)
		CHECK(store_job_get(st, ids[i], &jobs[i]) == 0);
	for (int i = 1; i < 3; i++)
		CHECK(jobs[i].start_time >= jobs[i - 1].end_time);
	for (int i = 0; i < 3; i++)
		uws_job_release(&jobs[i]);
	sched_close(sc);
	sc = NULL;
	CHECK(open_sched(4) == 0);
}

TEST(close_requeues_and_reopen_runs)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	int64_t t0;

	create("sleepy", true, 0, id, "secs", "1", NULL);
	CHECK(wait_phase(id, UWS_EXECUTING, 5000));
	CHECK(store_job_get(st, id, &job) == 0);
	t0 = time_mono_ms();
	sched_close(sc);
	sc = NULL;
	CHECK(time_mono_ms() - t0 < 2500);
	CHECK(group_gone_after_close(pgid_of(&job), 3000));
	uws_job_release(&job);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_QUEUED);
	CHECK(job.start_time == 0 && job.exec_handle[0] == '\0' && job.nresults == 0);
	uws_job_release(&job);
	CHECK(open_sched(4) == 0);
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
}

TEST(executing_left_over_is_error_on_open)
{
	struct uws_job job = {0};
	char id[UWS_ID_LEN + 1];
	pid_t dead;

	/* No sched (no reaper) while a dead pid is made for the record. */
	sched_close(sc);
	sc = NULL;
	dead = fork();
	if (dead == 0)
		_exit(0);
	CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
	uws_id_new(job.id);
	memcpy(id, job.id, sizeof(id));
	job.jobdef = xstrdup("sleepy");
	job.phase = UWS_EXECUTING;
	job.creation_time = job.start_time = time_now_ms();
	job.destruction_time = job.creation_time + 3600 * 1000;
	job.execution_duration = 30;
	snprintf(job.exec_handle, sizeof(job.exec_handle), "%d", (int)dead);
	CHECK(store_job_create(st, &job) == 0);
	uws_job_release(&job);
	CHECK(open_sched(4) == 0);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_ERROR);
	CHECK_STR(job.error_summary, "server restarted");
	CHECK(job.end_time > 0);
	CHECK(activity_phase(id, NULL) == UWS_ERROR);
	uws_job_release(&job);
}

/* One row of the end table: sched's kill reason and exec's end, to phase and summary. */
static void check_end(enum sched_kill kill, enum exec_end end, int code, int sig,
		      const char *reason, const char *tail, enum uws_phase want_phase,
		      const char *want_why)
{
	struct exec_event ev = {
	    .kind = EXEC_EV_ENDED,
	    .job_id = "j",
	    .handle = "h",
	    .end = end,
	    .exit_code = code,
	    .term_signal = sig,
	    .reason = reason,
	    .cpu_ms = -1,
	    .max_rss_kb = -1,
	};
	char *why = (char *)"unset";
	enum uws_phase got = sched_end_outcome(kill, &ev, tail, &why);

	if (got != want_phase || (want_why ? !why || strcmp(why, want_why) != 0 : why != NULL))
		fprintf(stderr, "end table: kill %d, end %s, code %d, sig %d: %s \"%s\"\n",
			(int)kill, exec_end_words(end), code, sig, uws_phase_name(got),
			why ? why : "(null)");
	CHECK(got == want_phase);
	if (want_why)
		CHECK(why && strcmp(why, want_why) == 0);
	else
		CHECK(why == NULL);
	free(why);
}

TEST(end_table)
{
	const enum sched_kill N = SCHED_KILL_NONE;

	/* What the backend says, when sched did not stop the run itself. */
	check_end(N, EXEC_END_EXITED, 0, 0, NULL, NULL, UWS_COMPLETED, NULL);
	check_end(N, EXEC_END_EXITED, 0, 0, NULL, "warnings only", UWS_COMPLETED, NULL);
	check_end(N, EXEC_END_EXITED, 3, 0, NULL, "bad input: x", UWS_ERROR, "bad input: x");
	check_end(N, EXEC_END_EXITED, 3, 0, NULL, NULL, UWS_ERROR, "exit code 3");
	check_end(N, EXEC_END_EXITED, 3, 0, NULL, "", UWS_ERROR, "exit code 3");
	check_end(N, EXEC_END_SIGNALLED, -1, SIGSEGV, NULL, NULL, UWS_ERROR, "killed by signal 11");
	check_end(N, EXEC_END_SIGNALLED, -1, 0, NULL, NULL, UWS_ERROR, "exit status lost");
	check_end(N, EXEC_END_TIMEOUT, -1, 0, NULL, NULL, UWS_ERROR, "execution duration exceeded");
	check_end(N, EXEC_END_CANCELLED, -1, 0, NULL, NULL, UWS_ABORTED, "cancelled");
	check_end(N, EXEC_END_CANCELLED, -1, 0, "by 1000", NULL, UWS_ABORTED, "cancelled: by 1000");
	check_end(N, EXEC_END_NODE_FAIL, -1, 0, "node1 down", NULL, UWS_ERROR,
		  "node failure: node1 down");
	check_end(N, EXEC_END_PREEMPTED, -1, 0, NULL, NULL, UWS_ERROR, "preempted");
	check_end(N, EXEC_END_OUT_OF_MEMORY, 0, 0, NULL, NULL, UWS_ERROR, "out of memory");
	check_end(N, EXEC_END_FAILED, 2, 0, "NonZeroExitCode", NULL, UWS_ERROR,
		  "failed to run: NonZeroExitCode (exit code 2)");
	check_end(N, EXEC_END_FAILED, -1, 0, NULL, NULL, UWS_ERROR, "failed to run");
	check_end(N, EXEC_END_LOST, -1, 0, "gone", NULL, UWS_ERROR, "lost by the cluster");
	check_end(N, EXEC_END_COUNT, -1, 0, NULL, NULL, UWS_ERROR, "lost by the cluster");
	/* sched's own kill reason wins over what the backend saw. */
	check_end(SCHED_KILL_TIMEOUT, EXEC_END_EXITED, 0, 0, NULL, NULL, UWS_ERROR,
		  "execution duration exceeded");
	check_end(SCHED_KILL_TIMEOUT, EXEC_END_CANCELLED, -1, 0, NULL, NULL, UWS_ERROR,
		  "execution duration exceeded");
	check_end(SCHED_KILL_TIMEOUT, EXEC_END_SIGNALLED, -1, SIGTERM, NULL, NULL, UWS_ERROR,
		  "execution duration exceeded");
	check_end(SCHED_KILL_ABORT, EXEC_END_CANCELLED, -1, 0, NULL, NULL, UWS_ABORTED, NULL);
	check_end(SCHED_KILL_ABORT, EXEC_END_EXITED, 0, 0, NULL, NULL, UWS_ABORTED, NULL);
	check_end(SCHED_KILL_SHUTDOWN, EXEC_END_CANCELLED, -1, 0, NULL, NULL, UWS_QUEUED, NULL);
	check_end(SCHED_KILL_SHUTDOWN, EXEC_END_SIGNALLED, -1, SIGTERM, NULL, NULL, UWS_QUEUED,
		  NULL);
	check_end(SCHED_KILL_FAILED, EXEC_END_EXITED, 0, 0, NULL, NULL, UWS_ERROR,
		  "could not record the job start");
	/* Every end state has its words. */
	for (int e = 0; e < EXEC_END_COUNT; e++)
		CHECK(exec_end_words((enum exec_end)e)[0] != '\0');
	CHECK_STR(exec_end_words(EXEC_END_COUNT), "unknown end");
}

/* A job QUEUED with a handle was already in the executor's hands: at a
 * restart it is offered for adoption, never submitted again; the local
 * executor takes none, so it ends ERROR "server restarted" instead of
 * running. A QUEUED job without a handle queues and runs as ever. */
TEST(queued_with_handle_is_not_submitted_again)
{
	struct uws_job job = {0};
	char held[UWS_ID_LEN + 1], plain[UWS_ID_LEN + 1];
	pid_t dead;

	sched_close(sc);
	sc = NULL;
	dead = fork();
	if (dead == 0)
		_exit(0);
	CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
	for (int k = 0; k < 2; k++) {
		uws_id_new(job.id);
		memcpy(k ? plain : held, job.id, sizeof(held));
		job.jobdef = xstrdup("copy");
		job.phase = UWS_QUEUED;
		job.creation_time = job.run_request_time = time_now_ms();
		job.destruction_time = job.creation_time + 3600 * 1000;
		struct jdl *j = jdl_registry_get(reg, "copy");
		CHECK(j != NULL);
		job.jdl_hash = xstrdup(j ? j->hash : "");
		jdl_unref(j);
		if (k == 0)
			snprintf(job.exec_handle, sizeof(job.exec_handle), "%d", (int)dead);
		CHECK(store_job_create(st, &job) == 0);
		uws_job_release(&job);
	}
	CHECK(open_sched(4) == 0);
	CHECK(wait_phase(plain, UWS_COMPLETED, 10000));
	CHECK(store_job_get(st, held, &job) == 0);
	CHECK(job.phase == UWS_ERROR);
	CHECK_STR(job.error_summary, "server restarted");
	CHECK(job.exec_handle[0] == '\0' && job.start_time == 0);
	CHECK(activity_phase(held, NULL) == UWS_ERROR);
	uws_job_release(&job);
	CHECK(wait_idle(3000));
}

struct create_arg {
	struct uws_job job;
	atomic_int done;
	int ret;
};

static void *create_thread(void *arg)
{
	struct create_arg *a = arg;
	a->ret = sched_job_create(sc, &a->job, true);
	atomic_store(&a->done, 1);
	return NULL;
}

static bool wait_flag(atomic_int *flag, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	while (!atomic_load(flag)) {
		if (time_mono_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

/*
 * A start that blocks (here: writing the job's script into a FIFO that sched
 * finds where its temporary file goes) must hold up neither the caller of
 * create/RUN nor a request on the same job: starts run on sched's workers
 * and spawn with no job lock held.
 */
TEST(blocked_start_blocks_no_request)
{
	static struct create_arg a;
	char *priv, *fifo;
	pthread_t th;
	int fd;

	memset(&a, 0, sizeof(a));
	uws_id_new(a.job.id);
	a.job.jobdef = xstrdup("sleepy");
	priv = xasprintf("%s/data/jobs/%s/.opusd", tmp, a.job.id);
	fifo = xasprintf("%s/script.sh.tmp.%d", priv, (int)getpid());
	CHECK(mkdir_p(priv, 0750) == 0);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(pthread_create(&th, NULL, create_thread, &a) == 0);
	CHECK(wait_flag(&a.done, 3000)); /* create + RUN returned at once */
	CHECK(a.ret == 0);
	/* the job's lock is free while its start is blocked */
	CHECK(sched_job_abort(sc, a.job.id) == 0);
	CHECK(phase_of(a.job.id) == UWS_ABORTED);
	fd = open(fifo, O_RDONLY | O_NONBLOCK); /* lets the blocked writer go */
	CHECK(fd >= 0);
	CHECK(wait_idle(5000));
	if (fd >= 0)
		close(fd);
	pthread_join(th, NULL);
	CHECK(phase_of(a.job.id) == UWS_ABORTED);
	uws_job_release(&a.job);
	free(priv);
	free(fifo);
}

static int refuse_check(void *ctx, const struct uws_job *job, const struct jdl *j)
{
	(void)ctx;
	(void)job;
	return j ? OPUS_ERR_INVAL : OPUS_ERR_INTERNAL;
}

/* A change is applied whole, in one commit, or not at all. */
TEST(update_is_all_or_nothing)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	struct uws_param p = {.name = "secs", .value = "5"};
	struct sched_change c = {.params = &p,
				 .nparams = 1,
				 .run_id = "r2",
				 .set_duration = true,
				 .duration = 77,
				 .set_destruction = true,
				 .destruction = time_now_ms() + 7200 * 1000,
				 .action = SCHED_ACTION_RUN,
				 .check = refuse_check};

	create("sleepy", false, 0, id, "secs", "30", NULL);
	CHECK(sched_job_update(sc, id, &c) == OPUS_ERR_INVAL);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_PENDING && job.run_id == NULL && job.execution_duration != 77);
	CHECK_STR(uws_job_param(&job, "secs")->value, "30");
	uws_job_release(&job);
	/* without the refusing check, everything at once */
	c.check = NULL;
	c.action = SCHED_ACTION_NONE;
	CHECK(sched_job_update(sc, id, &c) == 0);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_PENDING && job.execution_duration == 77);
	CHECK_STR(job.run_id, "r2");
	CHECK_STR(uws_job_param(&job, "secs")->value, "5");
	uws_job_release(&job);
	/* past PENDING, a run id or a parameter is refused, and nothing changes */
	CHECK(sched_job_abort(sc, id) == 0);
	c.run_id = "r3";
	c.nparams = 0;
	c.set_duration = false;
	CHECK(sched_job_update(sc, id, &c) == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK_STR(job.run_id, "r2");
	uws_job_release(&job);
}

/* A job of owner (NULL: anonymous) running "sleepy" for secs. */
/* Another writer (another daemon on the same database) aborts the job
 * between sched's read and its write: here, from inside the change's check,
 * which runs under the job's stripe after the read. */
static atomic_int raced;
static int race_check(void *ctx, const struct uws_job *job, const struct jdl *j)
{
	struct store_activity act = {.jobdef = NULL};
	struct uws_job other = {0};
	int ret;

	(void)ctx;
	(void)j;
	if (atomic_exchange(&raced, 1))
		return 0;
	CHECK(store_job_get(st, job->id, &other) == 0); /* as stored: PENDING */
	other.phase = UWS_ABORTED;
	other.end_time = time_now_ms();
	free(other.error_summary);
	other.error_summary = xstrdup("aborted elsewhere");
	ret = store_job_end(st, &other, &act, NULL, 0, UWS_PENDING);
	uws_job_release(&other);
	CHECK(ret == 0);
	return 0;
}

/* A lost race is never an overwrite: the change is checked again against
 * the newer job and answered as for it (a RUN of an ABORTED job). */
TEST(lost_race_is_not_an_overwrite)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	struct sched_change c = {.action = SCHED_ACTION_RUN, .check = race_check};
	struct sched_stats stats;

	create("sleepy", false, 0, id, "secs", "30", NULL);
	atomic_store(&raced, 0);
	/* The answer for an ABORTED job, as a RUN of it gets now. */
	CHECK(sched_job_update(sc, id, &c) == OPUS_ERR_PHASE);
	CHECK(atomic_load(&raced) == 1);
	CHECK(sched_job_run(sc, id) == OPUS_ERR_PHASE);
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.phase == UWS_ABORTED && job.run_request_time == 0);
	CHECK_STR(job.error_summary, "aborted elsewhere");
	uws_job_release(&job);
	CHECK(activity_phase(id, NULL) == UWS_ABORTED);
	sched_get_stats(sc, &stats);
	CHECK(stats.queued == 0 && stats.running == 0); /* never queued, never started */
}

/* Runs one SQL statement on the test's own connection to the database. */
static void sql_exec(const char *sql)
{
	char *db = xasprintf("%s/opusd.db", tmp);
	sqlite3 *h = NULL;

	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	CHECK(sqlite3_busy_timeout(h, 5000) == SQLITE_OK);
	CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	free(db);
}

static bool wait_ends_unrecorded(size_t n, int64_t timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;
	struct sched_stats stats;

	for (;;) {
		sched_get_stats(sc, &stats);
		if (stats.ends_unrecorded == n)
			return true;
		if (time_mono_ms() > end)
			return false;
		usleep(10000);
	}
}

/*
 * The store refuses a job's end (a trigger of the test's: what a full disk
 * or a lost database does to the write): the end is retried with back-off
 * on sched's timer and workers, the job reads EXECUTING meanwhile, and once
 * the store takes it again the job is final with its results.
 */
TEST(refused_end_is_retried)
{
	char id[UWS_ID_LEN + 1];
	struct uws_job job = {0};
	char *trigger =
	    xasprintf("CREATE TRIGGER inject_end_refused BEFORE UPDATE OF phase ON jobs "
		      "WHEN NEW.phase = %d BEGIN SELECT RAISE(ABORT, 'injected'); END",
		      (int)UWS_COMPLETED);

	sql_exec(trigger);
	free(trigger);
	create("copy", true, 0, id, "text", "retried", NULL);
	CHECK(wait_ends_unrecorded(1, 10000));
	CHECK(phase_of(id) == UWS_EXECUTING); /* not final before its end is recorded */
	sql_exec("DROP TRIGGER inject_end_refused");
	CHECK(wait_phase(id, UWS_COMPLETED, 10000));
	CHECK(wait_ends_unrecorded(0, 10000));
	CHECK(store_job_get(st, id, &job) == 0);
	CHECK(job.end_time > 0 && uws_job_result(&job, "output") != NULL);
	uws_job_release(&job);
	CHECK(activity_phase(id, NULL) == UWS_COMPLETED);
	CHECK(wait_idle(3000));
}

static void create_owned(const char *owner, const char *secs, char id_out[UWS_ID_LEN + 1])
{
	struct uws_job job = {0};

	job.jobdef = xstrdup("sleepy");
	job.owner = owner ? xstrdup(owner) : NULL;
	uws_job_add_param(&job, "secs", secs, false);
	CHECK(sched_job_create(sc, &job, true) == 0);
	memcpy(id_out, job.id, UWS_ID_LEN + 1);
	uws_job_release(&job);
}

static int count_in(char (*ids)[UWS_ID_LEN + 1], int n, enum uws_phase p)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += phase_of(ids[i]) == p;
	return k;
}

/* alice: her own max_running 1; carol: role "pair" (2); bob: no account,
 * role "user" (none). Expects 1 + 2 + 1 EXECUTING (true on return). */
static bool quota_spread(char (*a)[UWS_ID_LEN + 1], char (*c)[UWS_ID_LEN + 1], const char *b)
{
	int64_t end = time_mono_ms() + 10000;
	while (time_mono_ms() < end) {
		if (count_in(a, 3, UWS_EXECUTING) >= 1 && count_in(c, 3, UWS_EXECUTING) >= 2 &&
		    phase_of(b) == UWS_EXECUTING)
			return count_in(a, 3, UWS_EXECUTING) == 1 &&
			       count_in(c, 3, UWS_EXECUTING) == 2;
		usleep(10000);
	}
	return false;
}

static void quota_accounts(void)
{
	struct store_actor by = {.name = ""};
	struct store_account alice = {.name = "alice",
				      .active = true,
				      .roles = "user",
				      .quota = {.max_running = 1, .max_jobs = -1, .max_bytes = -1}};
	struct store_account carol = {
	    .name = "carol",
	    .active = true,
	    .roles = "pair",
	    .quota = {.max_running = -1, .max_jobs = -1, .max_bytes = -1}};
	struct store_role pair = {.name = "pair", .run = "*", .quota = {.max_running = 2}};

	auth_hash_token("alice-token", alice.token_hash);
	auth_hash_token("carol-token", carol.token_hash);
	CHECK(store_role_put(st, &pair, &by) == 0);
	CHECK(store_account_create(st, &alice, &by) == 0);
	CHECK(store_account_create(st, &carol, &by) == 0);
}

/* Quota max_running: a job of an owner at its limit waits QUEUED while the
 * jobs of others pass it, and starts when one of the owner's runs ends;
 * the limits hold again after a restart. */
TEST(owner_max_running_queues)
{
	char a[3][UWS_ID_LEN + 1], c[3][UWS_ID_LEN + 1], b[UWS_ID_LEN + 1];

	quota_accounts();
	sched_close(sc);
	sc = NULL;
	CHECK(open_sched(8) == 0);
	for (int i = 0; i < 3; i++)
		create_owned("alice", "30", a[i]);
	for (int i = 0; i < 3; i++)
		create_owned("carol", "30", c[i]);
	create_owned("bob", "30", b);
	CHECK(quota_spread(a, c, b));
	CHECK(phase_of(a[0]) == UWS_EXECUTING); /* in order */
	CHECK(count_in(a, 3, UWS_QUEUED) == 2);
	CHECK(phase_of(c[2]) == UWS_QUEUED);
	CHECK(sched_job_abort(sc, a[0]) == 0);
	CHECK(wait_phase(a[1], UWS_EXECUTING, 10000));
	CHECK(phase_of(a[2]) == UWS_QUEUED);
	/* after a restart: queued again, under the same limits */
	sched_close(sc);
	sc = NULL;
	CHECK(open_sched(8) == 0);
	CHECK(quota_spread(a, c, b));
	CHECK(count_in(a, 3, UWS_QUEUED) == 1);
	for (int i = 0; i < 3; i++) {
		CHECK(sched_job_abort(sc, a[i]) == (i == 0 ? OPUS_ERR_PHASE : 0));
		CHECK(sched_job_abort(sc, c[i]) == 0);
	}
	CHECK(sched_job_abort(sc, b) == 0);
	sched_close(sc);
	sc = NULL;
	CHECK(open_sched(4) == 0);
}

int main(void)
{
	char tmpl[] = "/tmp/opusd-test-sched-XXXXXX";
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	log_set_level(LOG_WARN);
	if (!mkdtemp(tmpl) || !realpath(tmpl, tmp))
		return 2;
	write_jdls();
	char *jdir = xasprintf("%s/jdl", tmp), *db = xasprintf("%s/opusd.db", tmp);
	struct store_config scfg = {.backend = "sqlite", .path = db};
	struct prov_config pc = {.data_dir = data, .base_url = "http://x", .max_depth = 4};
	snprintf(data, sizeof(data), "%s/data", tmp);
	reg = jdl_registry_new(jdir, NULL);
	if (jdl_registry_load(reg) != 3 || store_open(&scfg, &st) != 0 ||
	    prov_open(&pc, st, reg, &pv) != 0 || open_sched(4) != 0) {
		fprintf(stderr, "test_sched: setup failed\n");
		return 2;
	}
	RUN(end_table);
	RUN(create_pending);
	RUN(run_completes_with_results);
	RUN(failing_script_is_error);
	RUN(execution_duration_enforced);
	RUN(abort_executing);
	RUN(wait_wakes_and_times_out);
	RUN(many_waiters_each_called_once);
	RUN(params_and_duration_only_when_pending);
	RUN(destruction_in_the_past);
	RUN(delete_removes_dir);
	RUN(concurrency_limit_one);
	RUN(close_requeues_and_reopen_runs);
	RUN(executing_left_over_is_error_on_open);
	RUN(queued_with_handle_is_not_submitted_again);
	RUN(blocked_start_blocks_no_request);
	RUN(update_is_all_or_nothing);
	RUN(lost_race_is_not_an_overwrite);
	RUN(refused_end_is_retried);
	RUN(owner_max_running_queues);
	sched_close(sc);
	prov_close(pv);
	store_close(st);
	jdl_registry_free(reg);
	rm_rf(tmp);
	free(jdir);
	free(db);
	return CHECK_DONE();
}
