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
    targets: [
        // SQLite from the system (apt: libsqlite3-dev). The kernel's only dependency.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The domain-blind kernel: store, journal, ticks, ledger, invariants, gates, bundles, replay.
        .target(name: "LoomEngine", dependencies: ["CSQLite"]),
        // Named gate-policy presets: tables of kernel overrides that name bundle roles.
        .target(name: "LoomPolicy", dependencies: ["LoomEngine"]),
        // Length-prefixed JSON over a Unix socket (grows with the daemon issue).
        .target(name: "LoomIPC"),
        // Deterministic doubles for tests, the simulator and the benchmark.
        .target(name: "LoomTestKit", dependencies: ["LoomEngine", "LoomPolicy"]),
        .executableTarget(name: "loomd", dependencies: ["LoomEngine", "LoomIPC"]),
        .executableTarget(name: "loomctl", dependencies: ["LoomEngine", "LoomIPC"]),
        .executableTarget(name: "loom-bench", dependencies: ["LoomEngine", "LoomPolicy", "LoomTestKit", "CSQLite"]),
        .testTarget(
            name: "LoomEngineTests",
            dependencies: ["LoomEngine", "LoomPolicy", "LoomTestKit", "CSQLite"]
        ),
    ]
)
