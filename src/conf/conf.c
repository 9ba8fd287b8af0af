/* conf: the settings table, INI reading, checks. See conf.h. */
#include "conf/conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL };

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def; /* embedded default, as text */
	int64_t min;	 /* for CONF_INT */
	const char *doc;
};

#define K(sec, name, type, field, def, min, doc)                                                   \
	{                                                                                          \
		sec, name, type, offsetof(struct conf, field), def, min, doc                       \
	}

static const struct conf_key keys[] = {
    K("server", "listen", CONF_STR, listen, "127.0.0.1:8080", 0, "address:port to listen on"),
    K("server", "base_url", CONF_STR, base_url, "", 0,
      "public URL of the service (default http://LISTEN)"),
    K("server", "threads", CONF_INT, threads, "16", 1, "HTTP worker threads"),
    K("server", "max_form_body", CONF_INT, max_form_body, "1048576", 1,
      "largest urlencoded body, bytes"),
    K("server", "max_upload_body", CONF_INT, max_upload_body, "104857600", 1,
      "largest multipart body, bytes"),
    K("server", "wait_cap", CONF_INT, wait_cap, "60", 0, "longest blocking WAIT, seconds"),
    K("server", "allow_anonymous", CONF_BOOL, allow_anonymous, "true", 0,
      "serve requests without credentials"),
    K("server", "cors_origins", CONF_STR, cors_origins, "", 0,
      "other origins (https://host[:port]) whose pages may call this service, space or comma "
      "separated (empty = none)"),
    K("server", "log_level", CONF_STR, log_level, "info", 0, "error, warn, info or debug"),
    K("server", "instance", CONF_STR, instance, "", 0,
      "this daemon's name among several instances sharing one PostgreSQL database, stable "
      "across its restarts (empty = HOSTNAME:PORT of listen)"),
    K("server", "lease", CONF_INT, lease, "15", 1,
      "seconds without a heartbeat after which the other instances settle an instance's "
      "jobs (several instances on one PostgreSQL database)"),
    K("paths", "data_dir", CONF_STR, data_dir, "./var", 0, "database and job directories"),
    K("paths", "jdl_dir", CONF_STR, jdl_dir, "./jobdefs", 0, "job descriptions (*.xml)"),
    K("paths", "web_dir", CONF_STR, web_dir, "./web", 0,
      "the web client served at / (read at start and on SIGHUP; empty = none)"),
    K("store", "backend", CONF_STR, store_backend, "sqlite", 0,
      "where jobs and accounts are kept: sqlite (paths.data_dir/opusd.db) or postgresql "
      "(store.url)"),
    K("store", "url", CONF_STR, store_url, "", 0,
      "the PostgreSQL database, postgresql://USER@HOST:PORT/DBNAME (no password here: "
      "store.password_file, PGPASSWORD or ~/.pgpass)"),
    K("store", "password_file", CONF_STR, store_password_file, "", 0,
      "file whose first line is the PostgreSQL password (empty = libpq's own)"),
    K("store", "pool_size", CONF_INT, store_pool_size, "8", 1,
      "PostgreSQL connections opened at most"),
    K("jobs", "backend", CONF_STR, backend, "local", 0,
      "where jobs run: local (processes of this machine) or slurm (see [slurm])"),
    K("jobs", "backends", CONF_STR, backends, "", 0,
      "other backends opened beside jobs.backend, for the job descriptions that name their "
      "own (PARAM backend): local, slurm, or both (spaces or commas between)"),
    K("jobs", "max_running", CONF_INT, max_running, "0", 0,
      "jobs executing at once (0 = number of cores)"),
    K("jobs", "default_execution_duration", CONF_INT, default_execution_duration, "3600", 0,
      "seconds, when a description sets none (0 = unlimited)"),
    K("jobs", "max_execution_duration", CONF_INT, max_execution_duration, "86400", 0,
      "seconds, cap on what clients ask (0 = no cap)"),
    K("jobs", "default_destruction", CONF_INT, default_destruction, "604800", 1,
      "seconds from creation until a job is deleted"),
    K("jobs", "max_destruction", CONF_INT, max_destruction, "2592000", 0,
      "seconds from creation, cap on what clients ask (0 = no cap)"),
    K("jobs", "kill_grace_ms", CONF_INT, kill_grace_ms, "2000", 0,
      "milliseconds between SIGTERM and SIGKILL"),
    K("jobs", "run_as", CONF_STR, run_as, "", 0,
      "user jobs run as (required when opusd runs as root; root itself only if named)"),
    K("jobs", "cgroup", CONF_STR, cgroup, "auto", 0,
      "auto: a cgroup per job where the machine offers one; off: process group only"),
    K("jobs", "max_memory", CONF_INT, max_memory, "0", 0, "bytes of memory per job (0 = no limit)"),
    K("jobs", "max_processes", CONF_INT, max_processes, "0", 0, "processes per job (0 = no limit)"),
    K("jobs", "max_open_files", CONF_INT, max_open_files, "0", 0,
      "open files per process of a job (0 = no limit)"),
    K("jobs", "max_cpu_time", CONF_INT, max_cpu_time, "0", 0,
      "CPU seconds per process of a job (0 = no limit)"),
    K("slurm", "cluster", CONF_STR, slurm_cluster, "slurm", 0,
      "the cluster's name in job handles (slurm:NAME:ID): change it only with no job running"),
    K("slurm", "slurm_conf", CONF_STR, slurm_conf, "", 0,
      "SLURM_CONF of the SLURM commands (empty = SLURM's default)"),
    K("slurm", "path", CONF_STR, slurm_path, "", 0,
      "PATH the SLURM commands are found in, here or on the login node (empty = the usual "
      "sbin and bin directories)"),
    K("slurm", "workdir_root", CONF_STR, slurm_workdir_root, "", 0,
      "an absolute directory on the cluster (here, or on the login node) where each job runs "
      "in {workdir_root}/{job id}: its files are copied there before sbatch and back when it "
      "ends (empty = the job runs in its own directory of paths.data_dir, which the cluster "
      "must see under the same path)"),
    K("slurm", "partition", CONF_STR, slurm_partition, "", 0,
      "sbatch --partition unless a description asks (empty = the cluster's default)"),
    K("slurm", "account", CONF_STR, slurm_account, "", 0,
      "sbatch --account unless a description asks (empty = none)"),
    K("slurm", "sbatch_args", CONF_STR, slurm_sbatch_args, "", 0,
      "more sbatch options for every job, space separated --name=value (letters, digits, _.:,=-)"),
    K("slurm", "user_resources", CONF_STR, slurm_user_resources, "", 0,
      "resources a job may ask for itself when it is created, comma separated: partition, "
      "account, gres, nodes, tasksPerNode, cpusPerTask (empty = none)"),
    K("slurm", "poll_interval_ms", CONF_INT, slurm_poll_interval_ms, "2000", 100,
      "milliseconds between two squeue calls while jobs are followed"),
    K("slurm", "command_timeout_ms", CONF_INT, slurm_command_timeout_ms, "30000", 1000,
      "milliseconds one sbatch, squeue, scontrol, sacct or scancel may take"),
    K("slurm", "ssh_host", CONF_STR, slurm_ssh_host, "", 0,
      "login node the SLURM commands run on through ssh (empty = this machine)"),
    K("slurm", "ssh_user", CONF_STR, slurm_ssh_user, "", 0, "user on the login node"),
    K("slurm", "ssh_port", CONF_INT, slurm_ssh_port, "22", 1, "ssh port of the login node"),
    K("slurm", "ssh_key", CONF_STR, slurm_ssh_key, "", 0,
      "ssh identity file (required with ssh_host)"),
    K("slurm", "ssh_known_hosts", CONF_STR, slurm_ssh_known_hosts, "", 0,
      "known_hosts file holding the login node's key (required with ssh_host)"),
    K("slurm", "event_url", CONF_STR, slurm_event_url, "", 0,
      "URL jobs post their phases to, as seen from the nodes (empty = none: squeue alone)"),
    K("inputs", "file_roots", CONF_STR, file_roots, "", 0,
      "directories file:// inputs may be read below, separated by ':' (empty = none)"),
    K("inputs", "allow_private_addresses", CONF_BOOL, allow_private_addresses, "false", 0,
      "let URL inputs reach loopback, private and link-local addresses"),
    K("inputs", "max_input_size", CONF_INT, max_input_size, "1073741824", 1,
      "largest input fetched from a URL or copied, bytes"),
    K("inputs", "fetch_timeout", CONF_INT, fetch_timeout, "300", 1,
      "seconds for one whole download"),
    K("inputs", "fetch_connect_timeout", CONF_INT, fetch_connect_timeout, "10", 1,
      "seconds to connect to a server"),
    K("inputs", "fetch_threads", CONF_INT, fetch_threads, "4", 1,
      "threads that fetch inputs before jobs start"),
    K("provenance", "max_depth", CONF_INT, prov_max_depth, "100", 1,
      "deepest lineage a ProvSAP query walks (DEPTH=ALL means this)"),
    K("provenance", "max_activities", CONF_INT, prov_max_activities, "10000", 1,
      "most jobs one provenance document holds"),
    K("provenance", "result_links", CONF_BOOL, prov_result_links, "true", 0,
      "list provjson, provxml and provsvg among a finished job's results, as OPUS does"),
    K("auth", "check_permissions", CONF_BOOL, auth_check_permissions, "false", 0,
      "limit each user to the job descriptions its roles grant (false: any signed-in user "
      "may run any description)"),
    K("auth", "backoff_failures", CONF_INT, auth_backoff_failures, "10", 1,
      "failed authentications within a minute, from one address or for one name, before "
      "back-off (429)"),
    K("auth", "backoff_max", CONF_INT, auth_backoff_max, "60", 1,
      "longest back-off after failed authentications, seconds"),
};

