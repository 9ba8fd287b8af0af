/* Unit tests for src/exec/exec_cmd.c: output, exit status, stdin, the
 * environment, the timeout that kills the whole process group, the output
 * caps, and the quoting of arguments for a remote shell (checked by running
 * the quoted line through a real /bin/sh). */
#include "base/base.h"
#include "check.h"
#include "exec/exec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const base_env[] = {"PATH=/usr/bin:/bin", NULL};

static int run(const char *const *argv, struct exec_cmd_result *res)
{
	struct exec_cmd c = {.argv = argv, .envp = base_env, .timeout_ms = 10000};
	return exec_cmd_run(&c, res);
}

TEST(test_output_and_status)
{
	const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 7", NULL};
	struct exec_cmd_result r;

	CHECK(run(argv, &r) == 0);
	CHECK_STR(r.out, "out\n");
	CHECK_STR(r.err, "err\n");
	CHECK(r.out_len == 4);
	CHECK(r.exit_code == 7);
	CHECK(!r.timed_out && !r.truncated && r.term_signal == 0);
	exec_cmd_result_release(&r);
}

TEST(test_signalled)
{
	const char *const argv[] = {"sh", "-c", "kill -TERM $$", NULL};
	struct exec_cmd_result r;

	CHECK(run(argv, &r) == 0);
	CHECK(r.exit_code == -1);
	CHECK(r.term_signal == SIGTERM);
	exec_cmd_result_release(&r);
}

TEST(test_not_found)
{
	const char *const argv[] = {"opusd-no-such-command", NULL};
	const char *const abs_argv[] = {"/nonexistent/bin/x", NULL};
	struct exec_cmd_result r;

	CHECK(run(argv, &r) == OPUS_ERR_NOTFOUND);
	exec_cmd_result_release(&r);
	CHECK(run(abs_argv, &r) == OPUS_ERR_NOTFOUND);
	exec_cmd_result_release(&r);
}

TEST(test_bad_cmd)
{
	const char *const argv[] = {"true", NULL};
	struct exec_cmd c = {.argv = argv, .envp = base_env, .timeout_ms = 0};
	struct exec_ssh bad_host = {.host = "-oProxyCommand=x"};
	struct exec_cmd_result r;

	CHECK(exec_cmd_run(&c, &r) == OPUS_ERR_INVAL);
	exec_cmd_result_release(&r);
	c.timeout_ms = 1000;
	c.ssh = &bad_host;
	CHECK(exec_cmd_run(&c, &r) == OPUS_ERR_INVAL);
	exec_cmd_result_release(&r);
}

/* Only what envp holds, found through its PATH. */
TEST(test_environment)
{
	const char *const argv[] = {"env", NULL};
	const char *const env[] = {"PATH=/usr/bin:/bin", "A=b c", NULL};
	struct exec_cmd c = {.argv = argv, .envp = env, .timeout_ms = 10000};
	struct exec_cmd_result r;

	setenv("OPUSD_TEST_LEAK", "1", 1);
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK_STR(r.out, "PATH=/usr/bin:/bin\nA=b c\n");
	exec_cmd_result_release(&r);
	unsetenv("OPUSD_TEST_LEAK");
}

TEST(test_stdin)
{
	const char *const argv[] = {"cat", NULL};
	size_t n = 300000; /* more than a pipe holds: the loop must interleave */
	char *data = xmalloc(n);
	struct exec_cmd c = {.argv = argv, .envp = base_env, .timeout_ms = 10000};
	struct exec_cmd_result r;

	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	c.stdin_data = data;
	c.stdin_len = n;
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.out_len == n && memcmp(r.out, data, n) == 0);
	CHECK(r.exit_code == 0);
	exec_cmd_result_release(&r);
	/* No stdin given: /dev/null, so cat ends at once. */
	c.stdin_data = NULL;
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.out_len == 0 && r.exit_code == 0);
	exec_cmd_result_release(&r);
	/* A command that does not read its stdin. */
	{
		const char *const tr[] = {"true", NULL};
		c.argv = tr;
		c.stdin_data = data;
		CHECK(exec_cmd_run(&c, &r) == 0);
		CHECK(r.exit_code == 0);
		exec_cmd_result_release(&r);
	}
	free(data);
}

/* in_fd and out_fd: files instead of pipes, past any output cap, read and
 * written from where they are; the caller's descriptors stay open. */
