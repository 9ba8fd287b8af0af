/*
 * store_pg: the PostgreSQL backend (libpq). This file holds the core: the
 * connection pool, the prepared statements of every file of the backend,
 * the versioned schema, and the job operations; store_pg_accounts.c and
 * store_pg_prov.c hold the accounts and provenance operations
 * (store_pg-int.h is the API between them).
 *
 * Durability: a write returns once its COMMIT has returned, with the
 * server's synchronous_commit (on by default: the commit is flushed to the
 * WAL). Concurrent requests run on different pooled connections, and the
 * server flushes the commits that arrive together in one WAL write (its own
 * group commit), so durable commits are shared between requests as SQLite's
 * writer thread shares them.
 *
 * Connections: at most pool_size, opened on demand and kept; a caller waits
 * (bounded) for a free one. A connection that breaks (the server restarted
 * or went away) fails its statement with OPUS_ERR_BUSY and is dropped at
 * release; the next acquire opens a new one: the daemon reconnects by
 * itself, and the HTTP layer answers 503 with Retry-After meanwhile.
 *
 * Every statement is prepared on each connection when it opens and run with
 * PQexecPrepared: parameters are never spliced into SQL text.
 */
#include "store/store_pg-int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_PG_POOL_DEFAULT 8
#define STORE_PG_WAIT_MS      10000 /* for a free connection, then OPUS_ERR_BUSY */
#define STORE_PG_SCHEMA	      2

struct store_pg {
	struct store base;
	char *url;
	char *password; /* from password_file; NULL: libpq's own (PGPASSWORD, ~/.pgpass) */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	PGconn **idle;
	size_t nidle, nopen, max;
	/* The listener (store_pg_listen_main): its thread, its callback, and
	 * whether its connection holds the leader lock now. */
	pthread_t listener;
	bool listening;
	atomic_bool listen_stop;
	atomic_bool leader;
	store_notify_fn notify_fn;
	void *notify_ctx;
	char *beat_name; /* the heartbeat the listener writes; NULL: none */
	char beat_pid[24];
	int64_t beat_ms;
};

static struct store_pg *store_pg_of(struct store *st)
{
	return (struct store_pg *)st;
}

/* ---- the schema (version 1: SQLite's v5, in PostgreSQL's words) ---- */

/* clang-format off */
static const char store_pg_schema_v1[] =
	"CREATE TABLE jobs ("
	" id TEXT PRIMARY KEY, jobdef TEXT NOT NULL, owner TEXT, run_id TEXT,"
	" phase INTEGER NOT NULL, creation_time BIGINT NOT NULL,"
	" start_time BIGINT NOT NULL DEFAULT 0, end_time BIGINT NOT NULL DEFAULT 0,"
	" destruction_time BIGINT NOT NULL DEFAULT 0,"
	" execution_duration BIGINT NOT NULL DEFAULT 0, quote BIGINT NOT NULL DEFAULT 0,"
	" error_summary TEXT, error_type INTEGER NOT NULL DEFAULT 0,"
	" run_request_time BIGINT NOT NULL DEFAULT 0, jdl_hash TEXT,"
	" metrics_known INTEGER NOT NULL DEFAULT 0, wall_ms BIGINT NOT NULL DEFAULT 0,"
	" cpu_ms BIGINT NOT NULL DEFAULT 0, max_rss_kb BIGINT NOT NULL DEFAULT 0,"
	" exit_code INTEGER NOT NULL DEFAULT 0, exec_handle TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE params (seq BIGSERIAL,"
	" job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, value TEXT, by_ref INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (job_id, name));"
	"CREATE TABLE results (seq BIGSERIAL,"
	" job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" rid TEXT NOT NULL, path TEXT NOT NULL, mime TEXT, size BIGINT NOT NULL DEFAULT -1,"
	" entity_id TEXT, sha256 TEXT, PRIMARY KEY (job_id, rid));"
	"CREATE INDEX jobs_jobdef_owner_ctime ON jobs (jobdef, owner, creation_time, id);"
	"CREATE INDEX jobs_jobdef_ctime ON jobs (jobdef, creation_time, id);"
	"CREATE INDEX jobs_owner_ctime ON jobs (owner, creation_time, id);"
	"CREATE INDEX jobs_ctime ON jobs (creation_time, id);"
	"CREATE INDEX jobs_phase ON jobs (phase, run_request_time, creation_time);"
	"CREATE INDEX jobs_destruction_live ON jobs (destruction_time)"
	" WHERE destruction_time > 0 AND phase <> 9;"
	"CREATE TABLE entities (seq BIGSERIAL, id TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
	" size BIGINT NOT NULL DEFAULT 0, content_type TEXT, file_name TEXT, generated_by TEXT,"
	" role TEXT, result_id TEXT, source TEXT, owner TEXT,"
	" creation_time BIGINT NOT NULL DEFAULT 0, invalidation_time BIGINT NOT NULL DEFAULT 0,"
	" invalidated_by TEXT);"
	"CREATE TABLE usages (job_id TEXT NOT NULL, role TEXT NOT NULL, k INTEGER NOT NULL,"
	" entity_id TEXT NOT NULL, PRIMARY KEY (job_id, role, k));"
	"CREATE TABLE activities (id TEXT PRIMARY KEY, jobdef TEXT NOT NULL, jdl_hash TEXT,"
	" owner TEXT, run_id TEXT, phase INTEGER NOT NULL,"
	" creation_time BIGINT NOT NULL DEFAULT 0, start_time BIGINT NOT NULL DEFAULT 0,"
	" end_time BIGINT NOT NULL DEFAULT 0, error_summary TEXT,"
	" metrics_known INTEGER NOT NULL DEFAULT 0, wall_ms BIGINT NOT NULL DEFAULT 0,"
	" cpu_ms BIGINT NOT NULL DEFAULT 0, max_rss_kb BIGINT NOT NULL DEFAULT 0,"
	" exit_code INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE activity_params (seq BIGSERIAL, activity_id TEXT NOT NULL,"
	" name TEXT NOT NULL, value TEXT, is_default INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (activity_id, name));"
	"CREATE TABLE retired (job_id TEXT PRIMARY KEY, time BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX entities_owner_sha ON entities (owner, sha256, creation_time)"
	" WHERE invalidation_time = 0;"
	"CREATE INDEX entities_live_sha ON entities (sha256) WHERE invalidation_time = 0;"
	"CREATE INDEX entities_generated_by ON entities (generated_by)"
	" WHERE generated_by IS NOT NULL;"
	"CREATE INDEX entities_invalidated_by ON entities (invalidated_by)"
	" WHERE invalidated_by IS NOT NULL;"
	"CREATE INDEX usages_entity ON usages (entity_id);"
	"CREATE TABLE accounts (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL,"
	" admin INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,"
	" roles TEXT NOT NULL DEFAULT 'user', email TEXT, display_name TEXT,"
	" max_running BIGINT NOT NULL DEFAULT -1, max_jobs BIGINT NOT NULL DEFAULT -1,"
	" max_bytes BIGINT NOT NULL DEFAULT -1, created BIGINT NOT NULL DEFAULT 0,"
	" modified BIGINT NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX accounts_token_hash ON accounts (token_hash);"
	"CREATE TABLE roles (name TEXT PRIMARY KEY, run TEXT NOT NULL DEFAULT '',"
	" submit INTEGER NOT NULL DEFAULT 0, admin INTEGER NOT NULL DEFAULT 0,"
	" max_running BIGINT NOT NULL DEFAULT 0, max_jobs BIGINT NOT NULL DEFAULT 0,"
	" max_bytes BIGINT NOT NULL DEFAULT 0, modified BIGINT NOT NULL DEFAULT 0);"
	"INSERT INTO roles (name, run, admin) VALUES ('admin', '*', 1), ('user', '*', 0),"
	" ('anonymous', '*', 0);"
	"CREATE TABLE apps (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL,"
	" run TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,"
	" created BIGINT NOT NULL DEFAULT 0, modified BIGINT NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX apps_token_hash ON apps (token_hash);"
	/* names and token hashes are unique across accounts and apps */
	"CREATE FUNCTION accounts_unique() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF EXISTS (SELECT 1 FROM apps WHERE (TG_OP = 'INSERT' AND name = NEW.name)"
	" OR token_hash = NEW.token_hash) THEN"
	" RAISE unique_violation USING MESSAGE = 'name or token hash taken by an application';"
	" END IF; RETURN NEW; END $$;"
	"CREATE TRIGGER accounts_unique BEFORE INSERT OR UPDATE OF token_hash ON accounts"
	" FOR EACH ROW EXECUTE FUNCTION accounts_unique();"
	"CREATE FUNCTION apps_unique() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF EXISTS (SELECT 1 FROM accounts WHERE (TG_OP = 'INSERT' AND name = NEW.name)"
	" OR token_hash = NEW.token_hash) THEN"
	" RAISE unique_violation USING MESSAGE = 'name or token hash taken by an account';"
	" END IF; RETURN NEW; END $$;"
	"CREATE TRIGGER apps_unique BEFORE INSERT OR UPDATE OF token_hash ON apps"
	" FOR EACH ROW EXECUTE FUNCTION apps_unique();"
	"CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL,"
	" app TEXT, address TEXT, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',"
	" detail TEXT);"
	"CREATE TABLE jdl_disabled (jobdef TEXT PRIMARY KEY, time BIGINT NOT NULL DEFAULT 0);"
	/* per-owner usage kept by triggers, '' for anonymous (never a scan) */
	"CREATE TABLE owner_usage (owner TEXT PRIMARY KEY, jobs BIGINT NOT NULL DEFAULT 0,"
	" running BIGINT NOT NULL DEFAULT 0, bytes BIGINT NOT NULL DEFAULT 0);"
	"CREATE FUNCTION usage_add(o TEXT, j BIGINT, r BIGINT, b BIGINT) RETURNS void"
	" LANGUAGE sql AS $$"
	" INSERT INTO owner_usage (owner, jobs, running, bytes) VALUES (coalesce(o, ''), j, r, b)"
	" ON CONFLICT (owner) DO UPDATE SET jobs = owner_usage.jobs + excluded.jobs,"
	" running = owner_usage.running + excluded.running,"
	" bytes = owner_usage.bytes + excluded.bytes $$;"
	"CREATE FUNCTION job_bytes(id TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$"
	" SELECT coalesce(sum(greatest(r.size, 0)), 0)::bigint FROM results r"
	" WHERE r.job_id = id $$;"
	"CREATE FUNCTION jobs_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.phase <> 9 THEN"
	" PERFORM usage_add(OLD.owner, -1, -(OLD.phase = 2)::int, -job_bytes(OLD.id));"
	" ELSIF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM usage_add(OLD.owner, 0, 0, 0);"
	" END IF;"
	" IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.phase <> 9 THEN"
	" PERFORM usage_add(NEW.owner, 1, (NEW.phase = 2)::int, job_bytes(NEW.id));"
	" END IF;"
	" IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$;"
	"CREATE TRIGGER jobs_usage_insert AFTER INSERT ON jobs FOR EACH ROW"
	" EXECUTE FUNCTION jobs_usage();"
	"CREATE TRIGGER jobs_usage_delete BEFORE DELETE ON jobs FOR EACH ROW"
	" EXECUTE FUNCTION jobs_usage();"
	"CREATE TRIGGER jobs_usage_update AFTER UPDATE OF phase, owner ON jobs FOR EACH ROW"
	" WHEN (OLD.phase IS DISTINCT FROM NEW.phase OR OLD.owner IS DISTINCT FROM NEW.owner)"
	" EXECUTE FUNCTION jobs_usage();"
	"CREATE FUNCTION results_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF TG_OP IN ('UPDATE', 'DELETE') THEN"
	" UPDATE owner_usage SET bytes = bytes - greatest(OLD.size, 0) WHERE owner ="
	" (SELECT coalesce(j.owner, '') FROM jobs j WHERE j.id = OLD.job_id AND j.phase <> 9);"
	" END IF;"
	" IF TG_OP IN ('INSERT', 'UPDATE') THEN"
	" UPDATE owner_usage SET bytes = bytes + greatest(NEW.size, 0) WHERE owner ="
	" (SELECT coalesce(j.owner, '') FROM jobs j WHERE j.id = NEW.job_id AND j.phase <> 9);"
	" END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER results_usage AFTER INSERT OR DELETE OR UPDATE OF size, job_id"
	" ON results FOR EACH ROW EXECUTE FUNCTION results_usage();";

