#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback for the tests and prints its DSN on stdout.
#
#   scripts/postgres.sh start   # install from Debian if missing, initdb, start, create the db, print the DSN
#   scripts/postgres.sh dsn     # print the DSN of the server started in CTXTRAIL_PG_DIR
#   scripts/postgres.sh stop    # stop it and remove its folder
#
# CI:   export CTXTRAIL_POSTGRES_DSN="$(scripts/postgres.sh start)"
#       ... go test ./... ...
#       scripts/postgres.sh stop
#
# Environment:
#   CTXTRAIL_PG_DIR      folder for the cluster, its socket, log and DSN (default /tmp/ctxtrail-postgres);
#                        start and stop must agree on it. It must sit in a folder the postgres user
#                        can traverse (e.g. directly under /tmp) when run as root.
#   CTXTRAIL_PG_PORT     port to try first (default 55432); if busy, the next free one up to +100
#   CTXTRAIL_PG_DB       database to create (default ctxtrail)
#   CTXTRAIL_PG_INSTALL  "never" refuses to apt-get install (the tests set it); default installs when root
#
# Everything but the DSN goes to stderr. The server is for tests only: trust auth, fsync off.
set -euo pipefail

dir=${CTXTRAIL_PG_DIR:-/tmp/ctxtrail-postgres}
first_port=${CTXTRAIL_PG_PORT:-55432}
dbname=${CTXTRAIL_PG_DB:-ctxtrail}

log() { echo "postgres.sh: $*" >&2; }

# bindir prints the folder that holds initdb and pg_ctl, newest major version first.
bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    echo "$d"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

install() {
  if [ "${CTXTRAIL_PG_INSTALL:-}" = never ]; then
    log "PostgreSQL is not installed and CTXTRAIL_PG_INSTALL=never; install it with: apt-get install -y postgresql"
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed; run as root, or: sudo apt-get install -y postgresql"
    exit 1
  fi
  log "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
}

# as_owner runs a command as the cluster's owner: postgres when we are root (initdb and postgres
# refuse to run as root), ourselves otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# port_busy reports whether something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dsn_for() {
  echo "postgres://postgres@127.0.0.1:$1/$dbname?sslmode=disable"
}

running() {
  local bin=$1
  [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
  local bin
  bin=$(bindir) || { install; bin=$(bindir) || { log "initdb not found after install"; exit 1; }; }

  if running "$bin" && [ -f "$dir/dsn" ]; then
    cat "$dir/dsn"
    return 0
  fi

  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
  fi
  chmod 700 "$dir/data"

  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { log "initdb failed; log follows"; cat "$dir/initdb.log" >&2; exit 1; }

  local port=$first_port last=$((first_port + 100))
  while [ "$port" -le "$last" ]; do
    if port_busy "$port"; then
      port=$((port + 1))
      continue
    fi
    # -w waits until the server accepts connections. max_connections leaves room for tests that
    # hold 100 transactions at once.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2; then
      break
    fi
    if grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null; then
      log "port $port taken while starting; trying the next one"
      port=$((port + 1))
      continue
    fi
    log "postgres did not start; log follows"
    cat "$dir/server.log" >&2
    exit 1
  done
  if [ "$port" -gt "$last" ]; then
    log "no free port in $first_port..$last"
    exit 1
  fi

  for _ in $(seq 1 60); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
    sleep 0.5
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || { log "server not ready after 30s"; cat "$dir/server.log" >&2; exit 1; }

  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$dbname"
  dsn_for "$port" >"$dir/dsn"
  cat "$dir/dsn"
}

stop() {
  local bin
  if ! bin=$(bindir); then
    rm -rf "$dir"
    return 0
  fi
  if running "$bin"; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  dsn)
    [ -f "$dir/dsn" ] || { log "no server in $dir; run: $0 start"; exit 1; }
    cat "$dir/dsn"
    ;;
  *) echo "usage: $0 start|stop|dsn" >&2; exit 2 ;;
esac