TEST(test_files_for_stdin_and_stdout)
{
	const char *const cat[] = {"cat", NULL};
	const char *const sh[] = {"sh", "-c", "cat; echo err >&2", NULL};
	size_t n = 3u << 20; /* more than output_max */
	char *data = xmalloc(n), *back = xmalloc(n);
	FILE *in = tmpfile(), *out = tmpfile();
	struct exec_cmd c = {
	    .argv = cat, .envp = base_env, .timeout_ms = 10000, .output_max = 4096};
	struct exec_cmd_result r;

	CHECK(in && out);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 4096);
	CHECK(fwrite(data, 1, n, in) == n && fflush(in) == 0);
	CHECK(lseek(fileno(in), 0, SEEK_SET) == 0);
	c.in_fd = fileno(in);
	c.out_fd = fileno(out);
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.exit_code == 0 && !r.truncated && r.out_len == 0);
	exec_cmd_result_release(&r);
	CHECK(lseek(fileno(out), 0, SEEK_END) == (off_t)n);
	CHECK(pread(fileno(out), back, n, 0) == (ssize_t)n && memcmp(back, data, n) == 0);
	/* From where the file is: its second half; stderr still captured. */
	CHECK(lseek(fileno(in), (off_t)(n / 2), SEEK_SET) == (off_t)(n / 2));
	CHECK(ftruncate(fileno(out), 0) == 0 && lseek(fileno(out), 0, SEEK_SET) == 0);
	c.argv = sh;
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.exit_code == 0);
	CHECK_STR(r.err, "err\n");
	exec_cmd_result_release(&r);
	CHECK(lseek(fileno(out), 0, SEEK_END) == (off_t)(n - n / 2));
	CHECK(pread(fileno(out), back, n - n / 2, 0) == (ssize_t)(n - n / 2) &&
	      memcmp(back, data + n / 2, n - n / 2) == 0);
	/* stdin_data wins over in_fd. */
	c.argv = cat;
	c.stdin_data = "given";
	c.stdin_len = 5;
	c.out_fd = 0;
	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK_STR(r.out, "given");
	exec_cmd_result_release(&r);
	CHECK(fcntl(fileno(in), F_GETFD) >= 0 && fcntl(fileno(out), F_GETFD) >= 0);
	fclose(in);
	fclose(out);
	free(data);
	free(back);
}

TEST(test_cap)
{
	const char *const argv[] = {"sh", "-c",
				    "head -c 100000 /dev/zero; head -c 10 /dev/zero >&2", NULL};
	struct exec_cmd c = {
	    .argv = argv, .envp = base_env, .timeout_ms = 10000, .output_max = 1000};
	struct exec_cmd_result r;

	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.out_len == 1000);
	CHECK(r.err_len == 10);
	CHECK(r.truncated);
	CHECK(r.exit_code == 0);
	exec_cmd_result_release(&r);
}

/* Whether pid is gone, or a zombie until init reaps it, within 10 s (a
 * SIGKILL takes effect when the kernel next schedules the process). */
static bool dies(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 1000; i++) {
		char *st = NULL, *p;
		size_t len = 0;
		bool dead;
		if (file_read_all(path, 4096, &st, &len) != 0)
			return true;
		p = strrchr(st, ')');
		dead = p && (p[2] == 'Z' || p[2] == 'X');
		free(st);
		if (dead)
			return true;
		usleep(10000);
	}
	return false;
}

/* The deadline kills the whole group: a grandchild holding stdout open too. */
TEST(test_timeout_kills_group)
{
	const char *const argv[] = {"sh", "-c", "sleep 1000 & echo $!; wait", NULL};
	/* Long enough for sh to start and print, even on a loaded machine. */
	struct exec_cmd c = {.argv = argv, .envp = base_env, .timeout_ms = 2000};
	struct exec_cmd_result r;
	long gc;

	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.timed_out);
	CHECK(r.term_signal == SIGKILL);
	gc = strtol(r.out, NULL, 10);
	CHECK(gc > 1);
	CHECK(gc > 1 && dies((pid_t)gc));
	exec_cmd_result_release(&r);
}

/* A leader that exits while a child of its keeps stdout: its status is
 * still reported, at the deadline (the group is killed then). */
TEST(test_exit_without_closing_output)
{
	const char *const argv[] = {"sh", "-c", "exec 2>&-; sleep 1000 & exit 4", NULL};
	struct exec_cmd c = {.argv = argv, .envp = base_env, .timeout_ms = 2000};
	struct exec_cmd_result r;

	CHECK(exec_cmd_run(&c, &r) == 0);
	CHECK(r.timed_out);
	CHECK(r.exit_code == 4);
	exec_cmd_result_release(&r);
}

