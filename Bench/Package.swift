// swift-tools-version:6.1
// slb-bench micro benchmarks: a separate package so the root package (and CI) never builds
// ordo-one/benchmark. Run from this directory: `swift package benchmark`.
import PackageDescription

let package = Package(
    name: "slb-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "VPNSLB", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SLBCore", package: "VPNSLB"),
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
