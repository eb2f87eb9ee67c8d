#!/usr/bin/env bash
# The quick start: installs what is missing, builds, starts a private
# PostgreSQL for hostca under a data folder, initialises the CA (once) and
# serves on loopback: gRPC over TLS on 127.0.0.1:8443, HTTP on 127.0.0.1:8080,
# the admin JSON API over HTTPS on 127.0.0.1:9444.
#
#   deploy/quickstart.sh [--data DIR]      (default DIR: ./hostca-data)
#
# Ports: HOSTCA_GRPC_PORT, HOSTCA_HTTP_PORT, HOSTCA_ADMIN_PORT, HOSTCA_PG_PORT
# override them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

data=./hostca-data
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
grpc_port=${HOSTCA_GRPC_PORT:-8443}
http_port=${HOSTCA_HTTP_PORT:-8080}
admin_port=${HOSTCA_ADMIN_PORT:-9444}
pg_port=${HOSTCA_PG_PORT:-55432}

deploy/install-deps.sh
deploy/build.sh hostca-server hostca-admin hostca-agent

mkdir -p "$data"
data=$(realpath "$data")
chmod 711 "$data"
conninfo=$(deploy/postgres.sh start "$data/postgres" "$pg_port")
echo "PostgreSQL for hostca: $conninfo (log: $data/postgres/postgres.log)"

# The passphrase that encrypts the CA key: made once, kept beside the data.
# Back it up apart from the database: without it the CA key cannot be opened.
if [ ! -s "$data/passphrase" ]; then
  (umask 077 && openssl rand -base64 33 >"$data/passphrase")
  echo "Made a CA passphrase in $data/passphrase (back it up, apart from the database)."
fi

server=build/ca/hostca-server
# The owner of the tables (the cluster's first role) migrates and
# initialises; migrate creates hostca_server, a role that owns nothing, and
# the server connects as it (least privilege: it can only append to the
# audit log, never switch its guard off).
"$server" migrate --database "$conninfo" >/dev/null
server_conninfo="$conninfo user=hostca_server"
has_ca=$(/usr/lib/postgresql/15/bin/psql "$conninfo" -tAc "SELECT count(*) FROM ca")
if [ "$has_ca" = 0 ]; then
  "$server" init --database "$conninfo" --passphrase-file "$data/passphrase" --tls-dir "$data/tls" \
    --crl-base-url "http://127.0.0.1:$http_port/crl"
else
  echo "A CA already exists in this database; init is skipped (it never overwrites one)."
fi

cat <<EOT

hostca is starting. In another shell:
  export HOSTCA_SERVER=127.0.0.1:$grpc_port HOSTCA_CA_FILE=$data/tls/ca.pem
  export HOSTCA_ADMIN_KEY=<the admin key printed at init>
  $root/build/ca/hostca-admin token create --name lab --max-uses 2 --valid-for 24h
  $root/build/ca/hostca-agent --dir /tmp/agent get-ca --server 127.0.0.1:$grpc_port --fingerprint \$(openssl x509 -in $data/tls/ca.pem -outform DER | sha256sum | cut -d' ' -f1)
  $root/build/ca/hostca-agent --dir /tmp/agent enroll --token <token> --hostname web01.example
The admin console (docs/console.md): https://127.0.0.1:$admin_port/
  (the browser must trust $data/tls/ca.pem; sign in with the admin key)
The admin JSON API (docs/api.md), for scripts:
  curl --cacert $data/tls/ca.pem -H "Authorization: Bearer \$HOSTCA_ADMIN_KEY" https://127.0.0.1:$admin_port/api/v1/hosts
Stop with Ctrl-C; PostgreSQL keeps running (deploy/postgres.sh stop $data/postgres stops it).

EOT
exec "$server" serve --database "$server_conninfo" --passphrase-file "$data/passphrase" \
  --tls-dir "$data/tls" --listen "127.0.0.1:$grpc_port" --http-listen "127.0.0.1:$http_port" \
  --admin-listen "127.0.0.1:$admin_port"