static const struct conf_key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(keys); i++) {
		if (strcmp(keys[i].name, name) == 0 &&
		    (!section || strcmp(keys[i].section, section) == 0))
			return &keys[i];
	}
	return NULL;
}

static int key_set(struct conf *c, const struct conf_key *k, const char *value, char **err_out)
{
	char *field = (char *)c + k->offset;
	int64_t v;

	switch (k->type) {
	case CONF_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_INT:
		if (parse_int64(value, &v) < 0 || v < k->min) {
			*err_out = xasprintf("%s.%s: \"%s\" is not an integer >= %lld", k->section,
					     k->name, value, (long long)k->min);
			return OPUS_ERR_INVAL;
		}
		*(int64_t *)field = v;
		return 0;
	case CONF_BOOL:
		if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
		    !strcmp(value, "1") || !strcasecmp(value, "on"))
			*(bool *)field = true;
		else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
			 !strcmp(value, "0") || !strcasecmp(value, "off"))
			*(bool *)field = false;
		else {
			*err_out = xasprintf("%s.%s: \"%s\" is not true or false", k->section,
					     k->name, value);
			return OPUS_ERR_INVAL;
		}
		return 0;
	}
	return OPUS_ERR_INTERNAL;
}

void conf_init(struct conf *c)
{
	char *err = NULL;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < OPUS_ARRAY_LEN(keys); i++) {
		if (key_set(c, &keys[i], keys[i].def, &err) < 0)
			abort(); /* an embedded default that does not parse is a bug */
	}
}

