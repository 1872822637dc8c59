import StatusStore
import XCTest

final class StoreURLTests: XCTestCase {
    func testSQLiteRelativePath() throws {
        XCTAssertEqual(try StoreURL(parsing: "sqlite:var/status.sqlite"), .sqlite(path: "var/status.sqlite"))
    }

    func testSQLiteAbsolutePath() throws {
        XCTAssertEqual(try StoreURL(parsing: "sqlite:/tmp/status.sqlite"), .sqlite(path: "/tmp/status.sqlite"))
        XCTAssertEqual(try StoreURL(parsing: "sqlite:///tmp/status.sqlite"), .sqlite(path: "/tmp/status.sqlite"))
    }

    func testSQLiteInMemory() throws {
        XCTAssertEqual(try StoreURL(parsing: "sqlite::memory:"), .sqlite(path: ":memory:"))
    }

    func testPostgresURIsPassUnchanged() throws {
        let uri = "postgresql://ingest@127.0.0.1:5432/flows?options=-c%20search_path%3Dingest"
        XCTAssertEqual(try StoreURL(parsing: uri), .postgres(uri: uri))
        XCTAssertEqual(try StoreURL(parsing: "postgres://127.0.0.1/flows"), .postgres(uri: "postgres://127.0.0.1/flows"))
    }

    func testUnknownSchemeIsConfigurationError() {
        XCTAssertThrowsError(try StoreURL(parsing: "mysql://127.0.0.1/flows")) { error in
            guard case StoreError.configuration(let message) = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
            XCTAssertTrue(message.contains("mysql://127.0.0.1/flows"), message)
            XCTAssertTrue(message.contains("sqlite:PATH"), message)
            XCTAssertTrue(message.contains("postgresql://"), message)
        }
    }

    func testEmptySQLitePathIsConfigurationError() {
        XCTAssertThrowsError(try StoreURL(parsing: "sqlite:")) { error in
            guard case StoreError.configuration = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
        }
    }

    func testPasswordIsHiddenInDisplayText() throws {
        let url = try StoreURL(parsing: "postgresql://ingest:secret@127.0.0.1/flows")
        XCTAssertEqual(url.displayText, "postgresql://ingest:***@127.0.0.1/flows")
    }

    func testFactoryRejectsUnknownScheme() {
        XCTAssertThrowsError(try StoreFactory.open(url: "file:status.db")) { error in
            guard case StoreError.configuration = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
        }
    }
}
