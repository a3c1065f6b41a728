import Foundation
import LoomTestKit
import LoomValues
import Testing

@testable import LoomEngine

/// Replay runs only the rules added since the journal was recorded: the verdicts of the
/// rules in force then are on record, in the rows and in the journal's `violation` entries.
///
/// The bundle here has a rule whose verdict depends on `chain_checkpoints`, the one table a
/// replay does not rebuild (a signature is made with a key, not by the journal). Run again
/// against the replayed rows it would find what it did not find when the tick was recorded,
/// so a replay that re-ran it would report a catch where the record has none.
@Suite struct ReplayRulesInForceTests {
    private static let ruleName = "published_after_a_signed_head"
    private static let ruleSQL = """
        SELECT t.id FROM tasks t
        WHERE t.id = :task AND t.status = 'done' AND NOT EXISTS (SELECT 1 FROM chain_checkpoints)
        """

    /// The publishing bundle with the checkpoint rule added to its rules.
    private func bundle(in directory: TemporaryDirectory) throws -> LoomBundle {
        let source = Fixtures.repositoryRoot.appendingPathComponent(PublishingWorld.bundlePath).path
        let copy = directory.file("publishing")
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        let manifest = copy + "/bundle.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let rule: JSONValue = [
            "name": .string(Self.ruleName), "sql": .string(Self.ruleSQL),
            "message": "a piece is published after loomd signed the chain",
        ]
        let edited = text.replacingOccurrences(of: "\"rules\": [", with: "\"rules\": [\n    \(rule.canonicalText),")
        #expect(edited != text)
        try edited.write(toFile: manifest, atomically: true, encoding: .utf8)
        return try BundleLoader.load(directory: copy)
    }

    /// Runs one piece to done; with `signFirst`, the chain head is signed before its last
    /// delivery, else the rule refuses that delivery, the head is signed, and the host
    /// delivers the same result again.
    private func record(_ engine: Engine, signFirst: Bool) throws {
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        let factchecker = try engine.pending("factchecker").key
        _ = try engine.deliver(key: factchecker, result: Fixtures.review([], checkedClaims: 0))
        let last = try engine.pending("command").key
        if !signFirst {
            let refused = try #require(throws: LoomError.self) {
                try engine.deliver(key: last, result: Fixtures.commandOK)
            }
            #expect(refused.code == .invariantViolation)
            #expect(refused.violations.map(\.rule) == [Self.ruleName])
        }
        let head = try engine.chainPosition()
        // The kernel keeps checkpoints as opaque bytes; no key is needed to store one.
        let checkpoint = ChainCheckpoint(
            seq: head.seq,
            head: head.head,
            publicKey: Array(repeating: 1, count: 32),
            signature: Array(repeating: 2, count: 64)
        )
        try engine.store.appendCheckpoint(checkpoint)
        _ = try engine.deliver(key: last, result: Fixtures.commandOK)
        #expect(try engine.task("t1")?.status == .done)
    }

    private func recordingEngine(in directory: TemporaryDirectory, bundle: LoomBundle) throws -> Engine {
        try Engine(store: Store(path: directory.file("state.db")), bundles: [bundle], clock: SimulatedClock().next)
    }

    private func ticks(_ store: Store) throws -> Int64 {
        try store.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
    }

    @Test func aRuleInForceWhenTheTickWasRecordedIsNotRunAgain() throws {
        let directory = TemporaryDirectory()
        let bundle = try bundle(in: directory)
        let engine = try recordingEngine(in: directory, bundle: bundle)
        try record(engine, signFirst: true)
        let replayed = directory.file("replayed.db")
        let report = try Replayer(source: engine.store, bundles: [bundle]).run(into: replayed)
        #expect(report == .identical(ticks: try ticks(engine.store)))
        // Run against the replayed rows, the rule would have refused the tick that published.
        let rerun = try Store(path: replayed).query(Self.ruleSQL, bindings: [":task": "t1"])
        #expect(rerun == [["id": "t1"]])
        // The history replay does not run it either: no catch.
        let history = try HistoryReplayer(journal: engine.store, bundles: [bundle], extraRules: []).run()
        #expect(history.problem == nil)
        #expect(history.catches.isEmpty)
        // An operator handing the same rule in again (same name, same SQL) adds nothing.
        let same = SQLRule(name: Self.ruleName, sql: Self.ruleSQL, message: "again", file: "again.sql")
        #expect(try Replayer(source: engine.store, bundles: [bundle], extraRules: [same]).run() == report)
    }

    @Test func aChangedOrNewRuleIsStillProbed() throws {
        let directory = TemporaryDirectory()
        let bundle = try bundle(in: directory)
        let engine = try recordingEngine(in: directory, bundle: bundle)
        try record(engine, signFirst: true)
        let done = try engine.store.query("SELECT updated_tick FROM tasks WHERE id = 't1'")
        let doneTick = try #require(done.first?["updated_tick"]?.intValue)
        let changedSQL = Self.ruleSQL.replacingOccurrences(of: "SELECT 1", with: "SELECT seq")
        let changed = SQLRule(name: Self.ruleName, sql: changedSQL, message: "changed", file: "changed.sql")
        let renamed = SQLRule(name: "signed_before_publishing", sql: Self.ruleSQL, message: "new", file: "new.sql")
        for rule in [changed, renamed] {
            let report = try Replayer(source: engine.store, bundles: [bundle], extraRules: [rule]).run()
            guard case .ruleWouldFire(let caught) = report else {
                Issue.record("\(rule.name): expected a catch, got \(report)")
                continue
            }
            #expect(caught.tick == doneTick)
            #expect(caught.violations.map(\.rule) == [rule.name])
            #expect(caught.violations.first?.rows == [["id": "t1"]])
            let history = try HistoryReplayer(journal: engine.store, bundles: [bundle], extraRules: [rule]).run()
            #expect(history.problem == nil)
            #expect(history.catches["t1"]?.tick == doneTick)
            #expect(history.catches["t1"]?.violations.map(\.rule) == [rule.name])
        }
    }

    @Test func aRecordedViolationReplaysAsTheViolationItWas() throws {
        let directory = TemporaryDirectory()
        let bundle = try bundle(in: directory)
        let engine = try recordingEngine(in: directory, bundle: bundle)
        try record(engine, signFirst: false)
        let recorded = try engine.store.query("SELECT tick, task_id, rule, rows FROM violations")
        #expect(recorded.count == 1)
        #expect(recorded.first?["rule"]?.stringValue == Self.ruleName)
        let replayed = directory.file("replayed.db")
        let report = try Replayer(source: engine.store, bundles: [bundle]).run(into: replayed)
        #expect(report == .identical(ticks: try ticks(engine.store)))
        #expect(try Store(path: replayed).query("SELECT tick, task_id, rule, rows FROM violations") == recorded)
        let entries = try engine.store.query("SELECT count(*) AS n FROM journal WHERE kind = 'violation'")
        #expect(entries[0]["n"] == 1)
        let history = try HistoryReplayer(journal: engine.store, bundles: [bundle], extraRules: []).run()
        #expect(history.problem == nil)
        #expect(history.catches.isEmpty)
    }
}
