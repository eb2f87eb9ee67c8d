#!/usr/bin/env bash
# Scale-out on one machine, with PostgreSQL's own tools: a PostgreSQL 15
# primary, a streaming replica of it (synchronous: a commit acknowledged to
# a hostca server is on both), an initialised CA and two hostca servers whose
# connection string names both clusters with target_session_attrs=read-write,
# so that after a failover they find the new primary by themselves.
#
#   deploy/replica.sh start DIR      start everything (makes it the first time)
#   deploy/replica.sh failover DIR   kill the primary (-m immediate), promote the
#                                    replica, wait until it accepts writes
#   deploy/replica.sh status DIR     roles, replication, servers and addresses
#   deploy/replica.sh stop DIR       stop the servers, then PostgreSQL
#
# Everything lives under DIR: the clusters in DIR/pg1 and DIR/pg2 (data and
# unix socket; no TCP listener), the passphrase, tls/, admin.key (0600), and
# per server serverN.log, serverN.ready.json, serverN.pid. The servers listen
# on 127.0.0.1 with ports the kernel picks (see status or the ready files).
# After a failover the old primary is marked retired and never started again:
# it may hold WAL the new primary does not have. Rebuild it as a replica with
# pg_basebackup (or pg_rewind) before using it.
#
# Environment: PGBIN (default /usr/lib/postgresql/15/bin), HOSTCA_BUILD_DIR
# (default <repo>/build), HOSTCA_PG_PORTS (default "5432 5433": only name the
# socket files), HOSTCA_CRL_SHARDS (default 16), HOSTCA_SERVE_ARGS (more
# `serve` flags).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
build=${HOSTCA_BUILD_DIR:-$root/build}
server_bin=$build/ca/hostca-server
nodes=(pg1 pg2)
read -r -a ports <<<"${HOSTCA_PG_PORTS:-5432 5433}"
servers=2
wait_seconds=60

usage() { echo "usage: $0 start|stop|failover|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")

say() { echo "replica.sh: $*"; }
die() { echo "replica.sh: $*" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

node_dir() { echo "$dir/$1"; }
node_port() { [ "$1" = pg1 ] && echo "${ports[0]}" || echo "${ports[1]}"; }
other() { [ "$1" = pg1 ] && echo pg2 || echo pg1; }

conninfo() {
  echo "host=$dir/pg1,$dir/pg2 port=${ports[0]},${ports[1]} dbname=hostca user=hostca target_session_attrs=read-write connect_timeout=5"
}

# psql on one node, as the owner; -X: no psqlrc.
node_sql() {
  local node=$1 db=$2 sql=$3
  as_owner "$PGBIN/psql" -X -h "$(node_dir "$node")" -p "$(node_port "$node")" -U hostca \
    -d "$db" -v ON_ERROR_STOP=1 -tAc "$sql"
}

running() { as_owner "$PGBIN/pg_ctl" -D "$(node_dir "$1")/data" status >/dev/null 2>&1; }
retired() { [ -f "$(node_dir "$1")/RETIRED" ]; }

# primary, standby, down or retired
role() {
  if retired "$1"; then echo retired; return; fi
  if ! running "$1"; then echo down; return; fi
  case "$(node_sql "$1" postgres "SELECT pg_is_in_recovery()" 2>/dev/null || true)" in
    f) echo primary ;;
    t) echo standby ;;
    *) echo starting ;;
  esac
}

wait_for() {  # SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "gave up after ${seconds}s waiting for $what"
    sleep 0.2
  done
}

start_node() {
  local node=$1 d
  d=$(node_dir "$node")
  running "$node" && return 0
  # Node settings on the command line (the data folder of a replica is a copy
  # of the primary's, postgresql.conf included); cluster_name is what the
  # standby reports as its application_name, which synchronous_standby_names names.
  as_owner "$PGBIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t $wait_seconds \
    -o "-c listen_addresses='' -c unix_socket_directories='$d' -p $(node_port "$node") -c cluster_name=$node" \
    start >/dev/null || die "PostgreSQL $node did not start, see $d/postgres.log"
}

make_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$1"; fi
  chmod 700 "$1"
}

