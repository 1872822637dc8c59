import StatusStore
import XCTest

final class SHA256Tests: XCTestCase {
    func testEmptyMessageDigest() {
        XCTAssertEqual(SHA256.hexDigest(of: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testThreeByteMessageDigest() {
        XCTAssertEqual(SHA256.hexDigest(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testTwoBlockMessageDigest() {
        // 56 bytes: the length no longer fits in the first block, so padding spills into a second one.
        XCTAssertEqual(
            SHA256.hexDigest(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testThousandByteMessageDigest() {
        XCTAssertEqual(
            SHA256.hexDigest(of: String(repeating: "a", count: 1000)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testPiecewiseUpdatesMatchOneShot() {
        let message = String(repeating: "task-status ", count: 40)
        var hash = SHA256()
        var remaining = Substring(message)
        var pieceLength = 1
        while !remaining.isEmpty {
            hash.update(String(remaining.prefix(pieceLength)))
            remaining = remaining.dropFirst(pieceLength)
            pieceLength = pieceLength * 2 + 1
        }
        XCTAssertEqual(hash.finalizeHex(), SHA256.hexDigest(of: message))
    }
}
