import Foundation
import LoomTestKit
import LoomValues

@testable import LoomEngine

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init(_ name: String = "loom", under parent: String? = nil) {
        let root = parent.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let base = root.appendingPathComponent(
            "\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))"
        )
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum Fixtures {
    /// The repository checkout the tests were built from.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The sample non-code bundle (draft → edit → legal gate → render → publish).
    static func publishing() throws -> LoomBundle {
        try BundleLoader.load(directory: repositoryRoot.appendingPathComponent(PublishingWorld.bundlePath).path)
    }

    static let person = Caller(
        principal: .human(uid: 1000),
        uid: 1000,
        gid: 1000,
        pid: 4242,
        executable: "/usr/bin/loomctl"
    )
    static let stranger = Caller(principal: .human(uid: 1001), uid: 1001, gid: 1001, pid: 4243)
    static let agentProcess = Caller(principal: .agent("writer"), uid: 1000, gid: 1000, pid: 5000)

    /// A fresh engine on a new database in `directory`, with the publishing bundle.
    static func engine(
        in directory: TemporaryDirectory,
        name: String = "state.db",
        extraRules: [SQLRule] = [],
        clock: SimulatedClock = SimulatedClock()
    ) throws -> Engine {
        let store = try Store(path: directory.file(name))
        return try Engine(store: store, bundles: [publishing()], extraRules: extraRules, clock: clock.next)
    }

    /// A valid writer output.
    static func draft(_ title: String = "A title", text: String = "Some words.") -> JSONValue {
        AgentResult(
            output: JSONValue.object(["title": .string(title), "text": .string(text)]).canonicalText,
            tokensIn: 10,
            tokensOut: 5
        ).json
    }

    static func review(_ findings: [JSONValue], checkedClaims: Int? = nil) -> JSONValue {
        var object: [String: JSONValue] = ["findings": .array(findings)]
        if let checkedClaims { object["checked_claims"] = .int(Int64(checkedClaims)) }
        return AgentResult(output: JSONValue.object(object).canonicalText).json
    }

    static let commandOK = CommandResult(status: .ok, exitCode: 0, output: "42\n").json
}

extension Engine {
    /// Drives a fresh engine's first task (default policy) until the editor has raised the
    /// same blocker twice running: the stall breaker parks it for a person.
    func driveToAStall() throws {
        _ = try submit(bundle: "publishing", input: "x", by: Fixtures.person)
        let blocker: JSONValue = ["severity": "blocking", "summary": "still wrong"]
        _ = try deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try deliver(key: try pending("editor").key, result: Fixtures.review([blocker]))
        _ = try deliver(key: try pending("factchecker").key, result: Fixtures.review([], checkedClaims: 0))
        _ = try deliver(key: try pending("writer").key, result: Fixtures.draft())
        _ = try deliver(key: try pending("editor").key, result: Fixtures.review([blocker]))
    }

    /// The single pending effect for `unit`, failing loudly if there is not exactly one.
    func pending(_ unit: String) throws -> Effect {
        let matches = try pendingEffects().filter { $0.unit == unit }
        guard matches.count == 1 else {
            throw LoomError(.internal, "expected one pending effect for \(unit), found \(matches.count)")
        }
        return matches[0]
    }
}
