#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the storage tests, and print its URL.
# Usage: eval "$(scripts/start_postgres.sh)"   (sets HARNESS_TEST_POSTGRES_URL)
# Needs Debian's postgresql package (installed by .ci/run). Runs the server as user postgres.
set -euo pipefail
PORT="${HARNESS_PG_PORT:-54329}"
DIR="${HARNESS_PG_DIR:-/tmp/harness-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
PASSWORD="harness-test-pw"

if ! "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
  rm -rf "$DIR" && mkdir -p "$DIR" && chown postgres:postgres "$DIR"
  echo "$PASSWORD" > "$DIR/pw" && chown postgres:postgres "$DIR/pw"
  su postgres -s /bin/sh -c "'$BIN/initdb' -D '$DIR/data' -A scram-sha-256 -U postgres \
    --pwfile='$DIR/pw' >'$DIR/initdb.log' 2>&1"
  su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w \
    -o \"-c listen_addresses=127.0.0.1 -p $PORT -k '$DIR'\" start" >/dev/null
  PGPASSWORD="$PASSWORD" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q \
    -c "CREATE DATABASE harness_test" >/dev/null
fi
echo "export HARNESS_TEST_POSTGRES_URL=postgresql://postgres:${PASSWORD}@127.0.0.1:${PORT}/harness_test"
