// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "guanhuai",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "guanhuai", targets: ["guanhuai"]),
        .library(name: "GuanhuaiCore", targets: ["GuanhuaiCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // The domain: pure values and functions. No I/O, no clock reads, no dependencies.
        .target(name: "GuanhuaiCore", swiftSettings: swiftSettings),
        // Reading the operator's files (TOML config and rules, CSV roster and relations) into domain values.
        .target(
            name: "GuanhuaiConfig",
            dependencies: [
                "GuanhuaiCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded SQLite store (GRDB): roster, organisation, relations, events, completions, outbox, audit log.
        .target(
            name: "GuanhuaiStore",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "guanhuai",
            dependencies: [
                "GuanhuaiCore",
                "GuanhuaiConfig",
                "GuanhuaiStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PlanBenchmark",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig", "GuanhuaiStore"],
            path: "Benchmarks/PlanBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CalendarBenchmark",
            dependencies: ["GuanhuaiCore"],
            path: "Benchmarks/CalendarBenchmark",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiCoreTests",
            dependencies: ["GuanhuaiCore"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: the example data, scratch directories, running the CLI.
        .target(
            name: "GuanhuaiTestSupport",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig"],
            path: "Tests/GuanhuaiTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiConfigTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig", "GuanhuaiTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GuanhuaiStoreTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig", "GuanhuaiStore", "GuanhuaiTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
