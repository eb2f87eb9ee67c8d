#!/usr/bin/env bash
# The benchmark, one command: starts a private, durable PostgreSQL 15
# (fsync and synchronous_commit on; checked), initialises an ECDSA P-256 CA,
# serves it from two hostca-server processes on loopback, and runs
# hostca-bench: enrolment at 1, 16 and 64 clients; reissue at 1, 16 and 64
# clients with 1,000 and with 1,000,000 revoked certificates on record (two
# CAs in one PostgreSQL, their runs in turns, medians printed);
# CRL GETs (200 and 304); revocation visibility from one server to a
# subscriber on the other; optionally a soak with the server's RSS at the
# start and the end. Prints a table per phase and writes all results as JSON.
# Everything it starts it stops, and its temporary folder goes on exit.
# The CA key is encrypted in the database (--signer software, the default),
# or with --signer pkcs11 held in a SoftHSM2 token made in the temporary
# folder (its own SOFTHSM2_CONF; init and every server sign through the
# PKCS#11 module, unlocked by a PIN file; --pkcs11-sessions N is passed to
# serve, else the server's default; --pkcs11-module the module's path).
#
#   bench/run.sh [--build-dir DIR] [--json FILE] [--count N] [--reissue-count N]
#                [--revoked-small N] [--revoked-large N] [--crl-shards N]
#                [--pool-size N] [--shared-buffers SIZE] [--crl-seconds S] [--crl-clients C]
#                [--visibility-count N] [--reissue-rounds N] [--soak-seconds S]
#                [--phases "enrol reissue crl visibility soak"]
#                [--signer software|pkcs11] [--pkcs11-sessions N] [--pkcs11-module PATH]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build_dir=$root/build
json_out=$PWD/bench-results.json
count=4000
reissue_count=2000
revoked_small=1000
revoked_large=1000000
crl_shards=16384
pool_size=16
shared_buffers=2GB
crl_seconds=5
crl_clients=16
visibility_count=200
reissue_rounds=2
soak_seconds=0
phases="enrol reissue crl visibility"
signer=software
pkcs11_sessions=
pkcs11_module=/usr/lib/softhsm/libsofthsm2.so
usage="usage: $0 [--build-dir DIR] [--json FILE] [--count N] [--reissue-count N] [--revoked-small N] [--revoked-large N] [--crl-shards N] [--pool-size N] [--shared-buffers SIZE] [--crl-seconds S] [--crl-clients C] [--visibility-count N] [--reissue-rounds N] [--soak-seconds S] [--phases LIST] [--signer software|pkcs11] [--pkcs11-sessions N] [--pkcs11-module PATH]"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(realpath "$2"); shift 2 ;;
    --json) json_out=$(realpath -m "$2"); shift 2 ;;
    --count) count=$2; shift 2 ;;
    --reissue-count) reissue_count=$2; shift 2 ;;
    --revoked-small) revoked_small=$2; shift 2 ;;
    --revoked-large) revoked_large=$2; shift 2 ;;
    --crl-shards) crl_shards=$2; shift 2 ;;
    --pool-size) pool_size=$2; shift 2 ;;
    --shared-buffers) shared_buffers=$2; shift 2 ;;
    --crl-seconds) crl_seconds=$2; shift 2 ;;
    --crl-clients) crl_clients=$2; shift 2 ;;
    --visibility-count) visibility_count=$2; shift 2 ;;
    --soak-seconds) soak_seconds=$2; shift 2 ;;
    --reissue-rounds) reissue_rounds=$2; shift 2 ;;
    --phases) phases=$2; shift 2 ;;
    --signer) signer=$2; shift 2 ;;
    --pkcs11-sessions) pkcs11_sessions=$2; shift 2 ;;
    --pkcs11-module) pkcs11_module=$2; shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
case "$signer" in
  software) [ -z "$pkcs11_sessions" ] || { echo "run.sh: --pkcs11-sessions needs --signer pkcs11" >&2; exit 2; } ;;
  pkcs11)
    [ -r "$pkcs11_module" ] || { echo "run.sh: PKCS#11 module $pkcs11_module missing (apt-get install softhsm2)" >&2; exit 1; }
    command -v softhsm2-util >/dev/null || { echo "run.sh: softhsm2-util missing (apt-get install softhsm2)" >&2; exit 1; } ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
[ "$soak_seconds" -gt 0 ] && case " $phases " in *" soak "*) ;; *) phases="$phases soak" ;; esac
server_bin=$build_dir/ca/hostca-server
bench_bin=$build_dir/bench/hostca-bench
for b in "$server_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "run.sh: $b missing; build first: deploy/build.sh" >&2; exit 1; }
done