/* Version 2: several instances on one database. A job's claim (instance;
 * starting: claimed for a start, which may have begun), cleared by any
 * change of phase to QUEUED (a requeue: nobody's again);
 * the instances and their heartbeats; a notification on channel opusd_job,
 * "{id} {phase}" ("{id} -1": deleted), for every committed phase change. */
static const char store_pg_schema_v2[] =
	"ALTER TABLE jobs ADD COLUMN instance TEXT;"
	"ALTER TABLE jobs ADD COLUMN starting INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_instance ON jobs (instance) WHERE instance IS NOT NULL;"
	"CREATE TABLE instances (name TEXT PRIMARY KEY, pid BIGINT NOT NULL DEFAULT 0,"
	" started BIGINT NOT NULL DEFAULT 0, heartbeat BIGINT NOT NULL DEFAULT 0);"
	"CREATE FUNCTION jobs_unclaim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" NEW.instance := NULL; NEW.starting := 0; RETURN NEW; END $$;"
	"CREATE TRIGGER jobs_unclaim BEFORE UPDATE OF phase ON jobs FOR EACH ROW"
	" WHEN (NEW.phase = 1 AND OLD.phase <> 1) EXECUTE FUNCTION jobs_unclaim();"
	"CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF TG_OP = 'DELETE' THEN PERFORM pg_notify('opusd_job', OLD.id || ' -1');"
	" ELSE PERFORM pg_notify('opusd_job', NEW.id || ' ' || NEW.phase); END IF;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_notify_insert AFTER INSERT OR DELETE ON jobs FOR EACH ROW"
	" EXECUTE FUNCTION jobs_notify();"
	"CREATE TRIGGER jobs_notify_update AFTER UPDATE OF phase ON jobs FOR EACH ROW"
	" WHEN (OLD.phase IS DISTINCT FROM NEW.phase) EXECUTE FUNCTION jobs_notify();";
/* clang-format on */

/* The database's clock in ms: heartbeats and leases are compared on it only. */
#define STORE_PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"
/* An instance's heartbeat ($1 name, $2 pid): prepared on pooled connections,
 * run with PQexecParams on the listener's. */
#define STORE_PG_BEAT_SQL                                                                          \
	"INSERT INTO instances (name, pid, started, heartbeat) VALUES ($1, $2, " STORE_PG_NOW_MS   \
	", " STORE_PG_NOW_MS ") ON CONFLICT (name) DO UPDATE SET started = CASE WHEN "             \
	"instances.pid = excluded.pid THEN instances.started ELSE excluded.started END, "          \
	"pid = excluded.pid, heartbeat = excluded.heartbeat"

/* clang-format off */
#define STORE_PG_JOB_COLS                                                                          \
	"id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, "                  \
	"destruction_time, execution_duration, quote, error_summary, error_type, "                 \
	"run_request_time, exec_handle, jdl_hash"
#define STORE_PG_LIST_COLS                                                                         \
	"id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, destruction_time"

