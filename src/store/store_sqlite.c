/*
 * store_sqlite: the SQLite backend of store.h.
 *
 * Writes: one writer thread owns the only read-write connection (WAL,
 * synchronous=FULL, so a COMMIT is durable). A write call copies its input
 * into a struct store_sqlite_op (a closure: a function plus its data), queues
 * it and sleeps on the op's own condition variable. The writer takes every
 * queued op, runs them all in one BEGIN IMMEDIATE..COMMIT, each inside its own
 * SAVEPOINT so that one op's failure (duplicate id, missing job, a job no
 * longer in the phase its writer read: a lost race) undoes only
 * that op, then wakes each caller with its own result: N concurrent writes
 * share one fsync.
 *
 * Reads: a thread gets its own read-only connection the first time it reads
 * (a pthread key per store; the key's destructor closes the connection when
 * the thread exits). Every read connection of every store is on one global
 * list under one lock: an exiting thread and store_close() both look a
 * connection up there before closing it, so whichever comes second finds
 * nothing and never touches freed memory.
 *
 * Statements: fixed SQL texts in one table, every value bound; a connection
 * prepares a text the first time it needs it and keeps it until it closes.
 * A statement is always reset after use, so that no reader holds a WAL
 * snapshot (which would stop checkpoints) between calls.
 */
#include "store/store-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_SQLITE_BUSY_MS 5000
/* Space kept free for deletes and job ends when the disk fills. */
#define STORE_SQLITE_RESERVE (4 << 20)

/*
 * Schema migrations, applied in order at open; each step's SQL ends by
 * setting user_version to its version, inside the step's transaction.
 * Append new steps, never edit a released one.
 */
struct store_sqlite_migration {
	int version;
	const char *sql;
};

static const struct store_sqlite_migration store_sqlite_migrations[] = {
    {1, "CREATE TABLE jobs ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" jobdef TEXT NOT NULL,"
	" owner TEXT,"
	" run_id TEXT,"
	" phase INTEGER NOT NULL,"
	" creation_time INTEGER NOT NULL,"
	" start_time INTEGER NOT NULL DEFAULT 0,"
	" end_time INTEGER NOT NULL DEFAULT 0,"
	" destruction_time INTEGER NOT NULL DEFAULT 0,"
	" execution_duration INTEGER NOT NULL DEFAULT 0,"
	" quote INTEGER NOT NULL DEFAULT 0,"
	" error_summary TEXT,"
	" error_type INTEGER NOT NULL DEFAULT 0,"
	" run_request_time INTEGER NOT NULL DEFAULT 0,"
	" pgid INTEGER NOT NULL DEFAULT 0,"
	" jdl_hash TEXT);"
	"CREATE TABLE params ("
	" job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" value TEXT,"
	" by_ref INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (job_id, name));"
	"CREATE TABLE results ("
	" job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" rid TEXT NOT NULL,"
	" path TEXT NOT NULL,"
	" mime TEXT,"
	" size INTEGER NOT NULL DEFAULT -1,"
	" PRIMARY KEY (job_id, rid));"
	"CREATE TABLE accounts ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" token_hash TEXT NOT NULL,"
	" admin INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_jobdef_owner_ctime ON jobs (jobdef, owner, creation_time);"
	"CREATE INDEX jobs_jobdef_ctime ON jobs (jobdef, creation_time);"
	"CREATE INDEX jobs_phase ON jobs (phase, run_request_time, creation_time);"
	"CREATE INDEX jobs_destruction ON jobs (destruction_time) WHERE destruction_time > 0;"
	"PRAGMA user_version = 1;"},
    /* Provenance (issue 12). Entities, usages and activities have no foreign
     * key to jobs: they outlive job rows. `retired` lists the jobs whose files
     * went (store_job_retire, store_job_delete), so that a usage by a job with
     * no row is told apart: retired (not live) or not created yet (live: its
     * uploads are placed before its row is inserted). The destruction index
     * leaves ARCHIVED jobs out, since their destruction is done. */
    {2, "ALTER TABLE jobs ADD COLUMN metrics_known INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN wall_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN cpu_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN max_rss_kb INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN exit_code INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE results ADD COLUMN entity_id TEXT;"
	"ALTER TABLE results ADD COLUMN sha256 TEXT;"
	"CREATE TABLE entities ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" content_type TEXT,"
	" file_name TEXT,"
	" generated_by TEXT,"
	" role TEXT,"
	" result_id TEXT,"
	" source TEXT,"
	" owner TEXT,"
	" creation_time INTEGER NOT NULL DEFAULT 0,"
	" invalidation_time INTEGER NOT NULL DEFAULT 0,"
	" invalidated_by TEXT);"
	"CREATE TABLE usages ("
	" job_id TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" k INTEGER NOT NULL,"
	" entity_id TEXT NOT NULL,"
	" PRIMARY KEY (job_id, role, k));"
	"CREATE TABLE activities ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" jobdef TEXT NOT NULL,"
	" jdl_hash TEXT,"
	" owner TEXT,"
	" run_id TEXT,"
	" phase INTEGER NOT NULL,"
	" creation_time INTEGER NOT NULL DEFAULT 0,"
	" start_time INTEGER NOT NULL DEFAULT 0,"
	" end_time INTEGER NOT NULL DEFAULT 0,"
	" error_summary TEXT,"
	" metrics_known INTEGER NOT NULL DEFAULT 0,"
	" wall_ms INTEGER NOT NULL DEFAULT 0,"
	" cpu_ms INTEGER NOT NULL DEFAULT 0,"
	" max_rss_kb INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE activity_params ("
	" activity_id TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" value TEXT,"
	" is_default INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (activity_id, name));"
	"CREATE TABLE retired ("
	" job_id TEXT PRIMARY KEY NOT NULL,"
	" time INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX entities_owner_sha ON entities (owner, sha256, creation_time)"
	" WHERE invalidation_time = 0;"
	"CREATE INDEX entities_live_sha ON entities (sha256) WHERE invalidation_time = 0;"
	"CREATE INDEX entities_generated_by ON entities (generated_by)"
	" WHERE generated_by IS NOT NULL;"
	"CREATE INDEX entities_invalidated_by ON entities (invalidated_by)"
	" WHERE invalidated_by IS NOT NULL;"
	"CREATE INDEX usages_entity ON usages (entity_id);"
	"DROP INDEX jobs_destruction;"
	"CREATE INDEX jobs_destruction_live ON jobs (destruction_time)"
	" WHERE destruction_time > 0 AND phase != 9;"
	"PRAGMA user_version = 2;"},
    /* Accounts, roles, applications, audit, description state, usage totals
     * (issue 13). An admin account of v2 holds the role "admin", any other
     * "user"; the old admin column stays, unused. A token hash is unique
     * across accounts and apps (indexes within a table, triggers across), and
     * so is a name; should two v2 accounts share a hash, all but the oldest
     * get one no token matches (they need a rotation). owner_usage is kept by
     * the triggers below (anonymous is ''): jobs not ARCHIVED, of them
     * EXECUTING (2), and the bytes of their results (a result's size is
     * known when it is recorded; an unknown size, -1, counts 0). A job's
     * results are deleted after its row (ON DELETE CASCADE), when its owner
     * is no longer known: the jobs trigger takes them off before. */
    {3, "ALTER TABLE accounts ADD COLUMN active INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE accounts ADD COLUMN roles TEXT NOT NULL DEFAULT 'user';"
	"ALTER TABLE accounts ADD COLUMN email TEXT;"
	"ALTER TABLE accounts ADD COLUMN display_name TEXT;"
	"ALTER TABLE accounts ADD COLUMN max_running INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE accounts ADD COLUMN max_jobs INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE accounts ADD COLUMN max_bytes INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE accounts ADD COLUMN created INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE accounts ADD COLUMN modified INTEGER NOT NULL DEFAULT 0;"
	"UPDATE accounts SET roles = 'admin' WHERE admin != 0;"
	"UPDATE accounts SET token_hash = 'duplicate:' || name WHERE rowid NOT IN"
	" (SELECT min(rowid) FROM accounts GROUP BY token_hash);"
	"CREATE UNIQUE INDEX accounts_token_hash ON accounts (token_hash);"
	"CREATE TABLE roles ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" run TEXT NOT NULL DEFAULT '',"
	" submit INTEGER NOT NULL DEFAULT 0,"
	" admin INTEGER NOT NULL DEFAULT 0,"
	" max_running INTEGER NOT NULL DEFAULT 0,"
	" max_jobs INTEGER NOT NULL DEFAULT 0,"
	" max_bytes INTEGER NOT NULL DEFAULT 0,"
	" modified INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO roles (name, run, admin) VALUES ('admin', '*', 1), ('user', '*', 0),"
	" ('anonymous', '*', 0);"
	"CREATE TABLE apps ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" token_hash TEXT NOT NULL,"
	" run TEXT NOT NULL DEFAULT '',"
	" active INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL DEFAULT 0,"
	" modified INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX apps_token_hash ON apps (token_hash);"
	"CREATE TRIGGER accounts_unique_insert BEFORE INSERT ON accounts"
	" WHEN EXISTS (SELECT 1 FROM apps WHERE name = new.name OR token_hash = new.token_hash)"
	" BEGIN SELECT RAISE(ABORT, 'name or token hash taken by an application'); END;"
	"CREATE TRIGGER accounts_unique_update BEFORE UPDATE OF token_hash ON accounts"
	" WHEN EXISTS (SELECT 1 FROM apps WHERE token_hash = new.token_hash)"
	" BEGIN SELECT RAISE(ABORT, 'token hash taken by an application'); END;"
	"CREATE TRIGGER apps_unique_insert BEFORE INSERT ON apps"
	" WHEN EXISTS (SELECT 1 FROM accounts WHERE name = new.name OR"
	" token_hash = new.token_hash)"
	" BEGIN SELECT RAISE(ABORT, 'name or token hash taken by an account'); END;"
	"CREATE TRIGGER apps_unique_update BEFORE UPDATE OF token_hash ON apps"
	" WHEN EXISTS (SELECT 1 FROM accounts WHERE token_hash = new.token_hash)"
	" BEGIN SELECT RAISE(ABORT, 'token hash taken by an account'); END;"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" app TEXT,"
	" address TEXT,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL DEFAULT '',"
	" detail TEXT);"
	"CREATE TABLE jdl_disabled ("
	" jobdef TEXT PRIMARY KEY NOT NULL,"
	" time INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE owner_usage ("
	" owner TEXT PRIMARY KEY NOT NULL,"
	" jobs INTEGER NOT NULL DEFAULT 0,"
	" running INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO owner_usage (owner, jobs, running, bytes)"
	" SELECT ifnull(j.owner, ''), sum(j.phase != 9), sum(j.phase = 2),"
	" sum((j.phase != 9) * (SELECT ifnull(sum(max(r.size, 0)), 0) FROM results r"
	" WHERE r.job_id = j.id)) FROM jobs j GROUP BY 1;"
	"CREATE TRIGGER jobs_usage_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO owner_usage (owner, jobs, running)"
	" VALUES (ifnull(new.owner, ''), new.phase != 9, new.phase = 2)"
	" ON CONFLICT (owner) DO UPDATE SET jobs = jobs + excluded.jobs,"
	" running = running + excluded.running; END;"
	"CREATE TRIGGER jobs_usage_delete BEFORE DELETE ON jobs BEGIN"
	" UPDATE owner_usage SET jobs = jobs - (old.phase != 9),"
	" running = running - (old.phase = 2), bytes = bytes - (old.phase != 9) *"
	" (SELECT ifnull(sum(max(r.size, 0)), 0) FROM results r WHERE r.job_id = old.id)"
	" WHERE owner = ifnull(old.owner, ''); END;"
	"CREATE TRIGGER jobs_usage_update AFTER UPDATE OF phase, owner ON jobs"
	" WHEN old.phase IS NOT new.phase OR old.owner IS NOT new.owner BEGIN"
	" UPDATE owner_usage SET jobs = jobs - (old.phase != 9),"
	" running = running - (old.phase = 2), bytes = bytes - (old.phase != 9) *"
	" (SELECT ifnull(sum(max(r.size, 0)), 0) FROM results r WHERE r.job_id = old.id)"
	" WHERE owner = ifnull(old.owner, '');"
	" INSERT INTO owner_usage (owner, jobs, running, bytes)"
	" VALUES (ifnull(new.owner, ''), new.phase != 9, new.phase = 2, (new.phase != 9) *"
	" (SELECT ifnull(sum(max(r.size, 0)), 0) FROM results r WHERE r.job_id = new.id))"
	" ON CONFLICT (owner) DO UPDATE SET jobs = jobs + excluded.jobs,"
	" running = running + excluded.running, bytes = bytes + excluded.bytes; END;"
	"CREATE TRIGGER results_usage_insert AFTER INSERT ON results BEGIN"
	" UPDATE owner_usage SET bytes = bytes + max(new.size, 0) WHERE owner ="
	" (SELECT ifnull(j.owner, '') FROM jobs j WHERE j.id = new.job_id AND j.phase != 9);"
	" END;"
	"CREATE TRIGGER results_usage_delete AFTER DELETE ON results BEGIN"
	" UPDATE owner_usage SET bytes = bytes - max(old.size, 0) WHERE owner ="
	" (SELECT ifnull(j.owner, '') FROM jobs j WHERE j.id = old.job_id AND j.phase != 9);"
	" END;"
	"CREATE TRIGGER results_usage_update AFTER UPDATE OF size, job_id ON results BEGIN"
	" UPDATE owner_usage SET bytes = bytes - max(old.size, 0) WHERE owner ="
	" (SELECT ifnull(j.owner, '') FROM jobs j WHERE j.id = old.job_id AND j.phase != 9);"
	" UPDATE owner_usage SET bytes = bytes + max(new.size, 0) WHERE owner ="
	" (SELECT ifnull(j.owner, '') FROM jobs j WHERE j.id = new.job_id AND j.phase != 9);"
	" END;"
	"PRAGMA user_version = 3;"},
    /* v4: the executor's handle of a run is an opaque string (exec.h), no
     * longer a process group id. The old pgid column stays, unused (read
     * by nothing, written 0), so that a v3 binary's rows still load. */
    {4, "ALTER TABLE jobs ADD COLUMN exec_handle TEXT NOT NULL DEFAULT '';"
	"UPDATE jobs SET exec_handle = CAST(pgid AS TEXT) WHERE pgid > 0;"
	"PRAGMA user_version = 4;"},
    /* v5: a list across every description (jobdef NULL), newest first at
     * any depth, per owner or for everyone; id breaks ties in the index.
     * One description's indexes gain the id too: with it, the planner keeps
     * them for that list (no sort of the ties either). */
    {5, "DROP INDEX jobs_jobdef_owner_ctime;"
	"CREATE INDEX jobs_jobdef_owner_ctime ON jobs (jobdef, owner, creation_time, id);"
	"DROP INDEX jobs_jobdef_ctime;"
	"CREATE INDEX jobs_jobdef_ctime ON jobs (jobdef, creation_time, id);"
	"CREATE INDEX jobs_owner_ctime ON jobs (owner, creation_time, id);"
	"CREATE INDEX jobs_ctime ON jobs (creation_time, id);"
	"PRAGMA user_version = 5;"},
};

/* The SQL texts spell ARCHIVED as 9 and EXECUTING as 2. */
_Static_assert(UWS_ARCHIVED == 9, "phase numbers are stored");
_Static_assert(UWS_EXECUTING == 2, "phase numbers are stored");

/* Column order shared by the INSERT, the UPDATE and the SELECT of a job. */
#define STORE_SQLITE_JOB_COLS                                                                      \
	"id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, "                  \
	"destruction_time, execution_duration, quote, error_summary, error_type, "                 \
	"run_request_time, exec_handle, jdl_hash"
enum { STORE_SQLITE_JOB_NCOLS = 16 };

/* List statements: ?1 jobdef, ?2 owner (IS, so NULL selects anonymous jobs),
 * ?3 creation_time lower bound, ?4 phase bitmask, ?5 limit (-1 = none),
 * ?6/?7 the BEFORE position (time, id), ?8/?9 the SINCE position. The phase
 * set is a bound bitmask and an absent position is bound as INT64_MAX (or
 * INT64_MIN) with a NULL id, so that one text serves every filter. A NULL id
 * makes `id < ?7` NULL: the time alone is then a strict bound. The positions
 * bound creation_time, so the (jobdef[, owner], creation_time, id) index
 * gives the range at any depth, in order (ties within one millisecond by
 * id, in every order). */
#define STORE_SQLITE_LIST_HEAD                                                                     \
	"SELECT id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, "           \
	"destruction_time FROM jobs WHERE jobdef = ?1 AND "
#define STORE_SQLITE_LIST_TAIL                                                                     \
	"creation_time > ?3 AND ((?4 >> phase) & 1) "                                              \
	"AND creation_time <= ?6 AND (creation_time < ?6 OR id < ?7) "                             \
	"AND creation_time >= ?8 AND (creation_time > ?8 OR id > ?9) "
/* Across descriptions (jobdef NULL, ?1 bound NULL): ?10 is NULL or a JSON
 * array of the descriptions to keep; `+jobdef` keeps the planner on the
 * (owner, creation_time, id) or (creation_time, id) index, the names only
 * filtering the rows it walks. */