work=$(mktemp -d /tmp/hostca-bench-XXXXXX)
chmod 0711 "$work"  # the postgres user must be able to walk into it
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  bash "$root/deploy/postgres.sh" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine"
echo "nproc: $(nproc)"
free -g | head -2
grep -m1 'model name' /proc/cpuinfo || true
if ! command -v botan >/dev/null; then
  echo "(botan-2 CLI not installed: apt-get install botan for the crypto bound)"
else
  echo "== crypto bound (botan speed --msec=1000 ECDSA, P-256 lines)"
  botan speed --msec=1000 ECDSA >"$work/botan.txt" 2>&1 || true
  grep -E 'secp256r1' "$work/botan.txt" || cat "$work/botan.txt"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Durable: no --fast, so fsync and synchronous_commit keep their defaults (on).
# shared_buffers as a server with memory to spare would set it (a quarter
# of RAM is the usual advice; 2 GB holds the 1,000,000-revocation tables).
# HOSTCA_BENCH_PG_SETTINGS adds settings for profiling, e.g.
# "-c shared_preload_libraries=pg_stat_statements".
conninfo=$(HOSTCA_PG_SETTINGS="-c shared_buffers=$shared_buffers ${HOSTCA_BENCH_PG_SETTINGS:-}" \
  bash "$root/deploy/postgres.sh" start "$work/pg" "$port" | tail -n1)
psql_() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql "$conninfo" "$@"; else psql "$conninfo" "$@"; fi
}
sync=$(psql_ -tAc 'SHOW synchronous_commit')
echo "== postgres: shared_buffers=$(psql_ -tAc 'SHOW shared_buffers')"
fsync=$(psql_ -tAc 'SHOW fsync')
echo "== postgres: synchronous_commit=$sync fsync=$fsync"
[ "$sync" = on ] && [ "$fsync" = on ] || { echo "run.sh: PostgreSQL is not durable" >&2; exit 1; }

# The CA key's secret: init's and serve's options for it (key_args KEY-LABEL
# gives init's, serve_key_args serve's). software: a passphrase that
# encrypts the key in the database. pkcs11: a SoftHSM2 token in $work/softhsm
# (its own configuration, exported to init and the servers, which run as
# this user and so can read and write the token folder), each CA's key made
# in it by init under a label of its own, unlocked by a PIN file.
if [ "$signer" = software ]; then
  head -c 24 /dev/urandom | base64 >"$work/passphrase"
  chmod 600 "$work/passphrase"
  key_args() { key_args_=(--passphrase-file "$work/passphrase"); }
  serve_key_args=(--passphrase-file "$work/passphrase")
else
  mkdir -m 0700 -p "$work/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work/softhsm/tokens" >"$work/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf
  head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$work/pkcs11.pin"
  chmod 600 "$work/pkcs11.pin"
  softhsm2-util --init-token --free --label hostca --pin "$(cat "$work/pkcs11.pin")" \
    --so-pin "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$work/softhsm/init-token.out" 2>&1 ||
    { cat "$work/softhsm/init-token.out" >&2; exit 1; }
  key_args() {
    key_args_=(--signer pkcs11 --pkcs11-module "$pkcs11_module" --pkcs11-token-label hostca
               --pkcs11-key-label "$1" --pkcs11-pin-file "$work/pkcs11.pin")
  }
  serve_key_args=(--pkcs11-pin-file "$work/pkcs11.pin" ${pkcs11_sessions:+--pkcs11-sessions "$pkcs11_sessions"})
  echo "== signer: PKCS#11, SoftHSM2 $(softhsm2-util --version) ($pkcs11_module), token \"hostca\" in $work/softhsm/tokens, sessions per key ${pkcs11_sessions:-as the server sets}"
fi
key_args hostca-bench-ca
"$server_bin" init --database "$conninfo" "${key_args_[@]}" \
  --tls-dir "$work/tls" --key-algorithm ecdsa-p256 --crl-shards "$crl_shards" \
  >"$work/init.out" 2>"$work/init.err" || { cat "$work/init.err" >&2; exit 1; }
