#!/usr/bin/env bash
# hostca beside its peers, one command: the enrolment scenario against
# hostca and, when they can be installed, step-ca and CFSSL, with the same
# CSR count and the same concurrency levels (16 and 64 clients by default),
# in interleaved passes, printed as ONE table with ratios and written as JSON.
#
#   bench/peers.sh [--build-dir DIR] [--json FILE] [--count N] [--clients "16 64"]
#                  [--passes N] [--systems "hostca step-ca cfssl"] [--max-seconds S]
#                  [--shared-buffers SIZE] [--pool-size N] [--hostca-load async|sync]
#                  [--hostca-channels N] [--wrk-threads N] [--no-install]
#
# Each system runs as it would in production on one machine, durably:
#   hostca   hostca-server as bench/run.sh runs it, on a private PostgreSQL 15
#            (fsync and synchronous_commit on, checked), driven by hostca-bench
#            (gRPC over TLS, one authorization token per client);
#   step-ca  0.19 built from Debian's packaged library (bench/peers/step-ca-main.go)
#            on badger with SyncWrites on (checked in the source it is built
#            from), one-time JWK tokens, driven by wrk over HTTPS;
#   CFSSL    `cfssl serve` 1.2 over TLS with its certdb in its own private
#            PostgreSQL 15 (same settings as hostca's, checked), driven by wrk.
# Inputs (ECDSA P-256 keys and CSRs, tokens) are made before each timed part.
# Server + database CPU is read from /proc before and after each run (the
# server process, the postmaster and every backend, exited ones included) and
# divided by the certificates stored; the load generator's CPU per call is
# measured inside it over the timed part (hostca-bench: getrusage; wrk: the
# CPU clock of each of its threads). Loopback only; every run is bounded by
# --count and --max-seconds; everything started is stopped and the temporary
# folder removed on exit. Missing Debian packages are installed with apt
# (as root, unless --no-install); step-ca is built once into bench/.cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build_dir=$root/build
json_out=$PWD/peers-results.json
count=4000
levels="16 64"
passes=2
systems="hostca step-ca cfssl"
max_seconds=120
shared_buffers=2GB
pool_size=16
crl_shards=4096
hostca_load=async
hostca_channels=4
wrk_threads=0
install=1
usage="usage: $0 [--build-dir DIR] [--json FILE] [--count N] [--clients \"16 64\"] [--passes N] [--systems \"hostca step-ca cfssl\"] [--max-seconds S] [--shared-buffers SIZE] [--pool-size N] [--hostca-load async|sync] [--hostca-channels N] [--wrk-threads N] [--no-install]"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(realpath "$2"); shift 2 ;;
    --json) json_out=$(realpath -m "$2"); shift 2 ;;
    --count) count=$2; shift 2 ;;
    --clients) levels=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --shared-buffers) shared_buffers=$2; shift 2 ;;
    --pool-size) pool_size=$2; shift 2 ;;
    --hostca-load) hostca_load=$2; shift 2 ;;
    --hostca-channels) hostca_channels=$2; shift 2 ;;
    # wrk's threads; by default one per client, so that each request is
    # timed. Fewer (wrk's usual 2) measure wrk's own cost at its cheapest,
    # but then no latency (the connections of a thread share its callbacks).
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[ "$count" -ge 1 ] && [ "$count" -le 200000 ] || { echo "peers.sh: --count must be in 1..200000" >&2; exit 2; }
for c in $levels; do
  [ "$wrk_threads" -eq 0 ] || [ $((c % wrk_threads)) -eq 0 ] ||
    { echo "peers.sh: each --clients level must be a multiple of --wrk-threads" >&2; exit 2; }
done
[ "$passes" -ge 1 ] && [ "$passes" -le 10 ] || { echo "peers.sh: --passes must be in 1..10" >&2; exit 2; }
for c in $levels; do
  [ "$c" -ge 1 ] && [ "$c" -le 256 ] || { echo "peers.sh: clients must be in 1..256" >&2; exit 2; }
done

# ---- what each system needs, installed only when missing -------------------
have_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
ensure_pkgs() {  # ensure_pkgs SYSTEM PKG...: true when all are there afterwards
  local system=$1 missing=() p
  shift
  for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; then
    echo "== installing for $system: ${missing[*]}"
    if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
         >/tmp/hostca-peers-apt.log 2>&1 ||
       { apt-get update >>/tmp/hostca-peers-apt.log 2>&1 &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
           >>/tmp/hostca-peers-apt.log 2>&1; }; then
      return 0
    fi
    echo "peers.sh: apt-get could not install ${missing[*]} (see /tmp/hostca-peers-apt.log)" >&2
  fi
  echo "== skipping $system: missing ${missing[*]}" >&2
  return 1
}
ensure_pkgs "the benchmark" python3 python3-cryptography postgresql-15 ||
  { echo "peers.sh: python3, python3-cryptography and postgresql-15 are needed" >&2; exit 1; }
