/*
 * db_copy: `opusd db copy --from SRC --to DST` (import.h): opens both
 * stores as the daemon would (the destination's schema is created), and
 * hands them to store_copy (store.h), which refuses a destination that is
 * not empty. A location is a postgresql:// URL (its password from
 * --from-password-file / --to-password-file, else libpq's PGPASSWORD or
 * ~/.pgpass; a URL that holds one is refused so that it is never shown) or
 * a SQLite file (the source must exist; the destination is created).
 */
#include "import/import-int.h"
#include "import/import.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct db_copy_args {
	const char *from, *to;
	const char *from_pw, *to_pw;
};

static void db_copy_usage(FILE *f)
{
	fprintf(f, "usage: opusd db copy --from SQLITE_FILE|postgresql://URL --to "
		   "SQLITE_FILE|postgresql://URL\n"
		   "                     [--from-password-file FILE] [--to-password-file FILE]\n"
		   "Copies every table of an opusd store into an empty one; stop the daemons "
		   "first.\n");
}

static int db_copy_parse(int argc, char **argv, struct db_copy_args *a)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"from-password-file", required_argument, NULL, 'F'},
	    {"to-password-file", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:t:F:T:h", longopts, NULL)) != -1) {
		if (ch == 'f')
			a->from = optarg;
		else if (ch == 't')
			a->to = optarg;
		else if (ch == 'F')
			a->from_pw = optarg;
		else if (ch == 'T')
			a->to_pw = optarg;
		else if (ch == 'h')
			return 1;
		else
			return OPUS_ERR_INVAL;
	}
	if (optind != argc || !a->from || !a->to || !*a->from || !*a->to)
		return OPUS_ERR_INVAL;
	return 0;
}

/* A location as a store configuration; *why when it cannot be one. */
static int db_copy_config(const char *where, const char *pw, bool source, struct store_config *sc,
			  char **why)
{
	memset(sc, 0, sizeof(*sc));
	if (import_url_is_pg(where)) {
		if (import_url_has_password(where)) {
			*why = xasprintf(
			    "the %s URL holds a password: give it with --%s-password-file "
			    "FILE or PGPASSWORD, so that it is never shown",
			    source ? "source" : "destination", source ? "from" : "to");
			return OPUS_ERR_INVAL;
		}
		sc->backend = "postgresql";
		sc->url = where;
		sc->password_file = pw;
		sc->pool_size = 2;
		return 0;
	}
	if (strstr(where, "://")) {
		*why = xasprintf("%s: neither a postgresql:// URL nor a SQLite file", where);
		return OPUS_ERR_INVAL;
	}
	if (pw) {
		*why = xasprintf("%s: a password file goes with a PostgreSQL URL only", where);
		return OPUS_ERR_INVAL;
	}
	if (source && access(where, R_OK) != 0) {
		*why = xasprintf("%s: no such SQLite database (or not readable)", where);
		return OPUS_ERR_NOTFOUND;
	}
	sc->backend = "sqlite";
	sc->path = where;
	return 0;
}

static int db_copy_open(const char *where, const char *pw, bool source, struct store **out,
			char **why)
{
	struct store_config sc;
	int ret = db_copy_config(where, pw, source, &sc, why);

	if (ret == 0 && (ret = store_open(&sc, out)) < 0)
		*why = xasprintf("%s: cannot open the %s store: %s (see the reason above)", where,
				 source ? "source" : "destination", opus_strerror(ret));
	return ret;
}

static void db_copy_print(const struct db_copy_args *a, const struct store_copy_report *rep)
{
	size_t total = 0;

	for (size_t i = 0; i < rep->ntables; i++)
		total += rep->derived[i] ? 0 : rep->rows[i];
	printf("copied %zu rows from %s to %s\n", total, a->from, a->to);
	for (size_t i = 0; i < rep->ntables; i++)
		printf("  %-16s %zu%s\n", rep->table[i], rep->rows[i],
		       rep->derived[i] ? " (kept by the destination, checked equal)" : "");
}

int db_copy_main(int argc, char **argv)
{
	struct db_copy_args a = {0};
	struct store_copy_report rep;
	struct store *from = NULL, *to = NULL;
	char *why = NULL;
	int ret = db_copy_parse(argc, argv, &a);

	if (ret != 0) {
		db_copy_usage(ret > 0 ? stdout : stderr);
		return ret > 0 ? 0 : 2;
	}
	if (!strcmp(a.from, a.to)) {
		fprintf(stderr, "opusd: db copy: the source and the destination are the same\n");
		return 2;
	}
	ret = db_copy_open(a.from, a.from_pw, true, &from, &why);
	if (ret == 0)
		ret = db_copy_open(a.to, a.to_pw, false, &to, &why);
	if (ret == 0)
		ret = store_copy(from, to, &rep, &why);
	store_close(to);
	store_close(from);
	if (ret == 0)
		db_copy_print(&a, &rep);
	else
		fprintf(stderr, "opusd: db copy: %s\n", why ? why : opus_strerror(ret));
	free(why);
	return ret == 0 ? 0 : 1;
}