grep -oE 'hca_admin_[A-Za-z0-9_-]{43}' "$work/init.out" | head -n1 >"$work/admin.key"
chmod 600 "$work/admin.key"
[ -s "$work/admin.key" ] || { echo "run.sh: init printed no admin key" >&2; exit 1; }
# HOSTCA_BENCH_AFTER_INIT_SQL: a SQL file run on each new CA's database before
# its servers start, to compare a schema change in one build (e.g.
# bench/without_host_state_trigger.sql; docs/benchmarks.md).
if [ -n "${HOSTCA_BENCH_AFTER_INIT_SQL:-}" ]; then
  echo "== after init: $HOSTCA_BENCH_AFTER_INIT_SQL"
  psql_ -q -v ON_ERROR_STOP=1 <"$HOSTCA_BENCH_AFTER_INIT_SQL"
fi

# start_server NAME [CONNINFO DIR]: serves the CA of CONNINFO (default the
# first CA's) with the TLS files under DIR (default $work) and the CA key's
# secret ($serve_key_args) on
# kernel-chosen loopback ports; sets NAME_grpc, NAME_http, NAME_pid.
start_server() {
  local name=$1 db=${2:-$conninfo} dir=${3:-$work}
  # HOSTCA_BENCH_SERVER_PRELOAD: a library preloaded into the servers only
  # (an allocator, to compare; docs/benchmarks.md).
  # HOSTCA_BENCH_SERVER_ARGS: more serve options for both servers (e.g.
  # "--reissue-batch 1", to compare; docs/benchmarks.md).
  env ${HOSTCA_BENCH_SERVER_PRELOAD:+LD_PRELOAD="$HOSTCA_BENCH_SERVER_PRELOAD"} \
  "$server_bin" serve --database "$db user=hostca_server" "${serve_key_args[@]}" \
    --tls-dir "$dir/tls" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --pool-size "$pool_size" --ready-file "$work/$name.ready" ${HOSTCA_BENCH_SERVER_ARGS:-} \
    >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    [ -s "$work/$name.ready" ] && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$work/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$work/$name.ready" ] || { echo "run.sh: server $name not ready in 60 s" >&2; exit 1; }
  printf -v "${name}_grpc" '%s' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$work/$name.ready")"
  printf -v "${name}_http" '%s' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$work/$name.ready")"
  printf -v "${name}_pid" '%s' "$pid"
}
# A new CA publishes each shard's first CRL when its first server starts
# (two servers share the work): wait for that before any timed part, or its
# signatures and writes are counted as the first scenario's CPU.
wait_for_first_crls() {  # wait_for_first_crls PSQL-FUNCTION STARTED
  for _ in $(seq 1 6000); do
    [ "$($1 -tAc 'SELECT count(*) FROM crl_shards WHERE crl_number = 0')" = 0 ] && break
    sleep 0.1
  done
  [ "$($1 -tAc 'SELECT count(*) FROM crl_shards WHERE crl_number = 0')" = 0 ] ||
    { echo "run.sh: the first CRLs were not all published in 600 s" >&2; exit 1; }
  awk -v a="$2" -v b="$EPOCHREALTIME" 'BEGIN { printf "== servers up and the first CRL of every shard published after %.1f s\n", b - a }'
}
started=$EPOCHREALTIME
start_server a
start_server b
echo "== servers: a gRPC $a_grpc HTTP $a_http (pid $a_pid), b gRPC $b_grpc (pid $b_pid); pool $pool_size; $crl_shards CRL shards"
wait_for_first_crls psql_ "$started"