#define STORE_SQLITE_XLIST_HEAD                                                                    \
	"SELECT id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, "           \
	"destruction_time FROM jobs WHERE ?1 IS NULL AND "                                         \
	"(?10 IS NULL OR +jobdef IN (SELECT value FROM json_each(?10))) AND "
#define STORE_SQLITE_LIST_DESC "ORDER BY creation_time DESC, id DESC LIMIT ?5"
#define STORE_SQLITE_LIST_UP   "ORDER BY creation_time, id LIMIT ?5"
/* The six list statements of one head (one description's, or every
 * description's): every owner or one, oldest first, newest first, upwards. */
#define STORE_SQLITE_LIST_STMTS(X, P, HEAD)                                                        \
	X(P##_ALL_ASC, HEAD STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_UP)                           \
	X(P##_ALL_DESC, HEAD STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_DESC)                        \
	X(P##_ALL_UP, HEAD STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_UP)                            \
	X(P##_OWNER_ASC, HEAD "owner IS ?2 AND " STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_UP)      \
	X(P##_OWNER_DESC, HEAD "owner IS ?2 AND " STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_DESC)   \
	X(P##_OWNER_UP, HEAD "owner IS ?2 AND " STORE_SQLITE_LIST_TAIL STORE_SQLITE_LIST_UP)

#define STORE_SQLITE_METRICS_COLS "metrics_known, wall_ms, cpu_ms, max_rss_kb, exit_code"
#define STORE_SQLITE_ENTITY_COLS                                                                   \
	"id, sha256, size, content_type, file_name, generated_by, role, result_id, source, "       \
	"owner, creation_time, invalidation_time, invalidated_by"
#define STORE_SQLITE_ACT_COLS                                                                      \
	"id, jobdef, jdl_hash, owner, run_id, phase, creation_time, start_time, end_time, "        \
	"error_summary, " STORE_SQLITE_METRICS_COLS
#define STORE_SQLITE_ACT_COLS_A                                                                    \
	"a.id, a.jobdef, a.jdl_hash, a.owner, a.run_id, a.phase, a.creation_time, "                \
	"a.start_time, a.end_time, a.error_summary, a.metrics_known, a.wall_ms, a.cpu_ms, "        \
	"a.max_rss_kb, a.exit_code"

/*
 * Does a live job hold the entity (the row `entities` of the statement)? Its
 * generator has a row that is not ARCHIVED, or a job that uses it has one, or
 * has none yet and was never retired (uploads are placed before the row).
 */
#define STORE_SQLITE_HELD                                                                          \
	"(EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = entities.generated_by AND hj.phase != 9) "   \
	"OR EXISTS (SELECT 1 FROM usages hu WHERE hu.entity_id = entities.id AND "                 \
	"(EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = hu.job_id AND hj.phase != 9) OR "            \
	"(NOT EXISTS (SELECT 1 FROM jobs hj WHERE hj.id = hu.job_id) AND "                         \
	"NOT EXISTS (SELECT 1 FROM retired hr WHERE hr.job_id = hu.job_id)))))"

/*
 * The lineage walk: ?1 the start activities, ?2 the start entities (JSON
 * arrays of ids), ?3 max_hops, ?4 the cap on walked rows. UNION over (id,
 * hop) and the hop bound make it cycle-safe; ORDER BY hop makes the queue
 * breadth-first, so that the row cap drops the farthest. The rows (id,
 * hop) come out as walked: the reader keeps each id's smallest hop, orders
 * by (hop, id) and applies the activity cap (GROUP BY, a window for the
 * count and ORDER BY cost 2 of the walk's 6 ms over a 1,000-job chain).
 */
#define STORE_SQLITE_WALK_HEAD                                                                     \
	"WITH RECURSIVE walk(id, hop) AS ("                                                        \
	"SELECT a.id, 0 FROM activities a WHERE a.id IN (SELECT value FROM json_each(?1)) "        \
	"UNION "
#define STORE_SQLITE_WALK_TAIL "ORDER BY 2 LIMIT ?4) SELECT id, hop FROM walk"
#define STORE_SQLITE_SQL_WALK_BACK                                                                 \
	STORE_SQLITE_WALK_HEAD                                                                     \
	"SELECT e.generated_by, 1 FROM entities e JOIN activities a ON a.id = e.generated_by "     \
	"WHERE e.id IN (SELECT value FROM json_each(?2)) AND ?3 >= 1 "                             \
	"UNION "                                                                                   \
	"SELECT e.generated_by, w.hop + 1 FROM walk w JOIN usages u ON u.job_id = w.id "           \
	"JOIN entities e ON e.id = u.entity_id JOIN activities a ON a.id = e.generated_by "        \
	"WHERE w.hop < ?3 " STORE_SQLITE_WALK_TAIL
#define STORE_SQLITE_SQL_WALK_FORTH                                                                \
	STORE_SQLITE_WALK_HEAD                                                                     \
	"SELECT u.job_id, 1 FROM usages u JOIN activities a ON a.id = u.job_id "                   \
	"WHERE u.entity_id IN (SELECT value FROM json_each(?2)) AND ?3 >= 1 "                      \
	"UNION "                                                                                   \
	"SELECT u.job_id, w.hop + 1 FROM walk w JOIN entities e ON e.generated_by = w.id "         \
	"JOIN usages u ON u.entity_id = e.id JOIN activities a ON a.id = u.job_id "                \
	"WHERE w.hop < ?3 " STORE_SQLITE_WALK_TAIL
#define STORE_SQLITE_IN_ACTS "(SELECT value FROM json_each(?1))"
/*
 * The lineage's entities: those its activities (?1) generated, those they
 * used, and the start entities (?2), each row with its rowid (column 13).
 * No UNION, no ORDER BY and no NOT IN: for a 1,000-job chain SQLite's
 * de-duplicating b-trees and its sorter took 12 of this query's 15 ms, and
 * "used and not generated by one of them" 4 of the 5 left. The reader
 * sorts by (creation_time, rowid) and drops the repeats (what one of them
 * generated and another used, a start entity also reached).
 */
#define STORE_SQLITE_ENTITY_COLS_E                                                                 \
	"e.id, e.sha256, e.size, e.content_type, e.file_name, e.generated_by, e.role, "            \
	"e.result_id, e.source, e.owner, e.creation_time, e.invalidation_time, "                   \
	"e.invalidated_by, e.rowid"
#define STORE_SQLITE_SQL_LIN_ENTITIES                                                              \
	"SELECT " STORE_SQLITE_ENTITY_COLS_E " FROM json_each(?1) j "                              \
	"JOIN entities e ON e.generated_by = j.value "                                             \
	"UNION ALL SELECT " STORE_SQLITE_ENTITY_COLS_E " FROM json_each(?1) j "                    \
	"JOIN usages u ON u.job_id = j.value JOIN entities e ON e.id = u.entity_id "               \
	"UNION ALL SELECT " STORE_SQLITE_ENTITY_COLS_E " FROM json_each(?2) j "                    \
	"JOIN entities e ON e.id = j.value"

#define STORE_SQLITE_ACCOUNT_COLS                                                                  \
	"name, token_hash, active, roles, email, display_name, max_running, max_jobs, "            \
	"max_bytes, created, modified"
#define STORE_SQLITE_ROLE_COLS                                                                     \
	"name, run, submit, admin, max_running, max_jobs, max_bytes, modified"
#define STORE_SQLITE_APP_COLS	"name, token_hash, run, active, created, modified"
#define STORE_SQLITE_AUDIT_COLS "id, time, actor, app, address, action, target, detail"

/*
 * Accounts and the rest of issue 13. The last four are never run: they are
 * the lookups the triggers of migration 3 make, here so that a test sees
 * their plans.
 */
/* clang-format off */
#define STORE_SQLITE_ACCOUNT_STMTS(X)                                                              \
	X(ACCOUNT_INSERT, "INSERT INTO accounts (" STORE_SQLITE_ACCOUNT_COLS ") VALUES (?1, ?2, "  \
			  "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")                                 \
	X(ACCOUNT_UPDATE, "UPDATE accounts SET token_hash = ?2, active = ?3, roles = ?4, "         \
			  "email = ?5, display_name = ?6, max_running = ?7, max_jobs = ?8, "       \
			  "max_bytes = ?9, modified = ?11 WHERE name = ?1")                        \
	X(ACCOUNT_GET, "SELECT " STORE_SQLITE_ACCOUNT_COLS " FROM accounts WHERE name = ?1")       \
	X(ACCOUNT_BY_TOKEN, "SELECT " STORE_SQLITE_ACCOUNT_COLS " FROM accounts "                  \
			    "WHERE token_hash = ?1")                                               \
	X(ACCOUNT_DELETE, "DELETE FROM accounts WHERE name = ?1")                                  \
	X(ACCOUNT_LIST, "SELECT " STORE_SQLITE_ACCOUNT_COLS " FROM accounts WHERE name > ?1 "      \
			"ORDER BY name LIMIT ?2")                                                  \
	X(ACCOUNT_COUNT, "SELECT count(*) FROM accounts")                                          \
	X(ROLE_PUT, "INSERT INTO roles (" STORE_SQLITE_ROLE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "  \
		    "?6, ?7, ?8) ON CONFLICT (name) DO UPDATE SET run = excluded.run, "            \
		    "submit = excluded.submit, admin = excluded.admin, "                           \
		    "max_running = excluded.max_running, max_jobs = excluded.max_jobs, "           \
		    "max_bytes = excluded.max_bytes, modified = excluded.modified")                \
	X(ROLE_GET, "SELECT " STORE_SQLITE_ROLE_COLS " FROM roles WHERE name = ?1")                \
	X(ROLE_DELETE, "DELETE FROM roles WHERE name = ?1")                                        \
	X(ROLE_STRIP, "UPDATE accounts SET roles = trim(replace(',' || roles || ',', "             \
		      "',' || ?1 || ',', ','), ','), modified = ?2 "                               \
		      "WHERE instr(',' || roles || ',', ',' || ?1 || ',') > 0")                    \
	X(ROLE_LIST, "SELECT " STORE_SQLITE_ROLE_COLS " FROM roles ORDER BY name")                 \
	X(APP_INSERT, "INSERT INTO apps (" STORE_SQLITE_APP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "  \
		      "?6)")                                                                       \
	X(APP_UPDATE, "UPDATE apps SET token_hash = ?2, run = ?3, active = ?4, modified = ?6 "     \
		      "WHERE name = ?1")                                                           \
	X(APP_GET, "SELECT " STORE_SQLITE_APP_COLS " FROM apps WHERE name = ?1")                   \
	X(APP_BY_TOKEN, "SELECT " STORE_SQLITE_APP_COLS " FROM apps WHERE token_hash = ?1")        \
	X(APP_DELETE, "DELETE FROM apps WHERE name = ?1")                                          \
	X(APP_LIST, "SELECT " STORE_SQLITE_APP_COLS " FROM apps ORDER BY name")                    \
	X(AUDIT_INSERT, "INSERT INTO audit (time, actor, app, address, action, target, detail) "   \
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                     \
	X(AUDIT_LIST, "SELECT " STORE_SQLITE_AUDIT_COLS " FROM audit WHERE id > ?1 "               \
		      "ORDER BY id LIMIT ?2")                                                      \
	X(JDL_DISABLE, "INSERT INTO jdl_disabled (jobdef, time) VALUES (?1, ?2) "                  \
		       "ON CONFLICT (jobdef) DO NOTHING")                                          \
	X(JDL_ENABLE, "DELETE FROM jdl_disabled WHERE jobdef = ?1")                                \
	X(JDL_IS_DISABLED, "SELECT 1 FROM jdl_disabled WHERE jobdef = ?1")                         \
	X(JDL_DISABLED, "SELECT jobdef FROM jdl_disabled ORDER BY jobdef")                         \
	X(OWNER_USAGE, "SELECT jobs, running, bytes FROM owner_usage WHERE owner = ifnull(?1, '')")\
	X(USAGE_SUM, "SELECT ifnull(sum(jobs), 0), ifnull(sum(running), 0), ifnull(sum(bytes), 0) "\
		     "FROM owner_usage")                                                           \
	X(USAGE_RESULT_BYTES, "SELECT ifnull(sum(max(r.size, 0)), 0) FROM results r "              \
			      "WHERE r.job_id = ?1")                                               \
	X(USAGE_JOB_OWNER, "SELECT ifnull(j.owner, '') FROM jobs j WHERE j.id = ?1 AND "           \
			   "j.phase != 9")                                                         \
	X(UNIQUE_IN_APPS, "SELECT 1 FROM apps WHERE name = ?1 OR token_hash = ?2")                 \
	X(UNIQUE_IN_ACCOUNTS, "SELECT 1 FROM accounts WHERE name = ?1 OR token_hash = ?2")

#define STORE_SQLITE_PROV_STMTS(X)                                                                 \
	X(ENTITY_INSERT, "INSERT INTO entities (" STORE_SQLITE_ENTITY_COLS ") VALUES (?1, ?2, "    \
			 "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")                        \
	X(ENTITY_INSERT_KEEP, "INSERT INTO entities (" STORE_SQLITE_ENTITY_COLS ") VALUES (?1, "   \
			      "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "               \
			      "ON CONFLICT (id) DO NOTHING")                                       \
	X(ENTITY_GET, "SELECT " STORE_SQLITE_ENTITY_COLS " FROM entities WHERE id = ?1")           \
	X(ENTITY_FIND, "SELECT " STORE_SQLITE_ENTITY_COLS " FROM entities WHERE owner IS ?1 AND "  \
		       "sha256 = ?2 AND invalidation_time = 0 ORDER BY creation_time, rowid "      \
		       "LIMIT 1")                                                                  \
	X(ENTITY_EXISTS, "SELECT 1 FROM entities WHERE id = ?1")                                   \
	X(BLOB_REFS, "SELECT count(*) FROM entities WHERE sha256 = ?1 AND invalidation_time = 0")  \
	X(ENTITY_ORPHAN, "UPDATE entities SET invalidation_time = ?2, invalidated_by = ?3 "        \
			 "WHERE id = ?1 AND invalidation_time = 0 AND NOT " STORE_SQLITE_HELD)     \
	X(USAGE_GET, "SELECT entity_id FROM usages WHERE job_id = ?1 AND role = ?2 AND k = ?3")    \
	X(USAGE_PUT, "INSERT INTO usages (job_id, role, k, entity_id) VALUES (?1, ?2, ?3, ?4) "    \
		     "ON CONFLICT (job_id, role, k) DO UPDATE SET entity_id = excluded.entity_id") \
	X(USAGES_OF_ROLE, "SELECT DISTINCT entity_id FROM usages WHERE job_id = ?1 AND role = ?2") \
	X(USAGES_CLEAR, "DELETE FROM usages WHERE job_id = ?1 AND role = ?2")                      \
	X(RETIRED_MARK, "INSERT INTO retired (job_id, time) VALUES (?1, ?2) "                      \
			"ON CONFLICT (job_id) DO NOTHING")                                         \
	X(RETIRE_INVALIDATE, "UPDATE entities SET invalidation_time = ?2, invalidated_by = ?1 "    \
			     "WHERE invalidation_time = 0 AND id IN (SELECT g.id FROM entities g " \
			     "WHERE g.generated_by = ?1 UNION SELECT u.entity_id FROM usages u "   \
			     "WHERE u.job_id = ?1) AND NOT " STORE_SQLITE_HELD)                    \
	X(RETIRE_BLOBS, "SELECT DISTINCT d.sha256 FROM entities d WHERE d.invalidated_by = ?1 "    \
			"AND d.invalidation_time > 0 AND NOT EXISTS (SELECT 1 FROM entities l "    \
			"WHERE l.sha256 = d.sha256 AND l.invalidation_time = 0) ORDER BY 1")       \
	X(ACTIVITY_PUT, "INSERT OR REPLACE INTO activities (" STORE_SQLITE_ACT_COLS ") VALUES "    \
			"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")      \
	X(ACT_PARAMS_DELETE, "DELETE FROM activity_params WHERE activity_id = ?1")                 \
	X(ACT_PARAM_INSERT, "INSERT INTO activity_params (activity_id, name, value, is_default) "  \
			    "VALUES (?1, ?2, ?3, ?4)")                                             \
	X(ACTIVITY_GET, "SELECT " STORE_SQLITE_ACT_COLS " FROM activities WHERE id = ?1")          \
	X(ACT_PARAMS_GET, "SELECT name, value, is_default FROM activity_params "                   \
			  "WHERE activity_id = ?1 ORDER BY rowid")                                 \
	X(WALK_BACK, STORE_SQLITE_SQL_WALK_BACK)                                                       \
	X(WALK_FORTH, STORE_SQLITE_SQL_WALK_FORTH)                                                     \
	X(LIN_ACTIVITIES, "SELECT j.key, " STORE_SQLITE_ACT_COLS_A " FROM json_each(?1) j "        \
			  "JOIN activities a ON a.id = j.value")                                   \
	X(LIN_PARAMS, "SELECT j.key, p.name, p.value, p.is_default FROM json_each(?1) j "          \
		      "JOIN activity_params p ON p.activity_id = j.value ORDER BY j.key, p.rowid") \
	X(LIN_ENTITIES, STORE_SQLITE_SQL_LIN_ENTITIES)                                                 \
	X(LIN_USAGES, "SELECT job_id, entity_id, role, k FROM usages WHERE job_id IN "             \
		      STORE_SQLITE_IN_ACTS " ORDER BY job_id, role, k")

#define STORE_SQLITE_STMTS(X)                                                                      \
	X(BEGIN_READ, "BEGIN")                                                                     \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                          \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(SAVEPOINT, "SAVEPOINT op")                                                               \
	X(RELEASE, "RELEASE op")                                                                   \
	X(ROLLBACK_TO, "ROLLBACK TO op")                                                           \
	X(JOB_INSERT, "INSERT INTO jobs (" STORE_SQLITE_JOB_COLS ") VALUES (?1, ?2, ?3, ?4, "      \
		      "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")                    \
	X(JOB_UPDATE, "UPDATE jobs SET jobdef = ?2, owner = ?3, run_id = ?4, phase = ?5, "         \
		      "creation_time = ?6, start_time = ?7, end_time = ?8, destruction_time = ?9, "\
		      "execution_duration = ?10, quote = ?11, error_summary = ?12, "               \
		      "error_type = ?13, run_request_time = ?14, exec_handle = ?15, jdl_hash = ?16 "\
		      "WHERE id = ?1 AND phase = ?17")                                             \
	X(JOB_EXISTS, "SELECT 1 FROM jobs WHERE id = ?1")                                          \
	X(JOB_DELETE, "DELETE FROM jobs WHERE id = ?1")                                            \
	X(JOB_GET, "SELECT " STORE_SQLITE_JOB_COLS ", " STORE_SQLITE_METRICS_COLS " FROM jobs "    \
		   "WHERE id = ?1")                                                                \
	X(JOB_METRICS, "UPDATE jobs SET metrics_known = ?2, wall_ms = ?3, cpu_ms = ?4, "           \
		       "max_rss_kb = ?5, exit_code = ?6 WHERE id = ?1")                            \
	X(JOB_ARCHIVE, "UPDATE jobs SET phase = 9 WHERE id = ?1")                                  \
	X(PARAMS_GET, "SELECT name, value, by_ref FROM params WHERE job_id = ?1 ORDER BY rowid")   \
	X(PARAMS_DELETE, "DELETE FROM params WHERE job_id = ?1")                                   \
	X(PARAM_INSERT, "INSERT INTO params (job_id, name, value, by_ref) VALUES (?1, ?2, ?3, ?4)")\
	X(RESULTS_GET, "SELECT rid, path, mime, size, entity_id, sha256 FROM results "             \
		       "WHERE job_id = ?1 "                                                        \
		       "ORDER BY rowid")                                                           \
	X(RESULTS_DELETE, "DELETE FROM results WHERE job_id = ?1")                                 \
	X(RESULT_INSERT, "INSERT INTO results (job_id, rid, path, mime, size, entity_id, sha256) " \
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                    \
	STORE_SQLITE_LIST_STMTS(X, LIST, STORE_SQLITE_LIST_HEAD)                                   \
	STORE_SQLITE_LIST_STMTS(X, XLIST, STORE_SQLITE_XLIST_HEAD)                                 \
	X(IDS_IN_PHASE, "SELECT id FROM jobs WHERE phase = ?1 "                                    \
			"ORDER BY run_request_time, creation_time, rowid")                         \
	X(IDS_EXPIRED, "SELECT id FROM jobs WHERE destruction_time > 0 AND phase != 9 AND "        \
		       "destruction_time <= ?1 ORDER BY destruction_time LIMIT ?2")                \
	X(NEXT_DESTRUCTION, "SELECT MIN(destruction_time) FROM jobs "                              \
			    "WHERE destruction_time > 0 AND phase != 9")                           \
	STORE_SQLITE_ACCOUNT_STMTS(X)                                                              \
	STORE_SQLITE_PROV_STMTS(X)
/* clang-format on */

enum store_sqlite_stmt_id {
#define STORE_SQLITE_STMT_ENUM(name, sql) STORE_SQLITE_##name,
	STORE_SQLITE_STMTS(STORE_SQLITE_STMT_ENUM)
#undef STORE_SQLITE_STMT_ENUM
	    STORE_SQLITE_STMT_COUNT
};

static const char *const store_sqlite_sql[] = {
#define STORE_SQLITE_STMT_TEXT(name, sql) [STORE_SQLITE_##name] = sql,
    STORE_SQLITE_STMTS(STORE_SQLITE_STMT_TEXT)
#undef STORE_SQLITE_STMT_TEXT
};

/* SQLite primary result codes → opus errors; anything else is internal. */
static const struct {
	int sqlite;
	int opus;
} store_sqlite_errors[] = {
    {SQLITE_CONSTRAINT, OPUS_ERR_EXISTS}, {SQLITE_BUSY, OPUS_ERR_BUSY},
    {SQLITE_LOCKED, OPUS_ERR_BUSY},	  {SQLITE_IOERR, OPUS_ERR_IO},
    {SQLITE_FULL, OPUS_ERR_IO},		  {SQLITE_CANTOPEN, OPUS_ERR_IO},
    {SQLITE_READONLY, OPUS_ERR_IO},	  {SQLITE_PERM, OPUS_ERR_IO},
    {SQLITE_CORRUPT, OPUS_ERR_IO},	  {SQLITE_NOTADB, OPUS_ERR_IO},
    {SQLITE_TOOBIG, OPUS_ERR_TOOBIG},
};

/* One connection with its cache of prepared statements. */
struct store_sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *stmts[STORE_SQLITE_STMT_COUNT];
	bool full; /* a statement failed with SQLITE_FULL (disk full) */
};

/* A thread's read connection, on the global list. */
struct store_sqlite_rconn {
	struct store_sqlite_conn conn;
	const struct store_sqlite *sq;
	pthread_t thread;
	struct store_sqlite_rconn *next;
};

struct store_sqlite;

/* The data of an account, role, app, audit or description write: deep
 * copies (the audit row's fields are owned here too). */
struct store_sqlite_acc {
	struct store_account account;
	struct store_role role;
	struct store_app app;
	struct store_audit log;
	char *name;			/* a delete's target; a description */
	bool flag;			/* app_put: replace; jdl_set_enabled: enabled */
	enum store_sqlite_stmt_id stmt; /* a delete's statement */
};

static void store_sqlite_acc_free(struct store_sqlite_acc *acc)
{
	if (!acc)
		return;
	store_account_release(&acc->account);
	store_role_release(&acc->role);
	store_app_release(&acc->app);
	store_audit_release(&acc->log);
	free(acc->name);
	free(acc);
}

/* What a write answers besides its result, written by the writer thread
 * into the caller's memory (read by the caller once the op is done). */
struct store_sqlite_out {
	char entity_id[STORE_ENTITY_ID_LEN + 1]; /* input_use: the entity used */
	bool recognised;
	char **ids; /* job_retire: the blobs no live entity refers to */
	size_t nids;
};

/* A queued write: `run` executes it on the writer connection and returns 0
 * or an opus error; the data is the caller's input, copied. */
struct store_sqlite_op {
	int (*run)(struct store_sqlite_conn *c, const struct store_sqlite_op *op);
	char *id;
	struct store_sqlite_acc *acc; /* accounts and the rest of issue 13 */
	struct store_entity *ents;    /* input_use: the input; job_end: the generated */
	size_t nents;
	char *role; /* a usage's (job id, role, k); the job id is job.id */
	char *entity_id;
	int64_t now_ms;
	struct store_sqlite_out *out; /* NULL: nothing to answer */
	struct store_sqlite_op *next;
	pthread_cond_t done_cond;
	struct store_activity act; /* job_end */
	struct uws_job job;
	enum uws_phase from; /* job save, update, finish, end: the phase the row must have */
	int k;
	int result;
	bool has_act;
	bool archive;	      /* job_retire */
	bool may_use_reserve; /* a delete or a job end: may release the reserve */
	bool full;	      /* it failed because the disk is full */
	bool retry;	      /* tried again with the reserve released */
	bool done;
};

struct store_sqlite {
	struct store base;
	char *path;
	struct store_sqlite_conn writer; /* used by the writer thread only, once started */
	pthread_key_t rkey;		 /* this store's struct store_sqlite_rconn per thread */
	bool rkey_ok;
	pthread_mutex_t lock; /* guards the queue, `stopping` and every op's `done` */
	pthread_cond_t wake;  /* the writer waits here for work */
	struct store_sqlite_op *head, **tail;
	bool stopping;
	bool writing; /* the writer runs a batch (a test's view; under lock) */
	pthread_t thread;
	bool thread_ok;
	atomic_uint_fast64_t commits;
	char *reserve_path; /* the disk-full reserve; the writer thread's once started */
	bool reserve_present;
};

static pthread_mutex_t store_sqlite_rconns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_sqlite_rconn *store_sqlite_rconns;

static struct store_sqlite *store_sqlite_of(struct store *st)
{
	return (struct store_sqlite *)st;
}

/* ---- errors, connections, statements ---- */

static int store_sqlite_fail(struct store_sqlite_conn *c, int rc, const char *what)
{
	int err = OPUS_ERR_INTERNAL;
	if ((rc & 0xff) == SQLITE_FULL)
		c->full = true;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(store_sqlite_errors); i++) {
		if (store_sqlite_errors[i].sqlite == (rc & 0xff))
			err = store_sqlite_errors[i].opus;
	}
	/* A constraint failure is an answer (duplicate id), not a fault. */
	log_msg(err == OPUS_ERR_EXISTS ? LOG_DEBUG : LOG_ERROR, "store: %s: %s (%d)", what,
		c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), rc);
	return err;
}

static void store_sqlite_conn_close(struct store_sqlite_conn *c)
{
	for (size_t i = 0; i < STORE_SQLITE_STMT_COUNT; i++) {
		sqlite3_finalize(c->stmts[i]);
		c->stmts[i] = NULL;
	}
	if (c->db && sqlite3_close(c->db) != SQLITE_OK)
		log_error("store: close: %s", sqlite3_errmsg(c->db));
	c->db = NULL;
}

static int store_sqlite_conn_open(struct store_sqlite_conn *c, const char *path, int flags)
{
	int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_extended_result_codes(c->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, STORE_SQLITE_BUSY_MS);
	if (rc != SQLITE_OK) {
		int err = store_sqlite_fail(c, rc, path);
		store_sqlite_conn_close(c);
		return err;
	}
	return 0;
}

/* The cached statement, reset and with no bindings; NULL after logging. */
static atomic_uint_fast64_t store_sqlite_stmts_run;

static sqlite3_stmt *store_sqlite_stmt(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id)
{
	sqlite3_stmt *s = c->stmts[id];
	atomic_fetch_add(&store_sqlite_stmts_run, 1);
	if (!s) {
		int rc = sqlite3_prepare_v3(c->db, store_sqlite_sql[id], -1,
					    SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			(void)store_sqlite_fail(c, rc, store_sqlite_sql[id]);
			return NULL;
		}
		c->stmts[id] = s;
	}
	return s;
}

static void store_sqlite_done_with(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/*
 * Binding remembers its first error, so a statement's binds are straight-line
 * code checked once, when stepping.
 */
struct store_sqlite_bind {
	sqlite3_stmt *s;
	int rc;
};

static void store_sqlite_bind_text(struct store_sqlite_bind *b, int i, const char *v)
{
	if (b->rc == SQLITE_OK)
		b->rc = v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_STATIC)
			  : sqlite3_bind_null(b->s, i);
}

static void store_sqlite_bind_int(struct store_sqlite_bind *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->s, i, v);
}

/*
 * Steps a statement that returns no row (or whose row is of no interest),
 * then resets it. A bind error short-circuits. Returns 0 or an opus error.
 */
static int store_sqlite_step_done(struct store_sqlite_conn *c, struct store_sqlite_bind *b)
{
	int rc = b->rc;
	int ret = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(b->s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sqlite_fail(c, rc, sqlite3_sql(b->s));
	store_sqlite_done_with(b->s);
	return ret;
}

/* Runs one cached statement without parameters. */
static int store_sqlite_exec(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	return store_sqlite_step_done(c, &b);
}

/* Runs constant SQL text (schema, pragmas); never data. */
static int store_sqlite_exec_sql(struct store_sqlite_conn *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int err = store_sqlite_fail(c, rc, msg ? msg : sql);
		sqlite3_free(msg);
		return err;
	}
	return 0;
}

/* Reads a single-row, single-column integer from constant SQL text. */
static int store_sqlite_query_int(struct store_sqlite_conn *c, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : store_sqlite_fail(c, rc, sql);
}

static char *store_sqlite_col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static void store_sqlite_col_id(sqlite3_stmt *s, int i, char out[UWS_ID_LEN + 1])
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;
	if (n > UWS_ID_LEN)
		n = UWS_ID_LEN;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

/* An executor handle; one that does not fit is not the one stored: none. */
static void store_sqlite_col_handle(sqlite3_stmt *s, int i, char out[UWS_HANDLE_MAX])
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;

	out[0] = '\0';
	if (n >= UWS_HANDLE_MAX) {
		log_warn("store: an executor handle of %zu bytes ignored", n);
		return;
	}
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

static enum uws_phase store_sqlite_col_phase(sqlite3_stmt *s, int i)
{
	int64_t p = sqlite3_column_int64(s, i);
	return p >= 0 && p < UWS_PHASE_COUNT ? (enum uws_phase)p : UWS_UNKNOWN;
}

/* ---- read connections ---- */

/* pthread key destructor: the thread exits; close its connection unless
 * store_close() got there first (then it is no longer on the list). */
static void store_sqlite_rconn_exit(void *arg)
{
	struct store_sqlite_rconn *found = NULL;
	pthread_mutex_lock(&store_sqlite_rconns_lock);
	for (struct store_sqlite_rconn **pp = &store_sqlite_rconns; *pp; pp = &(*pp)->next) {
		if (*pp == arg && pthread_equal((*pp)->thread, pthread_self())) {
			found = *pp;
			*pp = found->next;
			break;
		}
	}
	pthread_mutex_unlock(&store_sqlite_rconns_lock);
	if (found) {
		store_sqlite_conn_close(&found->conn);
		free(found);
	}
}

/* The calling thread's read connection, opened on first use; NULL after logging. */
static struct store_sqlite_conn *store_sqlite_reader(struct store_sqlite *sq)
{
	struct store_sqlite_rconn *rc = pthread_getspecific(sq->rkey);
	if (rc)
		return &rc->conn;
	rc = xcalloc(1, sizeof(*rc));
	if (store_sqlite_conn_open(&rc->conn, sq->path, SQLITE_OPEN_READONLY) < 0) {
		free(rc);
		return NULL;
	}
	rc->sq = sq;
	rc->thread = pthread_self();
	if (pthread_setspecific(sq->rkey, rc) != 0) {
		log_error("store: pthread_setspecific failed");
		store_sqlite_conn_close(&rc->conn);
		free(rc);
		return NULL;
	}
	pthread_mutex_lock(&store_sqlite_rconns_lock);
	rc->next = store_sqlite_rconns;
	store_sqlite_rconns = rc;
	pthread_mutex_unlock(&store_sqlite_rconns_lock);
	return &rc->conn;
}

/* Closes every read connection of a store (the store is closing; no thread
 * uses it any more, but threads that did may still be alive or exiting). */
static void store_sqlite_readers_close(struct store_sqlite *sq)
{
	struct store_sqlite_rconn *mine = NULL, *rc;
	pthread_mutex_lock(&store_sqlite_rconns_lock);
	for (struct store_sqlite_rconn **pp = &store_sqlite_rconns; *pp;) {
		rc = *pp;
		if (rc->sq == sq) {
			*pp = rc->next;
			rc->next = mine;
			mine = rc;
		} else {
			pp = &rc->next;
		}
	}
	if (sq->rkey_ok)
		pthread_key_delete(sq->rkey);
	sq->rkey_ok = false;
	pthread_mutex_unlock(&store_sqlite_rconns_lock);
	while ((rc = mine)) {
		mine = rc->next;
		store_sqlite_conn_close(&rc->conn);
		free(rc);
	}
}

/* ---- the writer ---- */

static void store_sqlite_bind_job(struct store_sqlite_bind *b, const struct uws_job *job)
{
	const char *owner = job->owner && *job->owner ? job->owner : NULL;
	store_sqlite_bind_text(b, 1, job->id);
	store_sqlite_bind_text(b, 2, job->jobdef);
	store_sqlite_bind_text(b, 3, owner);
	store_sqlite_bind_text(b, 4, job->run_id);
	store_sqlite_bind_int(b, 5, job->phase);
	store_sqlite_bind_int(b, 6, job->creation_time);
	store_sqlite_bind_int(b, 7, job->start_time);
	store_sqlite_bind_int(b, 8, job->end_time);
	store_sqlite_bind_int(b, 9, job->destruction_time);
	store_sqlite_bind_int(b, 10, job->execution_duration);
	store_sqlite_bind_int(b, 11, job->quote);
	store_sqlite_bind_text(b, 12, job->error_summary);
	store_sqlite_bind_int(b, 13, job->error_type);
	store_sqlite_bind_int(b, 14, job->run_request_time);
	store_sqlite_bind_text(b, 15, job->exec_handle);
	store_sqlite_bind_text(b, 16, job->jdl_hash);
}

/* Runs a statement whose only parameter ?1 is the job id. */
static int store_sqlite_exec_id(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id,
				const char *job_id)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, job_id);
	return store_sqlite_step_done(c, &b);
}

static int store_sqlite_insert_params(struct store_sqlite_conn *c, const struct uws_job *job)
{
	for (size_t i = 0; i < job->nparams; i++) {
		const struct uws_param *p = &job->params[i];
		struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_PARAM_INSERT),
					      SQLITE_OK};
		int ret;
		if (!b.s)
			return OPUS_ERR_INTERNAL;
		store_sqlite_bind_text(&b, 1, job->id);
		store_sqlite_bind_text(&b, 2, p->name);
		store_sqlite_bind_text(&b, 3, p->value);
		store_sqlite_bind_int(&b, 4, p->by_ref);
		ret = store_sqlite_step_done(c, &b);
		if (ret < 0) /* a missing name or the same name twice: bad input */
			return ret == OPUS_ERR_EXISTS ? OPUS_ERR_INVAL : ret;
	}
	return 0;
}

