/*
 * exec_cmd: the cluster's commands (sbatch, squeue, scancel, sacct, ssh) as
 * child processes with their output captured (exec-int.h says what a command
 * gets). posix_spawn, not exec_spawn's vfork dance: nothing to do between
 * fork and exec but the descriptors, the process group and the signals,
 * which posix_spawn's attributes and file actions cover. One poll loop feeds
 * stdin and drains stdout and stderr until both close, or the deadline.
 */
#include "exec/exec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD_OUTPUT_DEFAULT (1u << 20)
#define CMD_ARGS_MAX	   4096

void exec_cmd_quote(struct sbuf *out, const char *arg)
{
	sbuf_addc(out, '\'');
	for (const char *p = arg; *p; p++) {
		if (*p == '\'')
			sbuf_adds(out, "'\\''");
		else
			sbuf_addc(out, *p);
	}
	sbuf_addc(out, '\'');
}

void exec_cmd_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static size_t argv_len(const char *const *argv)
{
	size_t n = 0;
	while (argv && argv[n])
		n++;
	return n;
}

char **exec_cmd_argv(const struct exec_cmd *cmd)
{
	const struct exec_ssh *s = cmd->ssh;
	size_t n = argv_len(cmd->argv), i = 0;
	char **av = xcalloc(n + 16, sizeof(*av));

	if (!s) {
		for (size_t k = 0; k < n; k++)
			av[i++] = xstrdup(cmd->argv[k]);
		return av;
	}
	av[i++] = xstrdup("ssh");
	av[i++] = xstrdup("-o");
	av[i++] = xstrdup("BatchMode=yes");
	av[i++] = xstrdup("-o");
	av[i++] = xstrdup("StrictHostKeyChecking=yes");
	if (s->known_hosts) {
		av[i++] = xstrdup("-o");
		av[i++] = xasprintf("UserKnownHostsFile=%s", s->known_hosts);
	}
	if (s->key) {
		av[i++] = xstrdup("-i");
		av[i++] = xstrdup(s->key);
	}
	av[i++] = xstrdup("-p");
	av[i++] = xasprintf("%d", s->port > 0 ? s->port : 22);
	av[i++] = s->user ? xasprintf("%s@%s", s->user, s->host) : xstrdup(s->host);
	av[i++] = xstrdup("--");
	for (size_t k = 0; k < n; k++) {
		struct sbuf q = SBUF_INIT;
		exec_cmd_quote(&q, cmd->argv[k]);
		av[i++] = sbuf_detach(&q, NULL);
	}
	return av;
}

/* The value of PATH in envp, or a default. */
static const char *env_path(const char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	}
	return "/usr/bin:/bin";
}

/* argv[0] as a path: itself when it holds a '/', else the first executable
 * of that name in PATH. NULL when there is none. */
static char *resolve(const char *name, const char *path)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, ":");
		char *full = xasprintf("%.*s/%s", (int)len, len ? p : ".", name);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return full;
		free(full);
		p += len + (p[len] == ':');
	}
	return NULL;
}

static bool ssh_ok(const struct exec_ssh *s)
{
	const char *host_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-";
	if (!s->host || !s->host[0] || s->host[0] == '-' ||
	    strspn(s->host, host_chars) != strlen(s->host))
		return false;
	return !s->user || (s->user[0] && s->user[0] != '-' && !strpbrk(s->user, "@ \t\n"));
}

struct cmd_io {
	int fd[3]; /* the parent's ends: stdin (write), stdout, stderr (read) */
	struct sbuf buf[3];
	size_t written, cap;
	bool truncated;
};

static void io_close(struct cmd_io *io, int i)
{
	if (io->fd[i] >= 0)
		close(io->fd[i]);
	io->fd[i] = -1;
}

/* Reads what is there from fd i (1 or 2); closes it at end of file. */
static void io_read(struct cmd_io *io, int i)
{
	char chunk[16384];
	ssize_t n = read(io->fd[i], chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		io_close(io, i);
		return;
	}
	if (io->buf[i].len + (size_t)n > io->cap) {
		size_t room = io->cap - io->buf[i].len;
		sbuf_add(&io->buf[i], chunk, room);
		io->truncated = true;
		return;
	}
	sbuf_add(&io->buf[i], chunk, (size_t)n);
}

static void io_write(struct cmd_io *io, const struct exec_cmd *cmd)
{
	ssize_t n = write(io->fd[0], cmd->stdin_data + io->written, cmd->stdin_len - io->written);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) { /* EPIPE: it does not read its stdin */
		io_close(io, 0);
		return;
	}
	io->written += (size_t)n;
	if (io->written == cmd->stdin_len)
		io_close(io, 0);
}

/* Until stdout and stderr are closed and the child has exited (its pidfd
 * is readable; -1: not waited for here), or the deadline (false). */
