#!/usr/bin/env bash
# `make run`: opusd with its embedded defaults (SQLite under ./var, local
# executor, ./jobdefs) on http://127.0.0.1:8080. Extra flags pass through:
#   make run ARGS="--listen 127.0.0.1:9000"
set -euo pipefail
bin=$1; shift
cat <<'MSG'
opusd on http://127.0.0.1:8080/  (Ctrl-C stops it)
  create and run a job:  curl -i -d text=hello -d PHASE=RUN http://127.0.0.1:8080/rest/copy
  follow it:             curl 'http://127.0.0.1:8080/rest/copy/<id>?WAIT=30'
  its result:            curl http://127.0.0.1:8080/rest/copy/<id>/results/output
MSG
exec "$bin" "$@"
