import Foundation
import StatusCore
import XCTest

@testable import StatusStore

/// The store contract against PostgreSQL, one fresh schema per test on the server that
/// `STATUS_INGEST_TEST_POSTGRES_URL` names.
final class PostgresStoreTests: StoreContractTests {
    static let urlVariable = "STATUS_INGEST_TEST_POSTGRES_URL"

    private var storeURL: String!
    private var schema: String!
    private var adminConnection: PostgresConnection?

    private struct MissingServer: Error, CustomStringConvertible {
        var description: String
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let environment = ProcessInfo.processInfo.environment
        guard let baseURL = environment[Self.urlVariable], !baseURL.isEmpty else {
            let message = "set \(Self.urlVariable) to a PostgreSQL URL, for example "
                + "postgresql://postgres@127.0.0.1:54329/postgres, to run the PostgreSQL store tests"
            if environment["CI"] != nil {
                throw MissingServer(description: message)
            }
            throw XCTSkip(message)
        }

        schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let separator = baseURL.contains("?") ? "&" : "?"
        storeURL = baseURL + separator + "options=-c%20search_path%3D\(schema!)"
        let admin = try PostgresConnection(uri: storeURL)
        try admin.execute("CREATE SCHEMA \(schema!)")
        adminConnection = admin
    }

    override func tearDownWithError() throws {
        if let adminConnection, let schema {
            try adminConnection.execute("DROP SCHEMA \(schema) CASCADE")
            adminConnection.close()
        }
        adminConnection = nil
        try super.tearDownWithError()
    }

    override func makeStore() throws -> any TaskStatusStore {
        try StoreFactory.open(url: storeURL)
    }

    private func admin() throws -> PostgresConnection {
        guard let adminConnection else {
            throw MissingServer(description: "no administration connection")
        }
        return adminConnection
    }

    override func execute(_ sql: String) throws {
        try admin().execute(sql)
    }

    override func queryText(_ sql: String) throws -> String? {
        let result = try admin().execute(sql)
        return result.rowCount > 0 ? result.text(0, 0) : nil
    }

    override func installPoisonTrigger() throws {
        try execute(
            """
            CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.task_name = 'poison' THEN
                    RAISE EXCEPTION 'poison task rejected' USING ERRCODE = '23514';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER reject_poison BEFORE INSERT ON task_status_history
                FOR EACH ROW EXECUTE FUNCTION reject_poison();
            """)
    }

    override func installTransientFailureTrigger() throws {
        try execute(
            """
            CREATE FUNCTION fail_explode() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.task_name = 'explode' THEN
                    RAISE EXCEPTION 'explode task failed' USING ERRCODE = '40001';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER fail_explode BEFORE INSERT ON task_status_history
                FOR EACH ROW EXECUTE FUNCTION fail_explode();
            """)
    }

    override func interruptDatabase(of store: any TaskStatusStore) throws -> () throws -> Void {
        let processID = try XCTUnwrap(store as? PostgresStore).backendProcessID
        XCTAssertNotEqual(processID, 0)
        // The timeout form waits until the server process is gone, so the store's next call fails.
        XCTAssertEqual(try queryText("SELECT pg_terminate_backend(\(processID), 10000)"), "t")
        return {}
    }

    // MARK: - PostgreSQL only

    func testConnectionLostMidCallAppliesNothing() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        // The sequence is not transactional, so only the first call's server process ends itself,
        // after the history rows of that call are written but before it commits.
        try execute(
            """
            CREATE SEQUENCE end_session_once;
            CREATE FUNCTION end_session_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('end_session_once') = 1 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER end_session_once AFTER INSERT ON task_status_history
                FOR EACH STATEMENT EXECUTE FUNCTION end_session_once();
            """)
        let record = fixtures.record(execution, [("extract", "awaiting_input")])

        XCTAssertThrowsError(try applyOne(store, record)) { error in
            guard case StoreError.transient = error else {
                return XCTFail("expected a transient error, got \(error)")
            }
        }
        XCTAssertEqual(try queryText("SELECT count(*) FROM task_status_history"), "0")
        XCTAssertEqual(try queryText("SELECT count(*) FROM applied_records"), "0")

        let outcome = try applyOne(store, record)
        XCTAssertNotNil(outcome.appliedRows, "\(outcome)")
        XCTAssertEqual(try store.stats().historyRows, 1)
        XCTAssertEqual(try executionStatus(execution.id), "awaiting_input")
    }

    func testZeroCharacterIsRejectedAlone() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let before = fixtures.record(execution, [("extract", "running")])
        let zero = fixtures.record(execution, [("load", "bad\u{0}status")])
        let after = fixtures.record(execution, [("transform", "queued")])

        let outcomes = try store.apply([StoreFixtures.batch(before, zero, after)])

        XCTAssertNotNil(outcomes[0][0].appliedRows, "\(outcomes[0][0])")
        XCTAssertNotNil(outcomes[0][2].appliedRows, "\(outcomes[0][2])")
        let error = try XCTUnwrap(outcomes[0][1].rejection, "\(outcomes[0][1])")
        XCTAssertEqual(error.code, .repositoryError)
        XCTAssertEqual(error.details["sqlstate"]?.stringValue, "22021")
        XCTAssertEqual(try store.stats().historyRows, 2)
        XCTAssertNil(try taskState(execution.id, "load"))
    }

    func testSourceRecordedMeanwhileIsTransient() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let record = fixtures.record(execution, [("extract", "running")])
        // Simulates another writer: during the first call only, the same source appears in
        // applied_records after the store looked for it and before it records it.
        try execute(
            """
            CREATE SEQUENCE record_source_once;
            CREATE FUNCTION record_source_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('record_source_once') = 1 THEN
                    INSERT INTO applied_records (source_topic, source_partition, source_offset, fingerprint)
                    VALUES ('\(record.source.topic)', \(record.source.partition), \(record.source.offset), 99);
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER record_source_once AFTER INSERT ON task_status_history
                FOR EACH STATEMENT EXECUTE FUNCTION record_source_once();
            """)

        XCTAssertThrowsError(try applyOne(store, record)) { error in
            guard case StoreError.transient(let message) = error else {
                return XCTFail("expected a transient error, got \(error)")
            }
            XCTAssertTrue(message.contains("applied_records"), message)
        }
        XCTAssertEqual(try queryText("SELECT count(*) FROM task_status_history"), "0")

        let outcome = try applyOne(store, record)
        XCTAssertNotNil(outcome.appliedRows, "\(outcome)")
        XCTAssertEqual(try queryText("SELECT fingerprint FROM applied_records"), "\(record.source.fingerprint)")
    }

    func testUnreachableServerIsTransient() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        XCTAssertThrowsError(try StoreFactory.open(url: "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2")) {
            error in
            guard case StoreError.transient = error else {
                return XCTFail("expected a transient error, got \(error)")
            }
        }
    }

    func testUnparsableURIIsConfigurationError() {
        XCTAssertThrowsError(try StoreFactory.open(url: "postgresql://127.0.0.1:5432/flows?no_such_option=1")) {
            error in
            guard case StoreError.configuration = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
        }
    }
}