static const struct store_pg_stmt store_pg_job_stmts[] = {
    {"job_insert", "INSERT INTO jobs (" STORE_PG_JOB_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
		   "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16)", 16},
    /* conditional: only while the row is in the phase the caller read ($17) */
    {"job_update", "UPDATE jobs SET jobdef = $2, owner = $3, run_id = $4, phase = $5, "
		   "creation_time = $6, start_time = $7, end_time = $8, destruction_time = $9, "
		   "execution_duration = $10, quote = $11, error_summary = $12, "
		   "error_type = $13, run_request_time = $14, exec_handle = $15, jdl_hash = $16 "
		   "WHERE id = $1 AND phase = $17", 17},
    {"job_exists", "SELECT 1 FROM jobs WHERE id = $1", 1},
    {"job_get", "SELECT " STORE_PG_JOB_COLS ", metrics_known, wall_ms, cpu_ms, max_rss_kb, "
		"exit_code FROM jobs WHERE id = $1", 1},
    {"params_get", "SELECT name, value, by_ref FROM params WHERE job_id = $1 ORDER BY seq", 1},
    {"params_delete", "DELETE FROM params WHERE job_id = $1", 1},
    {"param_insert", "INSERT INTO params (job_id, name, value, by_ref) VALUES ($1, $2, $3, $4)",
     4},
    {"results_get", "SELECT rid, path, mime, size, entity_id, sha256 FROM results "
		    "WHERE job_id = $1 ORDER BY seq", 1},
    {"ids_in_phase", "SELECT id FROM jobs WHERE phase = $1 "
		     "ORDER BY run_request_time, creation_time, id", 1},
    {"ids_expired", "SELECT id FROM jobs WHERE destruction_time > 0 AND phase <> 9 AND "
		    "destruction_time <= $1 ORDER BY destruction_time LIMIT $2", 2},
    {"next_destruction", "SELECT min(destruction_time) FROM jobs "
			 "WHERE destruction_time > 0 AND phase <> 9", 0},
    {"job_claim", "UPDATE jobs SET instance = $2, starting = 1 WHERE id = $1 AND phase = 1 "
		  "AND (instance IS NULL OR instance = $2)", 2},
    {"job_claim_next", "UPDATE jobs SET instance = $1 WHERE id IN (SELECT id FROM jobs "
		       "WHERE phase = 1 AND instance IS NULL AND exec_handle = '' "
		       "AND run_request_time <= $3 ORDER BY run_request_time, creation_time, id LIMIT $2 "
		       "FOR UPDATE SKIP LOCKED) RETURNING id", 3},
    {"ids_mine", "SELECT id FROM jobs WHERE phase = $1 AND (instance IS NULL OR instance = $2) "
		 "ORDER BY run_request_time, creation_time, id", 2},
    {"ids_of", "SELECT id FROM jobs WHERE instance = $1 AND phase IN (1, 2) "
	       "ORDER BY run_request_time, creation_time, id", 1},
    {"job_reassign", "UPDATE jobs SET instance = $3 WHERE id = $1 AND instance = $2 "
		     "AND phase = $4", 4},
    {"job_unclaim", "UPDATE jobs SET instance = NULL WHERE id = $1 AND instance = $2 "
		    "AND phase = 1 AND exec_handle = '' AND starting = 0", 2},
    {"instance_beat", STORE_PG_BEAT_SQL, 2},
    {"instances_dead", "SELECT name FROM instances WHERE name <> $1 AND heartbeat < "
		       STORE_PG_NOW_MS " - $2 ORDER BY name", 2},
    {"instance_forget", "DELETE FROM instances WHERE name = $1", 1},
    {NULL, NULL, 0},
};
/* clang-format on */

/* ---- the list statements: one per shape, generated once ---- */

/* Descriptions: one (jobdef = $), every one, or some (= ANY($)); owners:
 * every one, one (owner = $), anonymous (IS NULL); orders: oldest first,
 * newest first, upwards from SINCE (the page just newer, reversed after). */
enum { STORE_PG_LIST_DEFS = 3, STORE_PG_LIST_OWNERS = 3, STORE_PG_LIST_ORDERS = 3 };
#define STORE_PG_LIST_N (STORE_PG_LIST_DEFS * STORE_PG_LIST_OWNERS * STORE_PG_LIST_ORDERS)

static char store_pg_list_names[STORE_PG_LIST_N][16];
static char *store_pg_list_sql[STORE_PG_LIST_N];
static struct store_pg_stmt store_pg_list_stmts[STORE_PG_LIST_N + 1];
static pthread_once_t store_pg_list_once = PTHREAD_ONCE_INIT;

static int store_pg_list_index(int defs, int owners, int order)
{
	return (defs * STORE_PG_LIST_OWNERS + owners) * STORE_PG_LIST_ORDERS + order;
}

/* The parameters, numbered in the order they appear: the description(s),
 * the owner, then AFTER, the phase mask, the BEFORE time and id, the SINCE
 * time and id, the limit (NULL: none). store_pg_list_args binds the same. */
static char *store_pg_list_build(int defs, int owners, int order, int *nparams)
{
	struct sbuf sb = SBUF_INIT;
	int n = 0;
	sbuf_adds(&sb, "SELECT " STORE_PG_LIST_COLS " FROM jobs WHERE ");
	if (defs == 0)
		sbuf_addf(&sb, "jobdef = $%d AND ", ++n);
	else if (defs == 2)
		sbuf_addf(&sb, "jobdef = ANY($%d::text[]) AND ", ++n);
	if (owners == 1)
		sbuf_addf(&sb, "owner = $%d AND ", ++n);
	else if (owners == 2)
		sbuf_adds(&sb, "owner IS NULL AND ");
	sbuf_addf(&sb, "creation_time > $%d AND (($%d::bigint >> phase) & 1) = 1 ", n + 1, n + 2);
	sbuf_addf(&sb, "AND creation_time <= $%d AND (creation_time < $%d OR id < $%d) ", n + 3,
		  n + 3, n + 4);
	sbuf_addf(&sb, "AND creation_time >= $%d AND (creation_time > $%d OR id > $%d) ", n + 5,
		  n + 5, n + 6);
	sbuf_addf(&sb, "ORDER BY %s LIMIT $%d",
		  order == 1 ? "creation_time DESC, id DESC" : "creation_time, id", n + 7);
	*nparams = n + 7;
	return sbuf_detach(&sb, NULL);
}

static void store_pg_list_init(void)
{
	for (int d = 0; d < STORE_PG_LIST_DEFS; d++)
		for (int o = 0; o < STORE_PG_LIST_OWNERS; o++)
			for (int r = 0; r < STORE_PG_LIST_ORDERS; r++) {
				int i = store_pg_list_index(d, o, r);
				snprintf(store_pg_list_names[i], sizeof(store_pg_list_names[i]),
					 "list_%d", i);
				store_pg_list_sql[i] =
				    store_pg_list_build(d, o, r, &store_pg_list_stmts[i].nparams);
				store_pg_list_stmts[i].name = store_pg_list_names[i];
				store_pg_list_stmts[i].sql = store_pg_list_sql[i];
			}
}

/* ---- connections ---- */

static const struct store_pg_stmt *const *store_pg_tables(void)
{
	static const struct store_pg_stmt *const tables[] = {
	    store_pg_job_stmts, store_pg_list_stmts, store_pg_accounts_stmts, store_pg_prov_stmts,
	    NULL};
	pthread_once(&store_pg_list_once, store_pg_list_init);
	return tables;
}

/* The server's notices ("relation ... already exists, skipping") go to the
 * log, not to stderr as libpq's default would print them. */
static void store_pg_notice(void *arg, const char *message)
{
	size_t len = strlen(message);
	(void)arg;
	while (len && message[len - 1] == '\n')
		len--;
	log_debug("store: PostgreSQL says: %.*s", (int)len, message);
}

/* A new connection (check PQstatus); pg_stat_activity shows it as "opusd"
 * unless the URL names it otherwise. */
