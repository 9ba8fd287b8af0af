/*
 * store_pg_accounts: the accounts, roles, applications, audit, description
 * state and usage ops of the PostgreSQL backend (store_pg.c holds the pool,
 * the schema and the job ops). Behaviour and error codes are those of
 * store.h and store_sqlite.c.
 *
 * Every change runs in one transaction with its audit row. These writes
 * (and store_audit_add) first take one transaction-level advisory lock,
 * STORE_PG_LOCK_ACCOUNTS: the triggers that keep names and token hashes
 * unique across accounts and apps cannot see another transaction's
 * uncommitted row, and audit ids (a sequence) must be committed in their
 * order so that a reader paging with `after` never skips one. They are rare
 * admin changes; the lock is held for one short transaction, whatever the
 * number of instances on the database.
 *
 * Reads take a pooled connection for one statement each (one snapshot).
 */
#include "store/store_pg-int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_PG_ACCOUNT_COLS                                                                      \
	"name, token_hash, active, roles, email, display_name, max_running, max_jobs, "            \
	"max_bytes, created, modified"
#define STORE_PG_ROLE_COLS  "name, run, submit, admin, max_running, max_jobs, max_bytes, modified"
#define STORE_PG_APP_COLS   "name, token_hash, run, active, created, modified"
#define STORE_PG_AUDIT_COLS "id, time, actor, app, address, action, target, detail"

/* clang-format off */
const struct store_pg_stmt store_pg_accounts_stmts[] = {
    {"acc_lock", "SELECT pg_advisory_xact_lock($1::int, $2::int)", 2},
    {"account_insert", "INSERT INTO accounts (" STORE_PG_ACCOUNT_COLS ") VALUES ($1, $2, "
		       "$3, $4, $5, $6, $7, $8, $9, $10, $11)", 11},
    {"account_update", "UPDATE accounts SET token_hash = $2, active = $3, roles = $4, "
		       "email = $5, display_name = $6, max_running = $7, max_jobs = $8, "
		       "max_bytes = $9, modified = $10 WHERE name = $1", 10},
    {"account_get", "SELECT " STORE_PG_ACCOUNT_COLS " FROM accounts WHERE name = $1", 1},
    {"account_by_token", "SELECT " STORE_PG_ACCOUNT_COLS " FROM accounts "
			 "WHERE token_hash = $1", 1},
    {"account_delete", "DELETE FROM accounts WHERE name = $1", 1},
    /* The page and the total in one statement: one snapshot. */
    {"account_list", "SELECT " STORE_PG_ACCOUNT_COLS ", (SELECT count(*) FROM accounts) "
		     "FROM accounts WHERE name > $1 ORDER BY name LIMIT $2::bigint", 2},
    {"account_count", "SELECT count(*) FROM accounts", 0},
    {"role_put", "INSERT INTO roles (" STORE_PG_ROLE_COLS ") VALUES ($1, $2, $3, "
		 "$4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET "
		 "run = excluded.run, submit = excluded.submit, admin = excluded.admin, "
		 "max_running = excluded.max_running, max_jobs = excluded.max_jobs, "
		 "max_bytes = excluded.max_bytes, modified = excluded.modified", 8},
    {"role_get", "SELECT " STORE_PG_ROLE_COLS " FROM roles WHERE name = $1", 1},
    {"role_delete", "DELETE FROM roles WHERE name = $1", 1},
    {"role_strip", "UPDATE accounts SET roles = btrim(replace(',' || roles || ',', "
		   "',' || $1::text || ',', ','), ','), modified = $2 "
		   "WHERE strpos(',' || roles || ',', ',' || $1::text || ',') > 0", 2},
    {"role_list", "SELECT " STORE_PG_ROLE_COLS " FROM roles ORDER BY name", 0},
    {"app_insert", "INSERT INTO apps (" STORE_PG_APP_COLS ") VALUES ($1, $2, $3, $4, "
		   "$5, $6)", 6},
    {"app_update", "UPDATE apps SET token_hash = $2, run = $3, active = $4, "
		   "modified = $5 WHERE name = $1", 5},
    {"app_get", "SELECT " STORE_PG_APP_COLS " FROM apps WHERE name = $1", 1},
    {"app_by_token", "SELECT " STORE_PG_APP_COLS " FROM apps WHERE token_hash = $1", 1},
    {"app_delete", "DELETE FROM apps WHERE name = $1", 1},
    {"app_list", "SELECT " STORE_PG_APP_COLS " FROM apps ORDER BY name", 0},
    {"audit_insert", "INSERT INTO audit (time, actor, app, address, action, target, detail) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7)", 7},
    {"audit_list", "SELECT " STORE_PG_AUDIT_COLS " FROM audit WHERE id > $1 ORDER BY id "
		   "LIMIT $2::bigint", 2},
    {"jdl_disable", "INSERT INTO jdl_disabled (jobdef, time) VALUES ($1, $2) "
		    "ON CONFLICT (jobdef) DO NOTHING", 2},
    {"jdl_enable", "DELETE FROM jdl_disabled WHERE jobdef = $1", 1},
    {"jdl_is_disabled", "SELECT 1 FROM jdl_disabled WHERE jobdef = $1", 1},
    {"jdl_disabled", "SELECT jobdef FROM jdl_disabled ORDER BY jobdef", 0},
    {"owner_usage", "SELECT jobs, running, bytes FROM owner_usage "
		    "WHERE owner = coalesce($1::text, '')", 1},
    {"usage_sum", "SELECT coalesce(sum(jobs), 0), coalesce(sum(running), 0), "
		  "coalesce(sum(bytes), 0) FROM owner_usage", 0},
    {NULL, NULL, 0},
};
/* clang-format on */