run_systems=""
for s in $systems; do
  case "$s" in
    hostca)
      for b in "$build_dir/ca/hostca-server" "$build_dir/bench/hostca-bench"; do
        [ -x "$b" ] || { echo "peers.sh: $b missing; build first: deploy/build.sh hostca-server hostca-bench" >&2; exit 1; }
      done
      run_systems="$run_systems hostca" ;;
    hostca-sync)
      # The same hostca server, loaded by hostca-bench's thread-per-client
      # synchronous load: the load generator's cost before it was rewritten.
      case " $systems " in *" hostca "*) ;; *) echo "peers.sh: hostca-sync needs hostca in --systems" >&2; exit 2 ;; esac
      run_systems="$run_systems hostca-sync" ;;
    step-ca)
      ensure_pkgs step-ca golang-go golang-github-smallstep-certificates-dev wrk &&
        run_systems="$run_systems step-ca" ;;
    cfssl)
      ensure_pkgs cfssl golang-cfssl wrk && run_systems="$run_systems cfssl" ;;
    *) echo "peers.sh: unknown system $s (hostca, hostca-sync, step-ca, cfssl)" >&2; exit 2 ;;
  esac
done
run_systems=${run_systems# }
[ -n "$run_systems" ] || { echo "peers.sh: nothing to run" >&2; exit 1; }

# ---- the temporary folder and the cleanup ----------------------------------
work=$(mktemp -d /tmp/hostca-peers-XXXXXX)
chmod 0711 "$work"  # the postgres user must be able to walk into it
mkdir -p "$work/results"
pids=()
clusters=()
child=
cleanup() {
  set +e
  [ -z "$child" ] || kill -TERM "$child" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for c in "${clusters[@]}"; do bash "$root/deploy/postgres.sh" stop "$c" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

peers_py() { python3 "$here/peers/peers.py" "$@"; }
# in_background CMD...: runs a load generator as a child the shell waits
# for, so that a TERM or INT to this script stops it at once (a trap waits
# for a foreground command to end).
in_background() {
  local rc=0
  "$@" &
  child=$!
  wait "$child" || rc=$?
  child=
  return "$rc"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # wait_http NAME PID URL: until URL answers anything over HTTPS, at most 60 s
  for _ in $(seq 1 600); do
    kill -0 "$2" 2>/dev/null || { echo "peers.sh: $1 exited; its log:" >&2; tail -n 20 "$work/$1.log" >&2; exit 1; }
    curl -sk -o /dev/null --max-time 2 "$3" && return 0
    sleep 0.1
  done
  echo "peers.sh: $1 did not answer in 60 s" >&2; exit 1
}

# start_pg NAME: a private, durable PostgreSQL 15 under $work/pg-NAME; sets
# NAME_conninfo and NAME_pgpid (the postmaster) and checks fsync and
# synchronous_commit are on.
start_pg() {
  local name=$1 dir=$work/pg-$1 port conninfo sync fsync
  port=$(free_port)
  clusters+=("$dir")
  # Durable: no --fast, so fsync and synchronous_commit keep their defaults (on).
  conninfo=$(HOSTCA_PG_SETTINGS="-c shared_buffers=$shared_buffers" \
    bash "$root/deploy/postgres.sh" start "$dir" "$port" | tail -n1)
  sync=$(psql_at "$conninfo" -tAc 'SHOW synchronous_commit')
  fsync=$(psql_at "$conninfo" -tAc 'SHOW fsync')
  echo "== postgres for $name: fsync=$fsync synchronous_commit=$sync full_page_writes=$(psql_at "$conninfo" -tAc 'SHOW full_page_writes') shared_buffers=$(psql_at "$conninfo" -tAc 'SHOW shared_buffers')"
  [ "$sync" = on ] && [ "$fsync" = on ] || { echo "peers.sh: PostgreSQL for $name is not durable" >&2; exit 1; }
  printf -v "${name}_conninfo" '%s' "$conninfo"
  printf -v "${name}_pgpid" '%s' "$(head -n1 "$dir/data/postmaster.pid")"
}
psql_at() {
  local conninfo=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql "$conninfo" "$@"; else psql "$conninfo" "$@"; fi
}

echo "== machine"
echo "nproc: $(nproc)"
free -g | head -2
grep -m1 'model name' /proc/cpuinfo || true
hostca_commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- 2>/dev/null || hostca_commit="$hostca_commit (with uncommitted changes)"
pg_version=$(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')

# ---- hostca ------------------------------------------------------------------
start_hostca() {
  start_pg hostca
  head -c 24 /dev/urandom | base64 >"$work/passphrase"
  chmod 600 "$work/passphrase"
  "$build_dir/ca/hostca-server" init --database "$hostca_conninfo" --passphrase-file "$work/passphrase" \
    --tls-dir "$work/tls" --key-algorithm ecdsa-p256 --crl-shards "$crl_shards" \
    >"$work/init.out" 2>"$work/init.err" || { cat "$work/init.err" >&2; exit 1; }
  grep -oE 'hca_admin_[A-Za-z0-9_-]{43}' "$work/init.out" | head -n1 >"$work/admin.key"
  chmod 600 "$work/admin.key"
  [ -s "$work/admin.key" ] || { echo "peers.sh: init printed no admin key" >&2; exit 1; }
  "$build_dir/ca/hostca-server" serve --database "$hostca_conninfo" --passphrase-file "$work/passphrase" \
    --tls-dir "$work/tls" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --pool-size "$pool_size" --ready-file "$work/hostca.ready" >"$work/hostca.log" 2>&1 &
  hostca_pid=$!
  pids+=("$hostca_pid")
  for _ in $(seq 1 600); do
    [ -s "$work/hostca.ready" ] && break
    kill -0 "$hostca_pid" 2>/dev/null || { tail -n 20 "$work/hostca.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$work/hostca.ready" ] || { echo "peers.sh: hostca-server not ready in 60 s" >&2; exit 1; }
  hostca_grpc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$work/hostca.ready")
  echo "== hostca: gRPC 127.0.0.1:$hostca_grpc (pid $hostca_pid), pool $pool_size, $crl_shards CRL shards, ECDSA P-256 CA; load $hostca_load over one connection per 16 clients, at most $hostca_channels"
}
hostca_certs() { psql_at "$hostca_conninfo" -tAc 'SELECT count(*) FROM certificates'; }
run_hostca() {  # run_hostca CLIENTS PASS [LOAD]
  local c=$1 p=$2 load=${3:-$hostca_load} name=hostca before after
  [ "$load" = "$hostca_load" ] || name=hostca-$load
  before=$(hostca_certs)
  in_background "$build_dir/bench/hostca-bench" --server "127.0.0.1:$hostca_grpc" --ca-file "$work/tls/ca.pem" \
    --admin-key-file "$work/admin.key" --scenario enrol --clients "$c" --count "$count" \
    --max-seconds "$max_seconds" --load "$load" --channels "$hostca_channels" \
    --server-pid "$hostca_pid" --db-pid "$hostca_pgpid" --json "$work/$name-$c-$p.json" \
    >"$work/$name-$c-$p.out" 2>&1 || { cat "$work/$name-$c-$p.out" >&2; exit 1; }
  after=$(hostca_certs)
  peers_py hostca-result --system "$name" --bench-json "$work/$name-$c-$p.json" \
    --certs-before "$before" --certs-after "$after" --count "$count" --pass "$p" \
    --out "$work/results/run-$name-$c-$p.json"
}

wrk_threads_for() {  # wrk_threads_for CLIENTS
  if [ "$wrk_threads" -gt 0 ]; then echo "$wrk_threads"; else echo "$1"; fi
}

# ---- step-ca -----------------------------------------------------------------
gocode=/usr/share/gocode/src
build_stepca() {
  local cache=$here/.cache/step-ca
  local src=$cache/gopath/src/hostcabench/stepca
  step_bin=$cache/step-ca
  # Durability: Debian's badger (for both of step's badger drivers) must
  # keep SyncWrites on, and step's nosql must not turn it off.
  grep -Eq 'SyncWrites:[[:space:]]+true' "$gocode/github.com/dgraph-io/badger/options.go" &&
    ! grep -rq 'SyncWrites' "$gocode/github.com/smallstep/nosql/badger/" ||
    { echo "peers.sh: badger's SyncWrites is not on in the packaged source; step-ca would not be durable" >&2; exit 1; }
  if [ ! -x "$step_bin" ] || ! cmp -s "$here/peers/step-ca-main.go" "$src/main.go"; then
    echo "== building step-ca from $gocode (GO111MODULE=off; a few minutes the first time)"
    mkdir -p "$src"
    cp "$here/peers/step-ca-main.go" "$src/main.go"
    (cd "$cache" && GO111MODULE=off GOPATH="$cache/gopath:/usr/share/gocode" GOCACHE="$cache/gocache" \
      GOFLAGS='' nice -n 10 go build -p 1 -o "$step_bin.new" hostcabench/stepca) >"$work/step-build.log" 2>&1 ||
      { tail -n 30 "$work/step-build.log" >&2; exit 1; }
    mv "$step_bin.new" "$step_bin"
  fi
}
start_stepca() {
  build_stepca
  step_port=$(free_port)
  peers_py stepca-init --dir "$work/step" --port "$step_port"
  "$step_bin" "$work/step/ca.json" >"$work/step-ca.log" 2>&1 &
  step_pid=$!
  pids+=("$step_pid")
  wait_http step-ca "$step_pid" "https://127.0.0.1:$step_port/health"
  echo "== step-ca: https://127.0.0.1:$step_port (pid $step_pid), badger (badgerv2 driver) with SyncWrites=true, ECDSA P-256 root and intermediate, JWK provisioner"
}
run_stepca() {  # run_stepca CLIENTS PASS
  local c=$1 p=$2
  # Tokens are made now, after the CA started and just before the run: they
  # carry nbf/exp, and each is used once (step-ca refuses a replayed jti).
  peers_py bodies --system step-ca --dir "$work/step" --port "$step_port" --count "$count" \
    --threads "$(wrk_threads_for "$c")" --prefix "s$c-$p" --out "$work/step-bodies-$c-$p"
  in_background python3 "$here/peers/peers.py" run-wrk --system step-ca --url "https://127.0.0.1:$step_port" --path /1.0/sign \
    --expect '"crt"' --script "$here/peers/wrk-bodies.lua" --bodies "$work/step-bodies-$c-$p" \
    --clients "$c" --count "$count" --pass "$p" --max-seconds "$max_seconds" \
    --server-pid "$step_pid" --wrk-threads "$(wrk_threads_for "$c")" --out "$work/results/run-step-ca-$c-$p.json"
  rm -f "$work/step-bodies-$c-$p".*
}

# ---- CFSSL -------------------------------------------------------------------
start_cfssl() {
  start_pg cfssl
  psql_at "$cfssl_conninfo" -qc 'CREATE DATABASE cfssl'
  cfssl_db=${cfssl_conninfo/dbname=hostca/dbname=cfssl}
  psql_at "$cfssl_db" -q -v ON_ERROR_STOP=1 -f "$here/peers/cfssl-certdb.sql"
  cfssl_port=$(free_port)
  peers_py cfssl-init --dir "$work/cfssl" --data-source "$cfssl_db sslmode=disable"
  cfssl serve -address 127.0.0.1 -port "$cfssl_port" -ca "$work/cfssl/ca.pem" \
    -ca-key "$work/cfssl/ca-key.pem" -config "$work/cfssl/config.json" \
    -db-config "$work/cfssl/db.json" -tls-cert "$work/cfssl/tls.pem" \
    -tls-key "$work/cfssl/tls-key.pem" >"$work/cfssl.log" 2>&1 &
  cfssl_pid=$!
  pids+=("$cfssl_pid")
  wait_http cfssl "$cfssl_pid" "https://127.0.0.1:$cfssl_port/api/v1/cfssl/sign"
  echo "== cfssl: https://127.0.0.1:$cfssl_port (pid $cfssl_pid), certdb in PostgreSQL (database cfssl), ECDSA P-256 CA"
}
cfssl_certs() { psql_at "$cfssl_db" -tAc 'SELECT count(*) FROM certificates'; }
run_cfssl() {  # run_cfssl CLIENTS PASS
  local c=$1 p=$2 count_cmd
  peers_py bodies --system cfssl --dir "$work/cfssl" --count "$count" --threads "$(wrk_threads_for "$c")" \
    --prefix "c$c-$p" --out "$work/cfssl-bodies-$c-$p"
  if [ "$(id -u)" = 0 ]; then
    count_cmd="runuser -u postgres -- psql '$cfssl_db' -tAc 'SELECT count(*) FROM certificates'"
  else
    count_cmd="psql '$cfssl_db' -tAc 'SELECT count(*) FROM certificates'"
  fi
  in_background python3 "$here/peers/peers.py" run-wrk --system cfssl --url "https://127.0.0.1:$cfssl_port" --path /api/v1/cfssl/sign \
    --expect '"success":true' --script "$here/peers/wrk-bodies.lua" \
    --bodies "$work/cfssl-bodies-$c-$p" --clients "$c" --count "$count" --pass "$p" \
    --max-seconds "$max_seconds" --server-pid "$cfssl_pid" --db-pid "$cfssl_pgpid" \
    --count-cmd "$count_cmd" --wrk-threads "$(wrk_threads_for "$c")" --out "$work/results/run-cfssl-$c-$p.json"
  rm -f "$work/cfssl-bodies-$c-$p".*
}

# ---- start everything, then interleaved passes -------------------------------
for s in $run_systems; do
  case "$s" in
    hostca) start_hostca ;;
    step-ca) start_stepca ;;
    cfssl) start_cfssl ;;
  esac
