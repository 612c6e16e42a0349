#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh dotnet test tests/Durably.Postgres.Tests
#
# The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port (and on a
# unix socket inside that folder), and is stopped and deleted when the command ends, however
# it ends. The command sees DURABLY_POSTGRES, an Npgsql connection string to a database
# named "durably" whose user "postgres" is a superuser (trust authentication, local only).
# The script exits with the command's exit code. Several copies may run at once: each gets
# its own folder and port.
#
# PostgreSQL binaries are taken from /usr/lib/postgresql/<version>/bin (newest first), or
# from PATH. When none are found and the script runs as root, it installs Debian's
# postgresql package first. PostgreSQL refuses to run as root, so as root the cluster runs
# as the "postgres" user (created if missing).
set -euo pipefail

log() { echo "with-postgres: $*" >&2; }

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

bindir="$(find_bindir || true)"
if [[ -z "$bindir" ]]; then
    if [[ "$(id -u)" -eq 0 ]]; then
        log "PostgreSQL not found; installing Debian's postgresql package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y postgresql >&2
        bindir="$(find_bindir || true)"
    fi
    if [[ -z "$bindir" ]]; then
        echo "with-postgres: no PostgreSQL binaries (initdb, pg_ctl) found. Install PostgreSQL (Debian: apt-get install postgresql) or run as root to install it automatically." >&2
        exit 1
    fi
fi

# As root, run the server as an unprivileged user.
as_owner=()
if [[ "$(id -u)" -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    as_owner=(runuser -u postgres --)
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/durably-pg.XXXXXX")"
data="$tmp/data"
sock="$tmp/sock"
mkdir -p "$sock"
if [[ ${#as_owner[@]} -gt 0 ]]; then
    chown -R postgres: "$tmp"
fi

started=0
cleanup() {
    local status=$?
    if [[ $started -eq 1 ]]; then
        "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_owner[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log" >&2; exit 1; }

# Pick a free port; if another process takes it first, the start fails and the next one is tried.
port=""
for attempt in $(seq 1 20); do
    candidate=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        continue
    fi
    if "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 60 start \
        -o "-p $candidate -k $sock -c listen_addresses=127.0.0.1 -c max_connections=400" >/dev/null 2>&1; then
        port=$candidate
        started=1
        break
    fi
    log "could not start on port $candidate (attempt $attempt); trying another"
done
if [[ -z "$port" ]]; then
    echo "with-postgres: the server did not start; its log follows." >&2
    cat "$tmp/server.log" >&2 || true
    exit 1
fi

"${as_owner[@]}" "$bindir/psql" -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE durably" >&2

export DURABLY_POSTGRES="Host=127.0.0.1;Port=$port;Database=durably;Username=postgres"
log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $data)"

set +e
"$@"
status=$?
set -e
exit $status