/* ---- statement arguments ---- */

void store_pg_arg_text(struct store_pg_args *a, const char *s)
{
	if (a->n < STORE_PG_ARGS_MAX)
		a->v[a->n++] = s;
}

void store_pg_arg_int(struct store_pg_args *a, int64_t x)
{
	if (a->n < STORE_PG_ARGS_MAX) {
		snprintf(a->num[a->n], sizeof(a->num[a->n]), "%lld", (long long)x);
		a->v[a->n] = a->num[a->n];
		a->n++;
	}
}

static atomic_uint_fast64_t store_pg_statements;

uint64_t store_pg_statement_count(void)
{
	return atomic_load(&store_pg_statements);
}

void store_pg_count_statement(void)
{
	atomic_fetch_add(&store_pg_statements, 1);
}

int store_pg_run(PGconn *c, const char *name, const struct store_pg_args *a, PGresult **res_out)
{
	store_pg_count_statement();
	return store_pg_exec(c, name, a->n, a->v, res_out);
}

/* Runs a statement that changes rows: their number into *n_out. */
int store_pg_run_count(PGconn *c, const char *name, const struct store_pg_args *a, int64_t *n_out)
{
	PGresult *res = NULL;
	int ret = store_pg_run(c, name, a, &res);
	*n_out = 0;
	if (ret == 0) {
		const char *t = PQcmdTuples(res);
		*n_out = t && *t ? strtoll(t, NULL, 10) : 0;
	}
	PQclear(res);
	return ret;
}

int store_pg_lock(PGconn *c, int key)
{
	struct store_pg_args a = {0};
	store_pg_arg_int(&a, STORE_PG_LOCK_CLASS);
	store_pg_arg_int(&a, key);
	return store_pg_run(c, "acc_lock", &a, NULL);
}

/*
 * One write transaction on a pooled connection: BEGIN, the advisory lock
 * `key` (0: none), run(c, arg), COMMIT; everything rolls back when run or
 * the commit fails.
 */
int store_pg_in_tx(struct store *st, int key, int (*run)(PGconn *c, void *arg), void *arg)
{
	PGconn *c = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret < 0)
		return ret;
	ret = store_pg_begin(c);
	if (ret == 0 && key)
		ret = store_pg_lock(c, key);
	if (ret == 0)
		ret = run(c, arg);
	if (ret == 0)
		ret = store_pg_commit(c);
	else
		store_pg_rollback(c);
	store_pg_release(st, c);
	return ret;
}

