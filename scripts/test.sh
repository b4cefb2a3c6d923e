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
pg_bindir() {
    local initdb
    # Highest installed major version; the glob stays literal if nothing matches.
    initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
    [[ -x "$initdb" ]] || return 1
    dirname "$initdb"
}

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
IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

# Run a command as the cluster owner: `postgres` when we are root (initdb refuses root).
as_pg() {
    if [[ "$IS_ROOT" -eq 1 ]]; then
        if command -v runuser >/dev/null; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

if [[ "$IS_ROOT" -eq 1 ]] && ! id -u postgres >/dev/null 2>&1; then
    log "creating system user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

PG_DIR=""      # this run's directory (data, socket, log); deleted on exit
PG_STARTED=0
PG_EXTRA_DIR="" # socket dir outside PG_DIR, only when PG_DIR's path is too long

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$PG_DIR" && -d "$PG_DIR" ]]; then
        if [[ "$PG_STARTED" -eq 1 ]]; then
            as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
                as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop \
                    >/dev/null 2>&1 || true
        fi
        rm -rf -- "$PG_DIR" || true
    fi
    if [[ -n "$PG_EXTRA_DIR" ]]; then
        rm -rf -- "$PG_EXTRA_DIR" || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Remove leftovers of earlier runs whose test.sh is gone (killed -9, machine crash, ...).
# Directories of runs still in progress (e.g. another checkout user running tests in parallel)
# are left alone.
owner_alive() {  # is PID a live (not zombie) test.sh?
    local pid="$1" state cmdline
    [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/stat" ]] || return 1
    state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *test.sh* ]]
}

remove_stale_clusters() {
    local dir owner
    [[ -d "$PG_PARENT" ]] || return 0
    for dir in "$PG_PARENT"/run.*; do
        [[ -d "$dir" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        if owner_alive "$owner"; then
            continue
        fi
        log "removing stale cluster $dir"
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf -- "$dir"
    done
}

free_port() {
    "$VENV/bin/python" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

remove_stale_clusters
mkdir -p "$PG_PARENT"
PG_DIR="$(mktemp -d "$PG_PARENT/run.XXXXXX")"
echo "$$" >"$PG_DIR/owner.pid"
if [[ "$IS_ROOT" -eq 1 ]]; then
    chown postgres: "$PG_DIR"
    if ! runuser -u postgres -- test -w "$PG_DIR"; then
        # The checkout lives where postgres cannot go (e.g. under /root): use /tmp instead.
        rm -rf -- "$PG_DIR"
        PG_DIR="$(mktemp -d /tmp/rescue-test-pg.XXXXXX)"
        log "postgres cannot reach $PG_PARENT; using $PG_DIR"
        echo "$$" >"$PG_DIR/owner.pid"
        chown postgres: "$PG_DIR"
    fi
fi
# Unix socket paths are limited to ~107 bytes.
if [[ ${#PG_DIR} -gt 80 ]]; then
    log "path $PG_DIR too long for a unix socket; the socket goes to /tmp"
    PG_SOCK="$(mktemp -d /tmp/rescue-pg-sock.XXXXXX)"
    PG_EXTRA_DIR="$PG_SOCK"
    if [[ "$IS_ROOT" -eq 1 ]]; then chown postgres: "$PG_SOCK"; fi
else
    PG_SOCK="$PG_DIR/sock"
    as_pg mkdir -m 700 "$PG_SOCK"
fi

log "initdb $PG_DIR/data ($PGBIN)"
# --no-sync only skips flushing initdb's own files (the cluster is thrown away anyway);
# the server itself runs with fsync=on.
as_pg "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --encoding=UTF8 --locale=C \
    --auth=trust --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log" >&2
    exit 1
}
as_pg tee "$PG_DIR/data/pg_hba.conf" >/dev/null <<'EOF'
# throw-away test cluster: trust, unix socket (inside a 0700 dir) and 127.0.0.1 only
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF

PG_PORT=""
for attempt in 1 2 3 4 5; do
    PG_PORT="$(free_port)"
    as_pg tee "$PG_DIR/data/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
EOF
    if as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start \
        >/dev/null; then
        PG_STARTED=1
        break
    fi
    log "PostgreSQL did not start on port $PG_PORT (attempt $attempt)"
    tail -n 20 "$PG_DIR/postgres.log" >&2 || true
done
if [[ "$PG_STARTED" -ne 1 ]]; then
    log "giving up starting PostgreSQL"
    # If pg_ctl timed out, a postmaster may still be around: make cleanup stop it.
    PG_STARTED=1
    exit 1
fi

"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE rescue LOGIN SUPERUSER PASSWORD 'rescue'" \
    -c "CREATE DATABASE rescue OWNER rescue"

export RESCUE_TEST_PG_URL="postgresql://rescue:rescue@127.0.0.1:$PG_PORT/rescue"
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" \
    "(data: $PG_DIR/data)"

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
