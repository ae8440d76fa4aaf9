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
        .executableTarget(
            name: "guanhuai",
            dependencies: [
                "GuanhuaiCore",
                "GuanhuaiConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PlanBenchmark",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig"],
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
        .testTarget(
            name: "GuanhuaiConfigTests",
            dependencies: ["GuanhuaiCore", "GuanhuaiConfig"],
            resources: [],
            swiftSettings: swiftSettings
        ),
    ]
)
