/*
 * exec_cgroup: a cgroup per job, so that everything a job started dies with
 * it, whatever session or process group it moved to (exec-int.h says what is
 * used when). The child joins its cgroups itself, between fork and exec,
 * through descriptors the parent opened: no process of the job ever runs
 * outside them.
 */
#include "exec/exec-int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_PARENT_NAME	"opusd"
#define CG_WAIT_STEP_US 5000
#define CG_WAIT_STEPS	400 /* 2 s for a job's processes to be gone */

static const char *const v1_controller[EXEC_CG_KINDS] = {
    [EXEC_CG_FREEZER] = "freezer",
    [EXEC_CG_PIDS] = "pids",
    [EXEC_CG_MEMORY] = "memory",
};

/* Is word one of the comma-separated words of list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* The daemon's own cgroup path in a hierarchy (/proc/self/cgroup): the v2
 * line when controller is NULL. Caller frees; NULL when not found. */
static char *self_cgroup(const char *controller)
{
	char *buf = NULL, *save = NULL, *ret = NULL;
	size_t len;

	if (file_read_all("/proc/self/cgroup", 1 << 16, &buf, &len) != 0)
		return NULL;
	for (char *line = strtok_r(buf, "\n", &save); line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (controller ? has_word(c1 + 1, controller) : (c1[1] == '\0' && line[0] == '0'))
			ret = xstrdup(c2 + 1);
	}
	free(buf);
	return ret;
}

/* A mountinfo line's mount root and mount point, and its type and options. */
struct mnt {
	char *root, *point, *type, *opts;
};

static bool mnt_parse(char *line, struct mnt *m)
{
	char *f[6] = {0}, *save = NULL, *dash = strstr(line, " - ");
	char *tok = strtok_r(line, " ", &save);

	if (!dash)
		return false;
	*dash = '\0';
	for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
		f[i] = tok;
	if (!f[4])
		return false;
	m->root = f[3];
	m->point = f[4];
	m->type = strtok_r(dash + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* the source */
	m->opts = strtok_r(NULL, " ", &save);
	return m->type && m->opts;
}

/* "{mount point}{own path below the mount root}/opusd", created; NULL when
 * the daemon may not create cgroups there. */
static char *parent_dir(const struct mnt *m, const char *own)
{
	size_t rl = strlen(m->root);
	const char *rel = own;
	char *dir;

	if (strcmp(m->root, "/") != 0) {
		if (strncmp(own, m->root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
			return NULL; /* our cgroup is not visible in this mount */
		rel = own + rl;
	}
	dir = xasprintf("%s%s/" CG_PARENT_NAME, m->point, strcmp(rel, "/") == 0 ? "" : rel);
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || access(dir, W_OK) != 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char *path = xasprintf("%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		ret = OPUS_ERR_IO;
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static bool file_exists(const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file);
	bool ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

/* cgroup2: usable when cgroup.kill exists (Linux 5.14); pids and memory when
 * the parent can hand those controllers to its children. */
static void detect_v2(struct exec_cgroups *cg, const struct mnt *m)
{
	char *own = self_cgroup(NULL), *dir;

	if (!own || cg->parent[EXEC_CG_V2])
		goto done;
	dir = parent_dir(m, own);
	if (!dir || !file_exists(dir, "cgroup.kill")) {
		free(dir);
		goto done;
	}
	cg->parent[EXEC_CG_V2] = dir;
	cg->v2_pids = write_text(dir, "cgroup.subtree_control", "+pids") == 0;
	cg->v2_memory = write_text(dir, "cgroup.subtree_control", "+memory") == 0;
done:
	free(own);
}

static void detect_v1(struct exec_cgroups *cg, const struct mnt *m)
{
	for (int k = EXEC_CG_FREEZER; k < EXEC_CG_KINDS; k++) {
		char *own;
		if (cg->parent[k] || !has_word(m->opts, v1_controller[k]))
			continue;
		own = self_cgroup(v1_controller[k]);
		if (own)
			cg->parent[k] = parent_dir(m, own);
		free(own);
	}
}

void exec_cgroups_detect(struct exec_cgroups *cg)
{
	char *buf = NULL, *save = NULL;
	size_t len;

	memset(cg, 0, sizeof(*cg));
	if (file_read_all("/proc/self/mountinfo", 1 << 20, &buf, &len) != 0)
		return;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mnt m;
		if (!mnt_parse(line, &m))
			continue;
		if (strcmp(m.type, "cgroup2") == 0)
			detect_v2(cg, &m);
		else if (strcmp(m.type, "cgroup") == 0)
			detect_v1(cg, &m);
	}
	free(buf);
	/* The v1 freezer only when cgroup2 cannot kill; v1 limits only for
	 * what cgroup2 does not limit. */
	if (cg->parent[EXEC_CG_V2]) {
		free(cg->parent[EXEC_CG_FREEZER]);
		cg->parent[EXEC_CG_FREEZER] = NULL;
	}
	if (cg->v2_pids) {
		free(cg->parent[EXEC_CG_PIDS]);
		cg->parent[EXEC_CG_PIDS] = NULL;
	}
	if (cg->v2_memory) {
		free(cg->parent[EXEC_CG_MEMORY]);
		cg->parent[EXEC_CG_MEMORY] = NULL;
	}
}

/* The pid of the daemon a job cgroup name ("{pid}-{job}") belongs to; 0 when
 * the name is not one of ours. */
static pid_t owner_pid(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);
	return end != name && *end == '-' && v > 0 && v < INT32_MAX ? (pid_t)v : 0;
}

/*
 * A daemon killed with kill -9 leaves its jobs' cgroups, and what ran in
 * them (even processes that left the job's process group). The cgroups of
 * daemons that are gone are killed whole and removed; those of a live
 * daemon (another instance on this machine) are left alone.
 */
static void reap_orphans(const char *parent, int k)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		pid_t pid = owner_pid(e->d_name);
		struct exec_cg_job j;
		if (!pid || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		memset(&j, 0, sizeof(j));
		for (int i = 0; i < EXEC_CG_KINDS; i++)
			j.procs_fd[i] = -1;
		j.dir[k] = xasprintf("%s/%s", parent, e->d_name);
		exec_cg_job_remove(&j);
		n++;
	}
	closedir(d);
	if (n)
		log_warn("exec: %zu cgroup(s) of a daemon that died removed from %s, with what "
			 "still ran in them",
			 n, parent);
}

void exec_cgroups_reap_orphans(const struct exec_cgroups *cg)
{
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (cg->parent[k])
			reap_orphans(cg->parent[k], k);
	}
}

void exec_cgroups_release(struct exec_cgroups *cg)
{
	for (int k = 0; k < EXEC_CG_KINDS; k++)
		free(cg->parent[k]);
	memset(cg, 0, sizeof(*cg));
}

bool exec_cgroups_any(const struct exec_cgroups *cg)
{
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (cg->parent[k])
			return true;
	}
	return false;
}

