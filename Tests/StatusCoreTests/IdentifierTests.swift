import Foundation
import StatusCore
import XCTest

final class IdentifierTests: XCTestCase {
    // MARK: - ULID

    func testULIDMatchesTheSpecificationsExample() {
        // The ULID specification encodes timestamp 1469918176385 as "01ARYZ6S41".
        let ulid = ULID(unixMilliseconds: 1_469_918_176_385, randomHigh: 0, randomLow: 0)
        XCTAssertEqual(ulid.description, "01ARYZ6S410000000000000000")
        XCTAssertEqual(ULID(unixMilliseconds: 0, randomHigh: .max, randomLow: .max).description, "0000000000ZZZZZZZZZZZZZZZZ")
        XCTAssertEqual(ULID(high: .max, low: .max).description, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
    }

    func testULIDTextRoundTrips() throws {
        var generator = ULIDGenerator()
        for _ in 0..<100 {
            let ulid = generator.next()
            let text = ulid.description
            XCTAssertEqual(text.count, 26)
            XCTAssertTrue(text.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) }, text)
            XCTAssertEqual(ULID(string: text), ulid)
            XCTAssertEqual(ULID(string: text.lowercased()), ulid)
        }
        XCTAssertEqual(ULID(string: "01K8KABR6S16YETA2SZPVBS9SP")?.description, "01K8KABR6S16YETA2SZPVBS9SP")
    }

    func testMalformedULIDTextIsRejected() {
        for text in ["", "01K8KABR6S16YETA2SZPVBS9S", "01K8KABR6S16YETA2SZPVBS9SPX", "01K8KABR6S16YETA2SZPVBS9SI",
                     "01K8KABR6S16YETA2SZPVBS9SL", "01K8KABR6S16YETA2SZPVBS9SO", "01K8KABR6S16YETA2SZPVBS9SU",
                     "81K8KABR6S16YETA2SZPVBS9SP", "01K8KABR6S16YETA2SZPVBS9S-"] {
            XCTAssertNil(ULID(string: text), text)
        }
    }

    func testULIDsIncreaseWithinOneMillisecond() {
        var generator = ULIDGenerator()
        let ulids = (0..<1000).map { _ in generator.next(unixMilliseconds: 1_767_315_845_000) }
        let texts = ulids.map(\.description)
        XCTAssertEqual(texts, texts.sorted())
        XCTAssertEqual(Set(texts).count, texts.count)
        XCTAssertTrue(ulids.allSatisfy { $0.unixMilliseconds == 1_767_315_845_000 })
        XCTAssertEqual(ulids, ulids.sorted())
    }

    func testULIDsIncreaseWhenTheClockStepsBack() {
        var generator = ULIDGenerator()
        let later = generator.next(unixMilliseconds: 2_000)
        let earlier = generator.next(unixMilliseconds: 1_000)
        XCTAssertLessThan(later.description, earlier.description)
        XCTAssertEqual(earlier.unixMilliseconds, 2_000)
    }

    func testULIDCarriesTheCurrentTime() {
        var generator = ULIDGenerator()
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let ulid = generator.next()
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        XCTAssertGreaterThanOrEqual(ulid.unixMilliseconds, before)
        XCTAssertLessThanOrEqual(ulid.unixMilliseconds, after)
    }

    // MARK: - UUID version 7

    func testUUIDv7IsWellFormed() {
        var generator = UUIDv7Generator()
        let uuid = generator.next(unixMilliseconds: 1_767_315_845_123)
        let text = UUIDText.canonicalLowercase(uuid)
        XCTAssertTrue(text.hasPrefix("019b7c3b-b003-7"), text)
        XCTAssertEqual(Array(text)[14], "7", "version nibble")
        XCTAssertTrue("89ab".contains(Array(text)[19]), "RFC 9562 variant")
        XCTAssertEqual(UUIDv7Generator.unixMilliseconds(of: uuid), 1_767_315_845_123)
    }

    func testUUIDv7IncreasesWithinOneMillisecondPastTheCounter() {
        var generator = UUIDv7Generator()
        // More ids than the 12-bit counter holds, so the generator must move past the millisecond.
        let texts = (0..<10_000).map { _ in UUIDText.canonicalLowercase(generator.next(unixMilliseconds: 1_000_000)) }
        XCTAssertEqual(texts, texts.sorted())
        XCTAssertEqual(Set(texts).count, texts.count)
    }

    func testUUIDv7IncreasesWhenTheClockStepsBack() {
        var generator = UUIDv7Generator()
        let first = UUIDText.canonicalLowercase(generator.next(unixMilliseconds: 5_000))
        let second = UUIDText.canonicalLowercase(generator.next(unixMilliseconds: 4_000))
        XCTAssertLessThan(first, second)
    }

    func testUUIDv7FromTheSystemClockIncreases() {
        var generator = UUIDv7Generator()
        let texts = (0..<1000).map { _ in UUIDText.canonicalLowercase(generator.next()) }
        XCTAssertEqual(texts, texts.sorted())
    }

    // MARK: - Canonical UUID text

    func testCanonicalUUIDParsesInEitherCase() {
        let lower = "0f8fad5b-d9cb-469f-a165-70867728950e"
        XCTAssertEqual(UUIDText.parseCanonical(lower), UUID(uuidString: lower))
        XCTAssertEqual(UUIDText.parseCanonical(lower.uppercased()), UUID(uuidString: lower))
        XCTAssertEqual(UUIDText.parseCanonical("0F8fAD5b-d9cb-469f-A165-70867728950e"), UUID(uuidString: lower))
        XCTAssertEqual(UUIDText.parseCanonical(utf8: Array(lower.utf8)), UUID(uuidString: lower))
        XCTAssertEqual(UUIDText.parseCanonical("x\(lower)x".dropFirst().dropLast()), UUID(uuidString: lower))
    }

    func testNonCanonicalUUIDTextIsRejected() {
        for text in ["{0f8fad5b-d9cb-469f-a165-70867728950e}", "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
                     "0f8fad5bd9cb469fa16570867728950e", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e0",
                     "0f8fad5b_d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469fa-165-70867728950e", "0f8fad5g-d9cb-469f-a165-70867728950e",
                     " f8fad5b-d9cb-469f-a165-70867728950e", ""] {
            XCTAssertNil(UUIDText.parseCanonical(text), text)
        }
    }

    func testCanonicalLowercaseMatchesFoundation() {
        for _ in 0..<100 {
            let uuid = UUID()
            XCTAssertEqual(UUIDText.canonicalLowercase(uuid), uuid.uuidString.lowercased())
            XCTAssertEqual(UUIDText.parseCanonical(UUIDText.canonicalLowercase(uuid)), uuid)
        }
    }
}