static int store_sqlite_insert_results(struct store_sqlite_conn *c, const struct uws_job *job)
{
	for (size_t i = 0; i < job->nresults; i++) {
		const struct uws_result *r = &job->results[i];
		struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_RESULT_INSERT),
					      SQLITE_OK};
		int ret;
		if (!b.s)
			return OPUS_ERR_INTERNAL;
		store_sqlite_bind_text(&b, 1, job->id);
		store_sqlite_bind_text(&b, 2, r->id);
		store_sqlite_bind_text(&b, 3, r->path);
		store_sqlite_bind_text(&b, 4, r->mime);
		store_sqlite_bind_int(&b, 5, r->size);
		store_sqlite_bind_text(&b, 6, r->entity_id);
		store_sqlite_bind_text(&b, 7, r->sha256);
		ret = store_sqlite_step_done(c, &b);
		if (ret < 0)
			return ret == OPUS_ERR_EXISTS ? OPUS_ERR_INVAL : ret;
	}
	return 0;
}

static int store_sqlite_run_create(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_JOB_INSERT), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_job(&b, &op->job);
	ret = store_sqlite_step_done(c, &b);
	if (ret < 0)
		return ret;
	return store_sqlite_insert_params(c, &op->job);
}

/* Is there a row for the job? 0 (yes), OPUS_ERR_NOTFOUND or an error. */
static int store_sqlite_job_exists(struct store_sqlite_conn *c, const char *id)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_JOB_EXISTS), SQLITE_OK};
	int rc, ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, id);
	rc = b.rc == SQLITE_OK ? sqlite3_step(b.s) : b.rc;
	ret = rc == SQLITE_ROW	  ? 0
	      : rc == SQLITE_DONE ? OPUS_ERR_NOTFOUND
				  : store_sqlite_fail(c, rc, "job exists");
	store_sqlite_done_with(b.s);
	return ret;
}

