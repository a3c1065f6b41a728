import LoomTestKit
import Testing

@testable import LoomEngine

/// One pass over the history answers, for every task, where an added rule would have
/// stopped it, while the replayed state stays the recorded one.
@Suite struct HistoryReplayerTests {
    private let openWarning = SQLRule(
        name: "no_open_warnings",
        sql: """
            SELECT f.id, f.summary FROM findings f JOIN tasks t ON t.id = f.task_id
            WHERE t.id = :task AND t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
            """,
        message: "no piece is published with an open warning",
        file: "new.sql"
    )

    private func recorded(_ directory: TemporaryDirectory, tasks: Int, seed: UInt64) throws -> Engine {
        let engine = try Fixtures.engine(in: directory)
        var odds = PublishingWorld.Odds()
        odds.claim = 0.5
        let driver = Driver(engine: engine, responder: PublishingWorld.responder(odds: odds), seed: seed)
        for index in 0..<tasks {
            _ = try engine.submit(bundle: "publishing", input: "piece \(index)", by: Fixtures.person)
        }
        try driver.runUntilQuiet()
        return engine
    }

    /// Where the rule must fire: the tick each task became done, for those done with an open warning.
    private func expected(_ engine: Engine) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try engine.store.query(
            """
            SELECT DISTINCT t.id, t.updated_tick FROM tasks t JOIN findings f ON f.task_id = t.id
            WHERE t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
            """
        ) { result[row["id"]!.stringValue!] = row["updated_tick"]!.intValue! }
        return result
    }

    @Test(arguments: [UInt64(3), 5, 6])
    func everyTaskTheRuleWouldHaveStoppedIsReportedAtItsTick(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        let engine = try recorded(directory, tasks: 8, seed: seed)
        let expected = try expected(engine)
        #expect(expected.count >= 2, "seed \(seed) should give several catches")
        var progressCalls = 0
        var replayer = HistoryReplayer(
            journal: engine.store,
            bundles: [try Fixtures.publishing()],
            extraRules: [openWarning]
        )
        replayer.progressEveryTicks = 10
        let report = try replayer.run { _ in progressCalls += 1 }
        #expect(report.problem == nil)
        #expect(report.catches.mapValues(\.tick) == expected)
        for (task, caught) in report.catches {
            #expect(caught.input.taskID == task)
            #expect(caught.violations.map(\.rule) == ["no_open_warnings"])
            #expect(caught.violations[0].rows.allSatisfy { $0["id"]?.stringValue?.hasPrefix("\(task).") == true })
        }
        let ticks = try engine.store.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
        #expect(report.ticks == ticks)
        #expect(progressCalls == Int(ticks / 10))
        // Watching a subset reports only that subset, and stopping early stops early.
        let some = Set(expected.keys.sorted().prefix(1))
        let lastTick = expected[some.first!]!
        let partial = try replayer.run(tasks: some, upToTick: lastTick)
        #expect(partial.catches.mapValues(\.tick) == expected.filter { some.contains($0.key) })
        #expect(partial.lastTick == lastTick)
        // A long history's scratch database is a file (loomctl's choice): same answer.
        let onDisk = try replayer.run(into: directory.file("scratch.db"))
        #expect(onDisk.catches.mapValues(\.tick) == expected)
        #expect(onDisk.ticks == ticks && onDisk.problem == nil)
    }

    @Test func aJournalThatIsNotARunOfTheBundleIsReported() throws {
        let directory = TemporaryDirectory()
        let engine = try recorded(directory, tasks: 2, seed: 4)
        var entries = try JournalEntryList(engine.store.entries(after: 0, upToTick: .max, limit: 100_000)).entries
        // The recorded hash of entry 3 altered: replay recomputes a different one there.
        let original = entries[2]
        entries[2] = JournalEntry(
            seq: original.seq,
            tick: original.tick,
            timeMs: original.timeMs,
            taskID: original.taskID,
            kind: original.kind,
            actor: original.actor,
            payload: original.payload,
            previousHash: original.previousHash,
            hash: [UInt8](repeating: 7, count: 32)
        )
        let report = try HistoryReplayer(
            journal: JournalEntryList(entries),
            bundles: [try Fixtures.publishing()],
            extraRules: []
        ).run()
        #expect(report.problem == .journalDiverged(seq: 3, tick: original.tick))
        #expect(report.ticks == 2)
    }
}
