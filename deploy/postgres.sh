#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for hostca under one folder, reachable only
# through a unix socket in that folder. As root, the server runs as the
# postgres user (runuser), never as root.
#
#   deploy/postgres.sh start DIR [PORT] [--fast]   prints the connection string
#   deploy/postgres.sh stop DIR
#
# --fast turns off fsync for throwaway test clusters; never use it for a CA.
# HOSTCA_PG_SETTINGS adds server settings ("-c shared_buffers=2GB ...").
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
usage() { echo "usage: $0 start DIR [PORT] [--fast] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")
port=${3:-5432}
fast=${4:-}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    [ -x "$PGBIN/initdb" ] || { echo "postgres.sh: PostgreSQL 15 is not installed ($PGBIN/initdb missing)" >&2; exit 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if ! as_owner test -w "$dir"; then
      echo "postgres.sh: the postgres user cannot reach $dir (a parent folder is closed to it); pick a folder under /var/lib or /tmp" >&2
      exit 1
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$PGBIN/initdb" -D "$dir/data" -U hostca --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { echo "postgres.sh: initdb failed, see $dir/initdb.log" >&2; exit 1; }
    fi
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -p $port"
    opts="$opts ${HOSTCA_PG_SETTINGS:-}"
    if [ "$fast" = "--fast" ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
    if ! as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null ||
        { echo "postgres.sh: PostgreSQL did not start, see $dir/postgres.log" >&2; exit 1; }
    fi
    if ! as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U hostca -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'hostca'" | grep -q 1; then
      as_owner "$PGBIN/createdb" -h "$dir" -p "$port" -U hostca hostca
    fi
    echo "host=$dir port=$port dbname=hostca user=hostca"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
  *) usage ;;
esac