void conf_release(struct conf *c)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(keys); i++) {
		if (keys[i].type == CONF_STR) {
			char **field = (char **)((char *)c + keys[i].offset);
			free(*field);
			*field = NULL;
		}
	}
}

int conf_set(struct conf *c, const char *key, const char *value, char **err_out)
{
	const struct conf_key *k;
	const char *dot = strchr(key, '.');
	if (dot) {
		char *section = xstrndup(key, (size_t)(dot - key));
		k = key_find(section, dot + 1);
		free(section);
	} else {
		k = key_find(NULL, key);
	}
	if (!k) {
		*err_out = xasprintf("unknown setting \"%s\"", key);
		return OPUS_ERR_INVAL;
	}
	return key_set(c, k, value, err_out);
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One INI line: blank, comment, [section] or key = value. */
static int conf_line(struct conf *c, char *line, char *section, size_t seclen, char **why)
{
	char *s = trim(line), *eq;
	const struct conf_key *k;
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || end[1] != '\0' || (size_t)(end - s) > seclen) {
			*why = xstrdup("malformed section header");
			return OPUS_ERR_INVAL;
		}
		*end = '\0';
		snprintf(section, seclen, "%s", trim(s + 1));
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq) {
		*why = xstrdup("expected key = value");
		return OPUS_ERR_INVAL;
	}
	*eq = '\0';
	k = key_find(section[0] ? section : NULL, trim(s));
	if (!k) {
		*why = xasprintf("unknown setting \"%s\" in section [%s]", trim(s), section);
		return OPUS_ERR_INVAL;
	}
	return key_set(c, k, trim(eq + 1), why);
}