/*
 * UPDATE of every scalar field, applied only while the row is in phase
 * `from`. When no row matched: OPUS_ERR_PHASE if the job is there in another
 * phase (another writer changed it first), OPUS_ERR_NOTFOUND if it is gone.
 */
static int store_sqlite_update_job(struct store_sqlite_conn *c, const struct uws_job *job,
				   enum uws_phase from)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_JOB_UPDATE), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_job(&b, job);
	store_sqlite_bind_int(&b, 17, from);
	ret = store_sqlite_step_done(c, &b);
	if (ret == 0 && sqlite3_changes(c->db) == 0) {
		ret = store_sqlite_job_exists(c, job->id);
		if (ret == 0)
			ret = OPUS_ERR_PHASE;
	}
	return ret;
}

static int store_sqlite_run_save(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	return store_sqlite_update_job(c, &op->job, op->from);
}

static int store_sqlite_run_set_params(struct store_sqlite_conn *c,
				       const struct store_sqlite_op *op)
{
	int ret = store_sqlite_job_exists(c, op->job.id);
	if (ret == 0)
		ret = store_sqlite_exec_id(c, STORE_SQLITE_PARAMS_DELETE, op->job.id);
	if (ret == 0)
		ret = store_sqlite_insert_params(c, &op->job);
	return ret;
}

static int store_sqlite_run_update(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	int ret = store_sqlite_update_job(c, &op->job, op->from);
	if (ret == 0)
		ret = store_sqlite_exec_id(c, STORE_SQLITE_PARAMS_DELETE, op->job.id);
	if (ret == 0)
		ret = store_sqlite_insert_params(c, &op->job);
	return ret;
}

/* ---- the writer: provenance ---- */

static void store_sqlite_bind_metrics(struct store_sqlite_bind *b, int first,
				      const struct uws_metrics *m)
{
	store_sqlite_bind_int(b, first, m->known);
	store_sqlite_bind_int(b, first + 1, m->wall_ms);
	store_sqlite_bind_int(b, first + 2, m->cpu_ms);
	store_sqlite_bind_int(b, first + 3, m->max_rss_kb);
	store_sqlite_bind_int(b, first + 4, m->exit_code);
}

static int store_sqlite_insert_entity(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id,
				      const struct store_entity *e)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, e->id);
	store_sqlite_bind_text(&b, 2, e->sha256);
	store_sqlite_bind_int(&b, 3, e->size);
	store_sqlite_bind_text(&b, 4, e->content_type);
	store_sqlite_bind_text(&b, 5, e->file_name);
	store_sqlite_bind_text(&b, 6, e->generated_by);
	store_sqlite_bind_text(&b, 7, e->role);
	store_sqlite_bind_text(&b, 8, e->result_id);
	store_sqlite_bind_text(&b, 9, e->source);
	store_sqlite_bind_text(&b, 10, e->owner);
	store_sqlite_bind_int(&b, 11, e->creation_time);
	store_sqlite_bind_int(&b, 12, e->invalidation_time);
	store_sqlite_bind_text(&b, 13, e->invalidated_by);
	return store_sqlite_step_done(c, &b);
}

/*
 * Steps a bound statement that returns at most one row of interest and
 * copies its text column 0 into out (cap bytes with the NUL); "" when there
 * is no row. Resets it.
 */
static int store_sqlite_step_text(struct store_sqlite_conn *c, struct store_sqlite_bind *b,
				  char *out, size_t cap)
{
	int rc = b->rc == SQLITE_OK ? sqlite3_step(b->s) : b->rc;
	int ret = 0;
	out[0] = '\0';
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(b->s, 0);
		snprintf(out, cap, "%s", t ? (const char *)t : "");
	} else if (rc != SQLITE_DONE) {
		ret = store_sqlite_fail(c, rc, sqlite3_sql(b->s));
	}
	store_sqlite_done_with(b->s);
	return ret;
}

/* Invalidates an entity that no live job holds any more (a usage of it was
 * replaced or cleared by job_id). */
static int store_sqlite_orphan(struct store_sqlite_conn *c, const char *entity_id,
			       const char *job_id, int64_t now_ms)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ENTITY_ORPHAN), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, entity_id);
	store_sqlite_bind_int(&b, 2, now_ms);
	store_sqlite_bind_text(&b, 3, job_id);
	return store_sqlite_step_done(c, &b);
}

/* Sets the usage (op->job.id, op->role, op->k) to entity_id; the entity it
 * replaces is invalidated when nothing live holds it any more. */
static int store_sqlite_set_usage(struct store_sqlite_conn *c, const struct store_sqlite_op *op,
				  const char *entity_id)
{
	char old[STORE_ENTITY_ID_LEN + 1];
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_USAGE_GET), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->job.id);
	store_sqlite_bind_text(&b, 2, op->role);
	store_sqlite_bind_int(&b, 3, op->k);
	ret = store_sqlite_step_text(c, &b, old, sizeof(old));
	if (ret < 0)
		return ret;
	b = (struct store_sqlite_bind){store_sqlite_stmt(c, STORE_SQLITE_USAGE_PUT), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->job.id);
	store_sqlite_bind_text(&b, 2, op->role);
	store_sqlite_bind_int(&b, 3, op->k);
	store_sqlite_bind_text(&b, 4, entity_id);
	ret = store_sqlite_step_done(c, &b);
	if (ret == 0 && old[0] && strcmp(old, entity_id) != 0)
		ret = store_sqlite_orphan(c, old, op->job.id, op->now_ms);
	return ret;
}

/* Recognition: the owner's oldest live entity with these bytes, else e. */
static int store_sqlite_run_input_use(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	const struct store_entity *e = &op->ents[0];
	struct store_sqlite_out *out = op->out;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ENTITY_FIND), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, e->owner);
	store_sqlite_bind_text(&b, 2, e->sha256);
	ret = store_sqlite_step_text(c, &b, out->entity_id, sizeof(out->entity_id));
	if (ret < 0)
		return ret;
	out->recognised = out->entity_id[0] != '\0';
	if (!out->recognised) {
		ret = store_sqlite_insert_entity(c, STORE_SQLITE_ENTITY_INSERT, e);
		memcpy(out->entity_id, e->id, sizeof(out->entity_id));
	}
	if (ret == 0)
		ret = store_sqlite_set_usage(c, op, out->entity_id);
	return ret;
}

static int store_sqlite_run_usage_put(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	char found[2];
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ENTITY_EXISTS), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->entity_id);
	ret = store_sqlite_step_text(c, &b, found, sizeof(found));
	if (ret == 0 && !found[0])
		ret = OPUS_ERR_NOTFOUND;
	if (ret == 0)
		ret = store_sqlite_set_usage(c, op, op->entity_id);
	return ret;
}

/* Binds (job id, role) to a statement whose ?1 and ?2 they are. */
static struct store_sqlite_bind store_sqlite_bind_role(struct store_sqlite_conn *c,
						       enum store_sqlite_stmt_id id,
						       const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (b.s) {
		store_sqlite_bind_text(&b, 1, op->job.id);
		store_sqlite_bind_text(&b, 2, op->role);
	}
	return b;
}

static int store_sqlite_collect_ids(struct store_sqlite_conn *c, struct store_sqlite_bind *b,
				    char ***ids_out, size_t *n_out);

static int store_sqlite_run_usages_clear(struct store_sqlite_conn *c,
					 const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = store_sqlite_bind_role(c, STORE_SQLITE_USAGES_OF_ROLE, op);
	char **used = NULL;
	size_t n = 0;
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	ret = store_sqlite_collect_ids(c, &b, &used, &n);
	if (ret < 0)
		return ret;
	b = store_sqlite_bind_role(c, STORE_SQLITE_USAGES_CLEAR, op);
	ret = b.s ? store_sqlite_step_done(c, &b) : OPUS_ERR_INTERNAL;
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_sqlite_orphan(c, used[i], op->job.id, op->now_ms);
	store_ids_free(used, n);
	return ret;
}

static int store_sqlite_put_activity(struct store_sqlite_conn *c, const struct store_activity *a)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ACTIVITY_PUT), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, a->id);
	store_sqlite_bind_text(&b, 2, a->jobdef);
	store_sqlite_bind_text(&b, 3, a->jdl_hash);
	store_sqlite_bind_text(&b, 4, a->owner);
	store_sqlite_bind_text(&b, 5, a->run_id);
	store_sqlite_bind_int(&b, 6, a->phase);
	store_sqlite_bind_int(&b, 7, a->creation_time);
	store_sqlite_bind_int(&b, 8, a->start_time);
	store_sqlite_bind_int(&b, 9, a->end_time);
	store_sqlite_bind_text(&b, 10, a->error_summary);
	store_sqlite_bind_metrics(&b, 11, &a->metrics);
	ret = store_sqlite_step_done(c, &b);
	if (ret == 0)
		ret = store_sqlite_exec_id(c, STORE_SQLITE_ACT_PARAMS_DELETE, a->id);
	for (size_t i = 0; ret == 0 && i < a->nparams; i++) {
		b = (struct store_sqlite_bind){store_sqlite_stmt(c, STORE_SQLITE_ACT_PARAM_INSERT),
					       SQLITE_OK};
		if (!b.s)
			return OPUS_ERR_INTERNAL;
		store_sqlite_bind_text(&b, 1, a->id);
		store_sqlite_bind_text(&b, 2, a->params[i].name);
		store_sqlite_bind_text(&b, 3, a->params[i].value);
		store_sqlite_bind_int(&b, 4, a->params[i].is_default);
		ret = store_sqlite_step_done(c, &b);
		if (ret == OPUS_ERR_EXISTS) /* the same name twice: bad input */
			ret = OPUS_ERR_INVAL;
	}
	return ret;
}

/*
 * A job's end (store_job_end; store_job_finish without the activity): the
 * scalars, the metrics, the results, the activity, the generated entities.
 * A generated entity already there (the same end recorded twice) is kept.
 * Nothing is written unless the row is still in phase op->from.
 */
static int store_sqlite_run_end(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_JOB_METRICS), SQLITE_OK};
	int ret = store_sqlite_update_job(c, &op->job, op->from);
	if (ret < 0)
		return ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->job.id);
	store_sqlite_bind_metrics(&b, 2, &op->job.metrics);
	ret = store_sqlite_step_done(c, &b);
	if (ret == 0)
		ret = store_sqlite_exec_id(c, STORE_SQLITE_RESULTS_DELETE, op->job.id);
	if (ret == 0)
		ret = store_sqlite_insert_results(c, &op->job);
	if (ret == 0 && op->has_act)
		ret = store_sqlite_put_activity(c, &op->act);
	for (size_t i = 0; ret == 0 && i < op->nents; i++)
		ret = store_sqlite_insert_entity(c, STORE_SQLITE_ENTITY_INSERT_KEEP, &op->ents[i]);
	return ret;
}

/*
 * A job's files go (store_job_retire; store_job_delete without the list):
 * the job is marked retired, its row archived or deleted, then what it
 * generated or used that nothing live holds is invalidated, and the blobs
 * of what it ever invalidated that no live entity shares are listed.
 */
static int store_sqlite_run_retire(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_RETIRED_MARK), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->id);
	store_sqlite_bind_int(&b, 2, op->now_ms);
	ret = store_sqlite_step_done(c, &b);
	if (ret == 0)
		ret = store_sqlite_exec_id(
		    c, op->archive ? STORE_SQLITE_JOB_ARCHIVE : STORE_SQLITE_JOB_DELETE, op->id);
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		ret = OPUS_ERR_NOTFOUND;
	if (ret < 0)
		return ret;
	b = (struct store_sqlite_bind){store_sqlite_stmt(c, STORE_SQLITE_RETIRE_INVALIDATE),
				       SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->id);
	store_sqlite_bind_int(&b, 2, op->now_ms);
	ret = store_sqlite_step_done(c, &b);
	if (ret < 0 || !op->out)
		return ret;
	store_ids_free(op->out->ids, op->out->nids); /* a retry after a full disk */
	op->out->ids = NULL;
	op->out->nids = 0;
	b = (struct store_sqlite_bind){store_sqlite_stmt(c, STORE_SQLITE_RETIRE_BLOBS), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->id);
	return store_sqlite_collect_ids(c, &b, &op->out->ids, &op->out->nids);
}

/*
 * One transaction for a whole batch (with `only_full`: for the ops of it
 * that failed because the disk was full). Each op runs inside SAVEPOINT op; a
 * failing op is rolled back to its savepoint and keeps its own error, the
 * others commit. If the transaction itself fails, every op that had
 * succeeded gets that error (nothing of the batch was committed).
 */
static void store_sqlite_try_batch(struct store_sqlite *sq, struct store_sqlite_op *batch,
				   bool only_full)
{
	struct store_sqlite_conn *c = &sq->writer;
	int ret = store_sqlite_exec(c, STORE_SQLITE_BEGIN_WRITE);
	for (struct store_sqlite_op *op = batch; op && ret == 0; op = op->next) {
		if (only_full && !op->retry)
			continue;
		op->full = false;
		ret = store_sqlite_exec(c, STORE_SQLITE_SAVEPOINT);
		if (ret < 0)
			break;
		c->full = false;
		op->result = op->run(c, op);
		op->full = op->result < 0 && c->full;
		if (op->result < 0)
			ret = store_sqlite_exec(c, STORE_SQLITE_ROLLBACK_TO);
		if (ret == 0)
			ret = store_sqlite_exec(c, STORE_SQLITE_RELEASE);
	}
	c->full = false;
	if (ret == 0)
		ret = store_sqlite_exec(c, STORE_SQLITE_COMMIT);
	if (ret == 0) {
		atomic_fetch_add(&sq->commits, 1);
		return;
	}
	if (!sqlite3_get_autocommit(c->db))
		(void)store_sqlite_exec(c, STORE_SQLITE_ROLLBACK);
	for (struct store_sqlite_op *op = batch; op; op = op->next) {
		if (only_full && !op->retry)
			continue;
		if (op->result == 0) {
			op->result = ret;
			op->full = c->full;
		}
	}
}

/* Did the disk fill for an op that may use the reserve? */
static bool store_sqlite_needs_reserve(const struct store_sqlite_op *batch)
{
	for (const struct store_sqlite_op *op = batch; op; op = op->next) {
		if (op->full && op->may_use_reserve)
			return true;
	}
	return false;
}

/*
 * Runs a batch. When the disk is full, deletes (which free space) and job
 * ends (which must not be lost) may use the reserve: a file of
 * STORE_SQLITE_RESERVE bytes beside the database, made at open, is removed
 * and what failed for want of space is tried again once.
 */
