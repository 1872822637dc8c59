#!/usr/bin/env python3
"""Runs the benchmark steps against the PostgreSQL server that scripts/with-postgres.sh started.

Each step's figure comes from the same machine in the same run, so the ratios hold even on a
busy machine: the broker's and each store's own limits first, then the worker against them.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

BINARY = os.environ.get("BENCH_BINARY", ".build/release/status-ingest")
DATA = os.environ["BENCH_DATA"]
POSTGRES = os.environ["STATUS_INGEST_TEST_POSTGRES_URL"]
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "64"))
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "5000"))
LATENCY_SECONDS = int(os.environ.get("BENCH_LATENCY_SECONDS", "60"))
WORK = tempfile.mkdtemp(prefix="status-ingest-bench-")
EXPECTED = json.load(open(os.path.join(DATA, "expected.json")))
EVENTS = os.path.join(DATA, "events.ndjson")
EXECUTIONS = os.path.join(DATA, "executions.ndjson")


def log(text):
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def environment(**settings):
    env = dict(os.environ)
    env["STATUS_INGEST_CONFIG"] = os.devnull
    env["STATUS_INGEST_LOG_FORMAT"] = "json"
    for key, value in settings.items():
        env["STATUS_INGEST_" + key.upper().replace(".", "_")] = str(value)
    return env


def schema_url(schema):
    subprocess.run(["psql", POSTGRES, "-q", "-v", "ON_ERROR_STOP=1", "-c", f"SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True)
    return POSTGRES + "?options=" + urllib.parse.quote(f"-c search_path={schema}")


class Broker:
    """A dev-broker process with the input and dead-letter topics."""

    def __enter__(self):
        self.process = subprocess.Popen(
            [BINARY, "dev-broker", "--partitions", str(PARTITIONS)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment())
        self.bootstrap = self.process.stdout.readline().strip()
        if not re.match(r"^[0-9.:,]+$", self.bootstrap):
            raise RuntimeError(f"dev-broker printed no address: {self.bootstrap!r}")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def run_json_lines(args, env, description):
    """Runs a status-ingest command and returns its JSON log lines."""
    started = time.monotonic()
    result = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    lines = []
    for line in result.stderr.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise RuntimeError(f"{description} failed with exit status {result.returncode}")
    return lines, elapsed, result.stdout


def find(lines, message):
    for line in reversed(lines):
        if line.get("msg") == message:
            return line
    raise RuntimeError(f"no '{message}' log line")


def produce(broker, limit=None, rate=None, linger_ms=20):
    args = [BINARY, "produce", EVENTS]
    if limit:
        args += ["--limit", str(limit)]
    if rate:
        args += ["--rate", str(rate)]
    lines, elapsed, _ = run_json_lines(args, environment(**{"kafka.bootstrap.servers": broker.bootstrap, "kafka.linger.ms": linger_ms}), "produce")
    return find(lines, "records produced")["sent"], elapsed


def broker_limit(broker, records):
    started = time.monotonic()
    output = subprocess.run(
        ["kcat", "-C", "-b", broker.bootstrap, "-t", "task-status-updates", "-o", "beginning", "-e", "-q", "-f", "%o\n"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    elapsed = time.monotonic() - started
    consumed = output.count(b"\n")
    if consumed != records:
        raise RuntimeError(f"kcat read {consumed} records, expected {records}")
    return consumed / elapsed


def worker_run(store_url, label):
    """Loads the executions, produces every record and runs the worker until drained."""
    with Broker() as broker:
        env = environment(**{
            "store.url": store_url, "kafka.bootstrap.servers": broker.bootstrap, "kafka.group.id": f"bench-{label}"})
        run_json_lines([BINARY, "store", "import-executions", EXECUTIONS], env, "import-executions")
        sent, produce_seconds = produce(broker)
        if sent != EXPECTED["records"]:
            raise RuntimeError(f"produced {sent} records, expected {EXPECTED['records']}")
        kcat_rate = broker_limit(broker, sent) if label == "postgresql" else None
        log(f"{label}: {sent} records produced in {produce_seconds:.1f} s; running the worker")
        lines, _, _ = run_json_lines([BINARY, "run", "--until-drained"], env, f"worker ({label})")
        stopped = find(lines, "worker stopped")
        _, _, stats_text = run_json_lines([BINARY, "store", "stats"], env, "store stats")
        stats = json.loads(stats_text)
    check(label, stopped, stats)
    seconds = stopped["active_seconds"]
    return {
        "records_per_second": stopped["records"] / seconds,
        "rows_per_second": stats["history_rows"] / seconds,
        "seconds": seconds,
        "peak_rss": stopped["peak_rss_bytes"],
        "kcat": kcat_rate,
    }


def check(label, stopped, stats):
    problems = []
    for name, actual in [("records", stopped["records"]), ("history_rows", stats["history_rows"]),
                         ("task_states", stats["task_states"]), ("task_states_sha256", stats["task_states_sha256"]),
                         ("executions_awaiting_input", stats["executions_awaiting_input"]),
                         ("dead_letters", stopped["dead_letters"])]:
        if actual != EXPECTED[name]:
            problems.append(f"{name}: expected {EXPECTED[name]}, got {actual}")
    if problems:
        raise RuntimeError(f"{label} run did not reach expected.json: " + "; ".join(problems))
    log(f"{label}: matches expected.json")


def postgres_copy_limit(source):
    """COPY of the worker's own history rows into an empty table with the same schema and indexes."""
    rows_file = os.path.join(WORK, "history.copy")
    subprocess.run(["psql", POSTGRES, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy {source}.task_status_history TO '{rows_file}'"], check=True)
    target_url = schema_url("bench_copy")
    run_json_lines([BINARY, "store", "migrate"], environment(**{"store.url": target_url}), "store migrate")
    started = time.monotonic()
    subprocess.run(["psql", POSTGRES, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy bench_copy.task_status_history FROM '{rows_file}'"], check=True)
    elapsed = time.monotonic() - started
    return EXPECTED["history_rows"] / elapsed


def sqlite_insert_limit(store_path):
    """Inserts the same history rows into an empty SQLite store in one transaction, one prepared statement."""
    rows = sqlite3.connect(store_path).execute("SELECT * FROM task_status_history").fetchall()
    target = os.path.join(WORK, "insert-limit.sqlite")
    run_json_lines([BINARY, "store", "migrate"], environment(**{"store.url": "sqlite:" + target}), "store migrate")
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    placeholders = ",".join("?" * len(rows[0]))
    started = time.monotonic()
    connection.execute("BEGIN")
    connection.executemany(f"INSERT INTO task_status_history VALUES ({placeholders})", rows)
    connection.execute("COMMIT")
    elapsed = time.monotonic() - started
    return len(rows) / elapsed


def records_done(log_path):
    done = 0
    for line in open(log_path):
        if '"batch applied"' in line:
            done += json.loads(line)["records"]
    return done


def latency_run():
    """Measures produce-to-commit latency per record at a steady produce rate against a running worker."""
    store_url = schema_url("bench_latency")
    with Broker() as broker:
        # The mock cluster keeps an empty fetch waiting for the whole fetch.wait.max.ms (500 ms by
        # default) even when records arrive meanwhile. A real broker responds as soon as they do.
        env = environment(**{
            "store.url": store_url, "kafka.bootstrap.servers": broker.bootstrap, "kafka.group.id": "bench-latency",
            "kafka.fetch.wait.max.ms": 5})
        run_json_lines([BINARY, "store", "import-executions", EXECUTIONS], env, "import-executions")
        log_path = os.path.join(WORK, "latency-worker.log")
        with open(log_path, "w") as log_file:
            worker = subprocess.Popen([BINARY, "run"], env=env, stdout=subprocess.DEVNULL, stderr=log_file)
            try:
                time.sleep(5)  # the mock cluster's group join takes about three seconds
                sent, _ = produce(broker, limit=LATENCY_RATE * LATENCY_SECONDS, rate=LATENCY_RATE, linger_ms=1)
                deadline = time.monotonic() + 120
                while records_done(log_path) < sent and time.monotonic() < deadline:
                    time.sleep(0.5)
            finally:
                worker.terminate()
                worker.wait(timeout=60)
    lines = [json.loads(line) for line in open(log_path) if line.startswith("{")]
    stopped = find(lines, "worker stopped")
    if stopped["records"] != sent:
        raise RuntimeError(f"latency run: worker read {stopped['records']} of {sent} records")
    return stopped


def main():
    log(f"input: {EXPECTED['records']} records, {EXPECTED['history_rows']} history rows; {PARTITIONS} partitions")
    sqlite_path = os.path.join(WORK, "worker.sqlite")
    pg_url = schema_url("bench_worker")
    pg = worker_run(pg_url, "postgresql")
    copy_limit = postgres_copy_limit("bench_worker")
    lite = worker_run("sqlite:" + sqlite_path, "sqlite")
    insert_limit = sqlite_insert_limit(sqlite_path)
    log(f"latency: {LATENCY_RATE} records/s for {LATENCY_SECONDS} s")
    latency = latency_run()

    mib = 1024 * 1024
    rows = [
        ("Broker limit: kcat reads the topic", f"{pg['kcat']:,.0f} records/s", ""),
        ("PostgreSQL limit: COPY of the history rows", f"{copy_limit:,.0f} rows/s", ""),
        ("SQLite limit: one transaction, prepared insert", f"{insert_limit:,.0f} rows/s", ""),
        ("Worker, PostgreSQL", f"{pg['rows_per_second']:,.0f} rows/s ({pg['records_per_second']:,.0f} records/s)",
         f"{pg['rows_per_second'] / copy_limit:.2f} of COPY (target 0.60)"),
        ("Worker, SQLite", f"{lite['rows_per_second']:,.0f} rows/s ({lite['records_per_second']:,.0f} records/s)",
         f"{lite['rows_per_second'] / insert_limit:.2f} of bulk insert (target 0.60)"),
        (f"Latency at {LATENCY_RATE:,} records/s, PostgreSQL",
         f"p50 {latency['latency_p50_ms']:.0f} ms, p99 {latency['latency_p99_ms']:.0f} ms, max {latency['latency_max_ms']:.0f} ms",
         "p99 target 50 ms"),
        ("Peak resident memory, volume run (PostgreSQL / SQLite)",
         f"{pg['peak_rss'] / mib:.0f} MiB / {lite['peak_rss'] / mib:.0f} MiB", "target 150 MB"),
    ]
    print(f"| measure ({EXPECTED['records']:,} records, {EXPECTED['history_rows']:,} history rows) | result | against |")
    print("| --- | --- | --- |")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
