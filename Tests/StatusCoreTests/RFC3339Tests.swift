import Foundation
import StatusCore
import XCTest

final class RFC3339Tests: XCTestCase {
    func testValidDateTimesParse() {
        let cases: [(String, TimeInterval)] = [
            ("2026-01-02T03:04:05Z", 1_767_323_045),
            ("2026-01-02t03:04:05z", 1_767_323_045),
            ("2026-01-02T03:04:05.123+02:00", 1_767_315_845.123),
            ("2026-01-02T03:04:05-05:30", 1_767_342_845),
            ("2026-01-02T03:04:05-00:00", 1_767_323_045),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59Z", -1),
            ("2024-02-29T12:00:00Z", 1_709_208_000),
            ("2000-02-29T00:00:00.000001Z", 951_782_400.000_001),
        ]
        for (text, expected) in cases {
            let date = RFC3339.parse(text)
            XCTAssertNotNil(date, text)
            XCTAssertEqual(date?.timeIntervalSince1970 ?? .nan, expected, accuracy: 0.000_001, text)
        }
    }

    func testInvalidDateTimesAreRejected() {
        for text in ["", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "2026-01-02T03:04Z",
                     "2026-1-02T03:04:05Z", "2026-13-02T03:04:05Z", "2026-00-02T03:04:05Z", "2023-02-29T00:00:00Z",
                     "2026-04-31T00:00:00Z", "2026-01-02T24:00:00Z", "2026-01-02T03:60:00Z", "2026-01-02T03:04:60Z",
                     "2026-01-02T03:04:05.Z", "2026-01-02T03:04:05+0200", "2026-01-02T03:04:05+24:00",
                     "2026-01-02T03:04:05Z ", "2026-01-02T03:04:05ZZ", "+2026-01-02T03:04:05Z", "２026-01-02T03:04:05Z"] {
            XCTAssertNil(RFC3339.parse(text), text)
        }
    }

    func testFormatWritesUTCWithMicroseconds() {
        XCTAssertEqual(RFC3339.format(Date(timeIntervalSince1970: 1_767_315_845.123_456)), "2026-01-02T01:04:05.123456Z")
        XCTAssertEqual(RFC3339.format(Date(timeIntervalSince1970: 0), fractionalDigits: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(RFC3339.format(Date(timeIntervalSince1970: -0.5), fractionalDigits: 3), "1969-12-31T23:59:59.500Z")
    }

    func testFormatRoundTripsThroughParse() throws {
        let date = Date(timeIntervalSince1970: 1_709_208_000.25)
        let parsed = try XCTUnwrap(RFC3339.parse(RFC3339.format(date)))
        XCTAssertEqual(parsed.timeIntervalSince1970, date.timeIntervalSince1970, accuracy: 0.000_001)
    }
}
