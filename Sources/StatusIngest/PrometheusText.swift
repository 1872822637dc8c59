import Foundation
import Kafka

/// Renders the worker's metrics in the Prometheus text exposition format, version 0.0.4.
///
/// Every name starts with `status_ingest_`. Counters count since the process started. Labels whose
/// values are known in advance (error codes, retry kinds) are listed with 0 before the first event,
/// so that `rate()` and alerts see a series from the first scrape.
public enum PrometheusText {
    /// The `Content-Type` of a scrape response in this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The dead-letter error codes, from the endpoint's error table.
    static let deadLetterCodes = ["validation_error", "bad_request", "not_found", "repository_error", "internal_error"]
    /// The kinds of retry, named as in `WorkerMetrics.Snapshot.retriesByKind`.
    static let retryKinds = ["store", "dead_letter_publish", "dead_letter_scan"]

    /// Renders `snapshot` as one scrape response body, ending with a newline.
    public static func render(_ snapshot: WorkerMetrics.Snapshot, version: String = StatusIngestVersion.current) -> String {
        var output = Output()
        renderRecords(snapshot, into: &output)
        renderStore(snapshot, into: &output)
        renderKafka(snapshot, into: &output)

        output.family("status_ingest_build_info", type: "gauge", help: "Always 1; the version label names the running build.")
        output.sample("status_ingest_build_info", labels: [("version", version)], 1)
        return output.text
    }

    // MARK: - Families

    private static func renderRecords(_ snapshot: WorkerMetrics.Snapshot, into output: inout Output) {
        output.counter("status_ingest_records_consumed_total", help: "Records read from the input topic.", snapshot.recordsConsumed)
        output.counter(
            "status_ingest_records_applied_total",
            help: "Records applied to the store, duplicates excluded.", snapshot.recordsApplied)
        output.counter("status_ingest_history_rows_total", help: "History rows written to the store.", snapshot.historyRows)
        output.counter(
            "status_ingest_records_duplicate_total",
            help: "Records skipped because the store already had them (redelivered or a repeated event_id).",
            snapshot.duplicates)
        output.counter(
            "status_ingest_records_already_dead_lettered_total",
            help: "Records skipped because a previous owner of the partition had already dead-lettered them.",
            snapshot.alreadyDeadLettered)

        output.family("status_ingest_dead_letters_total", type: "counter", help: "Records published to the dead-letter topic, by error code.")
        let codes = Set(deadLetterCodes).union(snapshot.deadLettersByCode.keys).sorted()
        for code in codes {
            output.sample("status_ingest_dead_letters_total", labels: [("code", code)], snapshot.deadLettersByCode[code] ?? 0)
        }

        output.family(
            "status_ingest_retries_total", type: "counter",
            help: "Retries after a transient failure, by what was retried: store, dead_letter_publish or dead_letter_scan.")
        let kinds = Set(retryKinds).union(snapshot.retriesByKind.keys).sorted()
        for kind in kinds {
            output.sample("status_ingest_retries_total", labels: [("kind", kind)], snapshot.retriesByKind[kind] ?? 0)
        }

        output.gauge(
            "status_ingest_in_flight_records",
            help: "Records of the chunk being applied or dead-lettered; 0 between chunks.", snapshot.inFlightRecords)
    }

    private static func renderStore(_ snapshot: WorkerMetrics.Snapshot, into output: inout Output) {
        output.counter("status_ingest_batches_total", help: "Execution batches applied to the store.", snapshot.batches)
        output.histogram(
            "status_ingest_batch_updates", help: "Updates per execution batch.", snapshot.batchSizes)
        output.histogram(
            "status_ingest_apply_duration_seconds",
            help: "Seconds one store transaction took, with every batch of a chunk in it.", snapshot.applySeconds)
        output.counter("status_ingest_store_errors_total", help: "Store calls that failed and were retried.", snapshot.storeErrors)
        if let reachable = snapshot.storeReachable {
            output.gauge(
                "status_ingest_store_reachable",
                help: "1 when the last store call succeeded, 0 when it failed; absent before the first call.",
                reachable ? 1 : 0)
        }
    }

    private static func renderKafka(_ snapshot: WorkerMetrics.Snapshot, into output: inout Output) {
        output.counter(
            "status_ingest_commit_failures_total",
            help: "Offset commits that failed; the offsets are committed with the next chunk.", snapshot.commitFailures)
        output.gauge(
            "status_ingest_assigned_partitions",
            help: "Input partitions this worker owns now.", snapshot.assignedPartitions)

        output.family(
            "status_ingest_consumer_lag", type: "gauge",
            help: "Records behind per owned partition: the high watermark librdkafka last fetched minus the next offset to process.")
        let partitions = snapshot.lagByPartition.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        for partition in partitions {
            output.sample(
                "status_ingest_consumer_lag",
                labels: [("topic", partition.topic), ("partition", String(partition.partition))],
                Int(snapshot.lagByPartition[partition] ?? 0))
        }

        if let lastPoll = snapshot.lastPollAt {
            output.family(
                "status_ingest_last_poll_timestamp_seconds", type: "gauge",
                help: "Unix time when the worker last polled Kafka; a stuck worker stops moving it.")
            output.sample("status_ingest_last_poll_timestamp_seconds", labels: [], lastPoll.timeIntervalSince1970)
        }
    }

    // MARK: - Writing

    /// The text being built, one `# HELP`/`# TYPE` pair per family followed by its samples.
    struct Output {
        private(set) var text = ""

        mutating func family(_ name: String, type: String, help: String) {
            text += "# HELP \(name) \(PrometheusText.escapedHelp(help))\n# TYPE \(name) \(type)\n"
        }

        mutating func counter(_ name: String, help: String, _ value: Int) {
            family(name, type: "counter", help: help)
            sample(name, labels: [], value)
        }

        mutating func gauge(_ name: String, help: String, _ value: Int) {
            family(name, type: "gauge", help: help)
            sample(name, labels: [], value)
        }

        mutating func histogram(_ name: String, help: String, _ histogram: WorkerMetrics.Histogram) {
            family(name, type: "histogram", help: help)
            // WorkerMetrics.Histogram counts are cumulative already, as Prometheus buckets are.
            for (bound, count) in zip(histogram.bounds, histogram.counts) {
                sample(name + "_bucket", labels: [("le", PrometheusText.number(bound))], count)
            }
            sample(name + "_bucket", labels: [("le", "+Inf")], histogram.count)
            sample(name + "_sum", labels: [], histogram.sum)
            sample(name + "_count", labels: [], histogram.count)
        }

        mutating func sample(_ name: String, labels: [(String, String)], _ value: Int) {
            line(name, labels: labels, String(value))
        }

        mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
            line(name, labels: labels, PrometheusText.number(value))
        }

        private mutating func line(_ name: String, labels: [(String, String)], _ value: String) {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(PrometheusText.escapedLabelValue($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " " + value + "\n"
        }
    }

    /// Formats a float as the exposition format spells it: `+Inf`, `-Inf`, `NaN`, or Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Backslash, double quote and line feed are the three characters a label value escapes.
    static func escapedLabelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Help text escapes only backslash and line feed.
    static func escapedHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