static void store_sqlite_run_batch(struct store_sqlite *sq, struct store_sqlite_op *batch)
{
	for (struct store_sqlite_op *op = batch; op; op = op->next)
		op->full = op->retry = false;
	store_sqlite_try_batch(sq, batch, false);
	if (!sq->reserve_present || !store_sqlite_needs_reserve(batch))
		return;
	log_warn("store: the disk is full; releasing the %d MB reserve %s so that deletes and "
		 "job ends are recorded (made again at the next start)",
		 STORE_SQLITE_RESERVE >> 20, sq->reserve_path);
	if (unlink(sq->reserve_path) < 0)
		log_error("store: %s: %s", sq->reserve_path, strerror(errno));
	sq->reserve_present = false;
	for (struct store_sqlite_op *op = batch; op; op = op->next) {
		op->retry = op->full;
		if (op->retry)
			op->result = 0;
	}
	store_sqlite_try_batch(sq, batch, true);
}

/* Makes the reserve (see store_sqlite_run_batch) when it is missing. */
static void store_sqlite_reserve_make(struct store_sqlite *sq)
{
	int fd, err;

	sq->reserve_path = xasprintf("%s-reserve", sq->path);
	fd = open(sq->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warn("store: %s: %s; no reserve for a full disk", sq->reserve_path,
			 strerror(errno));
		return;
	}
	err = posix_fallocate(fd, 0, STORE_SQLITE_RESERVE);
	close(fd);
	if (err) {
		log_warn("store: %s: %s; no reserve for a full disk", sq->reserve_path,
			 strerror(err));
		(void)unlink(sq->reserve_path);
		return;
	}
	sq->reserve_present = true;
}

static void *store_sqlite_writer_main(void *arg)
{
	struct store_sqlite *sq = arg;
	pthread_mutex_lock(&sq->lock);
	for (;;) {
		struct store_sqlite_op *batch;
		while (!sq->head && !sq->stopping)
			pthread_cond_wait(&sq->wake, &sq->lock);
		if (!sq->head)
			break; /* stopping, and the queue is drained */
		batch = sq->head;
		sq->head = NULL;
		sq->tail = &sq->head;
		sq->writing = true;
		pthread_mutex_unlock(&sq->lock);
		store_sqlite_run_batch(sq, batch);
		pthread_mutex_lock(&sq->lock);
		sq->writing = false;
		/* Once `done` is set and the lock dropped, the op's owner may free it. */
		while (batch) {
			struct store_sqlite_op *op = batch;
			batch = op->next;
			op->done = true;
			pthread_cond_signal(&op->done_cond);
		}
	}
	pthread_mutex_unlock(&sq->lock);
	return NULL;
}

/* Queues an op, waits until it is committed (or failed), frees its data. */
static int store_sqlite_submit(struct store_sqlite *sq, struct store_sqlite_op *op)
{
	int ret;
	pthread_cond_init(&op->done_cond, NULL);
	op->result = 0;
	op->done = false;
	op->next = NULL;
	pthread_mutex_lock(&sq->lock);
	if (sq->stopping) {
		op->result = OPUS_ERR_INTERNAL;
		op->done = true;
	} else {
		*sq->tail = op;
		sq->tail = &op->next;
		pthread_cond_signal(&sq->wake);
	}
	while (!op->done)
		pthread_cond_wait(&op->done_cond, &sq->lock);
	pthread_mutex_unlock(&sq->lock);
	pthread_cond_destroy(&op->done_cond);
	ret = op->result;
	uws_job_release(&op->job);
	free(op->id);
	store_sqlite_acc_free(op->acc);
	for (size_t i = 0; i < op->nents; i++)
		store_entity_release(&op->ents[i]);
	free(op->ents);
	store_activity_release(&op->act);
	free(op->role);
	free(op->entity_id);
	return ret;
}

static int store_sqlite_submit_job(struct store *st, const struct uws_job *job, enum uws_phase from,
				   int (*run)(struct store_sqlite_conn *,
					      const struct store_sqlite_op *))
{
	struct store_sqlite_op op = {.run = run, .from = from};
	uws_job_copy(&op.job, job);
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_job_create(struct store *st, const struct uws_job *job)
{
	return store_sqlite_submit_job(st, job, job->phase, store_sqlite_run_create);
}

static int store_sqlite_job_save(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	return store_sqlite_submit_job(st, job, from, store_sqlite_run_save);
}

static int store_sqlite_job_set_params(struct store *st, const struct uws_job *job)
{
	return store_sqlite_submit_job(st, job, job->phase, store_sqlite_run_set_params);
}

static int store_sqlite_job_update(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	return store_sqlite_submit_job(st, job, from, store_sqlite_run_update);
}

static int store_sqlite_job_finish(struct store *st, const struct uws_job *job, enum uws_phase from)
{
	struct store_sqlite_op op = {
	    .run = store_sqlite_run_end, .from = from, .may_use_reserve = true};
	uws_job_copy(&op.job, job);
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_job_delete(struct store *st, const char *id)
{
	struct store_sqlite_op op = {.run = store_sqlite_run_retire,
				     .id = xstrdup(id),
				     .now_ms = time_now_ms(),
				     .may_use_reserve = true};
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static void store_sqlite_entity_copy(struct store_entity *dst, const struct store_entity *src)
{
	*dst = *src;
	dst->content_type = xstrdup(src->content_type);
	dst->file_name = xstrdup(src->file_name);
	dst->generated_by = xstrdup(src->generated_by);
	dst->role = xstrdup(src->role);
	dst->result_id = xstrdup(src->result_id);
	dst->source = xstrdup(src->source);
	dst->owner = xstrdup(src->owner);
	dst->invalidated_by = xstrdup(src->invalidated_by);
}

static struct store_entity *store_sqlite_entities_copy(const struct store_entity *src, size_t n)
{
	struct store_entity *dst = xcalloc(n ? n : 1, sizeof(*dst));
	for (size_t i = 0; i < n; i++)
		store_sqlite_entity_copy(&dst[i], &src[i]);
	return dst;
}

static void store_sqlite_activity_copy(struct store_activity *dst, const struct store_activity *src)
{
	*dst = *src;
	dst->jobdef = xstrdup(src->jobdef);
	dst->jdl_hash = xstrdup(src->jdl_hash);
	dst->owner = xstrdup(src->owner);
	dst->run_id = xstrdup(src->run_id);
	dst->error_summary = xstrdup(src->error_summary);
	dst->params = xcalloc(src->nparams ? src->nparams : 1, sizeof(*dst->params));
	for (size_t i = 0; i < src->nparams; i++) {
		dst->params[i].name = xstrdup(src->params[i].name);
		dst->params[i].value = xstrdup(src->params[i].value);
		dst->params[i].is_default = src->params[i].is_default;
	}
}

/* An op on the usage (job_id, role, k); the job id travels in op.job.id. */
static struct store_sqlite_op store_sqlite_usage_op(int (*run)(struct store_sqlite_conn *,
							       const struct store_sqlite_op *),
						    const char *job_id, const char *role, int k)
{
	struct store_sqlite_op op = {
	    .run = run, .role = xstrdup(role), .k = k, .now_ms = time_now_ms()};
	snprintf(op.job.id, sizeof(op.job.id), "%s", job_id);
	return op;
}

static int store_sqlite_input_use(struct store *st, const struct store_entity *e,
				  const char *job_id, const char *role, int k,
				  char id_out[STORE_ENTITY_ID_LEN + 1], bool *recognised_out)
{
	struct store_sqlite_out out = {0};
	struct store_sqlite_op op =
	    store_sqlite_usage_op(store_sqlite_run_input_use, job_id, role, k);
	int ret;
	op.ents = store_sqlite_entities_copy(e, 1);
	op.nents = 1;
	op.out = &out;
	ret = store_sqlite_submit(store_sqlite_of(st), &op);
	if (ret == 0) {
		memcpy(id_out, out.entity_id, sizeof(out.entity_id));
		*recognised_out = out.recognised;
	}
	return ret;
}

static int store_sqlite_usage_put(struct store *st, const char *job_id, const char *role, int k,
				  const char *entity_id)
{
	struct store_sqlite_op op =
	    store_sqlite_usage_op(store_sqlite_run_usage_put, job_id, role, k);
	op.entity_id = xstrdup(entity_id);
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_usages_clear(struct store *st, const char *job_id, const char *role)
{
	struct store_sqlite_op op =
	    store_sqlite_usage_op(store_sqlite_run_usages_clear, job_id, role, 0);
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_job_end(struct store *st, const struct uws_job *job,
				const struct store_activity *act,
				const struct store_entity *generated, size_t ngenerated,
				enum uws_phase from)
{
	struct store_sqlite_op op = {
	    .run = store_sqlite_run_end, .from = from, .may_use_reserve = true};
	uws_job_copy(&op.job, job);
	store_sqlite_activity_copy(&op.act, act);
	op.has_act = true;
	op.ents = store_sqlite_entities_copy(generated, ngenerated);
	op.nents = ngenerated;
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_job_retire(struct store *st, const char *job_id, bool archive,
				   int64_t now_ms, char ***blobs_out, size_t *n_out)
{
	struct store_sqlite_out out = {0};
	struct store_sqlite_op op = {.run = store_sqlite_run_retire,
				     .id = xstrdup(job_id),
				     .archive = archive,
				     .now_ms = now_ms,
				     .out = &out,
				     .may_use_reserve = true};
	int ret = store_sqlite_submit(store_sqlite_of(st), &op);
	if (ret < 0) {
		store_ids_free(out.ids, out.nids);
		return ret;
	}
	*blobs_out = out.ids;
	*n_out = out.nids;
	return 0;
}

/* ---- reads ---- */

static void store_sqlite_read_metrics(sqlite3_stmt *s, int first, struct uws_metrics *m)
{
	m->known = sqlite3_column_int64(s, first) != 0;
	m->wall_ms = sqlite3_column_int64(s, first + 1);
	m->cpu_ms = sqlite3_column_int64(s, first + 2);
	m->max_rss_kb = sqlite3_column_int64(s, first + 3);
	m->exit_code = sqlite3_column_int(s, first + 4);
}

static void store_sqlite_read_scalars(sqlite3_stmt *s, struct uws_job *job)
{
	store_sqlite_col_id(s, 0, job->id);
	job->jobdef = store_sqlite_col_str(s, 1);
	job->owner = store_sqlite_col_str(s, 2);
	job->run_id = store_sqlite_col_str(s, 3);
	job->phase = store_sqlite_col_phase(s, 4);
	job->creation_time = sqlite3_column_int64(s, 5);
	job->start_time = sqlite3_column_int64(s, 6);
	job->end_time = sqlite3_column_int64(s, 7);
	job->destruction_time = sqlite3_column_int64(s, 8);
	job->execution_duration = sqlite3_column_int64(s, 9);
	job->quote = sqlite3_column_int64(s, 10);
	job->error_summary = store_sqlite_col_str(s, 11);
	job->error_type = sqlite3_column_int64(s, 12) == UWS_ERROR_TRANSIENT ? UWS_ERROR_TRANSIENT
									     : UWS_ERROR_FATAL;
	job->run_request_time = sqlite3_column_int64(s, 13);
	store_sqlite_col_handle(s, 14, job->exec_handle);
	job->jdl_hash = store_sqlite_col_str(s, 15);
	store_sqlite_read_metrics(s, 16, &job->metrics);
}

/* Steps a query bound to the job id, handing each row to `row`. */
static int store_sqlite_each_row(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id,
				 const char *job_id, struct uws_job *job,
				 void (*row)(sqlite3_stmt *s, struct uws_job *job))
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	int rc, ret = 0;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, job_id);
	rc = b.rc;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(b.s);
		if (rc == SQLITE_ROW)
			row(b.s, job);
	}
	if (rc != SQLITE_DONE)
		ret = store_sqlite_fail(c, rc, store_sqlite_sql[id]);
	store_sqlite_done_with(b.s);
	return ret;
}

static void store_sqlite_row_job(sqlite3_stmt *s, struct uws_job *job)
{
	store_sqlite_read_scalars(s, job);
}

static void store_sqlite_row_param(sqlite3_stmt *s, struct uws_job *job)
{
	uws_job_add_param(job, (const char *)sqlite3_column_text(s, 0),
			  (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 2) != 0);
}

static void store_sqlite_row_result(sqlite3_stmt *s, struct uws_job *job)
{
	uws_job_add_result(job, (const char *)sqlite3_column_text(s, 0),
			   (const char *)sqlite3_column_text(s, 1),
			   (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3));
	job->results[job->nresults - 1].entity_id = store_sqlite_col_str(s, 4);
	job->results[job->nresults - 1].sha256 = store_sqlite_col_str(s, 5);
}

/* Three queries in one read transaction, so a concurrent finish is seen
 * either entirely or not at all. */
static int store_sqlite_job_get(struct store *st, const char *id, struct uws_job *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct uws_job job = {0};
	int ret = OPUS_ERR_INTERNAL;
	if (!c)
		goto done;
	ret = store_sqlite_exec(c, STORE_SQLITE_BEGIN_READ);
	if (ret == 0)
		ret =
		    store_sqlite_each_row(c, STORE_SQLITE_JOB_GET, id, &job, store_sqlite_row_job);
	if (ret == 0 && !job.jobdef)
		ret = OPUS_ERR_NOTFOUND;
	if (ret == 0)
		ret = store_sqlite_each_row(c, STORE_SQLITE_PARAMS_GET, id, &job,
					    store_sqlite_row_param);
	if (ret == 0)
		ret = store_sqlite_each_row(c, STORE_SQLITE_RESULTS_GET, id, &job,
					    store_sqlite_row_result);
	if (!sqlite3_get_autocommit(c->db))
		(void)store_sqlite_exec(c, STORE_SQLITE_COMMIT);
done:
	if (ret == 0)
		*out = job;
	else
		uws_job_release(&job);
	return ret;
}

/* The list statement for a normalised filter: oldest first without paging,
 * newest first with LAST or a position, upwards from a SINCE position with
 * LAST (the page just newer; reversed after reading). */
static enum store_sqlite_stmt_id store_sqlite_list_id(const struct store_filter *f)
{
	bool by_owner = f->owner || f->owner_is_null;
	bool up = f->since && f->last;
	bool desc = f->last || f->before || f->since;
	if (!f->jobdef) {
		if (up)
			return by_owner ? STORE_SQLITE_XLIST_OWNER_UP : STORE_SQLITE_XLIST_ALL_UP;
		if (by_owner)
			return desc ? STORE_SQLITE_XLIST_OWNER_DESC : STORE_SQLITE_XLIST_OWNER_ASC;
		return desc ? STORE_SQLITE_XLIST_ALL_DESC : STORE_SQLITE_XLIST_ALL_ASC;
	}
	if (up)
		return by_owner ? STORE_SQLITE_LIST_OWNER_UP : STORE_SQLITE_LIST_ALL_UP;
	if (by_owner)
		return desc ? STORE_SQLITE_LIST_OWNER_DESC : STORE_SQLITE_LIST_OWNER_ASC;
	return desc ? STORE_SQLITE_LIST_ALL_DESC : STORE_SQLITE_LIST_ALL_ASC;
}

/* A JSON array of ids or names (hex, 'e' or name_is_safe: nothing to escape). */
static void store_sqlite_json_ids(struct sbuf *sb, const char *const *ids, size_t n)
{
	sbuf_addc(sb, '[');
	for (size_t i = 0; i < n; i++)
		sbuf_addf(sb, "%s\"%s\"", i ? "," : "", ids[i]);
	sbuf_addc(sb, ']');
}

static void store_sqlite_list_bind(struct store_sqlite_bind *b, const struct store_filter *f,
				   struct sbuf *names)
{
	store_sqlite_bind_text(b, 1, f->jobdef);
	if (!f->jobdef && f->jobdefs) {
		store_sqlite_json_ids(names, f->jobdefs, f->njobdefs);
		if (names->err)
			b->rc = SQLITE_NOMEM;
		store_sqlite_bind_text(b, 10, sbuf_str(names));
	}
	if (f->owner || f->owner_is_null)
		store_sqlite_bind_text(b, 2, f->owner_is_null ? NULL : f->owner);
	store_sqlite_bind_int(b, 3, f->after ? f->after : INT64_MIN);
	store_sqlite_bind_int(b, 4, f->phases);
	store_sqlite_bind_int(b, 5, f->last ? f->last : -1);
	store_sqlite_bind_int(b, 6, f->before ? f->before : INT64_MAX);
	store_sqlite_bind_text(b, 7, f->before ? f->before_id : NULL);
	store_sqlite_bind_int(b, 8, f->since ? f->since : INT64_MIN);
	store_sqlite_bind_text(b, 9, f->since ? f->since_id : NULL);
}

static void store_sqlite_jobs_reverse(struct uws_job *jobs, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct uws_job t = jobs[i];
		jobs[i] = jobs[n - 1 - i];
		jobs[n - 1 - i] = t;
	}
}

static int store_sqlite_job_list(struct store *st, const struct store_filter *f,
				 struct uws_job **jobs_out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	enum store_sqlite_stmt_id id = store_sqlite_list_id(f);
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	struct uws_job *jobs = NULL;
	struct sbuf names = SBUF_INIT;
	size_t n = 0, alloc = 0;
	int rc, ret = OPUS_ERR_INTERNAL;
	if (!c || !(b.s = store_sqlite_stmt(c, id)))
		goto done;
	store_sqlite_list_bind(&b, f, &names);
	rc = b.rc;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		struct uws_job *j;
		rc = sqlite3_step(b.s);
		if (rc != SQLITE_ROW)
			break;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			jobs = xrealloc(jobs, alloc * sizeof(*jobs));
		}
		j = &jobs[n++];
		memset(j, 0, sizeof(*j));
		store_sqlite_col_id(b.s, 0, j->id);
		j->jobdef = store_sqlite_col_str(b.s, 1);
		j->owner = store_sqlite_col_str(b.s, 2);
		j->run_id = store_sqlite_col_str(b.s, 3);
		j->phase = store_sqlite_col_phase(b.s, 4);
		j->creation_time = sqlite3_column_int64(b.s, 5);
		j->start_time = sqlite3_column_int64(b.s, 6);
		j->end_time = sqlite3_column_int64(b.s, 7);
		j->destruction_time = sqlite3_column_int64(b.s, 8);
	}
	ret = rc == SQLITE_DONE ? 0 : store_sqlite_fail(c, rc, store_sqlite_sql[id]);
	store_sqlite_done_with(b.s);
done:
	sbuf_release(&names);
	if (ret < 0) {
		store_jobs_free(jobs, n);
		return ret;
	}
	if (id == STORE_SQLITE_LIST_ALL_UP || id == STORE_SQLITE_LIST_OWNER_UP ||
	    id == STORE_SQLITE_XLIST_ALL_UP || id == STORE_SQLITE_XLIST_OWNER_UP)
		store_sqlite_jobs_reverse(jobs, n);
	*jobs_out = jobs;
	*n_out = n;
	return 0;
}

