#!/usr/bin/env bash
# A real PostgreSQL server on 127.0.0.1 for the tests, without systemd:
#   scripts/pg.sh up DIR [PORT]    initdb into DIR (when new), start, role and
#                                  database "opusd"; prints the URL, last line
#   scripts/pg.sh stop DIR         stop (fast), keeping DIR (up starts it again)
#   scripts/pg.sh down DIR         stop (fast) and remove DIR
#   scripts/pg.sh status DIR       exit 0 while it runs
#   scripts/pg.sh sql DIR PORT DB  runs stdin's SQL in DB as the superuser
#                                  (tests: roles, terminating backends)
# PORT defaults to 6543. The role may create databases (a fresh one per test).
# fsync and synchronous_commit are off: for tests only, never a production
# recipe. As root the server runs as user postgres; otherwise as the caller.
# The packages come from scripts/deps.sh (postgresql with the test tag).
set -euo pipefail
verb=${1:-}
dir=${2:-}
port=${3:-6543}
[ -n "$verb" ] && [ -n "$dir" ] || { echo "usage: $0 up|stop|down|status|sql DIR [PORT [DB]]" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "pg.sh: PostgreSQL binaries missing (scripts/deps.sh build test)" >&2; exit 1; }
pass=opusd-test
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
running() { [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

up() {
	if ! running; then
		if [ ! -f "$dir/data/PG_VERSION" ]; then
			rm -rf "$dir"
			mkdir -p "$dir/sock"
			[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
			chmod 0700 "$dir"
			as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
				--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
		fi
		as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
			"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
			start >/dev/null
	fi
	as_pg "$bin/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
SELECT 'CREATE ROLE opusd LOGIN CREATEDB PASSWORD ''$pass'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opusd') \gexec
SELECT 'CREATE DATABASE opusd OWNER opusd'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'opusd') \gexec
SQL
	echo "postgresql://opusd:$pass@127.0.0.1:$port/opusd"
}

case "$verb" in
up) up ;;
down)
	# fast, then immediate if fast did not end it within 30 s
	if running; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
stop) # keeps DIR: `up DIR PORT` starts the same cluster again
	if running; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
	;;
status) running ;;
sql)
	db=${4:-}
	[ -n "$db" ] || { echo "usage: $0 sql DIR PORT DB < SQL" >&2; exit 2; }
	as_pg "$bin/psql" -h "$dir/sock" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAtX
	;;
*) echo "usage: $0 up|stop|down|status|sql DIR [PORT [DB]]" >&2; exit 2 ;;
esac
