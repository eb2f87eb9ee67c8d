#!/bin/sh
# The container's entrypoint: hands a database password kept in a file
# (a Docker or Kubernetes secret, named by PGPASSWORD_FILE) to libpq as
# PGPASSWORD, so that it sits neither in the image nor in the compose file,
# then runs the command.
set -eu
if [ -n "${PGPASSWORD_FILE:-}" ]; then
  PGPASSWORD=$(cat "$PGPASSWORD_FILE")
  export PGPASSWORD
  unset PGPASSWORD_FILE
fi
exec "$@"
