// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "loom",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "LoomEngine", targets: ["LoomEngine"]),
        .library(name: "LoomIPC", targets: ["LoomIPC"]),
        .executable(name: "loomd", targets: ["loomd"]),
        .executable(name: "loomctl", targets: ["loomctl"]),
        .executable(name: "loom-bench", targets: ["loom-bench"]),
    ],
    dependencies: [
        // The CLI's argument parsing; the kernel, the wire and the daemon use no packages.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // SQLite from the system (apt: libsqlite3-dev). The kernel's only dependency.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // sd_notify and socket activation (apt: libsystemd-dev).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The domain-blind kernel: store, journal, ticks, ledger, invariants, gates, bundles, replay.
        .target(name: "LoomEngine", dependencies: ["CSQLite"]),
        // Named gate-policy presets: tables of kernel overrides that name bundle roles.
        .target(name: "LoomPolicy", dependencies: ["LoomEngine"]),
        // Length-prefixed JSON over a Unix socket: framing, messages, client, server.
        .target(name: "LoomIPC", dependencies: ["LoomEngine"]),
        // Agent backends behind the kernel's provider seam, one folder each.
        .target(name: "LoomProviders", dependencies: ["LoomEngine"]),
        // The daemon's wiring as a library, so tests can drive it in-process too.
        .target(name: "LoomDaemon", dependencies: ["LoomEngine", "LoomIPC", "LoomPolicy", "LoomProviders", "CSystemd"]),
        // Deterministic doubles for tests, the simulator and the benchmark.
        .target(name: "LoomTestKit", dependencies: ["LoomEngine", "LoomPolicy"]),
        .executableTarget(name: "loomd", dependencies: ["LoomDaemon"]),
        .executableTarget(name: "loomctl", dependencies: [
            "LoomEngine", "LoomIPC", "LoomPolicy", "LoomProviders",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "loom-bench", dependencies: ["LoomEngine", "LoomPolicy", "LoomTestKit", "LoomIPC", "LoomProviders", "CSQLite"]),
        .testTarget(name: "LoomEngineTests", dependencies: ["LoomEngine", "LoomPolicy", "LoomTestKit", "CSQLite"]),
        .testTarget(name: "LoomIPCTests", dependencies: ["LoomIPC", "LoomEngine"]),
        .testTarget(name: "LoomProvidersTests", dependencies: ["LoomProviders", "LoomEngine"]),
        .testTarget(name: "LoomDaemonTests", dependencies: ["LoomDaemon", "LoomEngine", "LoomIPC", "LoomProviders", "LoomTestKit", "CSQLite"]),
    ]
)