/* Collects column 0 of every row of a bound statement, then resets it. */
static int store_sqlite_collect_ids(struct store_sqlite_conn *c, struct store_sqlite_bind *b,
				    char ***ids_out, size_t *n_out)
{
	char **ids = NULL;
	size_t n = 0, alloc = 0;
	int rc = b->rc, ret;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(b->s);
		if (rc != SQLITE_ROW)
			break;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			ids = xrealloc(ids, alloc * sizeof(*ids));
		}
		ids[n++] = store_sqlite_col_str(b->s, 0);
	}
	ret = rc == SQLITE_DONE ? 0 : store_sqlite_fail(c, rc, sqlite3_sql(b->s));
	store_sqlite_done_with(b->s);
	if (ret < 0) {
		store_ids_free(ids, n);
		return ret;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

static int store_sqlite_job_ids_in_phase(struct store *st, enum uws_phase phase, char ***ids_out,
					 size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_IDS_IN_PHASE)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_int(&b, 1, phase);
	return store_sqlite_collect_ids(c, &b, ids_out, n_out);
}

static int store_sqlite_job_ids_expired(struct store *st, int64_t now_ms, size_t max,
					char ***ids_out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_IDS_EXPIRED)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_int(&b, 1, now_ms);
	store_sqlite_bind_int(&b, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	return store_sqlite_collect_ids(c, &b, ids_out, n_out);
}

static int store_sqlite_next_destruction(struct store *st, int64_t *ms_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	sqlite3_stmt *s;
	int rc, ret;
	if (!c || !(s = store_sqlite_stmt(c, STORE_SQLITE_NEXT_DESTRUCTION)))
		return OPUS_ERR_INTERNAL;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ms_out = sqlite3_column_int64(s, 0); /* MIN() of no row is NULL: 0 */
		ret = 0;
	} else {
		ret = store_sqlite_fail(c, rc, store_sqlite_sql[STORE_SQLITE_NEXT_DESTRUCTION]);
	}
	store_sqlite_done_with(s);
	return ret;
}

/* ---- reads: provenance ---- */

static void store_sqlite_col_buf(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* An entity from STORE_SQLITE_ENTITY_COLS at column 0. */
static void store_sqlite_read_entity(sqlite3_stmt *s, struct store_entity *e)
{
	store_sqlite_col_buf(s, 0, e->id, sizeof(e->id));
	store_sqlite_col_buf(s, 1, e->sha256, sizeof(e->sha256));
	e->size = sqlite3_column_int64(s, 2);
	e->content_type = store_sqlite_col_str(s, 3);
	e->file_name = store_sqlite_col_str(s, 4);
	e->generated_by = store_sqlite_col_str(s, 5);
	e->role = store_sqlite_col_str(s, 6);
	e->result_id = store_sqlite_col_str(s, 7);
	e->source = store_sqlite_col_str(s, 8);
	e->owner = store_sqlite_col_str(s, 9);
	e->creation_time = sqlite3_column_int64(s, 10);
	e->invalidation_time = sqlite3_column_int64(s, 11);
	e->invalidated_by = store_sqlite_col_str(s, 12);
}

/* An activity's scalars from STORE_SQLITE_ACT_COLS at column `first`. */
static void store_sqlite_read_activity(sqlite3_stmt *s, int first, struct store_activity *a)
{
	store_sqlite_col_id(s, first, a->id);
	a->jobdef = store_sqlite_col_str(s, first + 1);
	a->jdl_hash = store_sqlite_col_str(s, first + 2);
	a->owner = store_sqlite_col_str(s, first + 3);
	a->run_id = store_sqlite_col_str(s, first + 4);
	a->phase = store_sqlite_col_phase(s, first + 5);
	a->creation_time = sqlite3_column_int64(s, first + 6);
	a->start_time = sqlite3_column_int64(s, first + 7);
	a->end_time = sqlite3_column_int64(s, first + 8);
	a->error_summary = store_sqlite_col_str(s, first + 9);
	store_sqlite_read_metrics(s, first + 10, &a->metrics);
}

static void store_sqlite_activity_add_param(struct store_activity *a, sqlite3_stmt *s, int first)
{
	struct store_param_rec *p;
	a->params = xrealloc(a->params, (a->nparams + 1) * sizeof(*a->params));
	p = &a->params[a->nparams++];
	p->name = store_sqlite_col_str(s, first);
	p->value = store_sqlite_col_str(s, first + 1);
	p->is_default = sqlite3_column_int(s, first + 2) != 0;
}

/* A single-row read: 0 with `row` called, OPUS_ERR_NOTFOUND, or an error. */
static int store_sqlite_read_one(struct store_sqlite_conn *c, struct store_sqlite_bind *b,
				 void (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	int rc = b->rc == SQLITE_OK ? sqlite3_step(b->s) : b->rc;
	int ret = 0;
	if (rc == SQLITE_ROW)
		row(b->s, arg);
	else
		ret = rc == SQLITE_DONE ? OPUS_ERR_NOTFOUND
					: store_sqlite_fail(c, rc, sqlite3_sql(b->s));
	store_sqlite_done_with(b->s);
	return ret;
}

static void store_sqlite_row_entity(sqlite3_stmt *s, void *arg)
{
	store_sqlite_read_entity(s, arg);
}

static int store_sqlite_entity_get(struct store *st, const char *id, struct store_entity *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	int ret;
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_ENTITY_GET)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, id);
	ret = store_sqlite_read_one(c, &b, store_sqlite_row_entity, out);
	if (ret < 0)
		store_entity_release(out);
	return ret;
}

static int store_sqlite_entity_find(struct store *st, const char *owner, const char *sha256,
				    struct store_entity *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	int ret;
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_ENTITY_FIND)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, owner);
	store_sqlite_bind_text(&b, 2, sha256);
	ret = store_sqlite_read_one(c, &b, store_sqlite_row_entity, out);
	if (ret < 0)
		store_entity_release(out);
	return ret;
}

static void store_sqlite_row_int(sqlite3_stmt *s, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
}

static int store_sqlite_blob_refs(struct store *st, const char *sha256, int64_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_BLOB_REFS)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, sha256);
	return store_sqlite_read_one(c, &b, store_sqlite_row_int, n_out);
}

static void store_sqlite_row_activity(sqlite3_stmt *s, void *arg)
{
	store_sqlite_read_activity(s, 0, arg);
}

/* Steps a bound statement, handing each row to `row`; resets it. */
static int store_sqlite_read_rows(struct store_sqlite_conn *c, struct store_sqlite_bind *b,
				  int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	int rc = b->rc, ret = 0;
	while (ret == 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		rc = sqlite3_step(b->s);
		if (rc == SQLITE_ROW)
			ret = row(b->s, arg);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sqlite_fail(c, rc, sqlite3_sql(b->s));
	store_sqlite_done_with(b->s);
	return ret;
}

static int store_sqlite_row_act_param(sqlite3_stmt *s, void *arg)
{
	store_sqlite_activity_add_param(arg, s, 0);
	return 0;
}

/* Two queries in one read transaction: the activity, then its parameters. */
static int store_sqlite_activity_get(struct store *st, const char *id, struct store_activity *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	int ret;
	if (!c || store_sqlite_exec(c, STORE_SQLITE_BEGIN_READ) < 0)
		return OPUS_ERR_INTERNAL;
	ret = (b.s = store_sqlite_stmt(c, STORE_SQLITE_ACTIVITY_GET)) ? 0 : OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, id);
	if (ret == 0)
		ret = store_sqlite_read_one(c, &b, store_sqlite_row_activity, out);
	if (ret == 0)
		ret = (b.s = store_sqlite_stmt(c, STORE_SQLITE_ACT_PARAMS_GET)) ? 0
										: OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, id);
	if (ret == 0)
		ret = store_sqlite_read_rows(c, &b, store_sqlite_row_act_param, out);
	if (!sqlite3_get_autocommit(c->db))
		(void)store_sqlite_exec(c, STORE_SQLITE_COMMIT);
	if (ret < 0)
		store_activity_release(out);
	return ret;
}

/* ---- reads: lineage ---- */

/* Walked rows at most, whatever the graph (each (activity, hop) once). */
#define STORE_SQLITE_WALK_ROWS 2000000

/* A walked row. */
struct store_sqlite_walk_row {
	char id[UWS_ID_LEN + 1];
	int hop;
};

/* The walk's rows while they are read. */
struct store_sqlite_walk {
	struct store_lineage *l;
	struct store_sqlite_walk_row *rows;
	size_t n, alloc;
};

static int store_sqlite_row_walk(sqlite3_stmt *s, void *arg)
{
	struct store_sqlite_walk *w = arg;
	if (w->n == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 64;
		w->rows = xrealloc(w->rows, w->alloc * sizeof(*w->rows));
	}
	store_sqlite_col_id(s, 0, w->rows[w->n].id);
	w->rows[w->n++].hop = sqlite3_column_int(s, 1);
	return 0;
}

static int store_sqlite_walk_by_id(const void *a, const void *b)
{
	const struct store_sqlite_walk_row *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->hop > y->hop) - (x->hop < y->hop);
}

static int store_sqlite_walk_by_hop(const void *a, const void *b)
{
	const struct store_sqlite_walk_row *x = a, *y = b;
	return x->hop != y->hop ? (x->hop > y->hop) - (x->hop < y->hop) : strcmp(x->id, y->id);
}

/* The walked rows into l: each id once at its smallest hop, nearest first
 * (ties by id), at most max activities (0 = no cap; truncated past it). */
static void store_sqlite_walk_take(struct store_sqlite_walk *w, size_t max)
{
	struct store_lineage *l = w->l;
	size_t n = 0;
	if (w->n) /* rows is NULL without any */
		qsort(w->rows, w->n, sizeof(*w->rows), store_sqlite_walk_by_id);
	for (size_t i = 0; i < w->n; i++)
		if (i == 0 || strcmp(w->rows[i].id, w->rows[n - 1].id))
			w->rows[n++] = w->rows[i];
	if (n)
		qsort(w->rows, n, sizeof(*w->rows), store_sqlite_walk_by_hop);
	if (max && n > max) {
		n = max;
		l->truncated = true;
	}
	l->activities = xcalloc(n ? n : 1, sizeof(*l->activities));
	l->hops = xcalloc(n ? n : 1, sizeof(*l->hops));
	for (size_t i = 0; i < n; i++) {
		memcpy(l->activities[i].id, w->rows[i].id, sizeof(l->activities[i].id));
		l->hops[i] = w->rows[i].hop;
	}
	l->nactivities = n;
}

/* Index of the activity a row's column 0 (its position in the id array) names. */
static struct store_activity *store_sqlite_walk_at(sqlite3_stmt *s, struct store_lineage *l)
{
	int64_t k = sqlite3_column_int64(s, 0);
	return k >= 0 && (uint64_t)k < l->nactivities ? &l->activities[k] : NULL;
}

static int store_sqlite_row_lin_activity(sqlite3_stmt *s, void *arg)
{
	struct store_activity *a = store_sqlite_walk_at(s, arg);
	if (a)
		store_sqlite_read_activity(s, 1, a);
	return 0;
}

static int store_sqlite_row_lin_param(sqlite3_stmt *s, void *arg)
{
	struct store_activity *a = store_sqlite_walk_at(s, arg);
	if (a)
		store_sqlite_activity_add_param(a, s, 1);
	return 0;
}

/* The entities while they are read (LIN_ENTITIES), with their rowids. */
struct store_sqlite_lin_ents {
	struct store_entity *v;
	int64_t *rowid;
	size_t n, alloc;
};

static int store_sqlite_row_lin_entity(sqlite3_stmt *s, void *arg)
{
	struct store_sqlite_lin_ents *le = arg;
	if (le->n == le->alloc) {
		le->alloc = le->alloc ? 2 * le->alloc : 64;
		le->v = xrealloc(le->v, le->alloc * sizeof(*le->v));
		le->rowid = xrealloc(le->rowid, le->alloc * sizeof(*le->rowid));
	}
	memset(&le->v[le->n], 0, sizeof(*le->v));
	store_sqlite_read_entity(s, &le->v[le->n]);
	le->rowid[le->n++] = sqlite3_column_int64(s, 13);
	return 0;
}

/* An entity's place in the answer: (creation_time, rowid), as the rows were
 * ordered when SQL sorted them. */
struct store_sqlite_ent_key {
	int64_t time, rowid;
	size_t at;
};

static int store_sqlite_ent_key_cmp(const void *a, const void *b)
{
	const struct store_sqlite_ent_key *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

/* The read entities into l, ordered by (creation_time, rowid), each once. */
static void store_sqlite_lin_ents_take(struct store_sqlite_lin_ents *le, struct store_lineage *l)
{
	struct store_sqlite_ent_key *k = xcalloc(le->n ? le->n : 1, sizeof(*k));
	for (size_t i = 0; i < le->n; i++)
		k[i] = (struct store_sqlite_ent_key){le->v[i].creation_time, le->rowid[i], i};
	qsort(k, le->n, sizeof(*k), store_sqlite_ent_key_cmp);
	l->entities = xcalloc(le->n ? le->n : 1, sizeof(*l->entities));
	for (size_t i = 0; i < le->n; i++) {
		struct store_entity *e = &le->v[k[i].at];
		if (i > 0 && k[i].rowid == k[i - 1].rowid) /* the same row again */
			store_entity_release(e);
		else
			l->entities[l->nentities++] = *e;
	}
	free(k);
	free(le->v);
	free(le->rowid);
	memset(le, 0, sizeof(*le));
}

static int store_sqlite_row_lin_usage(sqlite3_stmt *s, void *arg)
{
	struct store_lineage *l = arg;
	struct store_usage *u;
	if ((l->nusages & (l->nusages - 1)) == 0) /* at 0, 1, 2, 4...: doubling */
		l->usages =
		    xrealloc(l->usages, (l->nusages ? 2 * l->nusages : 1) * sizeof(*l->usages));
	u = &l->usages[l->nusages++];
	memset(u, 0, sizeof(*u));
	store_sqlite_col_id(s, 0, u->job_id);
	store_sqlite_col_buf(s, 1, u->entity_id, sizeof(u->entity_id));
	u->role = store_sqlite_col_str(s, 2);
	u->k = sqlite3_column_int(s, 3);
	return 0;
}

/* Runs a statement whose ?1 (and ?2) are JSON arrays of ids. */
static int store_sqlite_lin_query(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id,
				  const char *ids1, const char *ids2,
				  int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, ids1);
	if (ids2)
		store_sqlite_bind_text(&b, 2, ids2);
	return store_sqlite_read_rows(c, &b, row, arg);
}

/* The walk (one recursive query): activity ids and hops, nearest first. */
static int store_sqlite_walk(struct store_sqlite_conn *c, const struct store_lineage_query *q,
			     const char *starts_a, const char *starts_e,
			     struct store_sqlite_walk *w)
{
	enum store_sqlite_stmt_id id =
	    q->forward ? STORE_SQLITE_WALK_FORTH : STORE_SQLITE_WALK_BACK;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, starts_a);
	store_sqlite_bind_text(&b, 2, starts_e);
	store_sqlite_bind_int(&b, 3, q->max_hops);
	store_sqlite_bind_int(&b, 4, STORE_SQLITE_WALK_ROWS);
	ret = store_sqlite_read_rows(c, &b, store_sqlite_row_walk, w);
	if (w->n >= STORE_SQLITE_WALK_ROWS)
		w->l->truncated = true;
	if (ret == 0)
		store_sqlite_walk_take(w, q->max_activities);
	free(w->rows);
	w->rows = NULL;
	return ret;
}

/*
 * Five queries in one read transaction, whatever the length of the chain:
 * the walk, then the activities, their parameters, their entities (and the
 * start entities) and their usages, each selecting by a JSON array of ids.
 */