static PGconn *store_pg_connect(const struct store_pg *pg)
{
	const char *keys[] = {"fallback_application_name", "dbname",
			      pg->password ? "password" : NULL, NULL};
	const char *vals[] = {"opusd", pg->url, pg->password, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (c)
		PQsetNoticeProcessor(c, store_pg_notice, NULL);
	return c;
}

/* Prepares every statement of every file on a new connection. */
static int store_pg_prepare_all(PGconn *c)
{
	for (const struct store_pg_stmt *const *t = store_pg_tables(); *t; t++) {
		for (const struct store_pg_stmt *s = *t; s->name; s++) {
			PGresult *r = PQprepare(c, s->name, s->sql, s->nparams, NULL);
			bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
			if (!ok)
				log_error("store: cannot prepare %s: %s", s->name,
					  PQresultErrorMessage(r));
			PQclear(r);
			if (!ok)
				return PQstatus(c) == CONNECTION_OK ? OPUS_ERR_INTERNAL
								    : OPUS_ERR_BUSY;
		}
	}
	return 0;
}

/* A new connection with every statement prepared; NULL (logged) on failure. */
static PGconn *store_pg_open_conn(const struct store_pg *pg)
{
	PGconn *c = store_pg_connect(pg);
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("store: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	if (store_pg_prepare_all(c) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

static void store_pg_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Is an idle pooled connection still usable? Nothing is due on one (it does
 * not LISTEN, no statement runs): a readable socket means the server closed
 * it meanwhile (a restart, a terminated backend: its FATAL message and the end
 * of the stream are waiting). A poll, no round trip. */
static bool store_pg_idle_usable(PGconn *c)
{
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
	return PQstatus(c) == CONNECTION_OK && pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

int store_pg_acquire(struct store *st, PGconn **out)
{
	struct store_pg *pg = store_pg_of(st);
	struct timespec until;
	bool open_one = false;
	int rc = 0;
	*out = NULL;
	store_pg_deadline(&until, STORE_PG_WAIT_MS);
	pthread_mutex_lock(&pg->lock);
	while (!pg->nidle && pg->nopen >= pg->max && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&pg->freed, &pg->lock, &until);
	if (pg->nidle)
		*out = pg->idle[--pg->nidle];
	else if (pg->nopen < pg->max)
		open_one = true, pg->nopen++;
	pthread_mutex_unlock(&pg->lock);
	if (*out && store_pg_idle_usable(*out))
		return 0;
	if (*out) { /* its place is taken by a new one: nopen stays */
		log_debug("store: a pooled PostgreSQL connection was closed by the server; "
			  "opening a new one");
		PQfinish(*out);
		*out = NULL;
		open_one = true;
	}
	if (!open_one) {
		log_warn("store: every PostgreSQL connection (%zu) stayed busy", pg->max);
		return OPUS_ERR_BUSY;
	}
	*out = store_pg_open_conn(pg);
	if (*out)
		return 0;
	pthread_mutex_lock(&pg->lock);
	pg->nopen--;
	pthread_cond_signal(&pg->freed);
	pthread_mutex_unlock(&pg->lock);
	return OPUS_ERR_BUSY;
}

/* A broken connection (or one left inside a transaction) is closed: the next
 * acquire opens a fresh one. */
void store_pg_release(struct store *st, PGconn *c)
{
	struct store_pg *pg = store_pg_of(st);
	bool keep = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
	if (!keep)
		PQfinish(c);
	pthread_mutex_lock(&pg->lock);
	if (keep)
		pg->idle[pg->nidle++] = c;
	else
		pg->nopen--;
	pthread_cond_signal(&pg->freed);
	pthread_mutex_unlock(&pg->lock);
}

/* The result's status as an OPUS_ERR_* (logged when it is not one a caller
 * expects: a unique violation is OPUS_ERR_EXISTS, a lost server OPUS_ERR_BUSY). */
static int store_pg_status(PGconn *c, const PGresult *r, const char *what)
{
	ExecStatusType s = PQresultStatus(r);
	const char *state;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 0;
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("store: PostgreSQL connection lost (%s): %s", what, PQerrorMessage(c));
		return OPUS_ERR_BUSY;
	}
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (state && !strcmp(state, "23505"))
		return OPUS_ERR_EXISTS;
	/* admin shutdown, crash recovery, cannot connect now: try again later */
	if (state && (!strncmp(state, "57P", 3) || !strncmp(state, "08", 2)))
		return OPUS_ERR_BUSY;
	log_error("store: %s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	return OPUS_ERR_IO;
}

int store_pg_exec(PGconn *c, const char *name, int nparams, const char *const *values,
		  PGresult **res_out)
{
	PGresult *r = PQexecPrepared(c, name, nparams, values, NULL, NULL, 0);
	int ret = store_pg_status(c, r, name);
	if (res_out && ret == 0)
		*res_out = r;
	else
		PQclear(r);
	return ret;
}

/* A statement without parameters nor user data (transaction control). */
static int store_pg_simple(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ret = store_pg_status(c, r, sql);
	PQclear(r);
	return ret;
}

int store_pg_begin(PGconn *c)
{
	return store_pg_simple(c, "BEGIN");
}

int store_pg_commit(PGconn *c)
{
	return store_pg_simple(c, "COMMIT");
}

void store_pg_rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		(void)store_pg_simple(c, "ROLLBACK");
}

char *store_pg_col_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

int64_t store_pg_col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- open, migrate, close ---- */

static int store_pg_password_read(const char *path, char **out)
{
	char *text = NULL;
	size_t len = 0;
	int ret = file_read_all(path, 4096, &text, &len);
	if (ret < 0) {
		log_error("store: cannot read the password file %s: %s", path, opus_strerror(ret));
		return ret;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	*out = text;
	return 0;
}

/* One migration and its version row, in one transaction. */
static int store_pg_migrate_to(PGconn *c, const char *sql, const char *version_sql)
{
	int ret = store_pg_simple(c, "BEGIN");
	if (ret == 0)
		ret = store_pg_simple(c, sql);
	if (ret == 0)
		ret = store_pg_simple(c, version_sql);
	return ret == 0 ? store_pg_simple(c, "COMMIT") : (store_pg_rollback(c), ret);
}

/* Creates the schema when the database has none, under an advisory lock so
 * that instances starting together migrate once. */
static int store_pg_migrate(PGconn *c)
{
	int ret = store_pg_simple(c, "SELECT pg_advisory_lock(1869641075, 0)");
	PGresult *r = NULL;
	int64_t v = 0;
	if (ret < 0)
		return ret;
	ret = store_pg_simple(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)");
	if (ret == 0) {
		r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
		ret = store_pg_status(c, r, "schema_version");
		if (ret == 0)
			v = store_pg_col_i64(r, 0, 0);
		PQclear(r);
	}
	if (ret == 0 && v > STORE_PG_SCHEMA) {
		log_error("store: database schema v%" PRId64 " is newer than this opusd (v%d)", v,
			  STORE_PG_SCHEMA);
		ret = OPUS_ERR_INVAL;
	}
	if (ret == 0 && v < 1)
		ret = store_pg_migrate_to(c, store_pg_schema_v1,
					  "INSERT INTO schema_version VALUES (1)");
	if (ret == 0 && v < 2)
		ret = store_pg_migrate_to(c, store_pg_schema_v2,
					  "INSERT INTO schema_version VALUES (2)");
	(void)store_pg_simple(c, "SELECT pg_advisory_unlock(1869641075, 0)");
	return ret;
}

static void store_pg_unlisten(struct store *st);

static void store_pg_free(struct store_pg *pg)
{
	store_pg_unlisten(&pg->base);
	free(pg->beat_name);
	for (size_t i = 0; i < pg->nidle; i++)
		PQfinish(pg->idle[i]);
	free(pg->idle);
	free(pg->url);
	if (pg->password)
		memset(pg->password, 0, strlen(pg->password));
	free(pg->password);
	pthread_mutex_destroy(&pg->lock);
	pthread_cond_destroy(&pg->freed);
	free(pg);
}

static int store_pg_open(const struct store_config *cfg, struct store **out)
{
	struct store_pg *pg;
	PGconn *c;
	int ret = 0;
	if (!cfg->url || !*cfg->url) {
		log_error("store: backend postgresql needs [store] url");
		return OPUS_ERR_INVAL;
	}
	pg = xcalloc(1, sizeof(*pg));
	pg->base.ops = &store_pg_ops;
	pg->url = xstrdup(cfg->url);
	pg->max = cfg->pool_size > 0 ? (size_t)cfg->pool_size : STORE_PG_POOL_DEFAULT;
	pg->idle = xcalloc(pg->max, sizeof(*pg->idle));
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->freed, NULL);
	if (cfg->password_file && *cfg->password_file)
		ret = store_pg_password_read(cfg->password_file, &pg->password);
	if (ret < 0) {
		store_pg_free(pg);
		return ret;
	}
	/* the first connection: the server's reason when it cannot be reached */
	c = store_pg_connect(pg);
	if (PQstatus(c) != CONNECTION_OK) {
		log_error("store: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		store_pg_free(pg);
		return OPUS_ERR_IO;
	}
	ret = store_pg_migrate(c);
	PQfinish(c);
	if (ret < 0) {
		store_pg_free(pg);
		return ret;
	}
	*out = &pg->base;
	return 0;
}

static void store_pg_close(struct store *st)
{
	store_pg_free(store_pg_of(st));
}

/* ---- job writes ---- */

static void store_pg_job_args(struct store_pg_args *a, const struct uws_job *job)
{
	store_pg_arg_text(a, job->id);
	store_pg_arg_text(a, job->jobdef);
	store_pg_arg_text(a, job->owner && *job->owner ? job->owner : NULL);
	store_pg_arg_text(a, job->run_id);
	store_pg_arg_int(a, job->phase);
	store_pg_arg_int(a, job->creation_time);
	store_pg_arg_int(a, job->start_time);
	store_pg_arg_int(a, job->end_time);
	store_pg_arg_int(a, job->destruction_time);
	store_pg_arg_int(a, job->execution_duration);
	store_pg_arg_int(a, job->quote);
	store_pg_arg_text(a, job->error_summary);
	store_pg_arg_int(a, job->error_type);
	store_pg_arg_int(a, job->run_request_time);
	store_pg_arg_text(a, job->exec_handle);
	store_pg_arg_text(a, job->jdl_hash);
}

/* ---- pipelines: a request's statements sent at once, one round trip ---- */

#define STORE_PG_PIPE_MAX 64 /* statements in one pipeline (a create: 3 + its parameters) */

/* Statements queued on c in pipeline mode (libpq's), then read after one
 * sync: a GET job or a create costs one round trip instead of one per
 * statement. The first statement that fails decides the answer (those after
 * it are skipped by the server); `failed` is its index. */
struct store_pg_pipe {
	PGconn *c;
	int n;	    /* statements sent */
	int failed; /* index of the first failure; -1 none */
	int err;    /* its OPUS_ERR_*; a send that failed: OPUS_ERR_BUSY */
	const char *names[STORE_PG_PIPE_MAX];
	PGresult *res[STORE_PG_PIPE_MAX]; /* kept where asked for (keep[i]) */
	bool keep[STORE_PG_PIPE_MAX];
};

static void store_pg_pipe_begin(struct store_pg_pipe *p, PGconn *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->failed = -1;
	if (PQenterPipelineMode(c) != 1) {
		p->failed = 0;
		p->err = OPUS_ERR_BUSY;
	}
}

/* Queues a prepared statement (name NULL: sql, transaction control without
 * parameters); keep: its result is wanted (store_pg_pipe_end). */
static void store_pg_pipe_send(struct store_pg_pipe *p, const char *name, const char *sql,
			       const struct store_pg_args *a, bool keep)
{
	int ok;
	if (p->err)
		return;
	if (p->n == STORE_PG_PIPE_MAX) {
		p->failed = p->n;
		p->err = OPUS_ERR_TOOBIG;
		return;
	}
	ok = name ? PQsendQueryPrepared(p->c, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0)
		  : PQsendQueryParams(p->c, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (ok != 1) {
		log_warn("store: PostgreSQL: cannot send %s: %s", name ? name : sql,
			 PQerrorMessage(p->c));
		p->failed = p->n;
		p->err = OPUS_ERR_BUSY;
		return;
	}
	if (name)
		store_pg_count_statement();
	p->names[p->n] = name ? name : sql;
	p->keep[p->n] = keep;
	p->n++;
}

/* Sends the sync, reads every result, leaves pipeline mode. 0 when every
 * statement succeeded; else the first failure's code (p->failed says which)
 * and the transaction, if one was open, still to roll back. */
static int store_pg_pipe_end(struct store_pg_pipe *p)
{
	int i = 0;
	bool sent = p->n > 0 && PQpipelineSync(p->c) == 1;

	if (p->n > 0 && !sent && !p->err) {
		p->failed = 0;
		p->err = OPUS_ERR_BUSY;
	}
	/* each statement's result, then NULL; the sync's result last */
	while (sent && PQstatus(p->c) == CONNECTION_OK) {
		PGresult *r = PQgetResult(p->c);
		ExecStatusType st;
		if (!r) {
			i++;
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (i < p->n && st != PGRES_PIPELINE_ABORTED && !p->err &&
		    (p->err = store_pg_status(p->c, r, p->names[i])) != 0)
			p->failed = i;
		if (i < p->n && p->keep[i] && !p->res[i])
			p->res[i] = r;
		else
			PQclear(r);
	}
	if (PQstatus(p->c) != CONNECTION_OK && !p->err) {
		log_warn("store: PostgreSQL connection lost (a pipeline): %s",
			 PQerrorMessage(p->c));
		p->failed = 0;
		p->err = OPUS_ERR_BUSY;
	}
	(void)PQexitPipelineMode(p->c);
	return p->err;
}

static void store_pg_pipe_release(struct store_pg_pipe *p)
{
	for (int i = 0; i < p->n; i++)
		PQclear(p->res[i]);
}

static int store_pg_insert_params(PGconn *c, const struct uws_job *job)
{
	for (size_t i = 0; i < job->nparams; i++) {
		struct store_pg_args a = {0};
		int ret;
		store_pg_arg_text(&a, job->id);
		store_pg_arg_text(&a, job->params[i].name);
		store_pg_arg_text(&a, job->params[i].value);
		store_pg_arg_int(&a, job->params[i].by_ref);
		ret = store_pg_run(c, "param_insert", &a, NULL);
		if (ret < 0) /* the same name twice: bad input */
			return ret == OPUS_ERR_EXISTS ? OPUS_ERR_INVAL : ret;
	}
	return 0;
}

static int store_pg_job_exists(PGconn *c, const char *id)
{
	struct store_pg_args a = {0};
	PGresult *r = NULL;
	int ret;
	store_pg_arg_text(&a, id);
	ret = store_pg_run(c, "job_exists", &a, &r);
	if (ret == 0 && PQntuples(r) == 0)
		ret = OPUS_ERR_NOTFOUND;
	PQclear(r);
	return ret;
}

/* The scalars, only while the row is in phase `from`: OPUS_ERR_PHASE when
 * it is in another, OPUS_ERR_NOTFOUND when it is gone. */
static int store_pg_update_job(PGconn *c, const struct uws_job *job, enum uws_phase from)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_job_args(&a, job);
	store_pg_arg_int(&a, from);
	ret = store_pg_run_count(c, "job_update", &a, &n);
	if (ret == 0 && n == 0) {
		ret = store_pg_job_exists(c, job->id);
		if (ret == 0)
			ret = OPUS_ERR_PHASE;
	}
	return ret;
}

struct store_pg_jobop {
	const struct uws_job *job;
	enum uws_phase from;
	bool scalars, params;
};

static int store_pg_run_jobop(PGconn *c, void *arg)
{
	const struct store_pg_jobop *op = arg;
	struct store_pg_args a = {0};
	int ret = 0;
	if (op->scalars)
		ret = store_pg_update_job(c, op->job, op->from);
	else if (op->params)
		ret = store_pg_job_exists(c, op->job->id);
	if (ret == 0 && op->params) {
		store_pg_arg_text(&a, op->job->id);
		ret = store_pg_run(c, "params_delete", &a, NULL);
	}
	if (ret == 0 && op->params)
		ret = store_pg_insert_params(c, op->job);
	return ret;
}

static int store_pg_run_create(PGconn *c, void *arg)
{
	const struct uws_job *job = arg;
	struct store_pg_args a = {0};
	int ret;
	store_pg_job_args(&a, job);
	ret = store_pg_run(c, "job_insert", &a, NULL);
	return ret == 0 ? store_pg_insert_params(c, job) : ret;
}

/* The job and its parameters in one transaction, sent in one pipeline (one
 * round trip; the commit is durable when it returns, as any other). A job
 * with more parameters than a pipeline holds takes the statement-by-statement way. */
static int store_pg_job_create(struct store *st, const struct uws_job *job)
{
	struct store_pg_args ja = {0}, *pa;
	struct store_pg_pipe p;
	PGconn *c = NULL;
	int ret;

	if (job->nparams + 3 > STORE_PG_PIPE_MAX)
		return store_pg_in_tx(st, 0, store_pg_run_create, (void *)job);
	ret = store_pg_acquire(st, &c);
	if (ret < 0)
		return ret;
	pa = xcalloc(job->nparams + 1, sizeof(*pa));
	store_pg_job_args(&ja, job);
	store_pg_pipe_begin(&p, c);
	store_pg_pipe_send(&p, NULL, "BEGIN", NULL, false);
	store_pg_pipe_send(&p, "job_insert", NULL, &ja, false);
	for (size_t i = 0; i < job->nparams; i++) {
		store_pg_arg_text(&pa[i], job->id);
		store_pg_arg_text(&pa[i], job->params[i].name);
		store_pg_arg_text(&pa[i], job->params[i].value);
		store_pg_arg_int(&pa[i], job->params[i].by_ref);
		store_pg_pipe_send(&p, "param_insert", NULL, &pa[i], false);
	}
	store_pg_pipe_send(&p, NULL, "COMMIT", NULL, false);
	ret = store_pg_pipe_end(&p);
	/* the same parameter name twice: bad input, as store_pg_insert_params says */
	if (ret == OPUS_ERR_EXISTS && p.failed >= 2 && p.failed < p.n - 1)
		ret = OPUS_ERR_INVAL;
	if (ret)
		store_pg_rollback(c);
	store_pg_pipe_release(&p);
	store_pg_release(st, c);
	free(pa);
	return ret;
}

static int store_pg_job_save(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	struct store_pg_jobop op = {job, from, true, false};
	return store_pg_in_tx(st, 0, store_pg_run_jobop, &op);
}

static int store_pg_job_update(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	struct store_pg_jobop op = {job, from, true, true};
	return store_pg_in_tx(st, 0, store_pg_run_jobop, &op);
}

static int store_pg_job_set_params(struct store *st, const struct uws_job *job)
{
	struct store_pg_jobop op = {job, UWS_PENDING, false, true};
	return store_pg_in_tx(st, 0, store_pg_run_jobop, &op);
}

/* store_job_end without the activity and the entities (store_pg_prov.c). */
static int store_pg_job_finish(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	return store_pg_job_end(st, job, NULL, NULL, 0, from);
}

static int store_pg_run_delete(PGconn *c, void *arg)
{
	return store_pg_retire_in(c, arg, false, time_now_ms(), NULL);
}

static int store_pg_job_delete(struct store *st, const char *id)
{
	return store_pg_in_tx(st, 0, store_pg_run_delete, (void *)id);
}

/* ---- job reads ---- */

static void store_pg_read_job(const PGresult *r, struct uws_job *job)
{
	store_pg_col_buf(r, 0, 0, job->id, sizeof(job->id));
	job->jobdef = store_pg_col_str(r, 0, 1);
	job->owner = store_pg_col_str(r, 0, 2);
	job->run_id = store_pg_col_str(r, 0, 3);
	job->phase = (enum uws_phase)store_pg_col_i64(r, 0, 4);
	job->creation_time = store_pg_col_i64(r, 0, 5);
	job->start_time = store_pg_col_i64(r, 0, 6);
	job->end_time = store_pg_col_i64(r, 0, 7);
	job->destruction_time = store_pg_col_i64(r, 0, 8);
	job->execution_duration = store_pg_col_i64(r, 0, 9);
	job->quote = store_pg_col_i64(r, 0, 10);
	job->error_summary = store_pg_col_str(r, 0, 11);
	job->error_type = store_pg_col_i64(r, 0, 12) == UWS_ERROR_TRANSIENT ? UWS_ERROR_TRANSIENT
									    : UWS_ERROR_FATAL;
	job->run_request_time = store_pg_col_i64(r, 0, 13);
	store_pg_col_buf(r, 0, 14, job->exec_handle, sizeof(job->exec_handle));
	job->jdl_hash = store_pg_col_str(r, 0, 15);
	job->metrics.known = store_pg_col_i64(r, 0, 16) != 0;
	job->metrics.wall_ms = store_pg_col_i64(r, 0, 17);
	job->metrics.cpu_ms = store_pg_col_i64(r, 0, 18);
	job->metrics.max_rss_kb = store_pg_col_i64(r, 0, 19);
	job->metrics.exit_code = (int)store_pg_col_i64(r, 0, 20);
}

static void store_pg_read_children(const PGresult *p, const PGresult *res, struct uws_job *job)
{
	for (int i = 0; i < PQntuples(p); i++)
		uws_job_add_param(job, PQgetvalue(p, i, 0),
				  PQgetisnull(p, i, 1) ? NULL : PQgetvalue(p, i, 1),
				  store_pg_col_i64(p, i, 2) != 0);
	for (int i = 0; i < PQntuples(res); i++) {
		uws_job_add_result(job, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				   PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				   store_pg_col_i64(res, i, 3));
		job->results[job->nresults - 1].entity_id = store_pg_col_str(res, i, 4);
		job->results[job->nresults - 1].sha256 = store_pg_col_str(res, i, 5);
	}
}

/* Three reads in one snapshot (a concurrent end is seen whole or not at
 * all), sent in one pipeline: one round trip. */
static int store_pg_read_job_all(PGconn *c, const char *id, struct uws_job *job)
{
	struct store_pg_args a = {0};
	struct store_pg_pipe p;
	int ret;

	store_pg_arg_text(&a, id);
	store_pg_pipe_begin(&p, c);
	store_pg_pipe_send(&p, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL,
			   false);
	store_pg_pipe_send(&p, "job_get", NULL, &a, true);
	store_pg_pipe_send(&p, "params_get", NULL, &a, true);
	store_pg_pipe_send(&p, "results_get", NULL, &a, true);
	store_pg_pipe_send(&p, NULL, "COMMIT", NULL, false);
	ret = store_pg_pipe_end(&p);
	if (ret)
		store_pg_rollback(c);
	else if (PQntuples(p.res[1]) == 0)
		ret = OPUS_ERR_NOTFOUND;
	if (ret == 0) {
		store_pg_read_job(p.res[1], job);
		store_pg_read_children(p.res[2], p.res[3], job);
	}
	store_pg_pipe_release(&p);
	return ret;
}

static int store_pg_job_get(struct store *st, const char *id, struct uws_job *out)
{
	PGconn *c = NULL;
	struct uws_job job = {0};
	int ret = store_pg_acquire(st, &c);
	if (ret < 0)
		return ret;
	ret = store_pg_read_job_all(c, id, &job);
	store_pg_release(st, c);
	if (ret == 0)
		*out = job;
	else
		uws_job_release(&job);
	return ret;
}

/* A PostgreSQL array literal of names (name_is_safe: nothing to quote). */
static char *store_pg_names_array(const char *const *names, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_addc(&sb, '{');
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&sb, "%s\"%s\"", i ? "," : "", names[i]);
	sbuf_addc(&sb, '}');
	return sbuf_detach(&sb, NULL);
}

static int store_pg_list_stmt(const struct store_filter *f)
{
	int defs = f->jobdef ? 0 : f->jobdefs ? 2 : 1;
	int owners = f->owner_is_null ? 2 : f->owner ? 1 : 0;
	int order = f->since && f->last ? 2 : (f->last || f->before || f->since) ? 1 : 0;
	return store_pg_list_index(defs, owners, order);
}

/* The list's parameters in store_pg_list_build's order; *names_out is the
 * array literal the caller frees after the run. */
static void store_pg_list_args(struct store_pg_args *a, const struct store_filter *f,
			       char **names_out)
{
	*names_out = NULL;
	if (f->jobdef)
		store_pg_arg_text(a, f->jobdef);
	else if (f->jobdefs)
		store_pg_arg_text(a, *names_out = store_pg_names_array(f->jobdefs, f->njobdefs));
	if (f->owner && !f->owner_is_null)
		store_pg_arg_text(a, f->owner);
	store_pg_arg_int(a, f->after ? f->after : INT64_MIN);
	store_pg_arg_int(a, f->phases);
	store_pg_arg_int(a, f->before ? f->before : INT64_MAX);
	store_pg_arg_text(a, f->before ? f->before_id : NULL);
	store_pg_arg_int(a, f->since ? f->since : INT64_MIN);
	store_pg_arg_text(a, f->since ? f->since_id : NULL);
	if (f->last)
		store_pg_arg_int(a, f->last);
	else
		store_pg_arg_text(a, NULL);
}

static void store_pg_list_row(const PGresult *r, int i, struct uws_job *j)
{
	memset(j, 0, sizeof(*j));
	store_pg_col_buf(r, i, 0, j->id, sizeof(j->id));
	j->jobdef = store_pg_col_str(r, i, 1);
	j->owner = store_pg_col_str(r, i, 2);
	j->run_id = store_pg_col_str(r, i, 3);
	j->phase = (enum uws_phase)store_pg_col_i64(r, i, 4);
	j->creation_time = store_pg_col_i64(r, i, 5);
	j->start_time = store_pg_col_i64(r, i, 6);
	j->end_time = store_pg_col_i64(r, i, 7);
	j->destruction_time = store_pg_col_i64(r, i, 8);
}

static int store_pg_job_list(struct store *st, const struct store_filter *f,
			     struct uws_job **jobs_out, size_t *n_out)
{
	int id = store_pg_list_stmt(f);
	bool up = id % STORE_PG_LIST_ORDERS == 2;
	struct store_pg_args a = {0};
	struct uws_job *jobs = NULL;
	PGconn *c = NULL;
	PGresult *r = NULL;
	char *names;
	size_t n;
	int ret;
	store_pg_tables(); /* the list statements are made */
	store_pg_list_args(&a, f, &names);
	ret = store_pg_acquire(st, &c);
	if (ret == 0) {
		ret = store_pg_run(c, store_pg_list_names[id], &a, &r);
		store_pg_release(st, c);
	}
	free(names);
	if (ret < 0)
		return ret;
	n = (size_t)PQntuples(r);
	jobs = n ? xcalloc(n, sizeof(*jobs)) : NULL;
	for (size_t i = 0; i < n; i++)
		store_pg_list_row(r, (int)(up ? n - 1 - i : i), &jobs[i]);
	PQclear(r);
	*jobs_out = jobs;
	*n_out = n;
	return 0;
}

/* Column 0 of a one-parameter (or two) query, as strings. */
static int store_pg_ids_query(struct store *st, const char *name, const struct store_pg_args *a,
			      char ***ids_out, size_t *n_out)
{
	struct store_pg_ids ids = {0};
	PGconn *c = NULL;
	PGresult *r = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret == 0) {
		ret = store_pg_run(c, name, a, &r);
		store_pg_release(st, c);
	}
	if (ret == 0)
		ret = store_pg_read_ids(r, &ids);
	PQclear(r);
	if (ret < 0)
		return ret;
	*ids_out = ids.v;
	*n_out = ids.n;
	return 0;
}

static int store_pg_job_ids_in_phase(struct store *st, enum uws_phase phase, char ***ids_out,
				     size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_int(&a, phase);
	return store_pg_ids_query(st, "ids_in_phase", &a, ids_out, n_out);
}

static int store_pg_job_ids_expired(struct store *st, int64_t now_ms, size_t max, char ***ids_out,
				    size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_int(&a, now_ms);
	store_pg_arg_int(&a, (int64_t)max);
	return store_pg_ids_query(st, "ids_expired", &a, ids_out, n_out);
}

static int store_pg_next_destruction(struct store *st, int64_t *ms_out)
{
	PGconn *c = NULL;
	PGresult *r = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret == 0) {
		ret = store_pg_run(c, "next_destruction", &(struct store_pg_args){0}, &r);
		store_pg_release(st, c);
	}
	if (ret == 0)
		*ms_out = store_pg_col_i64(r, 0, 0);
	PQclear(r);
	return ret;
}

/* ---- several instances ---- */

static int store_pg_count_query(struct store *st, const char *name, const struct store_pg_args *a,
				int64_t *n_out)
{
	PGconn *c = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret == 0) {
		ret = store_pg_run_count(c, name, a, n_out);
		store_pg_release(st, c);
	}
	return ret;
}

/* No row changed: OPUS_ERR_PHASE when the job is there, else OPUS_ERR_NOTFOUND. */
static int store_pg_none_changed(struct store *st, const char *id)
{
	PGconn *c = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret == 0) {
		ret = store_pg_job_exists(c, id);
		store_pg_release(st, c);
	}
	return ret == 0 ? OPUS_ERR_PHASE : ret;
}

