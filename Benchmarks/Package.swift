// swift-tools-version: 6.1
// Benchmarks live in their own package so the main build and CI never compile
// package-benchmark. Run them with Benchmarks/run.sh (release builds).
import Foundation
import PackageDescription

/// A path dependency's identity is its folder name, which depends on where the
/// repository was cloned.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

/// A package-benchmark suite in the folder of the same name.
func benchmark(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "BenchSupport",
            .product(name: "Formats", package: rootIdentity),
            .product(name: "Engine", package: rootIdentity),
            .product(name: "Benchmark", package: "benchmark")
        ],
        path: name,
        swiftSettings: [.swiftLanguageMode(.v6)],
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "MuninnBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"])
    ],
    targets: [
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "Formats", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark")
            ],
            path: "Support",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        benchmark("Codec"),
        benchmark("WAL")
    ]
)
