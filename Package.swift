// swift-tools-version:6.0
// VPNSLB: a software server load balancer for IPsec VPN gateway farms (IOS SLB semantics).
// Layout and dependency direction: see README.md. Pure targets never import edge targets.
import PackageDescription

let package = Package(
    name: "VPNSLB",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "slb", targets: ["slb"]),
        .executable(name: "slb-bench", targets: ["slb-bench"]),
        .library(name: "SLBCore", targets: ["SLBCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // MARK: pure targets
        .target(name: "SLBWire", exclude: ["README.md"]),
        .target(name: "SLBConfig", dependencies: ["SLBWire"], exclude: ["README.md"]),
        .target(name: "SLBCore", dependencies: ["SLBWire", "SLBConfig"], exclude: ["README.md"]),
        .target(name: "SLBShow", dependencies: ["SLBCore", "SLBConfig", "SLBWire"], exclude: ["README.md"]),
        .target(name: "SLBSimulate", dependencies: ["SLBCore", "SLBConfig", "SLBWire", "SLBShow"],
                exclude: ["README.md"]),
        .target(name: "IPsecCrypto", exclude: ["README.md"]),
        .target(name: "ESP", dependencies: ["IPsecCrypto", "SLBWire"], exclude: ["README.md"]),
        .target(name: "IKE", dependencies: ["IPsecCrypto", "ESP", "SLBWire"], exclude: ["README.md", "V1/README.md"]),

        // MARK: edge targets
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "CryptoOpenSSL", dependencies: ["COpenSSL", "IPsecCrypto"], exclude: ["README.md"]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap",
                       providers: [.apt(["libpcap-dev"])]),
        .target(name: "Dataplane", dependencies: ["CPcap", "SLBCore", "SLBConfig", "SLBWire", "IKE"],
                exclude: ["README.md"]),
        .target(name: "Lab", dependencies: ["SLBWire"], exclude: ["README.md"]),
        .target(name: "Traffic", dependencies: ["CPcap", "Lab", "SLBWire"], exclude: ["README.md"]),
        .target(name: "BenchKit", dependencies: ["Traffic", "Lab", "Dataplane", "SLBCore", "SLBConfig", "SLBWire"],
                path: "Bench/Sources/BenchKit", exclude: ["README.md"]),
        .target(name: "Runtime", dependencies: ["Dataplane", "ControlSocket", "SLBCore", "SLBConfig", "SLBShow", "SLBWire",
                                                .product(name: "Logging", package: "swift-log")],
                exclude: ["README.md"]),

        // MARK: executable
        .executableTarget(name: "slb", dependencies: [
            "SLBWire", "SLBConfig", "SLBCore", "SLBShow", "SLBSimulate", "Lab", "Dataplane",
            "Traffic", "Gateway", "GatewayShow", "ControlSocket", "IKE", "Runtime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "slb-bench", dependencies: [
            "BenchKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Bench/Sources/slb-bench"),

        // MARK: embedded gateway: show tables (pure), control socket and gateway (edge)
        .target(name: "GatewayShow", exclude: ["README.md"]),
        .target(name: "ControlSocket", exclude: ["README.md"]),
        .target(name: "Gateway", dependencies: ["IKE", "ESP", "IPsecCrypto", "CryptoOpenSSL", "SLBWire",
                                                "GatewayShow", "ControlSocket",
                                                .product(name: "Logging", package: "swift-log")], exclude: ["README.md"]),

        // MARK: tests
        .testTarget(name: "SLBWireTests", dependencies: ["SLBWire"]),
        .testTarget(name: "SLBConfigTests", dependencies: ["SLBConfig", "SLBWire"],
                    exclude: ["Fixtures"]),  // read from the source tree via #filePath
        .testTarget(name: "SLBCoreTests", dependencies: ["SLBCore", "SLBConfig", "SLBWire", "SLBCoreAllocationCounter"]),
        .target(name: "SLBCoreAllocationCounter", path: "Tests/SLBCoreAllocationCounter"),
        .testTarget(name: "SLBShowTests", dependencies: ["SLBShow", "SLBCore", "SLBConfig", "SLBWire"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SLBSimulateTests", dependencies: ["SLBSimulate", "SLBShow", "SLBCore", "SLBConfig", "SLBWire"]),
        .testTarget(name: "ESPTests", dependencies: ["ESP", "IPsecCrypto", "CryptoOpenSSL"]),
        .testTarget(name: "IKETests", dependencies: ["IKE", "ESP", "IPsecCrypto", "CryptoOpenSSL", "SLBWire"],
                    exclude: ["Interop"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IKEv1Tests", dependencies: ["IKE", "ESP", "IPsecCrypto", "CryptoOpenSSL", "SLBWire"],
                    exclude: ["Fixtures"]),  // read from the source tree via #filePath
        .testTarget(name: "CryptoOpenSSLTests", dependencies: ["CryptoOpenSSL", "IPsecCrypto"]),
        .testTarget(name: "LabTests", dependencies: ["Lab", "Dataplane", "SLBWire"]),
        .testTarget(name: "TrafficTests", dependencies: ["Traffic", "Lab", "Dataplane", "SLBWire"]),
        .testTarget(name: "BenchTests", dependencies: ["BenchKit", "Traffic", "Dataplane", "SLBWire"]),
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "Lab", "SLBCore", "SLBConfig", "SLBWire",
                                                         "SLBCoreAllocationCounter"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Dataplane", "Lab", "ControlSocket", "SLBCore",
                                                         "SLBConfig", "SLBShow", "SLBWire",
                                                         .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "FailoverTests", dependencies: ["Dataplane", "Lab", "Gateway", "GatewayShow", "IKE", "CryptoOpenSSL", "BenchKit", "SLBCore",
                                                         "SLBConfig", "SLBWire"]),
        .testTarget(name: "FarmTests", dependencies: ["Lab", "Dataplane", "Gateway", "GatewayShow", "SLBCore", "SLBShow", "SLBWire"],
                    exclude: ["README.md"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "GatewayShow", "ControlSocket", "IKE", "ESP",
                                                         "IPsecCrypto", "CryptoOpenSSL", "SLBWire"]),
        .testTarget(name: "IKEv1FarmTests", dependencies: ["Lab", "Dataplane", "Gateway", "GatewayShow", "SLBCore", "SLBShow", "SLBWire"]),
    ]
)