static int store_sqlite_lineage_get(struct store *st, const struct store_lineage_query *q,
				    struct store_lineage *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_walk w = {.l = out};
	struct store_sqlite_lin_ents ents = {0};
	struct sbuf starts_a = SBUF_INIT, starts_e = SBUF_INIT, ids = SBUF_INIT;
	const char *acts;
	int ret = OPUS_ERR_INTERNAL;
	store_sqlite_json_ids(&starts_a, q->activity_ids, q->nactivity_ids);
	store_sqlite_json_ids(&starts_e, q->entity_ids, q->nentity_ids);
	if (!c || store_sqlite_exec(c, STORE_SQLITE_BEGIN_READ) < 0)
		goto done;
	ret = store_sqlite_walk(c, q, sbuf_str(&starts_a), sbuf_str(&starts_e), &w);
	sbuf_addc(&ids, '[');
	for (size_t i = 0; i < out->nactivities; i++) {
		sbuf_adds(&ids, i ? ",\"" : "\"");
		sbuf_adds(&ids, out->activities[i].id);
		sbuf_addc(&ids, '"');
	}
	sbuf_addc(&ids, ']');
	acts = sbuf_str(&ids);
	if (ret == 0)
		ret = ids.err || starts_a.err || starts_e.err ? OPUS_ERR_TOOBIG : 0;
	if (ret == 0)
		ret = store_sqlite_lin_query(c, STORE_SQLITE_LIN_ACTIVITIES, acts, NULL,
					     store_sqlite_row_lin_activity, out);
	if (ret == 0)
		ret = store_sqlite_lin_query(c, STORE_SQLITE_LIN_PARAMS, acts, NULL,
					     store_sqlite_row_lin_param, out);
	if (ret == 0)
		ret =
		    store_sqlite_lin_query(c, STORE_SQLITE_LIN_ENTITIES, acts, sbuf_str(&starts_e),
					   store_sqlite_row_lin_entity, &ents);
	store_sqlite_lin_ents_take(&ents, out);
	if (ret == 0)
		ret = store_sqlite_lin_query(c, STORE_SQLITE_LIN_USAGES, acts, NULL,
					     store_sqlite_row_lin_usage, out);
	if (!sqlite3_get_autocommit(c->db))
		(void)store_sqlite_exec(c, STORE_SQLITE_COMMIT);
done:
	sbuf_release(&starts_a);
	sbuf_release(&starts_e);
	sbuf_release(&ids);
	if (ret < 0)
		store_lineage_release(out);
	return ret;
}

/* ---- open, migrate, close ---- */

static int store_sqlite_migrate(struct store_sqlite_conn *c)
{
	const int latest = store_sqlite_schema_version();
	int64_t v = 0;
	int ret = store_sqlite_query_int(c, "PRAGMA user_version", &v);
	if (ret == 0 && v > latest) {
		log_error("store: database schema v%lld is newer than this opusd (v%d)",
			  (long long)v, latest);
		return OPUS_ERR_INVAL;
	}
	for (size_t i = 0; ret == 0 && i < OPUS_ARRAY_LEN(store_sqlite_migrations); i++) {
		const struct store_sqlite_migration *m = &store_sqlite_migrations[i];
		/* Re-read inside the write lock: another process may have migrated. */
		ret = store_sqlite_exec_sql(c, "BEGIN IMMEDIATE");
		if (ret == 0)
			ret = store_sqlite_query_int(c, "PRAGMA user_version", &v);
		if (ret == 0 && v < m->version) {
			log_info("store: migrating schema to v%d", m->version);
			ret = store_sqlite_exec_sql(c, m->sql);
		}
		if (ret == 0)
			ret = store_sqlite_exec_sql(c, "COMMIT");
		if (ret < 0 && !sqlite3_get_autocommit(c->db))
			(void)store_sqlite_exec_sql(c, "ROLLBACK");
	}
	return ret;
}

static int store_sqlite_journal_cb(void *arg, int ncols, char **vals, char **names)
{
	(void)names;
	if (ncols > 0 && vals[0])
		*(bool *)arg = strcmp(vals[0], "wal") == 0;
	return 0;
}

static int store_sqlite_writer_setup(struct store_sqlite_conn *c, const char *path)
{
	bool wal = false;
	char *msg = NULL;
	int rc =
	    sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", store_sqlite_journal_cb, &wal, &msg);
	if (rc != SQLITE_OK) {
		int err = store_sqlite_fail(c, rc, msg ? msg : "journal_mode");
		sqlite3_free(msg);
		return err;
	}
	if (!wal)
		log_warn("store: %s: WAL mode unavailable; reads may wait for writes", path);
	return store_sqlite_exec_sql(c, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
}

static void store_sqlite_free(struct store_sqlite *sq)
{
	store_sqlite_readers_close(sq);
	store_sqlite_conn_close(&sq->writer);
	pthread_cond_destroy(&sq->wake);
	pthread_mutex_destroy(&sq->lock);
	free(sq->reserve_path);
	free(sq->path);
	free(sq);
}

static int store_sqlite_start_writer(struct store_sqlite *sq)
{
	sigset_t all, old;
	int rc;
	/* The writer takes no signals: they belong to the daemon's own handling. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sq->thread, NULL, store_sqlite_writer_main, sq);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_error("store: cannot start the writer thread: %s", strerror(rc));
		return OPUS_ERR_INTERNAL;
	}
	sq->thread_ok = true;
	return 0;
}

static int store_sqlite_open(const struct store_config *cfg, struct store **out)
{
	struct store_sqlite *sq = xcalloc(1, sizeof(*sq));
	int ret;
	sq->base.ops = &store_sqlite_ops;
	sq->path = xstrdup(cfg->path);
	sq->tail = &sq->head;
	atomic_init(&sq->commits, 0);
	pthread_mutex_init(&sq->lock, NULL);
	pthread_cond_init(&sq->wake, NULL);
	ret = store_sqlite_conn_open(&sq->writer, sq->path,
				     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (ret == 0)
		ret = store_sqlite_writer_setup(&sq->writer, sq->path);
	if (ret == 0)
		ret = store_sqlite_migrate(&sq->writer);
	if (ret == 0)
		store_sqlite_reserve_make(sq);
	if (ret == 0 && pthread_key_create(&sq->rkey, store_sqlite_rconn_exit) != 0) {
		log_error("store: pthread_key_create failed");
		ret = OPUS_ERR_INTERNAL;
	}
	sq->rkey_ok = ret == 0;
	if (ret == 0)
		ret = store_sqlite_start_writer(sq);
	if (ret < 0) {
		store_sqlite_free(sq);
		return ret;
	}
	*out = &sq->base;
	return 0;
}

static void store_sqlite_close(struct store *st)
{
	struct store_sqlite *sq = store_sqlite_of(st);
	pthread_mutex_lock(&sq->lock);
	sq->stopping = true;
	pthread_cond_signal(&sq->wake);
	pthread_mutex_unlock(&sq->lock);
	if (sq->thread_ok)
		pthread_join(sq->thread, NULL);
	store_sqlite_free(sq);
}

/* ---- accounts, roles, applications, audit, description state, usage ---- */

static void store_sqlite_account_copy(struct store_account *dst, const struct store_account *src)
{
	*dst = *src;
	dst->roles = xstrdup(src->roles);
	dst->email = xstrdup(src->email);
	dst->display_name = xstrdup(src->display_name);
}

static void store_sqlite_audit_copy(struct store_audit *dst, const struct store_audit *src)
{
	*dst = *src;
	dst->actor = xstrdup(src->actor);
	dst->app = xstrdup(src->app);
	dst->address = xstrdup(src->address);
	dst->action = xstrdup(src->action);
	dst->target = xstrdup(src->target);
	dst->detail = xstrdup(src->detail);
}

/* A new op's data with its audit row copied. */
static struct store_sqlite_acc *store_sqlite_acc_new(const struct store_audit *log)
{
	struct store_sqlite_acc *acc = xcalloc(1, sizeof(*acc));
	if (log)
		store_sqlite_audit_copy(&acc->log, log);
	return acc;
}

static int store_sqlite_submit_acc(struct store *st,
				   int (*run)(struct store_sqlite_conn *,
					      const struct store_sqlite_op *),
				   struct store_sqlite_acc *acc)
{
	struct store_sqlite_op op = {.run = run, .acc = acc};
	return store_sqlite_submit(store_sqlite_of(st), &op);
}

static int store_sqlite_audit_write(struct store_sqlite_conn *c, const struct store_audit *log)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_AUDIT_INSERT), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_int(&b, 1, log->time);
	store_sqlite_bind_text(&b, 2, log->actor);
	store_sqlite_bind_text(&b, 3, log->app);
	store_sqlite_bind_text(&b, 4, log->address);
	store_sqlite_bind_text(&b, 5, log->action);
	store_sqlite_bind_text(&b, 6, log->target);
	store_sqlite_bind_text(&b, 7, log->detail);
	return store_sqlite_step_done(c, &b);
}

/* The change's statement answered ret: NOTFOUND when it touched no row,
 * else the audit row is written (same transaction). */
static int store_sqlite_changed_audit(struct store_sqlite_conn *c, int ret,
				      const struct store_audit *log)
{
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		ret = OPUS_ERR_NOTFOUND;
	return ret == 0 ? store_sqlite_audit_write(c, log) : ret;
}

static void store_sqlite_bind_account(struct store_sqlite_bind *b, const struct store_account *a)
{
	store_sqlite_bind_text(b, 1, a->name);
	store_sqlite_bind_text(b, 2, a->token_hash);
	store_sqlite_bind_int(b, 3, a->active);
	store_sqlite_bind_text(b, 4, a->roles);
	store_sqlite_bind_text(b, 5, a->email);
	store_sqlite_bind_text(b, 6, a->display_name);
	store_sqlite_bind_int(b, 7, a->quota.max_running);
	store_sqlite_bind_int(b, 8, a->quota.max_jobs);
	store_sqlite_bind_int(b, 9, a->quota.max_bytes);
	store_sqlite_bind_int(b, 10, a->created);
	store_sqlite_bind_int(b, 11, a->modified);
}

/* Insert (ACCOUNT_INSERT) or update (ACCOUNT_UPDATE) an account, then its audit row. */
static int store_sqlite_run_account_write(struct store_sqlite_conn *c,
					  const struct store_sqlite_op *op, bool insert)
{
	enum store_sqlite_stmt_id id =
	    insert ? STORE_SQLITE_ACCOUNT_INSERT : STORE_SQLITE_ACCOUNT_UPDATE;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_account(&b, &op->acc->account);
	return store_sqlite_changed_audit(c, store_sqlite_step_done(c, &b), &op->acc->log);
}

static int store_sqlite_run_account_create(struct store_sqlite_conn *c,
					   const struct store_sqlite_op *op)
{
	return store_sqlite_run_account_write(c, op, true);
}

static int store_sqlite_run_account_update(struct store_sqlite_conn *c,
					   const struct store_sqlite_op *op)
{
	return store_sqlite_run_account_write(c, op, false);
}

/* A delete by name (?1), then its audit row. */
static int store_sqlite_run_delete_by_name(struct store_sqlite_conn *c,
					   const struct store_sqlite_op *op)
{
	return store_sqlite_changed_audit(c, store_sqlite_exec_id(c, op->acc->stmt, op->acc->name),
					  &op->acc->log);
}

static int store_sqlite_delete_by_name(struct store *st, enum store_sqlite_stmt_id id,
				       const char *name, const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	acc->name = xstrdup(name);
	acc->stmt = id;
	return store_sqlite_submit_acc(st, store_sqlite_run_delete_by_name, acc);
}

static int store_sqlite_run_role_put(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	const struct store_role *r = &op->acc->role;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ROLE_PUT), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, r->name);
	store_sqlite_bind_text(&b, 2, r->run);
	store_sqlite_bind_int(&b, 3, r->submit);
	store_sqlite_bind_int(&b, 4, r->admin);
	store_sqlite_bind_int(&b, 5, r->quota.max_running);
	store_sqlite_bind_int(&b, 6, r->quota.max_jobs);
	store_sqlite_bind_int(&b, 7, r->quota.max_bytes);
	store_sqlite_bind_int(&b, 8, r->modified);
	return store_sqlite_changed_audit(c, store_sqlite_step_done(c, &b), &op->acc->log);
}

static int store_sqlite_run_app_put(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	const struct store_app *a = &op->acc->app;
	enum store_sqlite_stmt_id id =
	    op->acc->flag ? STORE_SQLITE_APP_UPDATE : STORE_SQLITE_APP_INSERT;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, a->name);
	store_sqlite_bind_text(&b, 2, a->token_hash);
	store_sqlite_bind_text(&b, 3, a->run);
	store_sqlite_bind_int(&b, 4, a->active);
	store_sqlite_bind_int(&b, 5, a->created);
	store_sqlite_bind_int(&b, 6, a->modified);
	return store_sqlite_changed_audit(c, store_sqlite_step_done(c, &b), &op->acc->log);
}

static int store_sqlite_run_audit_add(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	return store_sqlite_audit_write(c, &op->acc->log);
}

/* Disabling keeps a row (the first time's), enabling drops it; either way
 * the request is logged, also when it changes nothing. */
static int store_sqlite_run_jdl_set(struct store_sqlite_conn *c, const struct store_sqlite_op *op)
{
	enum store_sqlite_stmt_id id =
	    op->acc->flag ? STORE_SQLITE_JDL_ENABLE : STORE_SQLITE_JDL_DISABLE;
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	int ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->acc->name);
	if (!op->acc->flag)
		store_sqlite_bind_int(&b, 2, op->acc->log.time);
	ret = store_sqlite_step_done(c, &b);
	return ret == 0 ? store_sqlite_audit_write(c, &op->acc->log) : ret;
}

static int store_sqlite_account_create(struct store *st, const struct store_account *a,
				       const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	store_sqlite_account_copy(&acc->account, a);
	return store_sqlite_submit_acc(st, store_sqlite_run_account_create, acc);
}

static int store_sqlite_account_update(struct store *st, const struct store_account *a,
				       const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	store_sqlite_account_copy(&acc->account, a);
	return store_sqlite_submit_acc(st, store_sqlite_run_account_update, acc);
}

static int store_sqlite_account_delete(struct store *st, const char *name,
				       const struct store_audit *log)
{
	return store_sqlite_delete_by_name(st, STORE_SQLITE_ACCOUNT_DELETE, name, log);
}

static int store_sqlite_role_put(struct store *st, const struct store_role *r,
				 const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	acc->role = *r;
	acc->role.run = xstrdup(r->run);
	return store_sqlite_submit_acc(st, store_sqlite_run_role_put, acc);
}

/*
 * A role goes from its holders too, so that a role made later under the
 * same name grants nothing to accounts that held the old one. This walks
 * the accounts (no index finds a name inside a list): a rare admin change.
 * The audit detail says how many accounts lost it.
 */
static int store_sqlite_run_role_delete(struct store_sqlite_conn *c,
					const struct store_sqlite_op *op)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, STORE_SQLITE_ROLE_STRIP), SQLITE_OK};
	struct store_audit log = op->acc->log;
	char detail[64];
	int ret = store_sqlite_exec_id(c, STORE_SQLITE_ROLE_DELETE, op->acc->name);
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		ret = OPUS_ERR_NOTFOUND;
	if (ret < 0)
		return ret;
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, op->acc->name);
	store_sqlite_bind_int(&b, 2, log.time);
	ret = store_sqlite_step_done(c, &b);
	if (ret < 0)
		return ret;
	snprintf(detail, sizeof(detail), "{\"accounts\":%d}", sqlite3_changes(c->db));
	log.detail = detail;
	return store_sqlite_audit_write(c, &log);
}

static int store_sqlite_role_delete(struct store *st, const char *name,
				    const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	acc->name = xstrdup(name);
	return store_sqlite_submit_acc(st, store_sqlite_run_role_delete, acc);
}

static int store_sqlite_app_put(struct store *st, const struct store_app *a, bool replace,
				const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	acc->app = *a;
	acc->app.run = xstrdup(a->run);
	acc->flag = replace;
	return store_sqlite_submit_acc(st, store_sqlite_run_app_put, acc);
}

static int store_sqlite_app_delete(struct store *st, const char *name,
				   const struct store_audit *log)
{
	return store_sqlite_delete_by_name(st, STORE_SQLITE_APP_DELETE, name, log);
}

static int store_sqlite_audit_add(struct store *st, const struct store_audit *log)
{
	return store_sqlite_submit_acc(st, store_sqlite_run_audit_add, store_sqlite_acc_new(log));
}

static int store_sqlite_jdl_set_enabled(struct store *st, const char *jobdef, bool enabled,
					const struct store_audit *log)
{
	struct store_sqlite_acc *acc = store_sqlite_acc_new(log);
	acc->name = xstrdup(jobdef);
	acc->flag = enabled;
	return store_sqlite_submit_acc(st, store_sqlite_run_jdl_set, acc);
}

/* ---- reads: accounts and the rest ---- */

static void store_sqlite_read_account(sqlite3_stmt *s, void *arg)
{
	struct store_account *a = arg;
	store_sqlite_col_buf(s, 0, a->name, sizeof(a->name));
	store_sqlite_col_buf(s, 1, a->token_hash, sizeof(a->token_hash));
	a->active = sqlite3_column_int(s, 2) != 0;
	a->roles = store_sqlite_col_str(s, 3);
	if (!a->roles)
		a->roles = xstrdup("");
	a->email = store_sqlite_col_str(s, 4);
	a->display_name = store_sqlite_col_str(s, 5);
	a->quota.max_running = sqlite3_column_int64(s, 6);
	a->quota.max_jobs = sqlite3_column_int64(s, 7);
	a->quota.max_bytes = sqlite3_column_int64(s, 8);
	a->created = sqlite3_column_int64(s, 9);
	a->modified = sqlite3_column_int64(s, 10);
}