static int store_pg_job_claim(struct store *st, const char *id, const char *instance)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, id);
	store_pg_arg_text(&a, instance);
	ret = store_pg_count_query(st, "job_claim", &a, &n);
	return ret == 0 && n == 0 ? store_pg_none_changed(st, id) : ret;
}

static int store_pg_job_claim_next(struct store *st, const char *instance, size_t max,
				   int64_t before, char ***ids_out, size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, instance);
	store_pg_arg_int(&a, (int64_t)max);
	store_pg_arg_int(&a, before);
	return store_pg_ids_query(st, "job_claim_next", &a, ids_out, n_out);
}

static int store_pg_job_ids_mine(struct store *st, enum uws_phase phase, const char *instance,
				 char ***ids_out, size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_int(&a, phase);
	store_pg_arg_text(&a, instance);
	return store_pg_ids_query(st, "ids_mine", &a, ids_out, n_out);
}

static int store_pg_job_ids_of(struct store *st, const char *instance, char ***ids_out,
			       size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, instance);
	return store_pg_ids_query(st, "ids_of", &a, ids_out, n_out);
}

static int store_pg_job_reassign(struct store *st, const char *id, const char *from, const char *to,
				 enum uws_phase phase)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, id);
	store_pg_arg_text(&a, from);
	store_pg_arg_text(&a, to);
	store_pg_arg_int(&a, phase);
	ret = store_pg_count_query(st, "job_reassign", &a, &n);
	return ret == 0 && n == 0 ? store_pg_none_changed(st, id) : ret;
}

