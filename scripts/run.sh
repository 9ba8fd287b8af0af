#!/usr/bin/env bash
# `make run`: opusd with its embedded defaults (SQLite under ./var, local
# executor, ./jobdefs) on http://127.0.0.1:8080. Extra flags pass through:
#   make run ARGS="--listen 127.0.0.1:9000"
# The daemon's first log lines name the address it listens on and a first
# request to try on a description it has loaded.
set -euo pipefail
bin=$1; shift
args=()
# As root, jobs must run as an unprivileged user (jobs.run_as): make run uses a
# system account `opusd` (created when missing) unless one is given.
if [ "$(id -u)" -eq 0 ] && ! printf '%s\n' "$@" | grep -q -- '^--run-as\|^--config'; then
	if ! id -u opusd >/dev/null 2>&1; then
		echo "opusd: creating the system user opusd that jobs run as" >&2
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin opusd
	fi
	args+=(--run-as opusd)
fi
echo "opusd: Ctrl-C stops it" >&2
exec "$bin" "${args[@]}" "$@"