static void store_sqlite_read_role(sqlite3_stmt *s, void *arg)
{
	struct store_role *r = arg;
	store_sqlite_col_buf(s, 0, r->name, sizeof(r->name));
	r->run = store_sqlite_col_str(s, 1);
	if (!r->run)
		r->run = xstrdup("");
	r->submit = sqlite3_column_int(s, 2) != 0;
	r->admin = sqlite3_column_int(s, 3) != 0;
	r->quota.max_running = sqlite3_column_int64(s, 4);
	r->quota.max_jobs = sqlite3_column_int64(s, 5);
	r->quota.max_bytes = sqlite3_column_int64(s, 6);
	r->modified = sqlite3_column_int64(s, 7);
}

static void store_sqlite_read_app(sqlite3_stmt *s, void *arg)
{
	struct store_app *a = arg;
	store_sqlite_col_buf(s, 0, a->name, sizeof(a->name));
	store_sqlite_col_buf(s, 1, a->token_hash, sizeof(a->token_hash));
	a->run = store_sqlite_col_str(s, 2);
	if (!a->run)
		a->run = xstrdup("");
	a->active = sqlite3_column_int(s, 3) != 0;
	a->created = sqlite3_column_int64(s, 4);
	a->modified = sqlite3_column_int64(s, 5);
}

static void store_sqlite_read_audit(sqlite3_stmt *s, void *arg)
{
	struct store_audit *a = arg;
	a->id = sqlite3_column_int64(s, 0);
	a->time = sqlite3_column_int64(s, 1);
	a->actor = store_sqlite_col_str(s, 2);
	a->app = store_sqlite_col_str(s, 3);
	a->address = store_sqlite_col_str(s, 4);
	a->action = store_sqlite_col_str(s, 5);
	a->target = store_sqlite_col_str(s, 6);
	a->detail = store_sqlite_col_str(s, 7);
}

/* A single-row read bound to one text key (?1): 0, OPUS_ERR_NOTFOUND or an error. */
static int store_sqlite_get_by_key(struct store *st, enum store_sqlite_stmt_id id, const char *key,
				   void (*row)(sqlite3_stmt *s, void *arg), void *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, id)))
		return OPUS_ERR_INTERNAL;
	store_sqlite_bind_text(&b, 1, key);
	return store_sqlite_read_one(c, &b, row, out);
}

static int store_sqlite_account_get(struct store *st, const char *name, struct store_account *out)
{
	return store_sqlite_get_by_key(st, STORE_SQLITE_ACCOUNT_GET, name,
				       store_sqlite_read_account, out);
}

static int store_sqlite_account_by_token(struct store *st, const char *token_hash,
					 struct store_account *out)
{
	return store_sqlite_get_by_key(st, STORE_SQLITE_ACCOUNT_BY_TOKEN, token_hash,
				       store_sqlite_read_account, out);
}

static int store_sqlite_role_get(struct store *st, const char *name, struct store_role *out)
{
	return store_sqlite_get_by_key(st, STORE_SQLITE_ROLE_GET, name, store_sqlite_read_role,
				       out);
}

static int store_sqlite_app_get(struct store *st, const char *name, struct store_app *out)
{
	return store_sqlite_get_by_key(st, STORE_SQLITE_APP_GET, name, store_sqlite_read_app, out);
}

static int store_sqlite_app_by_token(struct store *st, const char *token_hash,
				     struct store_app *out)
{
	return store_sqlite_get_by_key(st, STORE_SQLITE_APP_BY_TOKEN, token_hash,
				       store_sqlite_read_app, out);
}

/* Rows read into a growing array of `size`-byte elements, each zeroed
 * and then filled by `read`. */
struct store_sqlite_array {
	void *items;
	size_t n, alloc, size;
	void (*read)(sqlite3_stmt *s, void *item);
};

static int store_sqlite_row_array(sqlite3_stmt *s, void *arg)
{
	struct store_sqlite_array *a = arg;
	char *item;
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 16;
		a->items = xrealloc(a->items, a->alloc * a->size);
	}
	item = (char *)a->items + a->n * a->size;
	memset(item, 0, a->size);
	a->read(s, item);
	a->n++;
	return 0;
}

/* Every row of a statement, its ?1 bound to text1 unless NULL and its ?2
 * to int2 unless negative. On failure the rows read so far are left in `a`
 * for the caller to free. */
static int store_sqlite_read_array(struct store_sqlite_conn *c, enum store_sqlite_stmt_id id,
				   const char *text1, int64_t int2, struct store_sqlite_array *a)
{
	struct store_sqlite_bind b = {store_sqlite_stmt(c, id), SQLITE_OK};
	if (!b.s)
		return OPUS_ERR_INTERNAL;
	if (text1)
		store_sqlite_bind_text(&b, 1, text1);
	if (int2 >= 0)
		store_sqlite_bind_int(&b, 2, int2);
	return store_sqlite_read_rows(c, &b, store_sqlite_row_array, a);
}

static int64_t store_sqlite_limit(size_t max)
{
	return max > INT64_MAX ? INT64_MAX : (int64_t)max;
}

/* The page and the count in one read transaction, so that they agree. */
static int store_sqlite_account_list(struct store *st, const char *after, size_t max,
				     struct store_account **out, size_t *n_out, size_t *total_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_array a = {.size = sizeof(struct store_account),
				       .read = store_sqlite_read_account};
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	int64_t total = 0;
	int ret;
	if (!c || store_sqlite_exec(c, STORE_SQLITE_BEGIN_READ) < 0)
		return OPUS_ERR_INTERNAL;
	ret = store_sqlite_read_array(c, STORE_SQLITE_ACCOUNT_LIST, after, store_sqlite_limit(max),
				      &a);
	if (ret == 0 && total_out)
		ret = (b.s = store_sqlite_stmt(c, STORE_SQLITE_ACCOUNT_COUNT))
			  ? store_sqlite_read_one(c, &b, store_sqlite_row_int, &total)
			  : OPUS_ERR_INTERNAL;
	if (!sqlite3_get_autocommit(c->db))
		(void)store_sqlite_exec(c, STORE_SQLITE_COMMIT);
	if (ret < 0) {
		store_accounts_free(a.items, a.n);
		return ret;
	}
	*out = a.items;
	*n_out = a.n;
	if (total_out)
		*total_out = (size_t)total;
	return 0;
}

static int store_sqlite_role_list(struct store *st, struct store_role **out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_array a = {.size = sizeof(struct store_role),
				       .read = store_sqlite_read_role};
	int ret = c ? store_sqlite_read_array(c, STORE_SQLITE_ROLE_LIST, NULL, -1, &a)
		    : OPUS_ERR_INTERNAL;
	if (ret < 0) {
		store_roles_free(a.items, a.n);
		return ret;
	}
	*out = a.items;
	*n_out = a.n;
	return 0;
}

static int store_sqlite_app_list(struct store *st, struct store_app **out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_array a = {.size = sizeof(struct store_app),
				       .read = store_sqlite_read_app};
	int ret =
	    c ? store_sqlite_read_array(c, STORE_SQLITE_APP_LIST, NULL, -1, &a) : OPUS_ERR_INTERNAL;
	if (ret < 0) {
		store_apps_free(a.items, a.n);
		return ret;
	}
	*out = a.items;
	*n_out = a.n;
	return 0;
}

static int store_sqlite_audit_list(struct store *st, int64_t after, size_t max,
				   struct store_audit **out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_array a = {.size = sizeof(struct store_audit),
				       .read = store_sqlite_read_audit};
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	int ret = OPUS_ERR_INTERNAL;
	if (c && (b.s = store_sqlite_stmt(c, STORE_SQLITE_AUDIT_LIST))) {
		store_sqlite_bind_int(&b, 1, after);
		store_sqlite_bind_int(&b, 2, store_sqlite_limit(max));
		ret = store_sqlite_read_rows(c, &b, store_sqlite_row_array, &a);
	}
	if (ret < 0) {
		store_audits_free(a.items, a.n);
		return ret;
	}
	*out = a.items;
	*n_out = a.n;
	return 0;
}

static int store_sqlite_jdl_is_enabled(struct store *st, const char *jobdef, bool *enabled_out)
{
	int64_t one = 0;
	int ret = store_sqlite_get_by_key(st, STORE_SQLITE_JDL_IS_DISABLED, jobdef,
					  store_sqlite_row_int, &one);
	if (ret == OPUS_ERR_NOTFOUND)
		ret = 0;
	*enabled_out = one == 0;
	return ret;
}

static int store_sqlite_jdl_disabled(struct store *st, char ***names_out, size_t *n_out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_JDL_DISABLED)))
		return OPUS_ERR_INTERNAL;
	return store_sqlite_collect_ids(c, &b, names_out, n_out);
}

static void store_sqlite_row_usage(sqlite3_stmt *s, void *arg)
{
	struct store_usage_totals *u = arg;
	u->jobs = sqlite3_column_int64(s, 0);
	u->running = sqlite3_column_int64(s, 1);
	u->bytes = sqlite3_column_int64(s, 2);
}

static int store_sqlite_owner_usage(struct store *st, const char *owner,
				    struct store_usage_totals *out)
{
	int ret = store_sqlite_get_by_key(st, STORE_SQLITE_OWNER_USAGE, owner,
					  store_sqlite_row_usage, out);
	return ret == OPUS_ERR_NOTFOUND ? 0 : ret;
}

static int store_sqlite_usage_sum(struct store *st, struct store_usage_totals *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	if (!c || !(b.s = store_sqlite_stmt(c, STORE_SQLITE_USAGE_SUM)))
		return OPUS_ERR_INTERNAL;
	return store_sqlite_read_one(c, &b, store_sqlite_row_usage, out);
}

/* ---- debug hooks ---- */

size_t store_sqlite_queued(struct store *st, bool *writing_out)
{
	struct store_sqlite *sq = store_sqlite_of(st);
	size_t n = 0;

	pthread_mutex_lock(&sq->lock);
	for (const struct store_sqlite_op *op = sq->head; op; op = op->next)
		n++;
	*writing_out = sq->writing;
	pthread_mutex_unlock(&sq->lock);
	return n;
}

uint64_t store_sqlite_commit_count(const struct store *st)
{
	const struct store_sqlite *sq = (const struct store_sqlite *)st;
	return atomic_load(&sq->commits);
}

int store_sqlite_schema_version(void)
{
	size_t n = OPUS_ARRAY_LEN(store_sqlite_migrations);
	return store_sqlite_migrations[n - 1].version;
}

uint64_t store_sqlite_statement_count(void)
{
	return atomic_load(&store_sqlite_stmts_run);
}

const char *store_sqlite_migration_sql(int version)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(store_sqlite_migrations); i++) {
		if (store_sqlite_migrations[i].version == version)
			return store_sqlite_migrations[i].sql;
	}
	return NULL;
}

/* Appends the plan of constant SQL (from the table above), binding nothing:
 * NULL parameters plan as any other value. */
static int store_sqlite_plan(struct store_sqlite_conn *c, const char *text, struct sbuf *out)
{
	char *sql = xasprintf("EXPLAIN QUERY PLAN %s", text);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			sbuf_adds(out, (const char *)sqlite3_column_text(s, 3));
			sbuf_addc(out, '\n');
		}
	}
	sqlite3_finalize(s);
	free(sql);
	return rc == SQLITE_DONE ? out->err : store_sqlite_fail(c, rc, text);
}

int store_sqlite_prov_plan(struct store *st, const char *which, struct sbuf *out)
{
	static const struct {
		const char *name;
		enum store_sqlite_stmt_id id;
	} plans[] = {
	    {"find", STORE_SQLITE_ENTITY_FIND},		{"refs", STORE_SQLITE_BLOB_REFS},
	    {"back", STORE_SQLITE_WALK_BACK},		{"forth", STORE_SQLITE_WALK_FORTH},
	    {"retire", STORE_SQLITE_RETIRE_INVALIDATE},
	};
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	for (size_t i = 0; c && i < OPUS_ARRAY_LEN(plans); i++) {
		if (strcmp(plans[i].name, which) == 0)
			return store_sqlite_plan(c, store_sqlite_sql[plans[i].id], out);
	}
	return OPUS_ERR_INVAL;
}

int store_sqlite_list_plan(struct store *st, const struct store_filter *f, struct sbuf *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	enum store_sqlite_stmt_id id = store_sqlite_list_id(f);
	/* Constant SQL from the table above; the values are bound as for the list. */
	char *sql = xasprintf("EXPLAIN QUERY PLAN %s", store_sqlite_sql[id]);
	struct store_sqlite_bind b = {NULL, SQLITE_OK};
	struct sbuf names = SBUF_INIT;
	int rc, ret = OPUS_ERR_INTERNAL;
	if (!c)
		goto done;
	rc = sqlite3_prepare_v2(c->db, sql, -1, &b.s, NULL);
	if (rc != SQLITE_OK) {
		ret = store_sqlite_fail(c, rc, sql);
		goto done;
	}
	store_sqlite_list_bind(&b, f, &names);
	rc = b.rc;
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(b.s)) == SQLITE_ROW) {
		sbuf_adds(out, (const char *)sqlite3_column_text(b.s, 3));
		sbuf_addc(out, '\n');
	}
	ret = rc == SQLITE_DONE ? out->err : store_sqlite_fail(c, rc, sql);
done:
	sqlite3_finalize(b.s);
	sbuf_release(&names);
	free(sql);
	return ret;
}

static const struct {
	const char *name;
	enum store_sqlite_stmt_id id;
} store_sqlite_account_stmts[] = {
#define STORE_SQLITE_STMT_NAME(name, sql) {#name, STORE_SQLITE_##name},
    STORE_SQLITE_ACCOUNT_STMTS(STORE_SQLITE_STMT_NAME)
#undef STORE_SQLITE_STMT_NAME
};

const char *store_sqlite_account_stmt_name(size_t i)
{
	return i < OPUS_ARRAY_LEN(store_sqlite_account_stmts) ? store_sqlite_account_stmts[i].name
							      : NULL;
}

int store_sqlite_account_plan(struct store *st, const char *which, struct sbuf *out)
{
	struct store_sqlite_conn *c = store_sqlite_reader(store_sqlite_of(st));
	for (size_t i = 0; c && i < OPUS_ARRAY_LEN(store_sqlite_account_stmts); i++) {
		if (strcmp(store_sqlite_account_stmts[i].name, which) == 0)
			return store_sqlite_plan(
			    c, store_sqlite_sql[store_sqlite_account_stmts[i].id], out);
	}
	return OPUS_ERR_INVAL;
}

const char *store_sqlite_path(const struct store *st)
{
	return ((const struct store_sqlite *)st)->path;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = store_sqlite_open,
    .close = store_sqlite_close,
    .job_create = store_sqlite_job_create,
    .job_get = store_sqlite_job_get,
    .job_save = store_sqlite_job_save,
    .job_set_params = store_sqlite_job_set_params,
    .job_update = store_sqlite_job_update,
    .job_finish = store_sqlite_job_finish,
    .job_delete = store_sqlite_job_delete,
    .job_list = store_sqlite_job_list,
    .job_ids_in_phase = store_sqlite_job_ids_in_phase,
    .job_ids_expired = store_sqlite_job_ids_expired,
    .next_destruction = store_sqlite_next_destruction,
    .account_create = store_sqlite_account_create,
    .account_get = store_sqlite_account_get,
    .account_by_token = store_sqlite_account_by_token,
    .account_update = store_sqlite_account_update,
    .account_delete = store_sqlite_account_delete,
    .account_list = store_sqlite_account_list,
    .role_put = store_sqlite_role_put,
    .role_get = store_sqlite_role_get,
    .role_delete = store_sqlite_role_delete,
    .role_list = store_sqlite_role_list,
    .app_put = store_sqlite_app_put,
    .app_get = store_sqlite_app_get,
    .app_by_token = store_sqlite_app_by_token,
    .app_delete = store_sqlite_app_delete,
    .app_list = store_sqlite_app_list,
    .audit_add = store_sqlite_audit_add,
    .audit_list = store_sqlite_audit_list,
    .jdl_set_enabled = store_sqlite_jdl_set_enabled,
    .jdl_is_enabled = store_sqlite_jdl_is_enabled,
    .jdl_disabled = store_sqlite_jdl_disabled,
    .owner_usage = store_sqlite_owner_usage,
    .usage_sum = store_sqlite_usage_sum,
    .input_use = store_sqlite_input_use,
    .usage_put = store_sqlite_usage_put,
    .usages_clear = store_sqlite_usages_clear,
    .entity_get = store_sqlite_entity_get,
    .entity_find = store_sqlite_entity_find,
    .blob_refs = store_sqlite_blob_refs,
    .job_end = store_sqlite_job_end,
    .job_retire = store_sqlite_job_retire,
    .activity_get = store_sqlite_activity_get,
    .lineage_get = store_sqlite_lineage_get,
    .rows_dump = store_sqlite_rows_dump,
    .rows_load = store_sqlite_rows_load,
};