/* The limits files of one cgroup. */
static int set_limits(const struct exec_cgroups *cg, int k, const char *dir,
		      const struct exec_limits *lim)
{
	char num[32];
	int ret = 0;

	if (lim->processes > 0 && (k == EXEC_CG_PIDS || (k == EXEC_CG_V2 && cg->v2_pids))) {
		snprintf(num, sizeof(num), "%lld", (long long)lim->processes);
		ret = write_text(dir, "pids.max", num);
	}
	if (!ret && lim->memory_bytes > 0 &&
	    (k == EXEC_CG_MEMORY || (k == EXEC_CG_V2 && cg->v2_memory))) {
		snprintf(num, sizeof(num), "%lld", (long long)lim->memory_bytes);
		ret =
		    write_text(dir, k == EXEC_CG_V2 ? "memory.max" : "memory.limit_in_bytes", num);
	}
	return ret;
}

/* Is a cgroup of kind k needed for this job? */
static bool wanted(int k, const struct exec_limits *lim)
{
	if (k == EXEC_CG_PIDS)
		return lim->processes > 0;
	if (k == EXEC_CG_MEMORY)
		return lim->memory_bytes > 0;
	return true;
}

int exec_cg_job_create(const struct exec_cgroups *cg, const char *job_id,
		       const struct exec_limits *lim, struct exec_cg_job *out)
{
	char name[96];
	size_t n;
	int ret = 0;

	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		out->dir[k] = NULL;
		out->procs_fd[k] = -1;
	}
	n = (size_t)snprintf(name, sizeof(name), "%d-%.64s", (int)getpid(), job_id);
	for (size_t i = 0; i < n && i < sizeof(name); i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			name[i] = '_';
	}
	for (int k = 0; k < EXEC_CG_KINDS && !ret; k++) {
		char *procs;
		if (!cg->parent[k] || !wanted(k, lim))
			continue;
		out->dir[k] = xasprintf("%s/%s", cg->parent[k], name);
		if (mkdir(out->dir[k], 0755) != 0 && errno != EEXIST) {
			log_warn("exec: cannot create cgroup %s: %s", out->dir[k], strerror(errno));
			free(out->dir[k]);
			out->dir[k] = NULL;
			ret = OPUS_ERR_IO;
			break;
		}
		procs = xasprintf("%s/cgroup.procs", out->dir[k]);
		out->procs_fd[k] = open(procs, O_WRONLY | O_CLOEXEC);
		free(procs);
		if (out->procs_fd[k] < 0 || set_limits(cg, k, out->dir[k], lim) != 0) {
			log_warn("exec: cannot set up cgroup %s: %s", out->dir[k], strerror(errno));
			ret = OPUS_ERR_IO;
		}
	}
	if (ret)
		exec_cg_job_remove(out);
	return ret;
}

