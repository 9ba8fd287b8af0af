/*
 * store_pg_copy: the PostgreSQL side of `opusd db copy` (store-int.h
 * rows_dump, rows_load), on one pooled connection each: the dump in one
 * REPEATABLE READ READ ONLY transaction (a snapshot), the load in one
 * transaction that also holds the accounts and entities advisory locks
 * (store_pg-int.h). Values travel as text parameters; PostgreSQL gives each
 * the type of its column.
 */
#include "store/store_pg-int.h"

#include <stdlib.h>
#include <string.h>

enum { STORE_PG_COPY_COLS_MAX = 64 };

static int store_pg_copy_fail(PGconn *c, const PGresult *r, const char *what, char **why)
{
	if (!*why)
		*why = xasprintf("%s: %s", what,
				 r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
								 : PQerrorMessage(c));
	return PQstatus(c) == CONNECTION_OK ? OPUS_ERR_IO : OPUS_ERR_BUSY;
}

/* A statement without parameters (transaction control, the table's own texts). */
static int store_pg_copy_exec(PGconn *c, const char *sql, char **why)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);
	int ret =
	    s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : store_pg_copy_fail(c, r, sql, why);
	PQclear(r);
	return ret;
}

static int store_pg_read_table(PGconn *c, const struct store_table *t, struct store_rows *out,
			       char **why)
{
	const char *vals[STORE_PG_COPY_COLS_MAX];
	char *sql = store_table_select_sql(t, t->pg_order);
	PGresult *r = PQexec(c, sql);
	int ret = 0;

	out->ncols = t->ncols;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQnfields(r) != t->ncols ||
	    t->ncols > STORE_PG_COPY_COLS_MAX) {
		ret = store_pg_copy_fail(c, r, t->name, why);
		goto done;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		for (size_t i = 0; i < t->ncols; i++)
			vals[i] = PQgetisnull(r, row, (int)i) ? NULL : PQgetvalue(r, row, (int)i);
		store_rows_add(out, vals);
	}
done:
	PQclear(r);
	free(sql);
	return ret;
}

int store_pg_rows_dump(struct store *st, const struct store_table *t, size_t n,
		       struct store_rows *out, char **why)
{
	PGconn *c = NULL;
	int ret = store_pg_acquire(st, &c);

	if (ret == 0)
		ret = store_pg_copy_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", why);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_pg_read_table(c, &t[i], &out[i], why);
	if (c) {
		store_pg_rollback(c); /* read only: nothing to keep */
		store_pg_release(st, c);
	}
	return ret;
}

static int store_pg_probe(PGconn *c, const struct store_table *t, char **why)
{
	char *sql = store_table_probe_sql(t);
	PGresult *r = PQexec(c, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = store_pg_copy_fail(c, r, t->name, why);
	} else if (PQntuples(r) > 0) {
		*why = xasprintf("the destination is not empty (table %s has rows): copy into a "
				 "fresh database",
				 t->name);
		ret = OPUS_ERR_EXISTS;
	}
	PQclear(r);
	free(sql);
	return ret;
}

static int store_pg_clear_fresh(PGconn *c, const struct store_table *t, char **why)
{
	char *sql;
	int ret;

	if (!t->fresh)
		return 0;
	sql = xasprintf("DELETE FROM %s WHERE %s", t->name, t->fresh);
	ret = store_pg_copy_exec(c, sql, why);
	free(sql);
	return ret;
}

static int store_pg_insert_rows(PGconn *c, const struct store_table *t,
				const struct store_rows *rows, char **why)
{
	char *sql = store_table_insert_sql(t, '$');
	PGresult *r = PQprepare(c, "", sql, (int)t->ncols, NULL);
	int ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : store_pg_copy_fail(c, r, sql, why);

	PQclear(r);
	for (size_t row = 0; ret == 0 && row < rows->nrows; row++) {
		r = PQexecPrepared(c, "", (int)t->ncols,
				   (const char *const *)&rows->v[row * rows->ncols], NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = store_pg_copy_fail(c, r, t->name, why);
		PQclear(r);
	}
	free(sql);
	return ret;
}

/* The serial column's sequence past the loaded values (audit ids go on). */
static int store_pg_fix_serial(PGconn *c, const struct store_table *t, char **why)
{
	char *sql;
	int ret;

	if (!t->pg_serial)
		return 0;
	sql = xasprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'), max(%s)) FROM %s "
			"HAVING max(%s) IS NOT NULL",
			t->name, t->pg_serial, t->pg_serial, t->name, t->pg_serial);
	ret = store_pg_copy_exec(c, sql, why);
	free(sql);
	return ret;
}

static int store_pg_check_derived(PGconn *c, const struct store_table *t,
				  const struct store_rows *want, char **why)
{
	struct store_rows got = {0};
	int ret = store_pg_read_table(c, t, &got, why);

	if (ret == 0)
		ret = store_rows_compare(t, want, &got, why);
	store_rows_release(&got);
	return ret;
}

static int store_pg_load_in(PGconn *c, const struct store_table *t, size_t n,
			    const struct store_rows *rows, char **why)
{
	int ret = store_pg_lock(c, STORE_PG_LOCK_ACCOUNTS);

	if (ret == 0)
		ret = store_pg_lock(c, STORE_PG_LOCK_ENTITIES);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_pg_probe(c, &t[i], why);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = store_pg_clear_fresh(c, &t[i], why);
		if (ret == 0 && !t[i].derived)
			ret = store_pg_insert_rows(c, &t[i], &rows[i], why);
		if (ret == 0 && !t[i].derived)
			ret = store_pg_fix_serial(c, &t[i], why);
	}
	for (size_t i = 0; ret == 0 && i < n; i++) {
		if (t[i].derived)
			ret = store_pg_check_derived(c, &t[i], &rows[i], why);
	}
	return ret;
}

int store_pg_rows_load(struct store *st, const struct store_table *t, size_t n,
		       const struct store_rows *rows, char **why)
{
	PGconn *c = NULL;
	int ret = store_pg_acquire(st, &c);

	if (ret == 0)
		ret = store_pg_copy_exec(c, "BEGIN", why);
	if (ret == 0)
		ret = store_pg_load_in(c, t, n, rows, why);
	if (ret == 0)
		ret = store_pg_copy_exec(c, "COMMIT", why);
	if (c) {
		if (ret < 0)
			store_pg_rollback(c);
		store_pg_release(st, c);
	}
	return ret;
}