/* Runs one read statement and hands its result to read(res, arg). */
int store_pg_read(struct store *st, const char *name, const struct store_pg_args *a,
		  int (*read)(const PGresult *res, void *arg), void *arg)
{
	PGconn *c = NULL;
	PGresult *res = NULL;
	int ret = store_pg_acquire(st, &c);
	if (ret < 0)
		return ret;
	ret = store_pg_run(c, name, a, &res);
	store_pg_release(st, c);
	if (ret == 0)
		ret = read(res, arg);
	PQclear(res);
	return ret;
}

void store_pg_col_buf(const PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* A boolean column, stored as boolean ("t") or integer (non-zero). */
static bool store_pg_acc_bool(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	return v[0] == 't' || (v[0] && v[0] != 'f' && strtoll(v, NULL, 10) != 0);
}

/* ---- writes ---- */

/* What one change writes: the audit row is always there. */
struct store_pg_acc_op {
	const struct store_account *account;
	const struct store_role *role;
	const struct store_app *app;
	const struct store_audit *log;
	const char *name; /* a delete's target; a description */
	const char *stmt; /* a delete's statement */
	bool flag;	  /* app_put: replace; jdl_set_enabled: enabled */
};

static int store_pg_audit_write(PGconn *c, const struct store_audit *log)
{
	struct store_pg_args a = {0};
	store_pg_arg_int(&a, log->time);
	store_pg_arg_text(&a, log->actor);
	store_pg_arg_text(&a, log->app);
	store_pg_arg_text(&a, log->address);
	store_pg_arg_text(&a, log->action);
	store_pg_arg_text(&a, log->target);
	store_pg_arg_text(&a, log->detail);
	return store_pg_run(c, "audit_insert", &a, NULL);
}

/* A change that touched n rows: NOTFOUND when none, else its audit row. */
static int store_pg_changed_audit(PGconn *c, int ret, int64_t n, const struct store_audit *log)
{
	if (ret == 0 && n == 0)
		ret = OPUS_ERR_NOTFOUND;
	return ret == 0 ? store_pg_audit_write(c, log) : ret;
}

static int store_pg_run_account_write(PGconn *c, void *arg, bool insert)
{
	const struct store_pg_acc_op *op = arg;
	const struct store_account *acc = op->account;
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, acc->name);
	store_pg_arg_text(&a, acc->token_hash);
	store_pg_arg_int(&a, acc->active);
	store_pg_arg_text(&a, acc->roles);
	store_pg_arg_text(&a, acc->email);
	store_pg_arg_text(&a, acc->display_name);
	store_pg_arg_int(&a, acc->quota.max_running);
	store_pg_arg_int(&a, acc->quota.max_jobs);
	store_pg_arg_int(&a, acc->quota.max_bytes);
	if (insert)
		store_pg_arg_int(&a, acc->created);
	store_pg_arg_int(&a, acc->modified);
	ret = store_pg_run_count(c, insert ? "account_insert" : "account_update", &a, &n);
	return store_pg_changed_audit(c, ret, n, op->log);
}

static int store_pg_run_account_create(PGconn *c, void *arg)
{
	return store_pg_run_account_write(c, arg, true);
}

static int store_pg_run_account_update(PGconn *c, void *arg)
{
	return store_pg_run_account_write(c, arg, false);
}

static int store_pg_run_delete_by_name(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, op->name);
	ret = store_pg_run_count(c, op->stmt, &a, &n);
	return store_pg_changed_audit(c, ret, n, op->log);
}

static int store_pg_run_role_put(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	const struct store_role *r = op->role;
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, r->name);
	store_pg_arg_text(&a, r->run);
	store_pg_arg_int(&a, r->submit);
	store_pg_arg_int(&a, r->admin);
	store_pg_arg_int(&a, r->quota.max_running);
	store_pg_arg_int(&a, r->quota.max_jobs);
	store_pg_arg_int(&a, r->quota.max_bytes);
	store_pg_arg_int(&a, r->modified);
	ret = store_pg_run_count(c, "role_put", &a, &n);
	return store_pg_changed_audit(c, ret, n, op->log);
}