int exec_cg_job_join(const struct exec_cg_job *j)
{
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (j->procs_fd[k] >= 0 && write(j->procs_fd[k], "0", 1) != 1)
			return errno;
	}
	return 0;
}

void exec_cg_job_close_fds(struct exec_cg_job *j)
{
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (j->procs_fd[k] >= 0)
			close(j->procs_fd[k]);
		j->procs_fd[k] = -1;
	}
}

bool exec_cg_job_limits_pids(const struct exec_cg_job *j)
{
	return j->dir[EXEC_CG_PIDS] != NULL;
}

/* Signals every pid listed in dir/cgroup.procs; how many were listed. */
static size_t signal_listed(const char *dir, int sig)
{
	char *path = xasprintf("%s/cgroup.procs", dir), *buf = NULL, *save = NULL;
	size_t len, n = 0;

	if (file_read_all(path, 1 << 22, &buf, &len) == 0) {
		for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
			long pid = strtol(t, NULL, 10);
			n++;
			if (pid > 1 && kill((pid_t)pid, sig) < 0 && errno != ESRCH)
				log_warn("exec: kill %ld: %s", pid, strerror(errno));
		}
	}
	free(buf);
	free(path);
	return n;
}

/* The v1 freezer: nothing can fork while frozen, so one pass kills all. */
static void freezer_kill(const char *dir)
{
	char *state = xasprintf("%s/freezer.state", dir), *buf = NULL;
	size_t len;
	bool frozen = false;

	if (write_text(dir, "freezer.state", "FROZEN") == 0) {
		for (int i = 0; i < CG_WAIT_STEPS && !frozen; i++) {
			frozen = file_read_all(state, 64, &buf, &len) == 0 &&
				 strncmp(buf, "FROZEN", 6) == 0;
			free(buf);
			buf = NULL;
			if (!frozen)
				usleep(CG_WAIT_STEP_US);
		}
	}
	(void)signal_listed(dir, SIGKILL);
	(void)write_text(dir, "freezer.state", "THAWED");
	free(state);
}

void exec_cg_job_signal(const struct exec_cg_job *j, int sig)
{
	if (sig == SIGKILL && j->dir[EXEC_CG_V2] &&
	    write_text(j->dir[EXEC_CG_V2], "cgroup.kill", "1") == 0)
		return;
	if (sig == SIGKILL && j->dir[EXEC_CG_FREEZER]) {
		freezer_kill(j->dir[EXEC_CG_FREEZER]);
		return;
	}
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (j->dir[k]) {
			(void)signal_listed(j->dir[k], sig);
			if (sig != SIGKILL)
				return; /* one list is every process */
		}
	}
}

/* rmdir, once the cgroup's processes are gone (killed again meanwhile). */
static void remove_dir(const struct exec_cg_job *j, const char *dir)
{
	for (int i = 0; i < CG_WAIT_STEPS; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		if (i % 20 == 19)
			exec_cg_job_signal(j, SIGKILL);
		usleep(CG_WAIT_STEP_US);
	}
	log_warn("exec: cannot remove cgroup %s: %s", dir, strerror(errno));
}

void exec_cg_job_remove(struct exec_cg_job *j)
{
	exec_cg_job_close_fds(j);
	exec_cg_job_signal(j, SIGKILL);
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		if (j->dir[k])
			remove_dir(j, j->dir[k]);
	}
	exec_cg_job_forget(j);
}

void exec_cg_job_forget(struct exec_cg_job *j)
{
	exec_cg_job_close_fds(j);
	for (int k = 0; k < EXEC_CG_KINDS; k++) {
		free(j->dir[k]);
		j->dir[k] = NULL;
	}
}
