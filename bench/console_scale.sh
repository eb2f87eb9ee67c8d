#!/usr/bin/env bash
# The console's queries at fleet size: a private, durable PostgreSQL 15, a CA,
# a fleet seeded by seed_fleet.sql (default 100,000 hosts, 300,000
# certificates) and one hostca-server with the admin JSON API. Times, at the
# server (its own log line per call, duration_ms), the hosts page's first
# page, a later page (by its token), searches, state filters, the sort by
# expiry and the dashboard, each --repeat times, and prints the medians; then the plan of each query
# (auto_explain) so that index use shows. Everything it starts it stops.
#
#   bench/console_scale.sh [--build-dir DIR] [--hosts N] [--repeat N]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build_dir=$root/build
hosts=100000
repeat=20
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(realpath "$2"); shift 2 ;;
    --hosts) hosts=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--hosts N] [--repeat N]" >&2; exit 2 ;;
  esac
done
server_bin=$build_dir/ca/hostca-server
[ -x "$server_bin" ] || { echo "console_scale.sh: $server_bin missing; build first" >&2; exit 1; }

work=$(mktemp -d /tmp/hostca-console-XXXXXX)
chmod 0711 "$work"
pid=
cleanup() {
  set +e
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  bash "$root/deploy/postgres.sh" stop "$work/pg" >/dev/null 2>&1
  [ -n "${HOSTCA_BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Durable, as run.sh; auto_explain loaded, off (its default) until the plans
# are asked for (ALTER SYSTEM: a -c setting here would override it).
conninfo=$(HOSTCA_PG_SETTINGS="-c shared_buffers=1GB -c shared_preload_libraries=auto_explain" \
  bash "$root/deploy/postgres.sh" start "$work/pg" "$port" | tail -n1)
psql_() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql "$conninfo" "$@"; else psql "$conninfo" "$@"; fi
}
echo "== postgres: synchronous_commit=$(psql_ -tAc 'SHOW synchronous_commit') fsync=$(psql_ -tAc 'SHOW fsync')"

head -c 24 /dev/urandom | base64 >"$work/passphrase"
chmod 600 "$work/passphrase"
"$server_bin" init --database "$conninfo" --passphrase-file "$work/passphrase" \
  --tls-dir "$work/tls" --crl-shards 64 >"$work/init.out" 2>"$work/init.err" ||
  { cat "$work/init.err" >&2; exit 1; }
key=$(grep -oE 'hca_admin_[A-Za-z0-9_-]{43}' "$work/init.out" | head -n1)

echo "== seeding $hosts hosts, $((hosts * 3)) certificates"
t0=$SECONDS
psql_ -q -v hosts="$hosts" -f "$here/seed_fleet.sql" | sed 's/^/   /'
echo "   (seeded in $((SECONDS - t0)) s)"

"$server_bin" serve --database "$conninfo user=hostca_server" --passphrase-file "$work/passphrase" \
  --tls-dir "$work/tls" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --ready-file "$work/ready" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { tail -n 20 "$work/server.log" >&2; exit 1; }
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_port"])' "$work/ready")

python3 - "$admin" "$work/tls/ca.pem" "$key" "$work/server.log" "$repeat" "$hosts" <<'PY'
import http.client, json, re, ssl, statistics, sys, time
port, ca, key, log, repeat = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
hosts = int(sys.argv[6])
# The 100 hosts around the middle of the fleet share a name prefix.
prefix = ("fleet-%06d" % (hosts // 2))[:-2]
deep = max(1, min(500, hosts // 100 - 1))
tls = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=30)

def get(path):
    conn.request("GET", path, headers={"Authorization": "Bearer " + key})
    res = conn.getresponse()
    body = json.loads(res.read())
    assert res.status == 200, (res.status, body)
    return body

def server_ms(api, count):
    """The duration_ms of the last `count` lines of `api` in the server's log."""
    lines = [l for l in open(log) if "api=%s " % api in l]
    return [float(re.search(r"duration_ms=([0-9.]+)", l).group(1)) for l in lines[-count:]]

first = get("/api/v1/hosts?limit=100")
assert len(first["hosts"]) == 100 and first["next_page_token"]
# A page deep into the fleet: walk there first (not timed).
token = first["next_page_token"]
for _ in range(deep - 1):
    token = get("/api/v1/hosts?limit=100&page_token=" + token)["next_page_token"]
cases = [("first page (100 hosts)", "ListHosts", "/api/v1/hosts?limit=100"),
         ("page %d (by its token)" % (deep + 1), "ListHosts",
          "/api/v1/hosts?limit=100&page_token=" + token),
         ("search by name prefix (%s, 100 hosts)" % prefix, "ListHosts",
          "/api/v1/hosts?limit=100&search=" + prefix),
         ("search by host ID", "ListHosts", "/api/v1/hosts?search=" + first["hosts"][3]["host_id"]),
         ("filter: failure reported", "ListHosts", "/api/v1/hosts?limit=100&state=failure"),
         ("filter: revoked, first page", "ListHosts", "/api/v1/hosts?limit=100&state=revoked"),
         ("filter: expiring, soonest first", "ListHosts",
          "/api/v1/hosts?limit=100&state=expiring&sort=expiry"),
         ("sort: soonest expiry first, first page", "ListHosts",
          "/api/v1/hosts?limit=100&sort=expiry"),
         ("dashboard", "GetDashboard", "/api/v1/dashboard")]
print("== at the server, %d calls each (median, max ms)" % repeat)
for name, api, path in cases:
    for _ in range(repeat):
        got = get(path)
    assert got.get("hosts"), name
    ms = server_ms(api, repeat)
    print("   %-48s %8.2f %8.2f" % (name, statistics.median(ms), max(ms)))
d = get("/api/v1/dashboard")
print("== dashboard: hosts %(hosts)s (valid %(valid)s, expiring %(expiring)s, expired %(expired)s,"
      " revoked %(revoked)s, none %(none)s; failure reported %(failure_reported)s)" % d["hosts"])
print("   usable tokens: %(authorization_usable)s authorization, %(reissue_usable)s reissue"
      % d["tokens"])
PY

echo "== plans (auto_explain)"
psql_ -q -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
prefix=$(printf 'fleet-%06d' $((hosts / 2)) | head -c 10)
python3 - "$admin" "$work/tls/ca.pem" "$key" "$prefix" <<'PY'
import http.client, ssl, sys
conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]),
                                   context=ssl.create_default_context(cafile=sys.argv[2]), timeout=30)
for path in ("/api/v1/hosts?limit=100", "/api/v1/hosts?limit=100&search=" + sys.argv[4],
             "/api/v1/hosts?limit=100&state=failure",
             "/api/v1/hosts?limit=100&state=expiring&sort=expiry", "/api/v1/dashboard"):
    conn.request("GET", path, headers={"Authorization": "Bearer " + sys.argv[3]})
    conn.getresponse().read()
PY
psql_ -q -c "ALTER SYSTEM RESET auto_explain.log_min_duration" -c "SELECT pg_reload_conf()" >/dev/null
# Each plan of the hosts query: from its text to the next statement's.
awk '/Query Text: (SELECT h.host_id|WITH s AS)/ {on = 1; print "   --"; next} /Query Text:/ {on = 0}
     on && /Scan|Limit|Loop|Sort|Hash|SubPlan|Aggregate|duration/ {print}' "$work/pg/postgres.log" | cut -c1-150