int conf_load_file(struct conf *c, const char *path, char **err_out)
{
	char *buf = NULL, *next, *why = NULL;
	char section[64] = "";
	size_t len;
	int lineno = 0, ret = file_read_all(path, 1 << 20, &buf, &len);
	if (ret < 0) {
		*err_out = xasprintf("%s: cannot read (%s)", path, opus_strerror(ret));
		return ret;
	}
	for (char *line = buf; line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		ret = conf_line(c, line, section, sizeof(section), &why);
		if (ret < 0) {
			*err_out = xasprintf("%s:%d: %s", path, lineno, why);
			free(why);
			break;
		}
	}
	free(buf);
	return ret;
}

int conf_listen_parse(const char *listen, char *host, size_t host_len, int *port)
{
	const char *colon = strrchr(listen, ':');
	int64_t p;
	if (!colon || colon == listen || (size_t)(colon - listen) >= host_len ||
	    parse_int64(colon + 1, &p) < 0 || p < 0 || p > 65535)
		return OPUS_ERR_INVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	*port = (int)p;
	return 0;
}

bool conf_user_resource_allowed(const struct conf *c, const char *name)
{
	const char *list = c->slurm_user_resources ? c->slurm_user_resources : "";
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t n;
		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		if (n == len && n > 0 && strncasecmp(p, name, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* slurm.user_resources: names of resources (the description's PARAMs). */
static int check_user_resources(const char *list, char **err_out)
{
	static const char *const names[] = {"partition", "account",	 "gres",
					    "nodes",	 "tasksPerNode", "cpusPerTask"};

	for (const char *p = list; *p;) {
		size_t n;
		bool known = false;
		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		for (size_t i = 0; n && i < OPUS_ARRAY_LEN(names); i++)
			known =
			    known || (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0);
		if (n && !known) {
			*err_out =
			    xasprintf("slurm.user_resources: \"%.*s\" is not one of partition, "
				      "account, gres, nodes, tasksPerNode, cpusPerTask",
				      (int)n, p);
			return OPUS_ERR_INVAL;
		}
		p += n;
	}
	return 0;
}

/* inputs.file_roots: ':'-separated absolute paths (existence is checked at start). */
static int check_roots(const char *roots, char **err_out)
{
	for (const char *r = roots; *r;) {
		size_t len = strcspn(r, ":");
		if (len > 0 && r[0] != '/') {
			*err_out = xasprintf("inputs.file_roots: \"%.*s\" is not an absolute path",
					     (int)len, r);
			return OPUS_ERR_INVAL;
		}
		r += len + (r[len] == ':');
	}
	return 0;
}

/* [store]: a known backend; a PostgreSQL URL without a password in it (a
 * password is never printed: --check-config and /admin/config show the URL). */
static int check_store(const struct conf *c, char **err_out)
{
	const char *u = c->store_url, *at, *colon;
	if (strcmp(c->store_backend, "sqlite") != 0 &&
	    strcmp(c->store_backend, "postgresql") != 0) {
		*err_out = xasprintf("store.backend: \"%s\" is not sqlite or postgresql",
				     c->store_backend);
		return OPUS_ERR_INVAL;
	}
	if (strcmp(c->store_backend, "postgresql") != 0)
		return 0;
	if (strncmp(u, "postgresql://", 13) != 0 && strncmp(u, "postgres://", 11) != 0) {
		*err_out =
		    xstrdup("store.url: a postgresql://USER@HOST:PORT/DBNAME URL is required "
			    "with store.backend = postgresql");
		return OPUS_ERR_INVAL;
	}
	u = strstr(u, "://") + 3;
	at = strchr(u, '@');
	colon = strchr(u, ':');
	if ((at && colon && colon < at) || strstr(u, "password=")) {
		*err_out = xstrdup("store.url: holds a password; put it in store.password_file "
				   "(or PGPASSWORD, ~/.pgpass) so that it is never shown");
		return OPUS_ERR_INVAL;
	}
	return 0;
}

/* jobs.backends: words local and slurm only. */
static int check_backends(const char *list, char **err_out)
{
	const char *sep = " \t,";
	for (const char *p = list + strspn(list, sep); *p; p += strspn(p, sep)) {
		size_t n = strcspn(p, sep);
		if (!((n == 5 && strncmp(p, "local", 5) == 0) ||
		      (n == 5 && strncmp(p, "slurm", 5) == 0))) {
			*err_out =
			    xasprintf("jobs.backends: \"%.*s\" is not local or slurm", (int)n, p);
			return -1;
		}
		p += n;
	}
	return 0;
}

bool conf_backend_enabled(const struct conf *c, const char *name)
{
	const char *sep = " \t,";
	size_t len = strlen(name);

	if (strcmp(c->backend, name) == 0)
		return true;
	for (const char *p = c->backends + strspn(c->backends, sep); *p; p += strspn(p, sep)) {
		size_t n = strcspn(p, sep);
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p += n;
	}
	return false;
}

char *conf_instance_name(const struct conf *c)
{
	char hostname[256] = "localhost";
	const char *colon = strrchr(c->listen, ':');
	if (*c->instance)
		return xstrdup(c->instance);
	if (gethostname(hostname, sizeof(hostname) - 1) != 0)
		snprintf(hostname, sizeof(hostname), "localhost");
	return xasprintf("%s:%s", hostname, colon ? colon + 1 : c->listen);
}

int conf_check(struct conf *c, char **err_out)
{
	char host[256];
	int port;
	enum log_level lvl;
	if (conf_listen_parse(c->listen, host, sizeof(host), &port) < 0) {
		*err_out = xasprintf("server.listen: \"%s\" is not ADDR:PORT", c->listen);
		return OPUS_ERR_INVAL;
	}
	if (log_level_parse(c->log_level, &lvl) < 0) {
		*err_out = xasprintf("server.log_level: \"%s\" is not error, warn, info or debug",
				     c->log_level);
		return OPUS_ERR_INVAL;
	}
	if (!*c->data_dir || !*c->jdl_dir) {
		*err_out = xstrdup("paths.data_dir and paths.jdl_dir must not be empty");
		return OPUS_ERR_INVAL;
	}
	if (check_roots(c->file_roots, err_out) < 0)
		return OPUS_ERR_INVAL;
	if (check_store(c, err_out) < 0)
		return OPUS_ERR_INVAL;
	if (strcmp(c->backend, "local") != 0 && strcmp(c->backend, "slurm") != 0) {
		*err_out = xasprintf("jobs.backend: \"%s\" is not local or slurm", c->backend);
		return OPUS_ERR_INVAL;
	}
	if (check_backends(c->backends, err_out) < 0)
		return OPUS_ERR_INVAL;
	if (*c->slurm_workdir_root &&
	    (c->slurm_workdir_root[0] != '/' || strcmp(c->slurm_workdir_root, "/") == 0)) {
		*err_out = xstrdup("slurm.workdir_root: an absolute directory other than /");
		return OPUS_ERR_INVAL;
	}
	if (check_user_resources(c->slurm_user_resources, err_out) < 0)
		return OPUS_ERR_INVAL;
	if (c->slurm_ssh_port > 65535) {
		*err_out = xstrdup("slurm.ssh_port: not a port (1..65535)");
		return OPUS_ERR_INVAL;
	}
	if (c->max_running == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->max_running = n > 0 ? n : 1;
	}
	if (!*c->base_url) {
		free(c->base_url);
		c->base_url = xasprintf("http://%s", c->listen);
	}
	while (*c->base_url && c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	return 0;
}

void conf_dump(const struct conf *c, struct sbuf *out)
{
	const char *section = "";
	for (size_t i = 0; i < OPUS_ARRAY_LEN(keys); i++) {
		const struct conf_key *k = &keys[i];
		const char *field = (const char *)c + k->offset;
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			sbuf_addf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		sbuf_addf(out, "# %s\n%s = ", k->doc, k->name);
		if (k->type == CONF_STR)
			sbuf_adds(out, *(char *const *)field);
		else if (k->type == CONF_INT)
			sbuf_addf(out, "%lld", (long long)*(const int64_t *)field);
		else
			sbuf_adds(out, *(const bool *)field ? "true" : "false");
		sbuf_addc(out, '\n');
	}
}
