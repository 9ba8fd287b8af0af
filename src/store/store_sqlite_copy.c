/*
 * store_sqlite_copy: the SQLite side of `opusd db copy` (store-int.h
 * rows_dump, rows_load). Both run on a connection of their own to the
 * store's file, outside the writer thread: the copy is the only user of
 * the store (store.h), and a connection of its own gives the dump one read
 * snapshot and the load one transaction, whatever the writer batches.
 */
#include "store/store-int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum { STORE_SQLITE_COPY_BUSY_MS = 10000 };

static int store_sqlite_copy_fail(sqlite3 *db, const char *what, char **why)
{
	if (!*why)
		*why = xasprintf("%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return OPUS_ERR_IO;
}

static int store_sqlite_copy_open(struct store *st, int flags, sqlite3 **out, char **why)
{
	const char *path = store_sqlite_path(st);
	int rc = sqlite3_open_v2(path, out, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(*out, STORE_SQLITE_COPY_BUSY_MS);
	if (rc != SQLITE_OK) {
		*why = xasprintf("%s: %s", path, *out ? sqlite3_errmsg(*out) : sqlite3_errstr(rc));
		sqlite3_close(*out);
		*out = NULL;
		return OPUS_ERR_IO;
	}
	return 0;
}

static int store_sqlite_copy_exec(sqlite3 *db, const char *sql, char **why)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : store_sqlite_copy_fail(db, sql, why);
}

/* Every row of one table, in its dump order, into out. */
static int store_sqlite_read_table(sqlite3 *db, const struct store_table *t, struct store_rows *out,
				   char **why)
{
	const char *vals[64];
	char *sql = store_table_select_sql(t, t->sqlite_order);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL), ret = 0;

	out->ncols = t->ncols;
	while (rc == SQLITE_OK && t->ncols <= OPUS_ARRAY_LEN(vals) &&
	       (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (size_t i = 0; i < t->ncols; i++)
			vals[i] = (const char *)sqlite3_column_text(s, (int)i);
		store_rows_add(out, vals);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		ret = store_sqlite_copy_fail(db, t->name, why);
	sqlite3_finalize(s);
	free(sql);
	return ret;
}

int store_sqlite_rows_dump(struct store *st, const struct store_table *t, size_t n,
			   struct store_rows *out, char **why)
{
	sqlite3 *db = NULL;
	int ret = store_sqlite_copy_open(st, SQLITE_OPEN_READONLY, &db, why);

	if (ret == 0)
		ret = store_sqlite_copy_exec(db, "BEGIN", why); /* one snapshot (WAL) */
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_sqlite_read_table(db, &t[i], &out[i], why);
	sqlite3_close(db); /* ends the read transaction */
	return ret;
}

/* OPUS_ERR_EXISTS unless the table holds nothing but its fresh rows. */
static int store_sqlite_probe(sqlite3 *db, const struct store_table *t, char **why)
{
	char *sql = store_table_probe_sql(t);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL), ret = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*why = xasprintf("the destination is not empty (table %s has rows): copy into a "
				 "fresh database",
				 t->name);
		ret = OPUS_ERR_EXISTS;
	} else if (rc != SQLITE_DONE) {
		ret = store_sqlite_copy_fail(db, t->name, why);
	}
	sqlite3_finalize(s);
	free(sql);
	return ret;
}

static int store_sqlite_clear_fresh(sqlite3 *db, const struct store_table *t, char **why)
{
	char *sql;
	int ret;

	if (!t->fresh)
		return 0;
	sql = xasprintf("DELETE FROM %s WHERE %s", t->name, t->fresh);
	ret = store_sqlite_copy_exec(db, sql, why);
	free(sql);
	return ret;
}

static int store_sqlite_insert_rows(sqlite3 *db, const struct store_table *t,
				    const struct store_rows *rows, char **why)
{
	char *sql = store_table_insert_sql(t, '?');
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	for (size_t r = 0; rc == SQLITE_OK && r < rows->nrows; r++) {
		for (size_t c = 0; rc == SQLITE_OK && c < t->ncols; c++) {
			const char *v = store_rows_get(rows, r, c);
			rc = v ? sqlite3_bind_text(s, (int)c + 1, v, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(s, (int)c + 1);
		}
		if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_DONE)
			rc = sqlite3_reset(s);
	}
	if (rc != SQLITE_OK)
		(void)store_sqlite_copy_fail(db, t->name, why);
	sqlite3_finalize(s);
	free(sql);
	return rc == SQLITE_OK ? 0 : OPUS_ERR_IO;
}

/* A derived table read back inside the load's transaction, and compared. */
static int store_sqlite_check_derived(sqlite3 *db, const struct store_table *t,
				      const struct store_rows *want, char **why)
{
	struct store_rows got = {0};
	int ret = store_sqlite_read_table(db, t, &got, why);

	if (ret == 0)
		ret = store_rows_compare(t, want, &got, why);
	store_rows_release(&got);
	return ret;
}

int store_sqlite_rows_load(struct store *st, const struct store_table *t, size_t n,
			   const struct store_rows *rows, char **why)
{
	sqlite3 *db = NULL;
	int ret = store_sqlite_copy_open(st, SQLITE_OPEN_READWRITE, &db, why);

	if (ret == 0)
		ret = store_sqlite_copy_exec(db, "BEGIN IMMEDIATE", why);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_sqlite_probe(db, &t[i], why);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = store_sqlite_clear_fresh(db, &t[i], why);
		if (ret == 0 && !t[i].derived)
			ret = store_sqlite_insert_rows(db, &t[i], &rows[i], why);
	}
	for (size_t i = 0; ret == 0 && i < n; i++) {
		if (t[i].derived)
			ret = store_sqlite_check_derived(db, &t[i], &rows[i], why);
	}
	if (ret == 0)
		ret = store_sqlite_copy_exec(db, "COMMIT", why);
	if (ret < 0 && db)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return ret;
}