make_primary() {
  local d
  d=$(node_dir pg1)
  make_dir "$d"
  as_owner test -w "$d" ||
    die "the postgres user cannot reach $d (a parent folder is closed to it); pick a folder under /var/lib or /tmp"
  as_owner "$PGBIN/initdb" -D "$d/data" -U hostca --auth=trust -E UTF8 >"$d/initdb.log" 2>&1 ||
    die "initdb failed, see $d/initdb.log"
  # Durable commits (fsync and synchronous_commit on, the defaults), WAL for a
  # streaming replica. The default pg_hba.conf already trusts local replication.
  cat >>"$d/data/postgresql.conf" <<EOF

# hostca: primary with a synchronous streaming replica (deploy/replica.sh)
wal_level = replica
max_wal_senders = 5
synchronous_commit = on
hot_standby = on
EOF
  start_node pg1
  as_owner "$PGBIN/createdb" -h "$d" -p "$(node_port pg1)" -U hostca hostca
  say "primary pg1 made: $d/data"
}

make_replica() {  # NODE from the running primary PRIMARY
  local node=$1 primary=$2 d
  d=$(node_dir "$node")
  make_dir "$d"
  as_owner rm -rf "$d/data"
  as_owner "$PGBIN/pg_basebackup" -h "$(node_dir "$primary")" -p "$(node_port "$primary")" \
    -U hostca -D "$d/data" -R -X stream -c fast >"$d/basebackup.log" 2>&1 ||
    die "pg_basebackup failed, see $d/basebackup.log"
  say "replica $node made from $primary with pg_basebackup -R -X stream: $d/data"
}

streaming() {  # PRIMARY STANDBY: the standby streams synchronously from the primary
  [ "$(node_sql "$1" postgres "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2' AND state = 'streaming'")" = sync ]
}

set_synchronous() {  # PRIMARY STANDBY
  node_sql "$1" postgres "ALTER SYSTEM SET synchronous_standby_names = '$2'" >/dev/null
  node_sql "$1" postgres "SELECT pg_reload_conf()" >/dev/null
}

accepts_writes() {  # NODE: a transaction with an xid commits (so it would wait for a sync standby)
  node_sql "$1" postgres "BEGIN; CREATE TEMP TABLE hostca_write_probe (x int); COMMIT" &&
    [ "$(node_sql "$1" postgres "SELECT pg_is_in_recovery()")" = f ]
}

server_alive() { [ -f "$dir/server$1.pid" ] && kill -0 "$(cat "$dir/server$1.pid")" 2>/dev/null; }

server_addresses() {  # N: "grpc 127.0.0.1:P http 127.0.0.1:Q" from the ready file
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("gRPC 127.0.0.1:%d  HTTP 127.0.0.1:%d" % (r["grpc_port"], r["http_port"]))' \
    "$dir/server$1.ready.json"
}

start_servers() {
  local i
  for ((i = 0; i < servers; i++)); do
    if server_alive "$i"; then continue; fi
    rm -f "$dir/server$i.ready.json"
    # shellcheck disable=SC2086
    setsid "$server_bin" serve --database "$(conninfo) user=hostca_server" --passphrase-file "$dir/passphrase" \
      --tls-dir "$dir/tls" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
      --ready-file "$dir/server$i.ready.json" ${HOSTCA_SERVE_ARGS:-} \
      </dev/null >>"$dir/server$i.log" 2>&1 &
    echo $! >"$dir/server$i.pid"
  done
  for ((i = 0; i < servers; i++)); do
    local deadline=$((SECONDS + wait_seconds))
    until [ -s "$dir/server$i.ready.json" ]; do
      server_alive "$i" || die "server$i exited before it was ready, see $dir/server$i.log"
      [ $SECONDS -lt $deadline ] || die "server$i not ready after ${wait_seconds}s, see $dir/server$i.log"
      sleep 0.2
    done
    say "server$i (pid $(cat "$dir/server$i.pid")): $(server_addresses "$i")"
  done
}

stop_servers() {
  local i pid
  for ((i = 0; i < servers; i++)); do
    [ -f "$dir/server$i.pid" ] || continue
    pid=$(cat "$dir/server$i.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      local deadline=$((SECONDS + 20))
      while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      say "server$i (pid $pid) stopped"
    fi
    rm -f "$dir/server$i.pid"
  done
}

cmd_start() {
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 is not installed ($PGBIN/initdb missing)"
  [ -x "$server_bin" ] || die "$server_bin is missing: build first (deploy/build.sh)"
  mkdir -p "$dir"
  chmod 711 "$dir"
  if [ ! -f "$dir/pg1/data/PG_VERSION" ] && [ ! -f "$dir/pg2/data/PG_VERSION" ]; then
    make_primary
    make_replica pg2 pg1
  fi
  local node
  for node in "${nodes[@]}"; do
    if retired "$node"; then say "$node is retired (the primary before a failover): not started"; continue; fi
    start_node "$node"
  done
  local primary="" standby=""
  for node in "${nodes[@]}"; do
    retired "$node" && continue
    wait_for $wait_seconds "$node to accept connections" node_sql "$node" postgres "SELECT 1"
    case "$(role "$node")" in
      primary) primary=$node ;;
      standby) standby=$node ;;
    esac
  done
  [ -n "$primary" ] || die "no primary is running (pg1: $(role pg1), pg2: $(role pg2)); see $dir/pg*/postgres.log"
  if [ -n "$standby" ]; then
    set_synchronous "$primary" "$standby"
    wait_for $wait_seconds "$standby to stream synchronously from $primary" streaming "$primary" "$standby"
    say "PostgreSQL: primary $primary ($(node_dir "$primary")), synchronous standby $standby ($(node_dir "$standby"))"
  else
    node_sql "$primary" postgres "ALTER SYSTEM SET synchronous_standby_names = ''" >/dev/null
    node_sql "$primary" postgres "SELECT pg_reload_conf()" >/dev/null
    say "PostgreSQL: primary $primary ($(node_dir "$primary")), no standby (commits are not replicated)"
  fi

  if [ ! -s "$dir/passphrase" ]; then
    (umask 077 && openssl rand -base64 33 >"$dir/passphrase")
    say "made a CA passphrase in $dir/passphrase"
  fi
  if [ ! -s "$dir/admin.key" ]; then
    local out
    out=$("$server_bin" init --database "$(conninfo)" --passphrase-file "$dir/passphrase" \
      --tls-dir "$dir/tls" --crl-shards "${HOSTCA_CRL_SHARDS:-16}") ||
      die "hostca-server init failed"
    (umask 077 && grep -o 'hca_admin_[A-Za-z0-9_-]*' <<<"$out" | head -n 1 >"$dir/admin.key")
    [ -s "$dir/admin.key" ] || die "hostca-server init printed no admin key"
    say "CA initialised: $dir/tls/ca.pem; admin key in $dir/admin.key"
  fi
  start_servers
  say "database: $(conninfo)"
}

