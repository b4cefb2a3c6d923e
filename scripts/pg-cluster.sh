# The throw-away PostgreSQL cluster of ./scripts/test.sh and ./scripts/bench-pg.sh, sourced by
# both after they define ROOT, VENV, PG_PARENT and log().
#
# pg_bindir: the bin directory of the highest PostgreSQL installed (fails if none).
# start_pg_cluster PGBIN: initdb into $PG_PARENT/run.* (127.0.0.1 only, free port, trust auth,
# fsync on), a login `rescue` (superuser) and a database `rescue`; exports
# RESCUE_TEST_PG_URL=postgresql://rescue:rescue@127.0.0.1:PORT/rescue. An EXIT trap stops the
# cluster and deletes its directory, whatever happens, and exits with the script's code.
# Directories left by earlier runs whose script is gone are removed first.

pg_bindir() {
    local initdb
    # Highest installed major version; the glob stays literal if nothing matches.
    initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
    [[ -x "$initdb" ]] || return 1
    dirname "$initdb"
}

start_pg_cluster() {
    PGBIN="$1"
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

    # Remove leftovers of earlier runs whose script is gone (killed -9, machine crash, ...).
    # Directories of runs still in progress (e.g. another checkout user running tests in parallel)
    # are left alone.
    owner_alive() {  # is PID a live (not zombie) test.sh or bench-pg.sh?
        local pid="$1" state cmdline
        [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/stat" ]] || return 1
        state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
        [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
        [[ "$cmdline" == *test.sh* || "$cmdline" == *bench-pg.sh* ]]
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
}
