/*
 * conf: every setting of opusd, with an embedded default for each, read
 * from an optional INI file and then from command-line flags (flags win).
 * One table (conf.c) lists every key: its section, name, type, default,
 * and where it lands in struct conf.
 *
 * Threading: load once at start, then read-only.
 * Ownership: struct conf owns its strings; conf_release() frees them.
 * Included by: main, http.
 */
#ifndef OPUS_CONF_H
#define OPUS_CONF_H

#include "base/base.h"

struct conf {
	/* [server] */
	char *listen;		 /* "ADDR:PORT" */
	char *base_url;		 /* absolute URL without trailing slash; "" = http://LISTEN */
	int64_t threads;	 /* HTTP worker threads */
	int64_t max_form_body;	 /* bytes, urlencoded bodies */
	int64_t max_upload_body; /* bytes, multipart bodies */
	int64_t wait_cap;	 /* seconds, longest WAIT */
	bool allow_anonymous;
	char *cors_origins; /* origins whose pages may call us, space/comma separated */
	char *log_level;
	char *instance; /* name among instances sharing a database; "" = HOSTNAME:PORT */
	int64_t lease;	/* seconds: an instance silent longer is dead */
	/* [paths] */
	char *data_dir;
	char *jdl_dir;
	char *web_dir; /* the web client's files; "" = none */
	/* [store] */
	char *store_backend; /* "sqlite" or "postgresql" */
	char *store_url;     /* postgresql://USER@HOST:PORT/DBNAME, never with a password */
	char *store_password_file;
	int64_t store_pool_size;
	/* [jobs] */
	char *backend;	/* "local" or "slurm": the default of job descriptions */
	char *backends; /* others opened beside it: "local", "slurm" (spaces, commas) */
	int64_t max_running;
	int64_t default_execution_duration;
	int64_t max_execution_duration;
	int64_t default_destruction;
	int64_t max_destruction;
	int64_t kill_grace_ms;
	char *run_as;	    /* user jobs run as; "" = the daemon's (refused as root) */
	char *cgroup;	    /* "auto" or "off" */
	int64_t max_memory; /* per-job limits, 0 = none; a description asks less */
	int64_t max_processes;
	int64_t max_open_files;
	int64_t max_cpu_time;
	/* [slurm]: exec_slurm's settings (struct exec_slurm_config) */
	char *slurm_cluster;
	char *slurm_conf;
	char *slurm_path;
	char *slurm_workdir_root;
	char *slurm_partition;
	char *slurm_account;
	char *slurm_sbatch_args;
	/* Comma-separated resources a job may ask for itself at creation
	 * (partition, account, gres, nodes, tasksPerNode, cpusPerTask); "" none. */
	char *slurm_user_resources;
	int64_t slurm_poll_interval_ms;
	int64_t slurm_command_timeout_ms;
	char *slurm_ssh_host;
	char *slurm_ssh_user;
	int64_t slurm_ssh_port;
	char *slurm_ssh_key;
	char *slurm_ssh_known_hosts;
	char *slurm_event_url;
	/* [inputs] */
	char *file_roots; /* ':'-separated absolute directories */
	bool allow_private_addresses;
	int64_t max_input_size;
	int64_t fetch_timeout;
	int64_t fetch_connect_timeout;
	int64_t fetch_threads;
	/* [provenance] */
	int64_t prov_max_depth;
	int64_t prov_max_activities;
	bool prov_result_links;
	/* [auth] */
	bool auth_check_permissions;
	int64_t auth_backoff_failures;
	int64_t auth_backoff_max;
};

/* Fills every field with its embedded default. */
void conf_init(struct conf *c);
void conf_release(struct conf *c);
/* Reads an INI file over the current values. On error returns OPUS_ERR_INVAL
 * (or _NOTFOUND/_IO) and sets *err_out to a malloc'd "file:line: reason". */
int conf_load_file(struct conf *c, const char *path, char **err_out) OPUS_WUR;
/* Sets one key ("section.key" or plain "key") from text; same errors. */
int conf_set(struct conf *c, const char *key, const char *value, char **err_out) OPUS_WUR;
/* Cross-field checks after loading (listen parses, limits positive, ...). */
int conf_check(struct conf *c, char **err_out) OPUS_WUR;
/* The instance name: [server] instance, else HOSTNAME:PORT of listen (stable
 * across restarts of the same daemon). Caller frees. */
char *conf_instance_name(const struct conf *c);
/* Does this server open the backend `name` (jobs.backend or jobs.backends)? */
bool conf_backend_enabled(const struct conf *c, const char *name);
/* Splits listen into a host and port. */
int conf_listen_parse(const char *listen, char *host, size_t host_len, int *port) OPUS_WUR;
/* Writes every key with its value as an INI document (for docs and -n). */
void conf_dump(const struct conf *c, struct sbuf *out);
/* Whether slurm.user_resources lists name (case-insensitive). */
bool conf_user_resource_allowed(const struct conf *c, const char *name);

#endif