static int store_pg_job_unclaim(struct store *st, const char *id, const char *instance)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, id);
	store_pg_arg_text(&a, instance);
	ret = store_pg_count_query(st, "job_unclaim", &a, &n);
	return ret == 0 && n == 0 ? store_pg_none_changed(st, id) : ret;
}

static int store_pg_instance_beat(struct store *st, const char *instance, int64_t pid)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	store_pg_arg_text(&a, instance);
	store_pg_arg_int(&a, pid);
	return store_pg_count_query(st, "instance_beat", &a, &n);
}

static int store_pg_instances_dead(struct store *st, const char *me, int64_t lease_ms,
				   char ***names_out, size_t *n_out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, me);
	store_pg_arg_int(&a, lease_ms);
	return store_pg_ids_query(st, "instances_dead", &a, names_out, n_out);
}

static int store_pg_instance_forget(struct store *st, const char *instance)
{
	struct store_pg_args a = {0};
	int64_t n = 0;
	store_pg_arg_text(&a, instance);
	return store_pg_count_query(st, "instance_forget", &a, &n);
}

/* ---- the listener: notifications and the leader lock ---- */

#define STORE_PG_LISTEN_POLL_MS	    200	 /* how soon a stop or a leader try is seen */
#define STORE_PG_LEADER_TRY_MS	    1000 /* between tries for the leader lock */
#define STORE_PG_LISTEN_BACKOFF_MS  100	 /* doubling up to ..._MAX while the server is away */
#define STORE_PG_LISTEN_BACKOFF_MAX 5000

