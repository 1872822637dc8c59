import Foundation
import Kafka
import XCTest

final class KafkaLogTests: XCTestCase {
    override func tearDown() {
        KafkaLog.resetHandler()
        super.tearDown()
    }

    func testConnectionFailureReachesHandler() throws {
        let lines = LockedLines()
        KafkaLog.setHandler { level, facility, message in
            lines.append(level: level, text: "\(facility): \(message)")
        }

        // A closed mock cluster leaves a loopback port where nothing listens.
        let cluster = try MockKafkaCluster()
        let address = cluster.bootstrapServers
        cluster.close()
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": address])
        defer { producer.close() }

        let deadline = Date().addingTimeInterval(KafkaTestSupport.patience)
        while !lines.contains(address: address), Date() < deadline {
            producer.poll(timeoutMilliseconds: 100)
        }
        XCTAssertTrue(lines.contains(address: address), "\(lines.snapshot())")
        let port = String(address.split(separator: ":").last ?? "")
        let failure = lines.snapshot().first { $0.text.contains(port) }
        XCTAssertGreaterThanOrEqual(failure?.level ?? .debug, .warning, "\(String(describing: failure))")
    }

    func testLevelsOrderBySeverity() {
        XCTAssertLessThan(KafkaLogLevel.debug, KafkaLogLevel.warning)
        XCTAssertLessThan(KafkaLogLevel.error, KafkaLogLevel.emergency)
        XCTAssertEqual(KafkaLogLevel(syslogLevel: 42), .debug)
        XCTAssertEqual(KafkaLogLevel(syslogLevel: -1), .emergency)
    }
}

/// Log lines collected from librdkafka's threads.
private final class LockedLines: @unchecked Sendable {
    struct Line {
        var level: KafkaLogLevel
        var text: String
    }

    private let lock = NSLock()
    private var lines: [Line] = []

    func append(level: KafkaLogLevel, text: String) {
        lock.lock()
        defer { lock.unlock() }
        lines.append(Line(level: level, text: text))
    }

    func snapshot() -> [Line] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    func contains(address: String) -> Bool {
        let port = address.split(separator: ":").last.map(String.init) ?? address
        return snapshot().contains { $0.text.contains(port) }
    }
}
