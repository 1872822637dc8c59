import Foundation
import StatusCore
import XCTest

final class BatchGrouperTests: XCTestCase {
    private let executionA = UUIDText.parseCanonical("aaaaaaaa-0000-4000-8000-000000000001")!
    private let executionB = UUIDText.parseCanonical("bbbbbbbb-0000-4000-8000-000000000002")!
    private var nextOffset: Int64 = 0

    private func pending(_ execution: UUID, updates count: Int = 1) -> PendingRecord {
        defer { nextOffset += 1 }
        let updates = (0..<count).map { TaskStatusUpdate(taskName: "task_\($0)", status: "running") }
        return PendingRecord(
            source: RecordSource(topic: "task-status-updates", partition: 0, offset: nextOffset, fingerprint: nextOffset),
            record: Fixture.record(updates, executionID: execution)
        )
    }

    private func offsets(_ batch: ExecutionBatch) -> [Int64] {
        batch.records.map(\.source.offset)
    }

    func testNoRecordsMakeNoBatches() {
        XCTAssertEqual(BatchGrouper.group([]), [])
    }

    func testInterleavedExecutionsAreGroupedInOrder() {
        let records = [pending(executionA), pending(executionB), pending(executionA), pending(executionB), pending(executionA)]
        let batches = BatchGrouper.group(records)
        XCTAssertEqual(batches.map(\.flowExecutionID), [executionA, executionB])
        XCTAssertEqual(batches.map(offsets), [[0, 2, 4], [1, 3]])
    }

    func testExecutionsOrderedByFirstRecord() {
        let records = [pending(executionB), pending(executionA), pending(executionB)]
        XCTAssertEqual(BatchGrouper.group(records).map(\.flowExecutionID), [executionB, executionA])
    }

    func testOneHundredUpdatesFitOneBatch() {
        let batches = BatchGrouper.group((0..<100).map { _ in pending(executionA) })
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(batches.first?.updateCount, 100)
    }

    func testHundredFirstUpdateStartsBatch() {
        let batches = BatchGrouper.group((0..<101).map { _ in pending(executionA) })
        XCTAssertEqual(batches.map(\.updateCount), [100, 1])
        XCTAssertEqual(batches.last.map(offsets), [100])
    }

    func testBatchFormRecordIsNeverSplit() {
        let records = [pending(executionA, updates: 60), pending(executionA, updates: 60), pending(executionA, updates: 40)]
        let batches = BatchGrouper.group(records)
        XCTAssertEqual(batches.map(\.updateCount), [60, 100])
        XCTAssertEqual(batches.map(offsets), [[0], [1, 2]])
    }

    func testFullBatchFormRecordStandsAlone() {
        let records = [pending(executionA), pending(executionA, updates: 100), pending(executionA)]
        let batches = BatchGrouper.group(records)
        XCTAssertEqual(batches.map(offsets), [[0], [1], [2]])
    }

    func testExecutionBatchesStayInOrder() {
        var records: [PendingRecord] = []
        for _ in 0..<150 {
            records.append(pending(executionA))
            records.append(pending(executionB, updates: 2))
        }
        let batches = BatchGrouper.group(records)
        XCTAssertEqual(batches.map(\.flowExecutionID), [executionA, executionA, executionB, executionB, executionB])
        XCTAssertEqual(batches.map(\.updateCount), [100, 50, 100, 100, 100])

        let offsetsOfA = batches.filter { $0.flowExecutionID == executionA }.flatMap(offsets)
        XCTAssertEqual(offsetsOfA, offsetsOfA.sorted())
        XCTAssertEqual(offsetsOfA.count, 150)
        XCTAssertEqual(batches.flatMap(offsets).count, records.count)
    }
}
