import CSQLite
import LoomTestKit
import LoomValues
import Testing

@testable import LoomEngine

/// Each submission records the kernel semantics that ran it; a replay that diverges on a
/// journal written by other semantics (or before they were recorded) says so.
@Suite struct KernelSemanticsTests {
    /// One publishing task run to quiet; returns the engine and its submission's seq and payload.
    private func recorded(in directory: TemporaryDirectory) throws -> (Engine, Int64, JSONValue) {
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "piece", by: Fixtures.person)
        try Driver(engine: engine, responder: PublishingWorld.responder(), seed: 3).runUntilQuiet()
        let row = try #require(
            try engine.store.query("SELECT seq, payload FROM journal WHERE kind = 'submitted' ORDER BY seq LIMIT 1")
                .first
        )
        let payload = try JSONValue.parse(try #require(row["payload"]?.stringValue))
        return (engine, try #require(row["seq"]?.intValue), payload)
    }

    /// A row edited behind the journal's back: what makes any replay diverge.
    private func editARow(in directory: TemporaryDirectory) {
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        sqlite3_exec(db, "UPDATE tasks SET input = 'edited'", nil, nil, nil)
        sqlite3_close(db)
    }

    private func withSemantics(_ payload: JSONValue, _ version: Int?) -> JSONValue {
        var object = payload.objectValue ?? [:]
        object[KernelSemantics.payloadKey] = version.map { .int(Int64($0)) }
        return .object(object)
    }

    @Test func aSubmissionRecordsThisBuildsSemanticsAndADivergenceUnderThemIsPlain() throws {
        let directory = TemporaryDirectory()
        let (engine, _, payload) = try recorded(in: directory)
        #expect(payload[KernelSemantics.payloadKey]?.intValue == Int64(KernelSemantics.version))
        editARow(in: directory)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run()
        guard case .diverged = report else {
            Issue.record("same semantics, an edited row: a plain divergence, got \(report)")
            return
        }
    }

    @Test func aJournalWrittenBeforeVersionsReplaysAsBeforeAndADivergenceNamesVersionZero() throws {
        let directory = TemporaryDirectory()
        let (engine, seq, payload) = try recorded(in: directory)
        _ = try HistoryRewriter.rewrite(
            database: directory.file("state.db"),
            seq: seq,
            payload: withSemantics(payload, nil)
        )
        // Old and unchanged: it replays identically, with no note.
        guard case .identical = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run() else {
            Issue.record("a journal without versions no longer replays")
            return
        }
        editARow(in: directory)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run()
        guard case .otherSemantics(let recorded, let current, .diverged) = report else {
            Issue.record("expected a divergence under other semantics, got \(report)")
            return
        }
        #expect(recorded == [KernelSemantics.unrecorded])
        #expect(current == KernelSemantics.version)
        #expect(
            report.description.hasPrefix(
                "recorded by kernel semantics 0 (written before kernel versions were recorded), this build is \(KernelSemantics.version)"
            )
        )
    }

    @Test func aJournalWrittenByOtherSemanticsSaysWhichOnDivergence() throws {
        let directory = TemporaryDirectory()
        let (engine, seq, payload) = try recorded(in: directory)
        _ = try HistoryRewriter.rewrite(
            database: directory.file("state.db"),
            seq: seq,
            payload: withSemantics(payload, 99)
        )
        editARow(in: directory)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t1")
        guard case .otherSemantics(let recorded, _, _) = report else {
            Issue.record("expected a divergence under other semantics, got \(report)")
            return
        }
        #expect(recorded == [99])
        #expect(
            report.description.contains("recorded by kernel semantics 99, this build is \(KernelSemantics.version)")
        )
    }
}
