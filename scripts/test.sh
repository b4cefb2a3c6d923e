#!/usr/bin/env bash
# The test command: ./scripts/test.sh [pytest args...]
#
#   1. creates .venv (if missing) and installs the project with `pip install -e ".[test]"`,
#      skipping the install when pyproject.toml is unchanged since the last one
#      (stamp: .venv/.rescue-install-stamp holds its sha256);
#   2. installs the Debian packages `postgresql`, `chromium` and `wrk` if they are missing;
#   3. starts a throw-away PostgreSQL cluster (initdb into var/test-pg/run.*, 127.0.0.1 only,
#      free port, trust auth, fsync on) and exports
#      RESCUE_TEST_PG_URL=postgresql://rescue:rescue@127.0.0.1:PORT/rescue;
#   4. runs `python -m pytest ARGS` (default `-m "not slow"` unless ARGS contain their own -m,
#      and `-n 3` (pytest-xdist workers; RESCUE_TEST_WORKERS) unless ARGS contain their own -n);
#   5. with RESCUE_LINT=1, also runs ./scripts/lint.sh.
# The cluster is stopped and its directory deleted on exit, whatever happens; the script exits
# with pytest's code (or lint's, when pytest passed and lint failed).
#
# Internal: `./scripts/test.sh --venv-only` only does step 1 (used by scripts/lint.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
STAMP="$VENV/.rescue-install-stamp"
PG_PARENT="$ROOT/var/test-pg"

log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    else
        sudo "$@"
    fi
}

# ---------------------------------------------------------------------------------------------
# 1. virtualenv
# ---------------------------------------------------------------------------------------------
ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating $VENV"
        python3 -m venv "$VENV"
        rm -f "$STAMP"
    fi
    local want have=""
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    [[ -f "$STAMP" ]] && have="$(cat "$STAMP")"
    if [[ "$want" != "$have" ]]; then
        log "installing the project into .venv (pip install -e \".[test]\")"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e ".[test]"
        printf '%s\n' "$want" >"$STAMP"
    fi
}

ensure_venv
if [[ "${1:-}" == "--venv-only" ]]; then
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# 2. Debian packages
# ---------------------------------------------------------------------------------------------
# shellcheck source=scripts/pg-cluster.sh
source "$ROOT/scripts/pg-cluster.sh"

# A CJK font, so the pages' Chinese is legible in the screenshots the browser tests save.
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
# wrk: the HTTP load generator of `rescue bench` (rescue.bench.wrk).
if ! pg_bindir >/dev/null || [[ ! -x /usr/bin/chromium ]] || [[ ! -f "$CJK_FONT" ]] ||
    [[ ! -x /usr/bin/wrk ]]; then
    log "installing Debian packages: postgresql chromium fonts-wqy-microhei wrk"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends postgresql chromium fonts-wqy-microhei wrk
fi
PGBIN="$(pg_bindir)" || { log "no /usr/lib/postgresql/*/bin/initdb after install"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 3. throw-away PostgreSQL cluster
# ---------------------------------------------------------------------------------------------
start_pg_cluster "$PGBIN"

# ---------------------------------------------------------------------------------------------
# 4. pytest (5. lint)
# ---------------------------------------------------------------------------------------------
has_marker_arg=0
for arg in "$@"; do
    if [[ "$arg" == "-m" || "$arg" == -m?* ]]; then
        has_marker_arg=1
    fi
done
has_workers_arg=0
for arg in "$@"; do
    if [[ "$arg" == "-n" || "$arg" == -n?* || "$arg" == "--numprocesses"* ]]; then
        has_workers_arg=1
    fi
done
args=("$@")
if [[ "$has_marker_arg" -eq 0 ]]; then
    args=(-m "not slow" "${args[@]}")
fi
# Most tests wait on servers, sockets and disks rather than the CPU, so three
# workers finish far sooner than one even on two cores (RESCUE_TEST_WORKERS=0: none).
workers="${RESCUE_TEST_WORKERS:-3}"
if [[ "$has_workers_arg" -eq 0 && "$workers" != "0" ]]; then
    args=(-n "$workers" "${args[@]}")
fi

log "python -m pytest$(printf " %q" "${args[@]}")"
rc=0
"$VENV/bin/python" -m pytest "${args[@]}" || rc=$?

if [[ "${RESCUE_LINT:-0}" == "1" ]]; then
    lint_rc=0
    "$ROOT/scripts/lint.sh" || lint_rc=$?
    if [[ "$rc" -eq 0 ]]; then
        rc=$lint_rc
    fi
fi

exit "$rc"
