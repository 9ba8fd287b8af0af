#!/usr/bin/env bash
# `make run`: opusd with its embedded defaults (SQLite under ./var, local
# executor, ./jobdefs) on http://127.0.0.1:8080. Extra flags pass through:
#   make run ARGS="--listen 127.0.0.1:9000"
# The daemon's first log lines name the address it listens on and a first
# request to try on a description it has loaded.
set -euo pipefail
bin=$1; shift
echo "opusd: Ctrl-C stops it" >&2
exec "$bin" "$@"
