import Foundation
import LoomEngine
import LoomPolicy
import LoomTestKit
import LoomValues

/// A real project folder (`DIR/.loom/state.db`) with a recorded run of the publishing
/// bundle, driven by the seeded world; removed when released.
final class RecordedProject {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var bundlesDirectory: String { "\(repositoryRoot)/bundles" }
    /// Where the build put loomctl: beside the test bundle.
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path

    /// "Would a rule against finishing with an open warning have caught it?"
    static let openWarningRule = SQLRule(
        name: "no_open_warnings",
        sql: """
            SELECT f.id, f.summary FROM findings f JOIN tasks t ON t.id = f.task_id
            WHERE t.id = :task AND t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
            """,
        message: "no piece is published with an open warning",
        file: "no_open_warnings.sql"
    )

    let root: String
    let engine: Engine
    var databasePath: String { "\(root)/.loom/state.db" }

    /// - Parameters:
    ///   - startMs: the first tick's time; each tick is a second later.
    ///   - laterStartMs: if set, tasks after the first start at this time (an older first task).
    init(tasks: Int, seed: UInt64, startMs: Int64 = 1_700_000_000_000, laterStartMs: Int64? = nil) throws {
        root = NSTemporaryDirectory() + "loom-proof-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: "\(root)/.loom", withIntermediateDirectories: true)
        let clock = TestClock(nowMs: startMs)
        let store = try Store(path: "\(root)/.loom/state.db")
        engine = try Engine(store: store, bundles: [Self.publishing()], clock: clock.next)
        var odds = PublishingWorld.Odds()
        odds.claim = 0.6
        odds.cancel = 0
        odds.abandon = 0
        let driver = Driver(engine: engine, responder: PublishingWorld.responder(odds: odds), seed: seed)
        let person = Caller(
            principal: .human(uid: 1000),
            uid: 1000,
            gid: 1000,
            pid: 4242,
            executable: "/usr/bin/loomctl"
        )
        for index in 0..<tasks {
            if index == 1, let laterStartMs { clock.nowMs = laterStartMs }
            _ = try engine.submit(
                bundle: "publishing",
                input: "piece \(index)",
                policy: index % 2 == 0 ? PolicyPreset.fullSupervised.policy : TaskPolicy(),
                by: person
            )
            // One task at a time, as loomd runs a project's tasks.
            try driver.runUntilQuiet()
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    static func publishing() throws -> LoomBundle {
        try BundleLoader.load(directory: "\(bundlesDirectory)/publishing")
    }

    func readOnlyStore() throws -> Store {
        var options = StoreOptions()
        options.readOnly = true
        return try Store(path: databasePath, options: options)
    }

    /// Tasks that finished done with an open warning, and the tick each became done: where
    /// `openWarningRule` must say it would have stopped them.
    func expectedCatches() throws -> [String: Int64] {
        let rows = try engine.store.query(
            """
            SELECT DISTINCT t.id, t.updated_tick FROM tasks t JOIN findings f ON f.task_id = t.id
            WHERE t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
            """
        )
        var result: [String: Int64] = [:]
        for row in rows { result[row["id"]!.stringValue!] = row["updated_tick"]!.intValue! }
        return result
    }
}

/// A settable clock: a second per tick.
final class TestClock: @unchecked Sendable {
    var nowMs: Int64
    init(nowMs: Int64) { self.nowMs = nowMs }
    func next() -> Int64 {
        nowMs += 1_000
        return nowMs
    }
}

/// A temporary folder with nothing in it: no project, no bundles.
final class CleanFolder {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "loom-clean-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs the real loomctl binary.
struct CommandLineRun {
    let status: Int32
    let stdout: String
    let stderr: String
    var json: JSONValue? { try? JSONValue.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }

    static func loomctl(
        _ arguments: [String],
        in directory: String? = nil,
        environment: [String: String] = [:]
    ) throws -> CommandLineRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(RecordedProject.binaries)/loomctl")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["LOOM_BUNDLES"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandLineRun(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }
}
