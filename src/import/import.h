/*
 * import: bring an OPUS site's jobs and users into opusd's store
 * (`opusd import-opus`).
 *
 * The source is OPUS's SQLAlchemy database (uws_server/storage.py: tables
 * jobs, job_parameters, job_results, users, entities), its SQLite file or
 * its PostgreSQL database (a URL; the password from a file or PGPASSWORD,
 * never printed), read-only with parameterised statements, and its folders: jobdata/{jobid}/
 * (stdout.log, stderr.log) and results/{jobid}/ (the files its entities name). Jobs keep their ids;
 * result files are copied into data_dir/jobs/{id}/ and registered as entities of the entity store
 * (sha256) like the results of a job run here; users get accounts with the same names and roles and
 * NEW tokens, written once to the tokens file (mode 0600), never printed. Everything goes through
 * store.h, auth.h and prov.h, so any store backend works, and the daemon may be running (its store
 * is shared as by `opusd user`).
 *
 * Idempotent: a job or user already present is left as it is. Every item
 * left out is reported with its reason; only a fatal error (the source
 * unreadable, a store failure) makes import_opus_run() fail.
 *
 * Threading: one caller (the command line). Ownership: the caller keeps the
 * store, auth, prov and registry; the report is the caller's
 * (import_report_release).
 */
#ifndef OPUS_IMPORT_H
#define OPUS_IMPORT_H

#include "auth/auth.h"
#include "base/base.h"
#include "jdl/jdl.h"
#include "prov/prov.h"
#include "store/store.h"

#include <stdio.h>

struct import_config {
	const char *source; /* OPUS's SQLite file or a postgresql:// URL (no password) */
	const char *source_password_file; /* the PostgreSQL password; NULL: PGPASSWORD */
	const char *jobdata_dir;	  /* OPUS's JOBDATA_PATH; NULL: {source dir}/../jobdata */
	const char *results_dir;	  /* OPUS's RESULTS_PATH; NULL: beside jobdata_dir */
	const char *tokens_path;	  /* where re-issued tokens go; required when users come */
	const char *data_dir;		  /* opusd's data_dir, absolute */
};

struct import_deps {
	struct store *st;
	struct auth *auth;
	struct prov *prov;
	struct jdl_registry *reg;
};

/* What happened: counts, and one line per item left out ("job f755f0:
 * unknown job description nope"). */
struct import_report {
	size_t jobs, users, results, roles;
	size_t jobs_present, users_present; /* already there: skipped */
	struct sbuf skipped;		    /* lines, each ending in '\n' */
	size_t nskipped;
};

/* Runs the import. 0, or a negative opus_err with *why_out (caller frees)
 * on a fatal error; the report holds what was done until then. */
int import_opus_run(const struct import_config *cfg, const struct import_deps *deps,
		    struct import_report *rep, char **why_out) OPUS_WUR;
/* The report as text for stdout. */
void import_report_print(const struct import_report *rep, FILE *f);
void import_report_release(struct import_report *rep);

/*
 * `opusd db copy --from SRC --to DST [--from-password-file F]
 * [--to-password-file F]` (db_copy.c): the whole store from one database to
 * another (store.h store_copy), each a SQLite file or a postgresql:// URL;
 * argv[0] is "copy". The daemons on both must be stopped. Returns the exit
 * status (0, 1 on failure, 2 on a usage error); prints the counts.
 */
int db_copy_main(int argc, char **argv);

#endif
