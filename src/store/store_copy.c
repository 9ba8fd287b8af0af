/*
 * store_copy: `opusd db copy` (store.h, store_copy): the table of tables
 * both backends dump and load, and the statement texts made from it. The
 * tables are listed parents first (params and results refer to jobs), and
 * with the columns of SQLite's schema v5, PostgreSQL's v2 (SQLite's unused
 * jobs.pgid is left out). PostgreSQL's claims of several instances
 * (jobs.instance, jobs.starting, the instances table) are state of running
 * daemons, not data: they are not copied, and the destination's daemons make
 * their own. Each dump is in insertion order (SQLite's rowid,
 * PostgreSQL's seq or key), so that what a backend returns "in the order
 * written" comes back the same in the copy.
 */
#include "store/store-int.h"

#include <stdlib.h>
#include <string.h>

/* clang-format off */
const struct store_table store_tables[] = {
    {.name = "jobs",
     .cols = "id, jobdef, owner, run_id, phase, creation_time, start_time, end_time, "
	     "destruction_time, execution_duration, quote, error_summary, error_type, "
	     "run_request_time, jdl_hash, metrics_known, wall_ms, cpu_ms, max_rss_kb, "
	     "exit_code, exec_handle",
     .ncols = 21, .sqlite_order = "rowid", .pg_order = "creation_time, id"},
    {.name = "params", .cols = "job_id, name, value, by_ref", .ncols = 4,
     .sqlite_order = "rowid", .pg_order = "seq"},
    {.name = "results", .cols = "job_id, rid, path, mime, size, entity_id, sha256", .ncols = 7,
     .sqlite_order = "rowid", .pg_order = "seq"},
    {.name = "entities",
     .cols = "id, sha256, size, content_type, file_name, generated_by, role, result_id, "
	     "source, owner, creation_time, invalidation_time, invalidated_by",
     .ncols = 13, .sqlite_order = "rowid", .pg_order = "seq"},
    {.name = "usages", .cols = "job_id, role, k, entity_id", .ncols = 4,
     .sqlite_order = "rowid", .pg_order = "job_id, role, k"},
    {.name = "activities",
     .cols = "id, jobdef, jdl_hash, owner, run_id, phase, creation_time, start_time, "
	     "end_time, error_summary, metrics_known, wall_ms, cpu_ms, max_rss_kb, exit_code",
     .ncols = 15, .sqlite_order = "rowid", .pg_order = "end_time, id"},
    {.name = "activity_params", .cols = "activity_id, name, value, is_default", .ncols = 4,
     .sqlite_order = "rowid", .pg_order = "seq"},
    {.name = "retired", .cols = "job_id, time", .ncols = 2, .sqlite_order = "rowid",
     .pg_order = "time, job_id"},
    {.name = "accounts",
     .cols = "name, token_hash, admin, active, roles, email, display_name, max_running, "
	     "max_jobs, max_bytes, created, modified",
     .ncols = 12, .sqlite_order = "rowid", .pg_order = "created, name"},
    {.name = "roles",
     .cols = "name, run, submit, admin, max_running, max_jobs, max_bytes, modified",
     .ncols = 8, .sqlite_order = "rowid", .pg_order = "modified, name",
     .fresh = "name IN ('admin', 'user', 'anonymous') AND modified = 0"},
    {.name = "apps", .cols = "name, token_hash, run, active, created, modified", .ncols = 6,
     .sqlite_order = "rowid", .pg_order = "created, name"},
    {.name = "audit", .cols = "id, time, actor, app, address, action, target, detail",
     .ncols = 8, .sqlite_order = "id", .pg_order = "id", .pg_serial = "id"},
    {.name = "jdl_disabled", .cols = "jobdef, time", .ncols = 2, .sqlite_order = "rowid",
     .pg_order = "time, jobdef"},
    {.name = "owner_usage", .cols = "owner, jobs, running, bytes", .ncols = 4,
     .sqlite_order = "owner", .pg_order = "owner COLLATE \"C\"", .derived = true,
     .where = "jobs <> 0 OR running <> 0 OR bytes <> 0",
     .fresh = "jobs = 0 AND running = 0 AND bytes = 0"},
};
/* clang-format on */
const size_t store_ntables = OPUS_ARRAY_LEN(store_tables);