/*
 * A role goes from its holders too, in the same commit (a role made again
 * under the name grants them nothing); the audit detail says how many lost
 * it. The strip walks the accounts: a rare admin change, as in SQLite.
 */
static int store_pg_run_role_delete(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	struct store_audit log = *op->log;
	struct store_pg_args a = {0};
	char detail[64];
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, op->name);
	ret = store_pg_run_count(c, "role_delete", &a, &n);
	if (ret == 0 && n == 0)
		ret = OPUS_ERR_NOTFOUND;
	if (ret < 0)
		return ret;
	store_pg_arg_int(&a, log.time);
	ret = store_pg_run_count(c, "role_strip", &a, &n);
	if (ret < 0)
		return ret;
	snprintf(detail, sizeof(detail), "{\"accounts\":%lld}", (long long)n);
	log.detail = detail;
	return store_pg_audit_write(c, &log);
}

static int store_pg_run_app_put(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	const struct store_app *p = op->app;
	struct store_pg_args a = {0};
	int64_t n = 0;
	int ret;
	store_pg_arg_text(&a, p->name);
	store_pg_arg_text(&a, p->token_hash);
	store_pg_arg_text(&a, p->run);
	store_pg_arg_int(&a, p->active);
	if (!op->flag)
		store_pg_arg_int(&a, p->created);
	store_pg_arg_int(&a, p->modified);
	ret = store_pg_run_count(c, op->flag ? "app_update" : "app_insert", &a, &n);
	return store_pg_changed_audit(c, ret, n, op->log);
}

static int store_pg_run_audit_add(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	return store_pg_audit_write(c, op->log);
}

/* Disabling keeps the first time's row, enabling drops it; either way the
 * request is logged, also when it changes nothing. */
static int store_pg_run_jdl_set(PGconn *c, void *arg)
{
	const struct store_pg_acc_op *op = arg;
	struct store_pg_args a = {0};
	int ret;
	store_pg_arg_text(&a, op->name);
	if (!op->flag)
		store_pg_arg_int(&a, op->log->time);
	ret = store_pg_run(c, op->flag ? "jdl_enable" : "jdl_disable", &a, NULL);
	return ret == 0 ? store_pg_audit_write(c, op->log) : ret;
}

static int store_pg_acc_tx(struct store *st, int (*run)(PGconn *c, void *arg),
			   struct store_pg_acc_op *op)
{
	return store_pg_in_tx(st, STORE_PG_LOCK_ACCOUNTS, run, op);
}

int store_pg_account_create(struct store *st, const struct store_account *a,
			    const struct store_audit *log)
{
	struct store_pg_acc_op op = {.account = a, .log = log};
	return store_pg_acc_tx(st, store_pg_run_account_create, &op);
}

int store_pg_account_update(struct store *st, const struct store_account *a,
			    const struct store_audit *log)
{
	struct store_pg_acc_op op = {.account = a, .log = log};
	return store_pg_acc_tx(st, store_pg_run_account_update, &op);
}

int store_pg_account_delete(struct store *st, const char *name, const struct store_audit *log)
{
	struct store_pg_acc_op op = {.name = name, .stmt = "account_delete", .log = log};
	return store_pg_acc_tx(st, store_pg_run_delete_by_name, &op);
}

int store_pg_role_put(struct store *st, const struct store_role *r, const struct store_audit *log)
{
	struct store_pg_acc_op op = {.role = r, .log = log};
	return store_pg_acc_tx(st, store_pg_run_role_put, &op);
}

int store_pg_role_delete(struct store *st, const char *name, const struct store_audit *log)
{
	struct store_pg_acc_op op = {.name = name, .log = log};
	return store_pg_acc_tx(st, store_pg_run_role_delete, &op);
}

int store_pg_app_put(struct store *st, const struct store_app *a, bool replace,
		     const struct store_audit *log)
{
	struct store_pg_acc_op op = {.app = a, .flag = replace, .log = log};
	return store_pg_acc_tx(st, store_pg_run_app_put, &op);
}

