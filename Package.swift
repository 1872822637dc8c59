// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "status-ingest",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "status-ingest", targets: ["status-ingest"]),
    ],
    targets: [
        // C libraries from Debian, found with pkg-config.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // The contract: decoding, validation, errors, grouping, apply rules. No Kafka, no SQL.
        .target(name: "StatusCore"),

        // The store: one protocol, PostgreSQL and SQLite behind it. No Kafka.
        .target(name: "StatusStore", dependencies: ["StatusCore", "CLibPQ", "CSQLite"]),

        // A small Swift layer over librdkafka. Knows nothing of task statuses.
        .target(name: "Kafka", dependencies: ["CRdKafka"]),

        // The worker, its configuration, logging and command line.
        .target(name: "StatusIngest", dependencies: ["StatusCore", "StatusStore", "Kafka"]),
        .executableTarget(name: "status-ingest", dependencies: ["StatusIngest"]),

        .testTarget(name: "StatusCoreTests", dependencies: ["StatusCore"]),
        .testTarget(name: "StatusStoreTests", dependencies: ["StatusStore", "StatusCore"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(
            name: "StatusIngestTests",
            dependencies: ["StatusIngest", "StatusStore", "StatusCore", "Kafka"]
        ),
        // Faults injected on purpose: the worker runs as a child process that is killed, starved of its
        // database or broker, and joined by others; each case ends with the sample's exact figures.
        .testTarget(
            name: "FaultTests",
            dependencies: ["StatusIngest", "StatusStore", "StatusCore", "Kafka", "status-ingest"]
        ),
    ]
)
