import Foundation
import XCTest

@testable import StatusStore

final class TimestampTextTests: XCTestCase {
    func testFormatsMicrosecondsInUTC() {
        // 2025-01-31T09:15:02Z is 1738314902 seconds after the epoch.
        let date = Date(timeIntervalSince1970: 1_738_314_902.123456)

        XCTAssertEqual(TimestampText.format(date), "2025-01-31T09:15:02.123456Z")
    }

    func testPadsSmallFields() {
        XCTAssertEqual(TimestampText.format(Date(timeIntervalSince1970: 0.000001)), "1970-01-01T00:00:00.000001Z")
    }

    func testTimeBeforeEpochBorrowsASecond() {
        XCTAssertEqual(TimestampText.format(Date(timeIntervalSince1970: -0.5)), "1969-12-31T23:59:59.500000Z")
    }
}