pg_pid=$(head -n1 "$work/pg/data/postmaster.pid")
bench() {  # bench JSON_NAME hostca-bench-args...
  bench_at a "$work" "$@"
}
bench_at() {  # bench_at SERVER DIR JSON_NAME hostca-bench-args...: drives SERVER's CA (files under DIR)
  local s=$1 dir=$2 out=$3; shift 3
  local grpc=${s}_grpc http=${s}_http pid=${s}_pid
  # The server's and PostgreSQL's CPU per call are read from /proc around
  # each timed part, as is hostca-bench's own (columns srv_ms, db_ms, gen_ms).
  "$bench_bin" --server "127.0.0.1:${!grpc}" --ca-file "$dir/tls/ca.pem" \
    --admin-key-file "$dir/admin.key" --http "127.0.0.1:${!http}" \
    --server-pid "${!pid}" --db-pid "$pg_pid" "$@" --json "$work/$out.json"
}
seed() {  # seed TARGET [PSQL-FUNCTION]
  echo "== seeding revoked certificates on record up to $1"
  local t0=$SECONDS
  ${2:-psql_} -q -v target="$1" -f "$here/seed_revoked.sql" | sed 's/^/   /'
  echo "   (seeded in $((SECONDS - t0)) s)"
}
# The second CA of the reissue phase, in database hostca_large of the same
# PostgreSQL, with its own TLS files and admin key under $work/large and
# servers c and d.
large_conninfo=${conninfo/dbname=hostca/dbname=hostca_large}
psql_large() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql "$large_conninfo" "$@"; else psql "$large_conninfo" "$@"; fi
}
start_large_ca() {
  mkdir -p "$work/large"
  psql_ -q -c "CREATE DATABASE hostca_large OWNER hostca"
  key_args hostca-bench-ca-large
  "$server_bin" init --database "$large_conninfo" "${key_args_[@]}" \
    --tls-dir "$work/large/tls" --key-algorithm ecdsa-p256 --crl-shards "$crl_shards" \
    >"$work/large/init.out" 2>"$work/large/init.err" || { cat "$work/large/init.err" >&2; exit 1; }
  grep -oE 'hca_admin_[A-Za-z0-9_-]{43}' "$work/large/init.out" | head -n1 >"$work/large/admin.key"
  chmod 600 "$work/large/admin.key"
  if [ -n "${HOSTCA_BENCH_AFTER_INIT_SQL:-}" ]; then
    psql_large -q -v ON_ERROR_STOP=1 <"$HOSTCA_BENCH_AFTER_INIT_SQL"
  fi
  local t0=$EPOCHREALTIME
  start_server c "$large_conninfo" "$work/large"
  start_server d "$large_conninfo" "$work/large"
  echo "== second CA (database hostca_large): c gRPC $c_grpc (pid $c_pid), d gRPC $d_grpc (pid $d_pid)"
  wait_for_first_crls psql_large "$t0"
}
# Medians over the rounds of each level, and the p50 ratio of the large to
# the small number revoked.
summarise_reissue() {
  python3 - "$work" "$revoked_small" "$revoked_large" <<'PY'
import glob, json, os, statistics, sys
work, small, large = sys.argv[1], sys.argv[2], sys.argv[3]
runs = {}
for f in sorted(glob.glob(os.path.join(work, "reissue-*.json"))):
    for r in json.load(open(f)).get("results", []):
        runs.setdefault((r["label"].split("=")[1], r["clients"]), []).append(r)
def med(rs, get):
    return statistics.median(get(r) for r in rs)
print("== reissue, medians over the rounds")
print("%-10s %8s %6s %8s %8s %8s %8s %8s %8s  %s" % ("revoked", "clients", "runs", "per_s", "p50_ms",
      "p99_ms", "srv_ms", "db_ms", "gen_ms", "per_s of each run"))
for (n, c), rs in sorted(runs.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])):
    print("%-10s %8d %6d %8.0f %8.2f %8.2f %8.3f %8.3f %8.3f  %s" % (
        n, c, len(rs), med(rs, lambda r: r["throughput_per_s"]), med(rs, lambda r: r["latency_ms"]["p50"]),
        med(rs, lambda r: r["latency_ms"]["p99"]), med(rs, lambda r: r["cpu_ms"]["server_per_ok"]),
        med(rs, lambda r: r["cpu_ms"]["database_per_ok"]),
        med(rs, lambda r: r["cpu_ms"]["load_generator_per_call"]),
        " ".join("%.0f" % r["throughput_per_s"] for r in rs)))
for c in sorted({c for (_, c) in runs}):
    if (small, c) in runs and (large, c) in runs:
        a = med(runs[(small, c)], lambda r: r["latency_ms"]["p50"])
        b = med(runs[(large, c)], lambda r: r["latency_ms"]["p50"])
        print("p50 ratio, %s to %s revoked, %d clients: %.2fx" % (large, small, c, b / a))
