/*
 * pg_server.h: a real PostgreSQL server for the unit tests of the
 * PostgreSQL store backend, started by scripts/pg.sh into a temporary
 * directory on 127.0.0.1, and a fresh database per test on it.
 *
 * pg_server_up() answers false (the caller skips, with the message printed)
 * only when the PostgreSQL binaries are missing; any other failure to start
 * is a test failure. Single-threaded use (from main and the tests' bodies).
 * Included by: tests/unit/test_store_pg*.c only.
 */
#ifndef OPUS_PG_SERVER_H
#define OPUS_PG_SERVER_H

#include "base/base.h"

#include <glob.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct pg_server {
	char dir[128];
	char port[16];
	char url[512]; /* the server's own database (pg.sh's), for CREATE DATABASE */
	int ndb;
};

static bool pg_server_binaries(void)
{
	glob_t g;
	bool found = glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return found;
}

/* Runs scripts/pg.sh with (verb, dir, port); its last stdout line into out. */
static int pg_server_script(const struct pg_server *s, const char *verb, char *out, size_t cap)
{
	char *argv[] = {"scripts/pg.sh", (char *)verb, (char *)s->dir, (char *)s->port, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0;
	pid_t pid;
	char buf[4096];
	size_t len = 0;
	ssize_t r;
	if (pipe(fds) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	/* or the server pg_ctl starts keeps the pipe open, and read() never ends */
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((r = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fds[0]);
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (out) {
		const char *last = strrchr(buf, '\n');
		snprintf(out, cap, "%s", last ? last + 1 : buf);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* Starts a server on a port derived from the pid (tests run in parallel). */
static bool pg_server_up(struct pg_server *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	if (!pg_server_binaries()) {
		printf("SKIP %s: PostgreSQL binaries missing (scripts/deps.sh installs them)\n",
		       name);
		return false;
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/opusd-%s-pg-%d", name, (int)getpid());
	snprintf(s->port, sizeof(s->port), "%d", 20000 + (int)(getpid() % 20000));
	if (pg_server_script(s, "up", s->url, sizeof(s->url)) != 0 ||
	    strncmp(s->url, "postgresql://", 13) != 0) {
		fprintf(stderr, "pg_server: scripts/pg.sh up %s %s failed (%s)\n", s->dir, s->port,
			s->url);
		s->url[0] = '\0';
	}
	return true;
}

static void pg_server_down(struct pg_server *s)
{
	if (s->dir[0] && pg_server_script(s, "down", NULL, 0) != 0)
		fprintf(stderr, "pg_server: scripts/pg.sh down %s failed\n", s->dir);
	if (s->dir[0])
		(void)rm_rf(s->dir);
}

/* Runs SQL text on the database at url (test setup only; no user input).
 * Returns the first column of the first row as an integer, -1 when none or
 * on an error (printed). */
static int64_t pg_sql_int(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r = NULL;
	int64_t v = -1;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pg_sql: %s", PQerrorMessage(c));
	} else {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		    !PQgetisnull(r, 0, 0))
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		else if (PQresultStatus(r) == PGRES_COMMAND_OK)
			v = 0;
		else if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fprintf(stderr, "pg_sql: %s: %s", sql, PQresultErrorMessage(r));
	}
	PQclear(r);
	PQfinish(c);
	return v;
}

/* A fresh, empty database on the server: its URL (caller frees), NULL when
 * the server is not up. */
static char *pg_server_fresh_db(struct pg_server *s)
{
	char sql[96], *url, *slash;
	if (!s->url[0])
		return NULL;
	snprintf(sql, sizeof(sql), "CREATE DATABASE t%d_%d", (int)getpid(), ++s->ndb);
	if (pg_sql_int(s->url, sql) != 0)
		return NULL;
	url = xstrdup(s->url);
	slash = strrchr(url, '/');
	if (slash) {
		char *q = strchr(slash, '?');
		char *fresh = xasprintf("%.*s/t%d_%d%s", (int)(slash - url), url, (int)getpid(),
					s->ndb, q ? q : "");
		free(url);
		url = fresh;
	}
	return url;
}

#endif
