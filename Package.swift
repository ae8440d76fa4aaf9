// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // The planner calls the calendar (civil dates, zone rules) millions of times a year's plan; across the module
    // boundary those calls are only inlined with cross-module optimisation.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "guanhuai",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "guanhuai", targets: ["guanhuai"]),
        .executable(name: "guanhuaid", targets: ["guanhuaid"]),
        .library(name: "GuanhuaiCore", targets: ["GuanhuaiCore", "GuanhuaiCalendar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.19"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // Dates and time: civil dates, the Chinese calendar, zone rules, working days, systemd calendar expressions
        // and timestamps. Pure: no I/O, no clock reads, no dependencies.
        .target(name: "GuanhuaiCalendar", swiftSettings: swiftSettings),
        // The domain: members, rules, the planner, reports, who may record what. Pure, on the calendar alone.
        .target(name: "GuanhuaiCore", dependencies: ["GuanhuaiCalendar"], swiftSettings: swiftSettings),
        // What touches the process: the locale switch for operator-facing words, and C calls' errors.
        .target(name: "GuanhuaiSystem", swiftSettings: swiftSettings),
        // Reading the operator's files (TOML config and rules, CSV roster and relations) into domain values.
        .target(
            name: "GuanhuaiConfig",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded SQLite store (GRDB): roster, organisation, relations, events, completions, outbox, audit log.
        .target(
            name: "GuanhuaiStore",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // The same store on PostgreSQL (postgres-nio): for a committee on its IT department's replicated database, and
        // several guanhuaid on one database. The host list (libpq's multi-host URL) and following the primary are ours.
        .target(
            name: "GuanhuaiPostgres",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The configuration together with the store: which of them is authoritative, and the plan input from both.
        .target(
            name: "GuanhuaiWorkspace",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiPostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // libsystemd (pkg-config libsystemd; Debian: libsystemd-dev).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The Swift face of libsystemd: notify, watchdog, and a swift-log handler for the journal.
        .target(
            name: "Systemd",
            dependencies: ["CSystemd", "GuanhuaiSystem", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Channels (SMTP, sendmail, …) and message rendering.
        .target(
            name: "GuanhuaiDelivery",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "Systemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // 组织部's report in its forms: CSV (CSV.swift), XLSX (ZIPFoundation), HTML with an SVG chart, JSON Lines.
        .target(
            name: "GuanhuaiReport",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem",
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // The pages people answer reminders on (Hummingbird 2): signed links, 我的待办, the calendar feed.
        .target(
            name: "GuanhuaiWeb",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiWorkspace",
                "GuanhuaiDelivery", "GuanhuaiReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon's services and buildDaemon(_:): all of guanhuaid's logic.
        .target(
            name: "GuanhuaiDaemon",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiWorkspace", "GuanhuaiDelivery", "Systemd",
                "GuanhuaiWeb", "GuanhuaiReport", "GuanhuaiPostgres",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "guanhuaid",
            dependencies: [
                "GuanhuaiDaemon", "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "Systemd",
                .product(name: "Logging", package: "swift-log"), "GuanhuaiDelivery",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "guanhuai",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem",
                "GuanhuaiConfig",
                "GuanhuaiStore",
                "GuanhuaiWorkspace",
                "GuanhuaiDelivery",
                "GuanhuaiReport",
                "GuanhuaiPostgres",
                "Systemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PlanBenchmark",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore"],
            path: "Benchmarks/PlanBenchmark",
            swiftSettings: swiftSettings
        ),
        // The TOML read path under libFuzzer (Fuzz/run); an ordinary build replays files.
        .executableTarget(
            name: "TOMLFuzz",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig"],
            path: "Fuzz/TOMLFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "StoreEngineBenchmark",
            dependencies: [
                "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiPostgres", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/StoreEngineBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CalendarBenchmark",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem"],
            path: "Benchmarks/CalendarBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailBenchmark",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiDelivery", "GuanhuaiStore", "GuanhuaiPostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MailBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "WebhookBenchmark",
            dependencies: ["GuanhuaiConfig", "GuanhuaiDelivery"],
            path: "Benchmarks/WebhookBenchmark",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiCoreTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: the example data, scratch directories, running the CLI.
        .target(
            name: "GuanhuaiTestSupport",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig"],
            path: "Tests/GuanhuaiTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiConfigTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiDeliveryTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiDelivery", "GuanhuaiTestSupport"],
            exclude: ["Servers"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiDaemonTests",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiWorkspace", "GuanhuaiDelivery",
                "GuanhuaiDaemon", "GuanhuaiTestSupport", "Systemd",
            ],
            exclude: ["Servers"],
            swiftSettings: swiftSettings
        ),
        // The pages in-process: the router as the daemon serves it, driven by HummingbirdTesting.
        .testTarget(
            name: "GuanhuaiWebTests",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiWorkspace", "GuanhuaiDelivery",
                "GuanhuaiWeb", "GuanhuaiTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiStoreTests",
            dependencies: [
                "GuanhuaiCore", "GuanhuaiCalendar", "GuanhuaiSystem", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiWorkspace", "GuanhuaiTestSupport",
                "GuanhuaiPostgres",
            ],
            exclude: ["check_xlsx.py", "Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