/* Only its own child is waited for: another child of ours stays unreaped. */
TEST(test_waits_for_its_own_only)
{
	const char *const argv[] = {"true", NULL};
	struct exec_cmd_result r;
	pid_t other = fork();
	int st = 0;

	if (other == 0)
		_exit(9);
	CHECK(other > 0);
	CHECK(run(argv, &r) == 0);
	CHECK(r.exit_code == 0);
	exec_cmd_result_release(&r);
	CHECK(waitpid(other, &st, 0) == other);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 9);
}

static const char *const hostile[] = {
    "plain",	 "",	       "two words",
    "it's",	 "'",	       "''",
    "'\\''",	 "a\\b",       "$(touch /tmp/opusd-pwned)",
    "`id`",	 "$HOME",      "; rm -rf /",
    "x\ny",	 "\"double\"", "-o",
    "--",	 "*",	       "~",
    "a|b&c>d<e", "!event",     "tab\there",
};

/* What a POSIX shell makes of one quoted argument is the argument itself. */
TEST(test_quote_roundtrip)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(hostile); i++) {
		struct sbuf line = SBUF_INIT;
		struct exec_cmd_result r;
		const char *argv[] = {"sh", "-c", NULL, NULL};

		sbuf_adds(&line, "printf %s ");
		exec_cmd_quote(&line, hostile[i]);
		argv[2] = sbuf_str(&line);
		CHECK(run(argv, &r) == 0);
		CHECK(r.exit_code == 0);
		CHECK(r.out_len == strlen(hostile[i]) && memcmp(r.out, hostile[i], r.out_len) == 0);
		if (r.out_len != strlen(hostile[i]))
			fprintf(stderr, "  quoting %zu: got [%s]\n", i, r.out);
		exec_cmd_result_release(&r);
		sbuf_release(&line);
	}
	CHECK(access("/tmp/opusd-pwned", F_OK) != 0);
}

TEST(test_quote_text)
{
	struct sbuf q = SBUF_INIT;
	exec_cmd_quote(&q, "it's");
	CHECK_STR(sbuf_str(&q), "'it'\\''s'");
	sbuf_reset(&q);
	exec_cmd_quote(&q, "");
	CHECK_STR(sbuf_str(&q), "''");
	sbuf_release(&q);
}

/* The ssh argv: fixed options, then every argument quoted; the whole
 * remote line, joined with spaces as ssh does, gives back the arguments. */
TEST(test_ssh_argv)
{
	const char *const argv[] = {"sbatch", "--parsable", "it's $(id)", NULL};
	struct exec_ssh s = {.host = "login.example.org",
			     .user = "opus",
			     .port = 2222,
			     .key = "/k/id",
			     .known_hosts = "/k/known"};
	struct exec_cmd c = {.argv = argv, .timeout_ms = 1000, .ssh = &s};
	const char *want[] = {"ssh",
			      "-o",
			      "BatchMode=yes",
			      "-o",
			      "StrictHostKeyChecking=yes",
			      "-o",
			      "UserKnownHostsFile=/k/known",
			      "-i",
			      "/k/id",
			      "-p",
			      "2222",
			      "opus@login.example.org",
			      "--",
			      "'sbatch'",
			      "'--parsable'",
			      "'it'\\''s $(id)'",
			      NULL};
	char **av = exec_cmd_argv(&c);
	size_t i = 0;
	struct sbuf line = SBUF_INIT;
	struct exec_cmd_result r;

	for (; want[i]; i++)
		CHECK_STR(av[i], want[i]);
	CHECK(av[i] == NULL);
	/* The remote side: sh -c "the joined words", here printing each. */
	sbuf_adds(&line, "printf '[%s]' ");
	for (size_t k = 14; av[k]; k++) {
		sbuf_adds(&line, av[k]);
		sbuf_addc(&line, ' ');
	}
	{
		const char *sh[] = {"sh", "-c", sbuf_str(&line), NULL};
		CHECK(run(sh, &r) == 0);
		CHECK_STR(r.out, "[--parsable][it's $(id)]");
		exec_cmd_result_release(&r);
	}
	sbuf_release(&line);
	exec_cmd_argv_free(av);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_output_and_status);
	RUN(test_signalled);
	RUN(test_not_found);
	RUN(test_bad_cmd);
	RUN(test_environment);
	RUN(test_stdin);
	RUN(test_files_for_stdin_and_stdout);
	RUN(test_cap);
	RUN(test_timeout_kills_group);
	RUN(test_exit_without_closing_output);
	RUN(test_waits_for_its_own_only);
	RUN(test_quote_roundtrip);
	RUN(test_quote_text);
	RUN(test_ssh_argv);
	return CHECK_DONE();
}