static bool io_loop(struct cmd_io *io, const struct exec_cmd *cmd, int pidfd, int64_t deadline)
{
	bool exited = pidfd < 0;

	while (io->fd[1] >= 0 || io->fd[2] >= 0 || !exited) {
		struct pollfd pf[4];
		int64_t left = deadline - time_mono_ms();
		int r;

		if (left <= 0)
			return false;
		for (int i = 0; i < 3; i++) {
			pf[i].fd = io->fd[i];
			pf[i].events = i == 0 ? POLLOUT : POLLIN;
			pf[i].revents = 0;
		}
		pf[3].fd = exited ? -1 : pidfd;
		pf[3].events = POLLIN;
		pf[3].revents = 0;
		r = poll(pf, 4, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR) {
			log_error("exec: poll: %s", strerror(errno));
			return false;
		}
		if (r <= 0)
			continue;
		if (pf[0].revents & (POLLERR | POLLHUP))
			io_close(io, 0);
		else if (pf[0].revents & POLLOUT)
			io_write(io, cmd);
		for (int i = 1; i < 3; i++) {
			if (pf[i].revents)
				io_read(io, i);
		}
		if (pf[3].revents)
			exited = true;
	}
	return true;
}

/* The pipes: child ends in child[], parent ends in io->fd[] (non-blocking). */
static int make_pipes(const struct exec_cmd *cmd, struct cmd_io *io, int child[3])
{
	for (int i = 0; i < 3; i++) {
		int p[2];
		int given = i == 0 ? cmd->in_fd : i == 1 ? cmd->out_fd : 0;
		if (given > 0 && !(i == 0 && cmd->stdin_data)) {
			child[i] = fcntl(given, F_DUPFD_CLOEXEC, 3);
			if (child[i] < 0)
				return -1;
			continue;
		}
		if (i == 0 && !cmd->stdin_data) {
			child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (child[0] < 0)
				return -1;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) != 0)
			return -1;
		child[i] = i == 0 ? p[0] : p[1];
		io->fd[i] = i == 0 ? p[1] : p[0];
		if (fcntl(io->fd[i], F_SETFL, O_NONBLOCK) != 0)
			return -1;
	}
	if (io->fd[0] >= 0 && cmd->stdin_len == 0)
		io_close(io, 0);
	return 0;
}

static int spawn(const char *path, char **argv, const struct exec_cmd *cmd, const int child[3],
		 pid_t *pid)
{
	static char *const empty_env[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int err;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, child[i], i);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	err = posix_spawn(pid, path, &fa, &at, argv,
			  cmd->envp ? (char *const *)cmd->envp : empty_env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

static void finish(struct exec_cmd_result *res, struct cmd_io *io)
{
	for (int i = 0; i < 3; i++)
		io_close(io, i);
	sbuf_adds(&io->buf[1], "");
	sbuf_adds(&io->buf[2], "");
	res->out = sbuf_detach(&io->buf[1], &res->out_len);
	res->err = sbuf_detach(&io->buf[2], &res->err_len);
	res->truncated = io->truncated;
	sbuf_release(&io->buf[0]);
}

static void wait_child(pid_t pid, struct exec_cmd_result *res)
{
	int status = 0;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid) {
		log_error("exec: waitpid %d: %s", (int)pid, strerror(errno));
		return;
	}
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->term_signal = WTERMSIG(status);
}

int exec_cmd_run(const struct exec_cmd *cmd, struct exec_cmd_result *res)
{
	struct cmd_io io = {.fd = {-1, -1, -1}};
	int child[3] = {-1, -1, -1}, ret = OPUS_ERR_INVAL, err;
	char **argv = NULL, *path = NULL;
	pid_t pid = -1;
	int pidfd = -1;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	for (int i = 0; i < 3; i++)
		sbuf_init(&io.buf[i], 0);
	io.cap = cmd->output_max ? cmd->output_max : CMD_OUTPUT_DEFAULT;
	if (!cmd->argv || !cmd->argv[0] || cmd->timeout_ms <= 0 ||
	    argv_len(cmd->argv) > CMD_ARGS_MAX || (cmd->ssh && !ssh_ok(cmd->ssh)))
		goto done;
	argv = exec_cmd_argv(cmd);
	path = resolve(argv[0], env_path(cmd->envp));
	ret = OPUS_ERR_NOTFOUND;
	if (!path) {
		log_error("exec: %s: command not found", argv[0]);
		goto done;
	}
	ret = OPUS_ERR_IO;
	if (make_pipes(cmd, &io, child) != 0) {
		log_error("exec: pipes for %s: %s", argv[0], strerror(errno));
		goto done;
	}
	err = spawn(path, argv, cmd, child, &pid);
	for (int i = 0; i < 3; i++) {
		close(child[i]);
		child[i] = -1;
	}
	if (err) {
		log_error("exec: cannot run %s: %s", path, strerror(err));
		goto done;
	}
	/* A pidfd wakes the poll when it exits, even if it never closes its
	 * output; not reaped yet, so its pid and process group id stay ours. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!io_loop(&io, cmd, pidfd, time_mono_ms() + cmd->timeout_ms)) {
		/* Its process group: what it started goes with it. */
		kill(-pid, SIGKILL);
		res->timed_out = true;
	}
	for (int i = 0; i < 3; i++)
		io_close(&io, i);
	wait_child(pid, res);
	ret = 0;
done:
	for (int i = 0; i < 3; i++) {
		if (child[i] >= 0)
			close(child[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	finish(res, &io);
	free(path);
	exec_cmd_argv_free(argv);
	return ret;
}

void exec_cmd_result_release(struct exec_cmd_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
}
