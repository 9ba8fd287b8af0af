/*
 * import_src: OPUS's database as rows of text (import-int.h), from its
 * SQLite file or over libpq from PostgreSQL (SQLAlchemy creates the same
 * tables and columns on both; String columns are VARCHAR). The queries are
 * written once, with $1..$n parameters, which SQLite also reads (as named
 * parameters, bound here by name). Read only on both: SQLite opens the
 * file read-only, the PostgreSQL session is READ ONLY.
 */
#include "import/import-int.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum { IMPORT_SRC_COLS_MAX = 32, IMPORT_SRC_BUSY_MS = 5000 };

struct import_src {
	const char *name; /* the source as given, for messages (no password in it) */
	sqlite3 *db;
	PGconn *pg;
};

bool import_url_is_pg(const char *s)
{
	return s && (!strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11));
}

bool import_url_has_password(const char *url)
{
	const char *u = strstr(url, "://"), *at, *colon;

	u = u ? u + 3 : url;
	at = strchr(u, '@');
	colon = strchr(u, ':');
	return (at && colon && colon < at) || strstr(u, "password=");
}

/* ---- SQLite ---- */

static int import_src_open_sqlite(struct import_src *s, const char *path, char **why)
{
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		*why = xasprintf("%s: cannot open: %s", path,
				 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		return OPUS_ERR_IO;
	}
	(void)sqlite3_busy_timeout(s->db, IMPORT_SRC_BUSY_MS); /* OPUS may be writing it */
	return 0;
}

static int import_src_bind(sqlite3_stmt *st, int nparams, const char *const *params)
{
	char name[16];
	int rc = SQLITE_OK;

	for (int i = 0; rc == SQLITE_OK && i < nparams; i++) {
		int at;
		snprintf(name, sizeof(name), "$%d", i + 1);
		at = sqlite3_bind_parameter_index(st, name);
		if (at > 0)
			rc = sqlite3_bind_text(st, at, params[i], -1, SQLITE_STATIC);
	}
	return rc;
}

static int import_src_query_sqlite(struct import_src *s, const char *sql, int nparams,
				   const char *const *params, struct store_rows *out, char **why)
{
	const char *vals[IMPORT_SRC_COLS_MAX];
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		*why =
		    xasprintf("%s: not an OPUS job database (%s)", s->name, sqlite3_errmsg(s->db));
		return OPUS_ERR_INVAL;
	}
	out->ncols = (size_t)sqlite3_column_count(st);
	rc =
	    out->ncols <= IMPORT_SRC_COLS_MAX ? import_src_bind(st, nparams, params) : SQLITE_ERROR;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < out->ncols; i++)
			vals[i] = (const char *)sqlite3_column_text(st, (int)i);
		store_rows_add(out, vals);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	*why = xasprintf("%s: cannot read: %s", s->name, sqlite3_errmsg(s->db));
	return OPUS_ERR_IO;
}

/* ---- PostgreSQL ---- */

static int import_src_password(const char *path, char **out, char **why)
{
	size_t len = 0;
	int ret = file_read_all(path, 4096, out, &len);

	if (ret < 0) {
		*why = xasprintf("%s: cannot read the password file: %s", path, opus_strerror(ret));
		return ret;
	}
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	return 0;
}

static int import_src_open_pg(struct import_src *s, const char *url, const char *password_file,
			      char **why)
{
	const char *keys[] = {"dbname", "password", NULL, NULL};
	const char *vals[] = {url, NULL, NULL, NULL};
	char *pw = NULL;
	PGresult *r;
	int ret = 0;

	if (import_url_has_password(url)) {
		*why = xstrdup("the PostgreSQL URL holds a password: give it with "
			       "--source-password-file FILE or PGPASSWORD, so that it is never "
			       "shown");
		return OPUS_ERR_INVAL;
	}
	if (password_file && (ret = import_src_password(password_file, &pw, why)) < 0)
		return ret;
	vals[1] = pw;
	if (!pw)
		keys[1] = NULL;
	s->pg = PQconnectdbParams(keys, vals, 1);
	if (pw) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	if (PQstatus(s->pg) != CONNECTION_OK) {
		*why = xasprintf("%s: cannot connect to PostgreSQL: %s", url,
				 s->pg ? PQerrorMessage(s->pg) : "out of memory");
		return OPUS_ERR_IO;
	}
	r = PQexec(s->pg, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*why = xasprintf("%s: %s", url, PQerrorMessage(s->pg));
		ret = OPUS_ERR_IO;
	}
	PQclear(r);
	return ret;
}

static int import_src_query_pg(struct import_src *s, const char *sql, int nparams,
			       const char *const *params, struct store_rows *out, char **why)
{
	const char *vals[IMPORT_SRC_COLS_MAX];
	PGresult *r = PQexecParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQnfields(r) > IMPORT_SRC_COLS_MAX) {
		/* 42xxx: syntax or access rule (no such table or column) */
		ret = state && !strncmp(state, "42", 2) ? OPUS_ERR_INVAL : OPUS_ERR_IO;
		*why = xasprintf("%s: %s%s", s->name,
				 ret == OPUS_ERR_INVAL ? "not an OPUS job database: " : "",
				 PQerrorMessage(s->pg));
		goto done;
	}
	out->ncols = (size_t)PQnfields(r);
	for (int row = 0; row < PQntuples(r); row++) {
		for (size_t i = 0; i < out->ncols; i++)
			vals[i] = PQgetisnull(r, row, (int)i) ? NULL : PQgetvalue(r, row, (int)i);
		store_rows_add(out, vals);
	}
done:
	PQclear(r);
	return ret;
}

/* ---- either ---- */

int import_src_open(const char *source, const char *password_file, struct import_src **out,
		    char **why)
{
	struct import_src *s = xcalloc(1, sizeof(*s));
	int ret;

	s->name = source;
	ret = import_url_is_pg(source) ? import_src_open_pg(s, source, password_file, why)
				       : import_src_open_sqlite(s, source, why);
	if (ret < 0) {
		import_src_close(s);
		s = NULL;
	}
	*out = s;
	return ret;
}

int import_src_query(struct import_src *s, const char *sql, int nparams, const char *const *params,
		     struct store_rows *out, char **why)
{
	memset(out, 0, sizeof(*out));
	return s->pg ? import_src_query_pg(s, sql, nparams, params, out, why)
		     : import_src_query_sqlite(s, sql, nparams, params, out, why);
}

bool import_src_is_file(const struct import_src *s)
{
	return s->db != NULL;
}

void import_src_close(struct import_src *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close(s->db);
	if (s->pg)
		PQfinish(s->pg);
	free(s);
}