int store_pg_app_delete(struct store *st, const char *name, const struct store_audit *log)
{
	struct store_pg_acc_op op = {.name = name, .stmt = "app_delete", .log = log};
	return store_pg_acc_tx(st, store_pg_run_delete_by_name, &op);
}

int store_pg_audit_add(struct store *st, const struct store_audit *log)
{
	struct store_pg_acc_op op = {.log = log};
	return store_pg_acc_tx(st, store_pg_run_audit_add, &op);
}

int store_pg_jdl_set_enabled(struct store *st, const char *jobdef, bool enabled,
			     const struct store_audit *log)
{
	struct store_pg_acc_op op = {.name = jobdef, .flag = enabled, .log = log};
	return store_pg_acc_tx(st, store_pg_run_jdl_set, &op);
}

/* ---- reads ---- */

static void store_pg_read_account(const PGresult *r, int i, void *item)
{
	struct store_account *a = item;
	store_pg_col_buf(r, i, 0, a->name, sizeof(a->name));
	store_pg_col_buf(r, i, 1, a->token_hash, sizeof(a->token_hash));
	a->active = store_pg_acc_bool(r, i, 2);
	a->roles = store_pg_col_str(r, i, 3);
	if (!a->roles)
		a->roles = xstrdup("");
	a->email = store_pg_col_str(r, i, 4);
	a->display_name = store_pg_col_str(r, i, 5);
	a->quota.max_running = store_pg_col_i64(r, i, 6);
	a->quota.max_jobs = store_pg_col_i64(r, i, 7);
	a->quota.max_bytes = store_pg_col_i64(r, i, 8);
	a->created = store_pg_col_i64(r, i, 9);
	a->modified = store_pg_col_i64(r, i, 10);
}

static void store_pg_read_role(const PGresult *r, int i, void *item)
{
	struct store_role *o = item;
	store_pg_col_buf(r, i, 0, o->name, sizeof(o->name));
	o->run = store_pg_col_str(r, i, 1);
	if (!o->run)
		o->run = xstrdup("");
	o->submit = store_pg_acc_bool(r, i, 2);
	o->admin = store_pg_acc_bool(r, i, 3);
	o->quota.max_running = store_pg_col_i64(r, i, 4);
	o->quota.max_jobs = store_pg_col_i64(r, i, 5);
	o->quota.max_bytes = store_pg_col_i64(r, i, 6);
	o->modified = store_pg_col_i64(r, i, 7);
}

static void store_pg_read_app(const PGresult *r, int i, void *item)
{
	struct store_app *a = item;
	store_pg_col_buf(r, i, 0, a->name, sizeof(a->name));
	store_pg_col_buf(r, i, 1, a->token_hash, sizeof(a->token_hash));
	a->run = store_pg_col_str(r, i, 2);
	if (!a->run)
		a->run = xstrdup("");
	a->active = store_pg_acc_bool(r, i, 3);
	a->created = store_pg_col_i64(r, i, 4);
	a->modified = store_pg_col_i64(r, i, 5);
}

static void store_pg_read_audit(const PGresult *r, int i, void *item)
{
	struct store_audit *a = item;
	a->id = store_pg_col_i64(r, i, 0);
	a->time = store_pg_col_i64(r, i, 1);
	a->actor = store_pg_col_str(r, i, 2);
	a->app = store_pg_col_str(r, i, 3);
	a->address = store_pg_col_str(r, i, 4);
	a->action = store_pg_col_str(r, i, 5);
	a->target = store_pg_col_str(r, i, 6);
	a->detail = store_pg_col_str(r, i, 7);
}

/* A single-row read into `out` (its first row), else OPUS_ERR_NOTFOUND. */
struct store_pg_one {
	void (*read)(const PGresult *r, int i, void *item);
	void *out;
};

static int store_pg_read_one_cb(const PGresult *res, void *arg)
{
	struct store_pg_one *o = arg;
	if (PQntuples(res) < 1)
		return OPUS_ERR_NOTFOUND;
	o->read(res, 0, o->out);
	return 0;
}