cmd_stop() {
  stop_servers
  local node
  for node in "${nodes[@]}"; do
    if [ -f "$(node_dir "$node")/data/postmaster.pid" ] && running "$node"; then
      as_owner "$PGBIN/pg_ctl" -D "$(node_dir "$node")/data" -m fast -w -t $wait_seconds stop >/dev/null
      say "PostgreSQL $node stopped"
    fi
  done
}

cmd_failover() {
  local node primary="" standby=""
  for node in "${nodes[@]}"; do
    case "$(role "$node")" in
      primary) primary=$node ;;
      standby) standby=$node ;;
    esac
  done
  [ -n "$standby" ] || die "no running standby to promote"
  local t0
  t0=$(date +%s.%N)
  if [ -n "$primary" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$(node_dir "$primary")/data" -m immediate -w -t $wait_seconds stop >/dev/null
    # It may hold WAL the standby never got: it must not come back as a primary.
    as_owner touch "$(node_dir "$primary")/RETIRED"
    say "primary $primary stopped with pg_ctl -m immediate (marked retired)"
  fi
  as_owner "$PGBIN/pg_ctl" -D "$(node_dir "$standby")/data" -w -t $wait_seconds promote >/dev/null ||
    die "pg_ctl promote of $standby failed, see $(node_dir "$standby")/postgres.log"
  # No standby of its own yet: it must not wait for one.
  node_sql "$standby" postgres "ALTER SYSTEM SET synchronous_standby_names = ''" >/dev/null
  node_sql "$standby" postgres "SELECT pg_reload_conf()" >/dev/null
  wait_for $wait_seconds "$standby to accept writes" accepts_writes "$standby"
  local took
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  say "standby $standby promoted and accepting writes in ${took}s: it is the primary now"
  say "servers reconnect by themselves through: $(conninfo)"
}

cmd_status() {
  local node i
  for node in "${nodes[@]}"; do
    say "PostgreSQL $node ($(node_dir "$node"), port $(node_port "$node")): $(role "$node")"
    if [ "$(role "$node")" = primary ]; then
      node_sql "$node" postgres "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication" |
        while read -r line; do [ -n "$line" ] && say "  replication to $line"; done
    fi
  done
  for ((i = 0; i < servers; i++)); do
    if server_alive "$i" && [ -s "$dir/server$i.ready.json" ]; then
      say "server$i (pid $(cat "$dir/server$i.pid")): $(server_addresses "$i")"
    else
      say "server$i: not running"
    fi
  done
  say "database: $(conninfo)"
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  failover) cmd_failover ;;
  status) cmd_status ;;
  *) usage ;;
esac
