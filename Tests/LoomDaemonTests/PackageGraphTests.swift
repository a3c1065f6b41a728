import Foundation
import LoomSystem
import Testing

/// The package graph docs/ARCHITECTURE.md draws, kept true: each target imports only the
/// targets below it, and each binary links only what its role needs. A forbidden edge fails
/// here, naming the file that brought it back.
@Suite struct PackageGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// What each target may import of the package's own modules (system and package
    /// dependencies are not listed: Foundation, Glibc, NIO, …). One way, bottom to top.
    static let allowed: [String: Set<String>] = [
        "LoomValues": [],
        "LoomSystem": [],
        "LoomConfiguration": ["LoomValues", "LoomSystem"],
        "LoomEngine": ["LoomValues", "CSQLite"],
        "LoomScheduling": ["LoomEngine", "LoomValues"],
        "LoomPolicy": ["LoomEngine", "LoomValues"],
        "LoomIPC": ["LoomValues", "LoomSystem"],
        "LoomIPCServer": ["LoomIPC", "LoomValues", "LoomSystem"],
        "LoomProviders": ["LoomEngine", "LoomConfiguration", "LoomValues", "LoomSystem"],
        "LoomCode": ["LoomEngine", "LoomProviders", "LoomIPC", "LoomConfiguration", "LoomValues", "LoomSystem"],
        "LoomViews": ["LoomEngine", "LoomValues"],
        "LoomProof": ["LoomEngine", "LoomValues", "LoomSystem"],
        "LoomHost": [
            "LoomEngine", "LoomScheduling", "LoomPolicy", "LoomProviders", "LoomCode", "LoomProof", "LoomConfiguration",
            "LoomValues", "LoomSystem",
        ],
        "LoomDaemon": [
            "LoomHost", "LoomIPC", "LoomIPCServer", "LoomViews", "LoomEngine", "LoomScheduling", "LoomPolicy",
            "LoomProviders", "LoomCode", "LoomProof", "LoomConfiguration", "LoomValues", "LoomSystem", "CSystemd",
        ],
        "loomd": [
            "LoomDaemon", "LoomHost", "LoomEngine", "LoomProviders", "LoomConfiguration", "LoomValues", "LoomSystem",
        ],
        "loomctl": [
            "LoomHost", "LoomIPC", "LoomViews", "LoomEngine", "LoomPolicy", "LoomProviders", "LoomCode", "LoomProof",
            "LoomConfiguration", "LoomValues", "LoomSystem",
        ],
        "loom-http": ["LoomProviders", "LoomConfiguration", "LoomValues", "LoomSystem"],
        // The front-ends are clients of the socket: no kernel, no SQLite, no daemon.
        "loom-mcp": ["LoomIPC", "LoomValues", "LoomSystem"],
        "loom-telegram": ["LoomIPC", "LoomConfiguration", "LoomValues", "LoomSystem"],
        "LoomWeb": ["LoomIPC", "LoomConfiguration", "LoomValues", "LoomSystem"],
        "loom-web": ["LoomWeb", "LoomIPC", "LoomValues", "LoomSystem"],
    ]

    /// Targets that exist only for tests, the simulator and the benchmark.
    static let toolTargets: Set<String> = ["LoomTestKit", "loom-bench", "CSQLite", "CSystemd", "CFaultVFS"]

    @Test func everyTargetImportsOnlyWhatTheGraphAllows() throws {
        let sources = "\(Self.root)/Sources"
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources).filter {
            !Self.toolTargets.contains($0)
        }
        #expect(
            Set(targets) == Set(Self.allowed.keys),
            "a target is missing from the graph (or the graph names a gone one)"
        )
        let ownModules = Set(Self.allowed.keys).union(Self.toolTargets).map {
            $0.replacingOccurrences(of: "-", with: "_")
        }
        var violations: [String] = []
        for target in targets {
            let allowed = Set((Self.allowed[target] ?? []).map { $0.replacingOccurrences(of: "-", with: "_") })
            let enumerator = FileManager.default.enumerator(atPath: "\(sources)/\(target)")
            while let file = enumerator?.nextObject() as? String {
                guard file.hasSuffix(".swift") else { continue }
                let text = try String(contentsOfFile: "\(sources)/\(target)/\(file)", encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                    guard words.count == 2, words[0] == "import" else { continue }
                    let module = String(words[1])
                    if ownModules.contains(module), !allowed.contains(module) {
                        violations.append("\(target)/\(file) imports \(module)")
                    }
                }
            }
        }
        #expect(violations.isEmpty, "forbidden edges: \(violations.sorted().joined(separator: "; "))")
    }

    /// The graph as built: loomctl links neither libsystemd nor the socket server nor the
    /// daemon, and the front-ends link neither SQLite nor the kernel. Read from the binaries
    /// this test run built (their ELF needs and their symbols).
    @Test(arguments: [
        ("loomctl", ["libsystemd"], ["13LoomIPCServer", "10LoomDaemon"]),
        ("loom-mcp", ["libsqlite3", "libsystemd"], ["10LoomEngine", "13LoomIPCServer", "6Crypto"]),
        ("loom-telegram", ["libsqlite3", "libsystemd"], ["10LoomEngine", "13LoomIPCServer", "6Crypto"]),
        ("loom-web", ["libsqlite3", "libsystemd"], ["10LoomEngine", "13LoomIPCServer", "9LoomViews", "6Crypto"]),
    ])
    func binariesLinkOnlyWhatTheirRoleNeeds(binary: String, libraries: [String], modules: [String]) throws {
        let path = "\(Self.root)/.build/debug/\(binary)"
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is built by `swift build`")
        let needs = ChildProcess.run(
            .init(argv: ["/usr/bin/readelf", "-d", path], timeoutMs: 30_000, outputLimitBytes: 1 << 20)
        )
        try #require(needs.exitCode == 0, "readelf (binutils) reads \(path)")
        let needed = String(decoding: needs.output, as: UTF8.self).split(separator: "\n").filter {
            $0.contains("(NEEDED)")
        }
        #expect(!needed.isEmpty)
        for library in libraries {
            #expect(!needed.contains { $0.contains("[\(library).so") }, "\(binary) links \(library)")
        }
        let symbols = ChildProcess.run(
            .init(argv: ["/usr/bin/nm", "--defined-only", path], timeoutMs: 60_000, outputLimitBytes: 256 << 20)
        )
        try #require(symbols.exitCode == 0 && !symbols.truncated)
        let text = String(decoding: symbols.output, as: UTF8.self)
        // Computed first: an expectation on `text` itself would print megabytes of symbols.
        let readsMangledNames = text.contains("$s7LoomIPC")
        #expect(readsMangledNames, "the symbol check reads mangled module names (every front-end links LoomIPC)")
        for module in modules {
            let carried = text.contains("$s\(module)")
            #expect(!carried, "\(binary) carries \(module)'s code")
        }
    }
}
