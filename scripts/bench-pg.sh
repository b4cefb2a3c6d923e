#!/usr/bin/env bash
# `rescue bench` on SQLite and on a throw-away PostgreSQL: ./scripts/bench-pg.sh [bench args...]
#
#   e.g. ./scripts/bench-pg.sh --only http --only live --only calls --out var/bench
#
# Starts the cluster ./scripts/test.sh starts (scripts/pg-cluster.sh; PostgreSQL must be
# installed: ./scripts/test.sh installs it), runs `rescue bench --pg-url URL ARGS` from .venv,
# and stops and deletes the cluster after, whatever happens; exits with the bench's code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PG_PARENT="$ROOT/var/test-pg"

log() { printf '[bench-pg.sh] %s\n' "$*" >&2; }

[[ -x "$VENV/bin/rescue" ]] || { log "no $VENV: run ./scripts/test.sh --venv-only"; exit 1; }
# shellcheck source=scripts/pg-cluster.sh
source "$ROOT/scripts/pg-cluster.sh"
PGBIN="$(pg_bindir)" || { log "PostgreSQL is not installed: run ./scripts/test.sh once"; exit 1; }
start_pg_cluster "$PGBIN"

rc=0
"$VENV/bin/rescue" bench --pg-url "$RESCUE_TEST_PG_URL" "$@" || rc=$?
exit "$rc"
