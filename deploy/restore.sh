#!/usr/bin/env bash
# Restores a dump made by deploy/backup.sh into an EMPTY database, then makes
# the database fit to serve from:
#
#   deploy/restore.sh [--database CONNINFO] BACKUP.dump [-- PG_RESTORE_OPTIONS...]
#
# CONNINFO defaults to $HOSTCA_DATABASE and must name a database that exists
# and holds no tables (createdb it first). The restore is one transaction: it
# lands whole or not at all. Objects are owned by the user that restores
# (--no-owner); grants to roles such as hostca_server are kept. Roles belong
# to the cluster, not to the dump: the server role hostca_server is created
# first when missing (where the restoring role may create roles).
#
# After the restore, the new cluster's transaction counter is moved past the
# old one's: the revocation stream numbers its events by transaction ID (see
# store/migrations/0002_revocation.sql), so on a fresh cluster, whose counter
# starts low, new revocations would be numbered below the restored ones and
# watchers would never see them (or the numbers would collide).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
tool() { if [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else command -v "$1"; fi; }
usage() { echo "usage: $0 [--database CONNINFO] BACKUP.dump [-- PG_RESTORE_OPTIONS...]" >&2; exit 2; }
# Transactions burnt to move the counter, at most; past that, see the message below.
MAX_XID_GAP=${HOSTCA_RESTORE_MAX_XID_GAP:-100000000}
XID_CHUNK=1000000

conninfo=${HOSTCA_DATABASE:-}
dump=
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --database) [ $# -ge 2 ] || usage; conninfo=$2; shift 2 ;;
    --database=*) conninfo=${1#--database=}; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$dump" ] || usage; dump=$1; shift ;;
  esac
done
[ -n "$dump" ] || usage
[ -r "$dump" ] || { echo "restore.sh: cannot read $dump" >&2; exit 1; }
[ -n "$conninfo" ] || { echo "restore.sh: no database: give --database or set HOSTCA_DATABASE" >&2; exit 2; }

PSQL=$(tool psql) || { echo "restore.sh: psql is not installed" >&2; exit 1; }
PG_RESTORE=$(tool pg_restore) || { echo "restore.sh: pg_restore is not installed" >&2; exit 1; }
sql() { "$PSQL" --no-password -X -v ON_ERROR_STOP=1 -qtA -d "$conninfo" -c "$1"; }

"$PG_RESTORE" --list "$dump" >/dev/null || { echo "restore.sh: $dump is not a pg_dump custom-format archive" >&2; exit 1; }

# Never restore over something: a CA database restored into another would mix two CAs.
tables=$(sql "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg_toast%'")
if [ "$tables" != 0 ]; then
  echo "restore.sh: the target database is not empty ($tables tables, views or sequences): restore only into a new database" >&2
  exit 1
fi

# The role the server connects as (it owns nothing; the dump holds its grants).
if [ "$(sql "SELECT count(*) FROM pg_roles WHERE rolname = 'hostca_server'")" = 0 ]; then
  if [ "$(sql "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")" = t ]; then
    sql "CREATE ROLE hostca_server LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
    echo "restore.sh: created the server role hostca_server (set its password with hostca-server migrate --server-password-file)"
  else
    echo "restore.sh: the role hostca_server does not exist and this user may not create it: ask a superuser to CREATE ROLE hostca_server LOGIN before serving" >&2
  fi
fi

"$PG_RESTORE" --exit-on-error --single-transaction --no-owner --no-password \
  --dbname="$conninfo" "${extra[@]}" "$dump"

# Move the transaction counter past the newest restored revocation event:
# new events are numbered transaction ID * 2^20 + position (migration 0006;
# older ones * 4096, all below), so every new one must lie above the newest.
needed=$(sql "SELECT coalesce(max(sequence) / 1048576 + 1, 0) FROM revocation_events")
current=$(sql "SELECT pg_current_xact_id()::text::bigint")
if [ "$current" -lt "$needed" ]; then
  gap=$((needed - current))
  if [ "$gap" -gt "$MAX_XID_GAP" ]; then
    echo "restore.sh: this cluster's transaction counter ($current) is $gap behind the restored revocation stream ($needed)." >&2
    echo "restore.sh: stop the (new, empty) cluster and raise its epoch first, e.g. pg_resetwal -e 1 -D DATADIR, then restore again," >&2
    echo "restore.sh: or set HOSTCA_RESTORE_MAX_XID_GAP to burn that many transactions here." >&2
    exit 1
  fi
  echo "restore.sh: moving the transaction counter from $current past $needed (revocation stream)"
  while [ "$(sql "SELECT pg_current_xact_id()::text::bigint")" -lt "$needed" ]; do
    left=$((needed - $(sql "SELECT pg_current_xact_id()::text::bigint")))
    n=$((left < XID_CHUNK ? left : XID_CHUNK))
    # Each COMMIT inside the DO block ends a transaction that took an ID; they
    # write nothing worth waiting on a disk flush for.
    PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off" \
      sql "DO \$\$ BEGIN FOR i IN 1..$n LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$"
  done
fi

# pg_restore does not carry planner statistics over.
sql "ANALYZE"

# The key that issues: the active one of ca_keys (migration 0007), else the CA's only key.
active="(SELECT sha256_fingerprint FROM ca)"
if [ "$(sql "SELECT to_regclass('ca_keys') IS NOT NULL")" = t ]; then
  active="(SELECT sha256_fingerprint FROM ca_keys WHERE state = 'active')"
fi
summary=$(sql "SELECT $active || ' ' || (SELECT count(*) FROM hosts) || ' '
               || (SELECT count(*) FROM certificates) || ' ' || (SELECT max(version) FROM schema_migrations)")
read -r fingerprint hosts certificates schema <<<"$summary"
echo "restore.sh: restored CA $fingerprint: $hosts hosts, $certificates certificates, schema version $schema"
echo "restore.sh: serve it with the CA passphrase it was made with (hostca-server serve --database ...)"
