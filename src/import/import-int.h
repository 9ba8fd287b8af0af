/*
 * import-int.h: what the files of src/import share: the OPUS database as a
 * source of rows (import_src.c: OPUS's SQLite file or a PostgreSQL URL, the
 * same queries on both), and the URL checks of the PostgreSQL commands.
 *
 * Threading: one caller. Ownership: an import_src is the caller's
 * (import_src_close); rows are the caller's (store_rows_release).
 * Included by: the .c files of src/import only.
 */
#ifndef OPUS_IMPORT_INT_H
#define OPUS_IMPORT_INT_H

#include "base/base.h"
#include "store/store.h"

#include <stdbool.h>

struct import_src;

/* True for a postgresql:// (or postgres://) URL. */
bool import_url_is_pg(const char *s);
/* True when a PostgreSQL URL holds a password (user:pw@ or password=):
 * refused, so that it is never printed. */
bool import_url_has_password(const char *url);

/* Opens OPUS's database read-only: a SQLite file, or a PostgreSQL URL with
 * the password from password_file's first line (NULL: libpq's own,
 * PGPASSWORD or ~/.pgpass). 0, or a negative opus_err with *why. */
int import_src_open(const char *source, const char *password_file, struct import_src **out,
		    char **why) OPUS_WUR;
/* Runs one query, its parameters $1..$n bound as text, every row as text
 * into out (ncols set here). A query the source cannot run (no such table
 * or column) is OPUS_ERR_INVAL with "not an OPUS job database". */
int import_src_query(struct import_src *s, const char *sql, int nparams, const char *const *params,
		     struct store_rows *out, char **why) OPUS_WUR;
/* Whether the source is a file (its folders are found beside it). */
bool import_src_is_file(const struct import_src *s);
void import_src_close(struct import_src *s);

#endif