_Static_assert(OPUS_ARRAY_LEN(store_tables) <= STORE_COPY_TABLES_MAX, "the report holds them");

/* ---- rows ---- */

void store_rows_add(struct store_rows *r, const char *const *vals)
{
	if ((r->nrows + 1) * r->ncols > r->cap) {
		r->cap = r->cap ? r->cap * 2 : r->ncols * 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	for (size_t i = 0; i < r->ncols; i++)
		r->v[r->nrows * r->ncols + i] = vals[i] ? xstrdup(vals[i]) : NULL;
	r->nrows++;
}

const char *store_rows_get(const struct store_rows *r, size_t row, size_t col)
{
	if (row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->v[row * r->ncols + col];
}

void store_rows_release(struct store_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- statement texts (constants of the table above, never input) ---- */

char *store_table_select_sql(const struct store_table *t, const char *order)
{
	return xasprintf("SELECT %s FROM %s%s%s%s ORDER BY %s", t->cols, t->name,
			 t->where ? " WHERE (" : "", t->where ? t->where : "", t->where ? ")" : "",
			 order);
}

char *store_table_insert_sql(const struct store_table *t, char mark)
{
	struct sbuf sb;

	sbuf_init(&sb, 0);
	sbuf_addf(&sb, "INSERT INTO %s (%s) VALUES (", t->name, t->cols);
	for (size_t i = 0; i < t->ncols; i++)
		sbuf_addf(&sb, "%s%c%zu", i ? ", " : "", mark, i + 1);
	sbuf_addc(&sb, ')');
	return sbuf_detach(&sb, NULL);
}

char *store_table_probe_sql(const struct store_table *t)
{
	return xasprintf("SELECT 1 FROM %s%s%s%s LIMIT 1", t->name, t->fresh ? " WHERE NOT (" : "",
			 t->fresh ? t->fresh : "", t->fresh ? ")" : "");
}

static const char *store_value_or_null(const char *v)
{
	return v ? v : "NULL";
}

static bool store_value_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int store_rows_compare(const struct store_table *t, const struct store_rows *want,
		       const struct store_rows *got, char **why)
{
	size_t n = want->nrows < got->nrows ? want->nrows : got->nrows;

	for (size_t r = 0; r < n; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (store_value_eq(store_rows_get(want, r, c), store_rows_get(got, r, c)))
				continue;
			*why = xasprintf("%s differs after the copy at row %zu (%s in the source, "
					 "%s in the copy): nothing was copied",
					 t->name, r + 1,
					 store_value_or_null(store_rows_get(want, r, c)),
					 store_value_or_null(store_rows_get(got, r, c)));
			return OPUS_ERR_INTERNAL;
		}
	}
	if (want->nrows != got->nrows) {
		*why = xasprintf("%s has %zu rows after the copy, %zu in the source: nothing was "
				 "copied",
				 t->name, got->nrows, want->nrows);
		return OPUS_ERR_INTERNAL;
	}
	return 0;
}

/* ---- the copy ---- */

int store_copy(struct store *from, struct store *to, struct store_copy_report *rep, char **why_out)
{
	struct store_rows rows[OPUS_ARRAY_LEN(store_tables)];
	int ret;

	*why_out = NULL;
	memset(rep, 0, sizeof(*rep));
	memset(rows, 0, sizeof(rows));
	if (!from || !to || from == to)
		return OPUS_ERR_INVAL;
	for (size_t i = 0; i < store_ntables; i++)
		rows[i].ncols = store_tables[i].ncols;
	ret = from->ops->rows_dump(from, store_tables, store_ntables, rows, why_out);
	if (ret == 0)
		ret = to->ops->rows_load(to, store_tables, store_ntables, rows, why_out);
	for (size_t i = 0; ret == 0 && i < store_ntables; i++) {
		rep->table[i] = store_tables[i].name;
		rep->rows[i] = rows[i].nrows;
		rep->derived[i] = store_tables[i].derived;
		rep->ntables = i + 1;
	}
	for (size_t i = 0; i < store_ntables; i++)
		store_rows_release(&rows[i]);
	if (ret < 0 && !*why_out)
		*why_out = xstrdup(opus_strerror(ret));
	return ret;
}
