// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "loom",
    products: [
        .library(name: "LoomEngine", targets: ["LoomEngine"]),
        .library(name: "LoomIPC", targets: ["LoomIPC"]),
        .executable(name: "loomd", targets: ["loomd"]),
        .executable(name: "loomctl", targets: ["loomctl"]),
        .executable(name: "loom-bench", targets: ["loom-bench"]),
        .executable(name: "loom-mcp", targets: ["loom-mcp"]),
        .executable(name: "loom-telegram", targets: ["loom-telegram"]),
        .executable(name: "loom-web", targets: ["loom-web"]),
        .executable(name: "loom-http", targets: ["loom-http"]),
    ],
    dependencies: [
        // The CLI's argument parsing.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Ed25519 for signing proof files and chain heads, used through LoomProof (by loomd and
        // loomctl); the kernel uses its SHA-256 only, and holds no key.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The Model Context Protocol server; used by the loom-mcp executable only.
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        // The web dashboard's HTTP server; used by loom-web only, so loomd and loomctl stay
        // free of the HTTP stack. No traits: the dashboard needs neither swift-configuration
        // nor the full-Foundation form coding.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Already part of Hummingbird's graph; named so the dashboard can use their types directly.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // loomd's structured log (levels, metadata); already in the graph through NIO and MCP.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The package graph, bottom to top (docs/ARCHITECTURE.md draws it; PackageGraphTests
        // keeps it): values and system primitives; the kernel and the wire beside each other;
        // providers and the code bundle; the host; the daemon and the front-ends on top.
        // SQLite from the system (apt: libsqlite3-dev). The kernel's only system library.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // sd_notify and socket activation (apt: libsystemd-dev); loomd only.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // JSON values, their canonical encoding and parse limits: what the kernel stores and
        // what the wire carries, with no SQLite, no crypto and no threads.
        .target(name: "LoomValues"),
        // The system primitives every process uses, written once: a lock, errno text, the
        // monotonic clock, atomic file writes, bounded reads, stderr.
        .target(name: "LoomSystem"),
        // Operator-owned configuration files (models, secrets, prices): bounded reads, atomic
        // writes, permission checks. The bot reads its token here without the kernel.
        .target(name: "LoomConfiguration", dependencies: ["LoomValues", "LoomSystem"]),
        // The domain-blind kernel: store, journal, ticks, ledger, invariants, gates, bundles, replay.
        // swift-crypto for SHA-256 only (Kernel/SHA256.swift): BoringSSL's is about nine times the
        // hand-written one `loom-bench kernel` compared it with. The front-ends do not link it.
        .target(
            name: "LoomEngine",
            dependencies: ["LoomValues", "CSQLite", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The host's scheduling decisions without threads (pool admission, retry schedule,
        // delivery failures, who runs a spawn): loomd wraps them in locks and Dispatch, the
        // whole-system simulator drives them in simulated time. One copy of the logic.
        .target(name: "LoomScheduling", dependencies: ["LoomEngine"]),
        // Named gate-policy presets: tables of kernel overrides that name bundle roles.
        .target(name: "LoomPolicy", dependencies: ["LoomEngine"]),
        // The control-plane wire: framing, the typed methods, the client. No kernel, no
        // SQLite: the front-ends link this and nothing of the daemon.
        .target(name: "LoomIPC", dependencies: ["LoomValues", "LoomSystem"]),
        // The control socket's server side: accepting, peer credentials, replies and streams.
        // loomd links it; no client does.
        .target(name: "LoomIPCServer", dependencies: ["LoomIPC", "LoomValues", "LoomSystem"]),
        // Agent backends behind the kernel's provider seam, one folder each; the launcher
        // that confines every task process.
        .target(name: "LoomProviders", dependencies: ["LoomEngine", "LoomConfiguration", "LoomSystem"]),
        // The code bundle's host side: git worktrees, checks, diffs, delivery on loom/<task>.
        .target(name: "LoomCode", dependencies: ["LoomEngine", "LoomProviders", "LoomIPC", "LoomSystem"]),
        // Pictures of bundles and task paths (dot, mermaid), gate cards.
        .target(name: "LoomViews", dependencies: ["LoomEngine"]),
        // Portable proof files: export, offline verification, replay, and Ed25519 signing of
        // the chain head (proofs, and loomd's chain checkpoints). Its own target so keys and
        // signatures stay out of the kernel.
        .target(
            name: "LoomProof",
            dependencies: ["LoomEngine", "LoomSystem", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The host: projects, effect execution, the one-shot run, chain signing, bundle
        // catalogs. What loomd and `loomctl run` share; no socket server, no systemd.
        .target(
            name: "LoomHost",
            dependencies: [
                "LoomEngine", "LoomScheduling", "LoomPolicy", "LoomProviders", "LoomCode", "LoomProof", "LoomSystem",
            ]
        ),
        // The daemon proper, as a library so tests can drive it in-process: the socket
        // server, request handling, identity, metrics, systemd, notifications, the log.
        .target(
            name: "LoomDaemon",
            dependencies: [
                "LoomHost", "LoomIPC", "LoomIPCServer", "LoomViews", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The simulator's SQLite VFS shim (C: the VFS is a table of C function pointers): wraps
        // the default VFS to fail reads, writes and syncs and to drop unsynced writes at a
        // simulated power cut. Test kit only; loomd never links it.
        .target(name: "CFaultVFS", dependencies: ["CSQLite"]),
        // Deterministic doubles for tests, the simulator and the benchmark; SQLite for the
        // hostile writer that rewrites a journal straight in the file.
        .target(
            name: "LoomTestKit",
            dependencies: ["LoomEngine", "LoomPolicy", "LoomScheduling", "LoomSystem", "CFaultVFS", "CSQLite"]
        ),
        .executableTarget(name: "loomd", dependencies: ["LoomDaemon"]),
        // Makes the HTTP backends' requests (URLSession): FoundationNetworking and libcurl load
        // in this short-lived child only, not in loomd or loomctl.
        .executableTarget(name: "loom-http", dependencies: ["LoomProviders"]),
        // The CLI: a client of the socket, plus the host for `run`, `verify` and bundles.
        .executableTarget(
            name: "loomctl",
            dependencies: [
                "LoomHost", "LoomIPC", "LoomViews",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The MCP server on stdio (`loomctl mcp` execs it): its own executable so the MCP
        // package and its dependencies stay out of loomctl.
        .executableTarget(
            name: "loom-mcp",
            dependencies: [
                "LoomIPC", .product(name: "MCP", package: "swift-sdk"),
            ]
        ),
        // The Telegram bot (`loomctl bot telegram` execs it): Foundation's URLSession only.
        .executableTarget(name: "loom-telegram", dependencies: ["LoomIPC", "LoomConfiguration", "LoomSystem"]),
        // The web dashboard: an HTTP front-end that is one more client of loomd's socket.
        .target(
            name: "LoomWeb",
            dependencies: [
                "LoomIPC", "LoomConfiguration", "LoomSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "loom-web",
            dependencies: ["LoomWeb", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "loom-bench",
            dependencies: [
                "LoomEngine", "LoomPolicy", "LoomScheduling", "LoomTestKit", "LoomIPC", "LoomProviders", "LoomSystem",
                "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "LoomEngineTests",
            dependencies: [
                "LoomEngine", "LoomValues", "LoomSystem", "LoomPolicy", "LoomScheduling", "LoomTestKit", "CSQLite",
            ]
        ),
        .testTarget(
            name: "LoomProofTests",
            dependencies: [
                "LoomProof", "LoomEngine", "LoomValues", "LoomSystem", "LoomPolicy", "LoomTestKit", "CSQLite",
            ]
        ),
        .testTarget(name: "LoomIPCTests", dependencies: ["LoomIPC", "LoomIPCServer", "LoomValues"]),
        .testTarget(
            name: "LoomCodeTests",
            dependencies: [
                "LoomCode", "LoomIPC", "LoomValues", "LoomSystem", "LoomConfiguration", "LoomHost", "LoomDaemon",
                "LoomEngine", "LoomPolicy", "LoomProviders", "LoomTestKit", "LoomViews",
            ]
        ),
        .testTarget(
            name: "LoomProvidersTests",
            dependencies: [
                "LoomProviders", "LoomConfiguration", "LoomEngine", "LoomSystem", "LoomValues", "LoomTestKit",
            ]
        ),
        .testTarget(name: "LoomWebTests", dependencies: ["LoomWeb", "LoomIPC", "LoomSystem", "LoomValues"]),
        .testTarget(
            name: "LoomDaemonTests",
            dependencies: [
                "LoomDaemon", "LoomIPCServer", "LoomValues", "LoomSystem", "LoomConfiguration", "LoomViews", "LoomHost",
                "LoomCode", "LoomEngine", "LoomIPC", "LoomProviders", "LoomTestKit", "CSQLite",
            ]
        ),
    ]
)