static int store_pg_get_by_key(struct store *st, const char *stmt, const char *key,
			       void (*read)(const PGresult *r, int i, void *item), void *out)
{
	struct store_pg_args a = {0};
	struct store_pg_one o = {read, out};
	store_pg_arg_text(&a, key);
	return store_pg_read(st, stmt, &a, store_pg_read_one_cb, &o);
}

int store_pg_account_get(struct store *st, const char *name, struct store_account *out)
{
	return store_pg_get_by_key(st, "account_get", name, store_pg_read_account, out);
}

int store_pg_account_by_token(struct store *st, const char *token_hash, struct store_account *out)
{
	return store_pg_get_by_key(st, "account_by_token", token_hash, store_pg_read_account, out);
}

int store_pg_role_get(struct store *st, const char *name, struct store_role *out)
{
	return store_pg_get_by_key(st, "role_get", name, store_pg_read_role, out);
}

int store_pg_app_get(struct store *st, const char *name, struct store_app *out)
{
	return store_pg_get_by_key(st, "app_get", name, store_pg_read_app, out);
}

int store_pg_app_by_token(struct store *st, const char *token_hash, struct store_app *out)
{
	return store_pg_get_by_key(st, "app_by_token", token_hash, store_pg_read_app, out);
}

/* Every row into a new array of `size`-byte items, each zeroed, then read. */
struct store_pg_array {
	void *items;
	size_t n, size;
	void (*read)(const PGresult *r, int i, void *item);
};

static int store_pg_read_array_cb(const PGresult *res, void *arg)
{
	struct store_pg_array *a = arg;
	int rows = PQntuples(res);
	if (rows == 0)
		return 0; /* items stay NULL: an empty list */
	a->items = xcalloc((size_t)rows, a->size);
	for (int i = 0; i < rows; i++)
		a->read(res, i, (char *)a->items + (size_t)i * a->size);
	a->n = (size_t)rows;
	return 0;
}

static int64_t store_pg_limit(size_t max)
{
	return max > INT64_MAX ? INT64_MAX : (int64_t)max;
}

/* The page with the total in one statement; the total alone when the page is empty. */
struct store_pg_acc_page {
	struct store_pg_array a;
	int64_t total;
	bool has_total;
};

static int store_pg_read_page_cb(const PGresult *res, void *arg)
{
	struct store_pg_acc_page *p = arg;
	if (PQntuples(res) > 0) {
		p->total = store_pg_col_i64(res, 0, PQnfields(res) - 1);
		p->has_total = true;
	}
	return store_pg_read_array_cb(res, &p->a);
}

static int store_pg_read_int_cb(const PGresult *res, void *arg)
{
	if (PQntuples(res) < 1)
		return OPUS_ERR_NOTFOUND;
	*(int64_t *)arg = store_pg_col_i64(res, 0, 0);
	return 0;
}

int store_pg_account_list(struct store *st, const char *after, size_t max,
			  struct store_account **out, size_t *n_out, size_t *total_out)
{
	struct store_pg_acc_page p = {
	    .a = {.size = sizeof(struct store_account), .read = store_pg_read_account}};
	struct store_pg_args a = {0};
	int ret;
	store_pg_arg_text(&a, after);
	store_pg_arg_int(&a, store_pg_limit(max));
	ret = store_pg_read(st, "account_list", &a, store_pg_read_page_cb, &p);
	if (ret == 0 && total_out && !p.has_total) {
		struct store_pg_args none = {0};
		ret = store_pg_read(st, "account_count", &none, store_pg_read_int_cb, &p.total);
	}
	if (ret < 0) {
		store_accounts_free(p.a.items, p.a.n);
		return ret;
	}
	*out = p.a.items;
	*n_out = p.a.n;
	if (total_out)
		*total_out = (size_t)p.total;
	return 0;
}

static int store_pg_list_all(struct store *st, const char *stmt, struct store_pg_array *arr)
{
	struct store_pg_args none = {0};
	return store_pg_read(st, stmt, &none, store_pg_read_array_cb, arr);
}