done

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
python3 - "$work/meta.json" <<PY
import json, os, sys
meta = {
  "command": "bench/peers.sh --count $count --clients '$levels' --passes $passes --systems '$run_systems' --max-seconds $max_seconds --hostca-load $hostca_load --hostca-channels $hostca_channels --wrk-threads $wrk_threads",
  "count": $count, "clients": [int(c) for c in "$levels".split()], "passes": $passes,
  "machine": {"nproc": os.cpu_count(), "mem_total_kib": int(open("/proc/meminfo").readline().split()[1]),
              "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")},
  "systems": {
    "hostca": {"label": "hostca", "commit": "$hostca_commit", "load_generator": "hostca-bench --load $hostca_load --channels $hostca_channels",
               "storage": "PostgreSQL $pg_version, fsync=on synchronous_commit=on (checked), shared_buffers=$shared_buffers",
               "pool_size": $pool_size, "crl_shards": $crl_shards},
    "hostca-sync": {"label": "hostca, sync load", "load_generator": "hostca-bench --load sync --channels $hostca_channels"},
    "step-ca": {"label": "step-ca", "version": "0.19 (golang-github-smallstep-certificates-dev $(version golang-github-smallstep-certificates-dev))",
                "storage": "badger $(version golang-github-dgraph-io-badger-dev), SyncWrites=true (checked in source)",
                "load_generator": "wrk $(version wrk), threads: $( [ "$wrk_threads" -gt 0 ] && echo "$wrk_threads" || echo "one per client")", "go": "$(version golang-go)"},
    "cfssl": {"label": "cfssl", "version": "$(version golang-cfssl)",
              "storage": "PostgreSQL $pg_version certdb, fsync=on synchronous_commit=on (checked), shared_buffers=$shared_buffers",
              "load_generator": "wrk $(version wrk), threads: $( [ "$wrk_threads" -gt 0 ] && echo "$wrk_threads" || echo "one per client")"},
  },
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
PY

