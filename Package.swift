// swift-tools-version: 6.1
import PackageDescription

/// Shared by every Swift target: Swift 6 language mode (strict concurrency).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

/// The engine's hot paths index arrays in tight loops; release builds skip the
/// dynamic exclusivity checks there (debug builds and tests keep them).
let engineSettings: [SwiftSetting] =
    swiftSettings + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]

/// The C core is built optimised even in debug builds: it is the hot path, and
/// tests that push real data through it should not crawl.
let cSettings: [CSetting] = [
    .unsafeFlags(["-O2"])
]

/// `scripts/asan.sh` sets MUNINN_STORAGE_ONLY=1: its sanitized build then holds
/// only the storage layers (Formats, Engine, and Tools, whose compression
/// benchmark decodes untrusted files) and their tests, which is all it runs,
/// instead of also compiling the node's HTTP, TLS and CLI stack (two copies of
/// BoringSSL).
let storageOnly = Context.environment["MUNINN_STORAGE_ONLY"] == "1"

let package = Package(
    name: "Muninn",
    products: (storageOnly ? [] : [.executable(name: "muninn", targets: ["Node"])]) + [
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Engine", targets: ["Engine"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0")
    ],
    targets: [
        // System libraries, found through pkg-config; apt names the Debian packages.
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // C: everything per sample or per byte.
        .target(
            name: "CStorage",
            dependencies: ["CLZ4", "CSnappy", "CZlib"],
            cSettings: cSettings
        ),

        // The layers, each using only those above it; `package` access for what
        // only sibling targets use, `public` for a library user's API.
        // Formats: pure encoders and decoders over byte buffers (codecs, chunks,
        // WAL records, index and block layouts, remote-write/read protobuf, label
        // matchers); no file I/O, no threads, no locks.
        .target(
            name: "Formats",
            dependencies: ["CStorage", "CSnappy"],
            swiftSettings: engineSettings
        ),
        // Engine: files, WAL, head, blocks on disk, tenant databases, object store.
        .target(
            name: "Engine",
            dependencies: [
                "Formats", "CStorage", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics")
            ],
            swiftSettings: engineSettings
        ),
        // Tools: offline inspection of WALs and blocks, the compression benchmark.
        .target(
            name: "Tools",
            dependencies: ["Engine", "Formats", "CStorage", "CZlib"],
            swiftSettings: swiftSettings
        )

    ]
        + (storageOnly
            ? []
            : [
                // Cluster: the hash ring, its gossip (memberlist-style KV over
                // persistent TCP connections) and the lifecycler. Model/ is pure
                // (its decoder is fuzzed on its own by scripts/fuzz.sh).
                .target(
                    name: "Cluster",
                    dependencies: [
                        "CStorage",
                        .product(name: "Logging", package: "swift-log"),
                        .product(name: "Metrics", package: "swift-metrics"),
                        .product(name: "NIOCore", package: "swift-nio"),
                        .product(name: "NIOPosix", package: "swift-nio"),
                        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                        .product(name: "Crypto", package: "swift-crypto")
                    ],
                    swiftSettings: swiftSettings
                ),
                // Swift executable `muninn`: node and CLI tools.
                .executableTarget(
                    name: "Node",
                    dependencies: [
                        "Cluster",
                        "Tools",
                        "Engine",
                        "Formats",
                        "CStorage",
                        .product(name: "ArgumentParser", package: "swift-argument-parser"),
                        .product(name: "Hummingbird", package: "hummingbird"),
                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                        .product(name: "Metrics", package: "swift-metrics"),
                        .product(name: "Prometheus", package: "swift-prometheus"),
                        .product(name: "Yams", package: "Yams"),
                        .product(name: "HTTPTypes", package: "swift-http-types"),
                        .product(name: "NIOCore", package: "swift-nio"),
                        .product(name: "NIOPosix", package: "swift-nio"),
                        .product(name: "NIOSSL", package: "swift-nio-ssl"),
                        .product(name: "HummingbirdCore", package: "hummingbird"),
                        .product(name: "HummingbirdTLS", package: "hummingbird"),
                        .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                        .product(name: "Crypto", package: "swift-crypto")
                    ],
                    swiftSettings: swiftSettings
                ),
                .testTarget(
                    name: "ClusterTests",
                    dependencies: [
                        "Cluster", "CStorage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                        .product(name: "NIOPosix", package: "swift-nio")
                    ], swiftSettings: swiftSettings),
                .testTarget(
                    name: "NodeTests", dependencies: ["Node", "Cluster", "Tools", "Engine", "Formats", "CStorage", "TestSupport"],
                    swiftSettings: swiftSettings)
            ]) + [
            .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
            .testTarget(
                name: "CStorageTests",
                dependencies: [
                    "CStorage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")
                ], swiftSettings: swiftSettings),
            .testTarget(
                name: "FormatsTests",
                dependencies: [
                    "Formats", "CStorage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio")
                ], swiftSettings: swiftSettings),
            // Fixtures that need the storage layers: reference blocks, promtool runs.
            .target(
                name: "StorageTestSupport", dependencies: ["Engine", "Formats", "TestSupport"],
                path: "Tests/StorageTestSupport", swiftSettings: swiftSettings),
            .testTarget(
                name: "EngineTests", dependencies: ["Engine", "Formats", "CStorage", "TestSupport", "StorageTestSupport"],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "ToolsTests", dependencies: ["Tools", "Engine", "Formats", "CStorage", "TestSupport", "StorageTestSupport"],
                swiftSettings: swiftSettings)
        ]
)