int store_pg_role_list(struct store *st, struct store_role **out, size_t *n_out)
{
	struct store_pg_array arr = {.size = sizeof(struct store_role), .read = store_pg_read_role};
	int ret = store_pg_list_all(st, "role_list", &arr);
	if (ret < 0) {
		store_roles_free(arr.items, arr.n);
		return ret;
	}
	*out = arr.items;
	*n_out = arr.n;
	return 0;
}

int store_pg_app_list(struct store *st, struct store_app **out, size_t *n_out)
{
	struct store_pg_array arr = {.size = sizeof(struct store_app), .read = store_pg_read_app};
	int ret = store_pg_list_all(st, "app_list", &arr);
	if (ret < 0) {
		store_apps_free(arr.items, arr.n);
		return ret;
	}
	*out = arr.items;
	*n_out = arr.n;
	return 0;
}

int store_pg_audit_list(struct store *st, int64_t after, size_t max, struct store_audit **out,
			size_t *n_out)
{
	struct store_pg_array arr = {.size = sizeof(struct store_audit),
				     .read = store_pg_read_audit};
	struct store_pg_args a = {0};
	int ret;
	store_pg_arg_int(&a, after);
	store_pg_arg_int(&a, store_pg_limit(max));
	ret = store_pg_read(st, "audit_list", &a, store_pg_read_array_cb, &arr);
	if (ret < 0) {
		store_audits_free(arr.items, arr.n);
		return ret;
	}
	*out = arr.items;
	*n_out = arr.n;
	return 0;
}

int store_pg_jdl_is_enabled(struct store *st, const char *jobdef, bool *enabled_out)
{
	struct store_pg_args a = {0};
	int64_t one = 0;
	int ret;
	store_pg_arg_text(&a, jobdef);
	ret = store_pg_read(st, "jdl_is_disabled", &a, store_pg_read_int_cb, &one);
	if (ret == OPUS_ERR_NOTFOUND)
		ret = 0;
	*enabled_out = one == 0;
	return ret;
}

/* Column 0 of every row, as an array of strings (never NULL ones). */
static int store_pg_read_ids_cb(const PGresult *res, void *arg)
{
	struct store_pg_ids *ids = arg;
	int rows = PQntuples(res);
	ids->v = xcalloc(rows ? (size_t)rows : 1, sizeof(*ids->v));
	for (int i = 0; i < rows; i++)
		ids->v[i] = xstrdup(PQgetvalue(res, i, 0));
	ids->n = (size_t)rows;
	return 0;
}

int store_pg_read_ids(const PGresult *res, struct store_pg_ids *ids)
{
	return store_pg_read_ids_cb(res, ids);
}

int store_pg_jdl_disabled(struct store *st, char ***names_out, size_t *n_out)
{
	struct store_pg_ids ids = {0};
	struct store_pg_args none = {0};
	int ret = store_pg_read(st, "jdl_disabled", &none, store_pg_read_ids_cb, &ids);
	if (ret < 0) {
		store_ids_free(ids.v, ids.n);
		return ret;
	}
	*names_out = ids.v;
	*n_out = ids.n;
	return 0;
}

static int store_pg_read_usage_cb(const PGresult *res, void *arg)
{
	struct store_usage_totals *u = arg;
	if (PQntuples(res) < 1) { /* an unknown owner holds nothing */
		*u = (struct store_usage_totals){0, 0, 0};
		return 0;
	}
	u->jobs = store_pg_col_i64(res, 0, 0);
	u->running = store_pg_col_i64(res, 0, 1);
	u->bytes = store_pg_col_i64(res, 0, 2);
	return 0;
}

int store_pg_owner_usage(struct store *st, const char *owner, struct store_usage_totals *out)
{
	struct store_pg_args a = {0};
	store_pg_arg_text(&a, owner);
	return store_pg_read(st, "owner_usage", &a, store_pg_read_usage_cb, out);
}

int store_pg_usage_sum(struct store *st, struct store_usage_totals *out)
{
	struct store_pg_args none = {0};
	return store_pg_read(st, "usage_sum", &none, store_pg_read_usage_cb, out);
}
