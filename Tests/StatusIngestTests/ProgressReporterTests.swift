import Foundation
import StatusIngest
import XCTest

final class ProgressReporterTests: XCTestCase {
    private func reporter(isTerminal: Bool, total: Int = 200) -> (ProgressReporter, CapturedOutput) {
        let captured = CapturedOutput()
        let output = captured.output(progressIsTerminal: isTerminal)
        return (ProgressReporter(total: total, isTerminal: isTerminal, interval: .zero, output: output.progress), captured)
    }

    func testTerminalRedrawsOneBarLine() throws {
        let (progress, captured) = reporter(isTerminal: true)

        progress.update(done: 50)
        progress.update(done: 100)
        let beforeFinish = captured.progress
        progress.finish(done: 200)

        XCTAssertFalse(beforeFinish.contains("\n"), "the bar should stay on one line until the end")
        XCTAssertEqual(beforeFinish.filter { $0 == "\r" }.count, 2)
        XCTAssertTrue(beforeFinish.contains("100/200 records"), beforeFinish)
        XCTAssertTrue(beforeFinish.contains("[###############---------------]"), beforeFinish)
        XCTAssertTrue(beforeFinish.contains("ETA"), beforeFinish)
        XCTAssertTrue(captured.progress.hasSuffix("\n"))
        XCTAssertTrue(captured.progress.contains("[##############################] 100.0% 200/200 records"), captured.progress)
    }

    func testPlainOutputWritesWholeLines() throws {
        let (progress, captured) = reporter(isTerminal: false)

        progress.update(done: 50)
        progress.update(done: 150)
        progress.finish(done: 200)

        let lines = captured.progress.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4, "three lines, each ending in a newline: \(captured.progress)")
        XCTAssertTrue(lines[0].hasPrefix("progress: 50/200 records (25.0%), "), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix("progress: 150/200 records (75.0%), "), String(lines[1]))
        XCTAssertTrue(lines[2].hasPrefix("progress: 200/200 records (100.0%), "), String(lines[2]))
        XCTAssertTrue(lines[1].contains("records/s, ETA "), String(lines[1]))
        XCTAssertFalse(captured.progress.contains("\r"))
    }

    func testIntervalSkipsFrequentUpdates() throws {
        let captured = CapturedOutput()
        let progress = ProgressReporter(
            total: 100, isTerminal: false, interval: .seconds(3600), output: captured.output().progress)

        progress.update(done: 10)
        progress.update(done: 20)
        progress.update(done: 30)

        XCTAssertEqual(captured.progress.split(separator: "\n").count, 1, "only the first update within an hour is written")
    }

    func testRepeatedUpdateIsWrittenOnce() throws {
        let (progress, captured) = reporter(isTerminal: false)

        progress.update(done: 10)
        progress.update(done: 10)

        XCTAssertEqual(captured.progress.split(separator: "\n").count, 1)
    }

    func testFinishDoesNotRepeatLastLine() throws {
        let (progress, captured) = reporter(isTerminal: false)

        progress.update(done: 200)
        progress.finish(done: 200)

        XCTAssertEqual(captured.progress.split(separator: "\n").count, 1, captured.progress)
    }
}
