import Foundation
import StatusCore
import XCTest

@testable import StatusStore

/// The store contract against SQLite, one fresh database file per test.
final class SQLiteStoreTests: StoreContractTests {
    private var directory: URL!
    private var path: String!
    private var adminConnection: SQLiteConnection?

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-store-\(UUID())")
        // The store must create the missing parent directories itself.
        path = directory.appendingPathComponent("nested/status.sqlite").path
    }

    override func tearDownWithError() throws {
        adminConnection?.close()
        adminConnection = nil
        try? FileManager.default.removeItem(at: directory)
        try super.tearDownWithError()
    }

    override func makeStore() throws -> any TaskStatusStore {
        // A short busy timeout keeps the lock test quick; it decides only when a locked call gives up.
        try SQLiteStore(path: path, busyTimeoutMilliseconds: 200)
    }

    private func admin() throws -> SQLiteConnection {
        if let adminConnection {
            return adminConnection
        }
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 5_000)
        adminConnection = connection
        return connection
    }

    override func execute(_ sql: String) throws {
        try admin().execute(sql)
    }

    override func queryText(_ sql: String) throws -> String? {
        var value: String?
        var isFirstRow = true
        try admin().statement(sql).run([]) { row in
            if isFirstRow {
                value = row.text(0)
                isFirstRow = false
            }
        }
        return value
    }

    override func installPoisonTrigger() throws {
        try execute(
            """
            CREATE TRIGGER reject_poison BEFORE INSERT ON task_status_history WHEN NEW.task_name = 'poison'
            BEGIN SELECT RAISE(ABORT, 'poison task rejected'); END
            """)
    }

    override func installTransientFailureTrigger() throws {
        // Extension loading is disabled by default, so this fails at run time with SQLITE_ERROR,
        // which is not a data error.
        try execute(
            """
            CREATE TRIGGER fail_explode BEFORE INSERT ON task_status_history WHEN NEW.task_name = 'explode'
            BEGIN SELECT load_extension('status-ingest-test-missing-extension'); END
            """)
    }

    override func interruptDatabase(of store: any TaskStatusStore) throws -> () throws -> Void {
        let admin = try admin()
        try admin.execute("BEGIN IMMEDIATE")
        return { try admin.execute("ROLLBACK") }
    }

    // MARK: - SQLite only

    func testJournalIsWriteAheadLog() throws {
        _ = try makeMigratedStore()

        XCTAssertEqual(try queryText("PRAGMA journal_mode"), "wal")
    }

    func testFactoryOpensInMemoryDatabase() throws {
        let store = try StoreFactory.open(url: "sqlite::memory:")
        defer { store.close() }
        try store.migrate()
        let execution = StoreFixtures.execution()
        try store.importExecutions([execution])

        let outcomes = try store.apply([StoreFixtures.batch(fixtures.record(execution, [("extract", "running")]))])

        XCTAssertNotNil(outcomes[0][0].appliedRows)
        XCTAssertEqual(try store.stats().historyRows, 1)
    }

    func testClosedStoreThrows() throws {
        let store = try makeMigratedStore()
        store.close()

        XCTAssertThrowsError(try store.stats())
    }
}