PY
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "== server a RSS at start: $(rss_kib "$a_pid") KiB"
for phase in $phases; do
  case "$phase" in
    enrol)
      echo "== enrolment (count $count per level)"
      bench enrol --scenario enrol --clients 1 16 64 --count "$count" --max-seconds 120
      bench enrol-shared --scenario enrol-shared-token --clients 64 --count "$count" --max-seconds 120 ;;
    reissue)
      # Two CAs in the one PostgreSQL: this one with $revoked_small revoked
      # on record, and a second (database hostca_large, servers c and d)
      # with $revoked_large. Their runs take turns (small, large, large,
      # small, ...) and the summary gives the medians, so the machine's
      # drift over the minutes falls on both alike.
      start_large_ca
      seed "$revoked_small"
      seed "$revoked_large" psql_large
      # The seeding wrote a million rows in a minute, which a CA collects
      # over months: write them out now rather than under the timed part.
      psql_ -q -c CHECKPOINT
      for round in $(seq 1 "$reissue_rounds"); do
        if [ $((round % 2)) = 1 ]; then order="small large"; else order="large small"; fi
        for which in $order; do
          if [ "$which" = small ]; then n=$revoked_small s=a dir=$work; else n=$revoked_large s=c dir=$work/large; fi
          echo "== reissue, round $round, with $n revoked on record at the start (count $reissue_count per level)"
          bench_at "$s" "$dir" "reissue-$which-$round" --scenario reissue --clients 1 16 64 \
            --reissue-count "$reissue_count" --max-seconds 120 --label "revoked_on_record=$n"
        done
      done
      summarise_reissue ;;
    crl)
      echo "== CRL fetch over HTTP ($crl_clients connections, $crl_seconds s each)"
      bench crl --scenario crl --crl-clients "$crl_clients" --crl-seconds "$crl_seconds" ;;
    visibility)
      echo "== revocation visibility: revoke on a, subscriber on b"
      bench visibility --scenario visibility --watch-server "127.0.0.1:$b_grpc" \
        --visibility-count "$visibility_count" ;;
    soak)
      [ "$soak_seconds" -gt 0 ] || { echo "run.sh: soak needs --soak-seconds" >&2; exit 2; }
      n=$((soak_seconds * 2000))  # more CSRs than a 5-minute run at this machine's rate uses
      echo "== soak: enrolment at 64 clients for up to $soak_seconds s ($n CSRs prepared first)"
      "$bench_bin" --server "127.0.0.1:$a_grpc" --ca-file "$work/tls/ca.pem" \
        --admin-key-file "$work/admin.key" --server-pid "$a_pid" --db-pid "$pg_pid" \
        --scenario enrol --clients 64 --count "$n" \
        --max-seconds "$soak_seconds" --json "$work/soak.json" &
      bpid=$!
      # The soak's timed part starts once its CSRs are made: sample RSS every 10 s meanwhile.
      : >"$work/rss.txt"
      while kill -0 "$bpid" 2>/dev/null; do
        echo "$SECONDS $(rss_kib "$a_pid")" >>"$work/rss.txt"; sleep 10
      done
      wait "$bpid"
      echo "   RSS samples (seconds, KiB):"; sed 's/^/   /' "$work/rss.txt" | tr '\n' ' '; echo ;;
    hold)
      # For profiling: keep everything up (at most an hour) and say how to reach it.
      echo "== holding: hostca-bench --server 127.0.0.1:$a_grpc --http 127.0.0.1:$a_http --watch-server 127.0.0.1:$b_grpc --ca-file $work/tls/ca.pem --admin-key-file $work/admin.key"
      echo "   server a pid $a_pid, b pid $b_pid; psql: $conninfo; Ctrl-C or kill $$ to stop"
      sleep 3600 & wait $! ;;  # in the background, so that a TERM runs the cleanup at once
    *) echo "run.sh: unknown phase $phase" >&2; exit 2 ;;
  esac
done
echo "== server a RSS at end: $(rss_kib "$a_pid") KiB"

python3 - "$work" "$json_out" "$sync" "$crl_shards" "$pool_size" "$signer" "$pkcs11_sessions" <<'PY'
import glob, json, os, sys
work, out, sync, shards, pool, signer, sessions = sys.argv[1:8]
data = {"results": []}
for f in sorted(glob.glob(os.path.join(work, "*.json"))):
    data["results"] += json.load(open(f)).get("results", [])
mem = open("/proc/meminfo").readline().split()[1]
data["machine"] = {"nproc": os.cpu_count(), "mem_total_kib": int(mem)}
data["postgres"] = {"synchronous_commit": sync}
data["server"] = {"crl_shards": int(shards), "pool_size": int(pool), "signer": signer}
if signer == "pkcs11":
    data["server"]["pkcs11_sessions"] = int(sessions) if sessions else "default"
b = os.path.join(work, "botan.txt")
if os.path.exists(b):
    data["botan_speed_ecdsa_p256"] = [l for l in open(b).read().splitlines() if "secp256r1" in l]
r = os.path.join(work, "rss.txt")
if os.path.exists(r):
    data["soak_rss_kib"] = [[int(x) for x in l.split()] for l in open(r) if l.strip()]
json.dump(data, open(out, "w"), indent=2)
PY
echo "== results written to $json_out"