/* A connection of its own that listens on opusd_job; NULL (logged) on failure. */
static PGconn *store_pg_listen_connect(struct store_pg *pg)
{
	PGconn *c = store_pg_connect(pg);
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("store: listener cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	if (store_pg_simple(c, "LISTEN opusd_job") < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Tries for the session lock that makes this daemon the leader; the lock
 * lives as long as the connection. */
static void store_pg_leader_try(struct store_pg *pg, PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT pg_try_advisory_lock(1869641075, 3)");
	bool won = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		   PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (won) {
		atomic_store(&pg->leader, true);
		log_info("store: this instance is now the leader");
	}
}

/* Hands every notification received to the callback: "{id} {phase}". */
static void store_pg_notifies(struct store_pg *pg, PGconn *c)
{
	PGnotify *n;
	while ((n = PQnotifies(c))) {
		char id[UWS_ID_LEN + 1];
		const char *sp = strrchr(n->extra, ' ');
		size_t len = sp ? (size_t)(sp - n->extra) : 0;
		if (sp && len > 0 && len <= UWS_ID_LEN) {
			memcpy(id, n->extra, len);
			id[len] = '\0';
			pg->notify_fn(pg->notify_ctx, id, (int)strtol(sp + 1, NULL, 10));
		}
		PQfreemem(n);
	}
}

/* The heartbeat, on the listener's connection (a failure shows as a broken
 * connection at the next wait, or is tried again at the next beat). */
static void store_pg_beat(struct store_pg *pg, PGconn *c)
{
	const char *v[2] = {pg->beat_name, pg->beat_pid};
	PGresult *r = PQexecParams(c, STORE_PG_BEAT_SQL, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("store: heartbeat not written: %s", PQresultErrorMessage(r));
	PQclear(r);
}

static void store_pg_nap(struct store_pg *pg, int ms)
{
	for (int t = 0; t < ms && !atomic_load(&pg->listen_stop); t += STORE_PG_LISTEN_POLL_MS)
		(void)poll(NULL, 0, STORE_PG_LISTEN_POLL_MS);
}

/* Waits for input on c (bounded); false when the connection broke. */
static bool store_pg_listen_wait(PGconn *c)
{
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
	if (pfd.fd < 0)
		return false;
	if (poll(&pfd, 1, STORE_PG_LISTEN_POLL_MS) < 0 && errno != EINTR)
		return false;
	return PQconsumeInput(c) == 1 && PQstatus(c) == CONNECTION_OK;
}

static void *store_pg_listen_main(void *arg)
{
	struct store_pg *pg = arg;
	int backoff = STORE_PG_LISTEN_BACKOFF_MS;
	int64_t next_try = 0, next_beat = 0;
	bool gap = false; /* the connection was lost: notifications may be missing */
	PGconn *c = NULL;

	while (!atomic_load(&pg->listen_stop)) {
		if (!c && !(c = store_pg_listen_connect(pg))) {
			store_pg_nap(pg, backoff);
			backoff = backoff * 2 > STORE_PG_LISTEN_BACKOFF_MAX
				      ? STORE_PG_LISTEN_BACKOFF_MAX
				      : backoff * 2;
			continue;
		}
		backoff = STORE_PG_LISTEN_BACKOFF_MS;
		if (gap) {
			log_info(
			    "store: listener connected again; catching up on missed notifications");
			pg->notify_fn(pg->notify_ctx, NULL, 0);
		}
		gap = false;
		if (pg->beat_name && time_mono_ms() >= next_beat) {
			store_pg_beat(pg, c);
			next_beat = time_mono_ms() + pg->beat_ms;
		}
		if (!atomic_load(&pg->leader) && time_mono_ms() >= next_try) {
			store_pg_leader_try(pg, c);
			next_try = time_mono_ms() + STORE_PG_LEADER_TRY_MS;
		}
		if (!store_pg_listen_wait(c)) {
			log_warn("store: listener connection lost: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL;
			atomic_store(&pg->leader, false);
			gap = true;
			continue;
		}
		store_pg_notifies(pg, c);
	}
	PQfinish(c); /* NULL ok; the leader lock goes with the connection */
	return NULL;
}

static int store_pg_listen(struct store *st, const struct store_listener *l)
{
	struct store_pg *pg = store_pg_of(st);
	if (pg->listening)
		return OPUS_ERR_INVAL;
	pg->notify_fn = l->fn;
	pg->notify_ctx = l->ctx;
	free(pg->beat_name);
	pg->beat_name = l->instance ? xstrdup(l->instance) : NULL;
	snprintf(pg->beat_pid, sizeof(pg->beat_pid), "%lld", (long long)l->pid);
	pg->beat_ms = l->beat_ms;
	if (pthread_create(&pg->listener, NULL, store_pg_listen_main, pg) != 0) {
		log_error("store: cannot start the listener thread");
		return OPUS_ERR_INTERNAL;
	}
	pg->listening = true;
	return 0;
}

static void store_pg_unlisten(struct store *st)
{
	struct store_pg *pg = store_pg_of(st);
	if (!pg->listening)
		return;
	atomic_store(&pg->listen_stop, true);
	pthread_join(pg->listener, NULL);
	pg->listening = false;
	atomic_store(&pg->listen_stop, false);
	atomic_store(&pg->leader, false);
}

static bool store_pg_is_leader(struct store *st)
{
	return atomic_load(&store_pg_of(st)->leader);
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .open = store_pg_open,
    .close = store_pg_close,
    .job_create = store_pg_job_create,
    .job_get = store_pg_job_get,
    .job_save = store_pg_job_save,
    .job_set_params = store_pg_job_set_params,
    .job_update = store_pg_job_update,
    .job_finish = store_pg_job_finish,
    .job_delete = store_pg_job_delete,
    .job_list = store_pg_job_list,
    .job_ids_in_phase = store_pg_job_ids_in_phase,
    .job_ids_expired = store_pg_job_ids_expired,
    .next_destruction = store_pg_next_destruction,
    .job_claim = store_pg_job_claim,
    .job_claim_next = store_pg_job_claim_next,
    .job_ids_mine = store_pg_job_ids_mine,
    .job_ids_of = store_pg_job_ids_of,
    .job_reassign = store_pg_job_reassign,
    .job_unclaim = store_pg_job_unclaim,
    .instance_beat = store_pg_instance_beat,
    .instances_dead = store_pg_instances_dead,
    .instance_forget = store_pg_instance_forget,
    .listen = store_pg_listen,
    .unlisten = store_pg_unlisten,
    .is_leader = store_pg_is_leader,
    .account_create = store_pg_account_create,
    .account_get = store_pg_account_get,
    .account_by_token = store_pg_account_by_token,
    .account_update = store_pg_account_update,
    .account_delete = store_pg_account_delete,
    .account_list = store_pg_account_list,
    .role_put = store_pg_role_put,
    .role_get = store_pg_role_get,
    .role_delete = store_pg_role_delete,
    .role_list = store_pg_role_list,
    .app_put = store_pg_app_put,
    .app_get = store_pg_app_get,
    .app_by_token = store_pg_app_by_token,
    .app_delete = store_pg_app_delete,
    .app_list = store_pg_app_list,
    .audit_add = store_pg_audit_add,
    .audit_list = store_pg_audit_list,
    .jdl_set_enabled = store_pg_jdl_set_enabled,
    .jdl_is_enabled = store_pg_jdl_is_enabled,
    .jdl_disabled = store_pg_jdl_disabled,
    .owner_usage = store_pg_owner_usage,
    .usage_sum = store_pg_usage_sum,
    .input_use = store_pg_input_use,
    .usage_put = store_pg_usage_put,
    .usages_clear = store_pg_usages_clear,
    .entity_get = store_pg_entity_get,
    .entity_find = store_pg_entity_find,
    .blob_refs = store_pg_blob_refs,
    .job_end = store_pg_job_end,
    .job_retire = store_pg_job_retire,
    .activity_get = store_pg_activity_get,
    .lineage_get = store_pg_lineage_get,
    .rows_dump = store_pg_rows_dump,
    .rows_load = store_pg_rows_load,
};