# others_cpu SYSTEM: CPU seconds so far of every other system's server and
# database, to see what ran beside each run.
others_cpu() {
  local args=()
  case "$1" in hostca|hostca-sync) ;; *)
    [ -z "${hostca_pid:-}" ] || args+=(--server-pid "$hostca_pid" --db-pid "$hostca_pgpid") ;;
  esac
  [ "$1" = step-ca ] || [ -z "${step_pid:-}" ] || args+=(--server-pid "$step_pid")
  [ "$1" = cfssl ] || [ -z "${cfssl_pid:-}" ] || args+=(--server-pid "$cfssl_pid" --db-pid "$cfssl_pgpid")
  peers_py cpu "${args[@]}"
}

for p in $(seq 1 "$passes"); do
  # Interleaved: every system at every level in each pass; the order of the
  # systems turns round from pass to pass so none always runs first.
  order=($run_systems)
  shift_by=$(( (p - 1) % ${#order[@]} ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  for c in $levels; do
    for s in "${order[@]}"; do
      echo "== pass $p: $s, $c clients, $count enrolments"
      others_before=$(others_cpu "$s")
      yard_before=$(peers_py yardstick)
      case "$s" in
        hostca) run_hostca "$c" "$p" ;;
        hostca-sync) run_hostca "$c" "$p" sync ;;
        step-ca) run_stepca "$c" "$p" ;;
        cfssl) run_cfssl "$c" "$p" ;;
      esac
      peers_py add-others --result "$work/results/run-$s-$c-$p.json" \
        --before "$others_before" --after "$(others_cpu "$s")"
      # The machine's speed just before and after (peers/peers.py, yardstick).
      peers_py add-yardstick --result "$work/results/run-$s-$c-$p.json" \
        --before "$yard_before" --after "$(peers_py yardstick)"
    done
  done
done

echo "== results (medians over $passes passes; ratios are hostca / peer; same machine, same run)"
peers_py table --results "$work/results" --meta "$work/meta.json" --json "$json_out"
echo "== written to $json_out"
