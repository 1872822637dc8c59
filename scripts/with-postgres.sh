#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on loopback, runs the given command with
# STATUS_INGEST_TEST_POSTGRES_URL pointing at it, then stops the server and removes its files.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin_dir" ] || [ ! -x "$bin_dir/initdb" ]; then
  echo "error: PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/install-deps.sh --test" >&2
  exit 1
fi

port=${STATUS_INGEST_TEST_POSTGRES_PORT:-54329}
# Tests skip fsync for speed; the benchmark keeps it on, as a production server would.
fsync=${STATUS_INGEST_TEST_POSTGRES_FSYNC:-off}
data_dir=$(mktemp -d /tmp/status-ingest-pg.XXXXXX)
socket_dir="$data_dir/socket"
mkdir -p "$socket_dir"

# initdb refuses to run as root, so root runs the server as the postgres user the package creates.
as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
  chown -R postgres:postgres "$data_dir"
  as_server_user=(runuser -u postgres --)
fi

stop_server() {
  "${as_server_user[@]}" "$bin_dir/pg_ctl" -D "$data_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap stop_server EXIT

"${as_server_user[@]}" "$bin_dir/initdb" -D "$data_dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$data_dir/initdb.log" 2>&1 \
  || { cat "$data_dir/initdb.log" >&2; exit 1; }
"${as_server_user[@]}" "$bin_dir/pg_ctl" -D "$data_dir/data" -l "$data_dir/server.log" -w -t 60 \
  -o "-p $port -k $socket_dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200" start >/dev/null \
  || { cat "$data_dir/server.log" >&2; exit 1; }

export STATUS_INGEST_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export STATUS_INGEST_TEST_POSTGRES_DATA="$data_dir/data"
export STATUS_INGEST_TEST_POSTGRES_BIN="$bin_dir"
echo "PostgreSQL $("$bin_dir/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$port"
status=0
"$@" || status=$?
exit $status
