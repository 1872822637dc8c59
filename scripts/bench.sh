#!/usr/bin/env bash
# make bench: the worker's throughput, latency and memory next to this machine's own limits,
# all measured in one run. Prints one Markdown table; BENCHMARKS.md keeps the latest.
#
# Input: the shared trace turned into about 1.13 million records (--copies 5), kept in
# .build/bench/data. Every worker run is checked against the data's expected.json: a fast
# run that lost records is a failed run.
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${STATUS_INGEST_SHARED_DIR:-../shared}
copies=${BENCH_COPIES:-5}
data=.build/bench/data-$copies
if [ ! -f "$data/expected.json" ]; then
  echo "Generating the benchmark input ($copies copies of the trace) in $data"
  mkdir -p "$data"
  python3 "$shared/tools/trace-to-events" "$shared/data/alibaba-batch-task-2018.csv" "$data" --copies "$copies" >/dev/null
fi

scripts/install-deps.sh --test
if ! command -v kcat >/dev/null 2>&1; then
  echo "Installing kcat for the broker baseline"
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi
swift build -c release --product status-ingest

export BENCH_DATA=$data
export STATUS_INGEST_TEST_POSTGRES_FSYNC=on
export STATUS_INGEST_TEST_POSTGRES_PORT=${STATUS_INGEST_TEST_POSTGRES_PORT:-54339}
exec scripts/with-postgres.sh python3 scripts/bench.py
