#!/usr/bin/env bash
# Backs up the whole CA: one pg_dump, custom format, of the hostca database.
# Every bit of the CA's state is in that database: the CA certificate and its
# key (PKCS#8, encrypted with the CA passphrase, which is NOT in the dump),
# hosts, certificates, revocations, CRLs, tokens and admin keys (hashes only),
# the audit log and the revocation stream.
#
#   deploy/backup.sh [--database CONNINFO] OUTPUT.dump
#
# CONNINFO defaults to $HOSTCA_DATABASE, as for hostca-server. The dump is
# written next to OUTPUT and renamed into place once pg_dump succeeded and
# pg_restore can read it back, mode 0600. Restore it with deploy/restore.sh.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
tool() { if [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else command -v "$1"; fi; }
usage() { echo "usage: $0 [--database CONNINFO] OUTPUT.dump" >&2; exit 2; }

conninfo=${HOSTCA_DATABASE:-}
output=
while [ $# -gt 0 ]; do
  case "$1" in
    --database) [ $# -ge 2 ] || usage; conninfo=$2; shift 2 ;;
    --database=*) conninfo=${1#--database=}; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$output" ] || usage; output=$1; shift ;;
  esac
done
[ -n "$output" ] || usage
[ -n "$conninfo" ] || { echo "backup.sh: no database: give --database or set HOSTCA_DATABASE" >&2; exit 2; }

PG_DUMP=$(tool pg_dump) || { echo "backup.sh: pg_dump is not installed" >&2; exit 1; }
PG_RESTORE=$(tool pg_restore) || { echo "backup.sh: pg_restore is not installed" >&2; exit 1; }

# The dump holds token and admin-key hashes and the encrypted CA key: keep it private.
umask 077
tmp="$output.partial.$$"
trap 'rm -f "$tmp"' EXIT

# One snapshot of the whole database (pg_dump reads in one repeatable-read
# transaction), so the CRLs, the certificates and the audit log agree.
"$PG_DUMP" --format=custom --compress=6 --no-password --file="$tmp" --dbname="$conninfo"

# A dump that cannot be listed, or that has no CA in it, is not a backup.
listing=$("$PG_RESTORE" --list "$tmp")
for table in ca certificates crl_shards schema_migrations; do
  if ! grep -Eq "TABLE DATA public $table " <<<"$listing"; then
    echo "backup.sh: the dump has no data for table '$table': is this a hostca database?" >&2
    exit 1
  fi
done

mv -f "$tmp" "$output"
trap - EXIT
echo "backup.sh: wrote $output ($(wc -c <"$output") bytes, sha256 $(sha256sum "$output" | cut -d' ' -f1))"
echo "backup.sh: the CA key in it is encrypted; keep the passphrase apart from the dump"
