import CSQLite
import LoomPolicy
import LoomTestKit
import Testing

@testable import LoomEngine

/// Replay: the journal reproduces every row; a hand edit shows as a divergence; a new
/// rule reports the first tick it would have caught.
@Suite struct ReplayTests {
    /// Runs `tasks` seeded tasks to quiet and returns the engine.
    private func recordedRun(in directory: TemporaryDirectory, seed: UInt64, tasks: Int) throws -> Engine {
        let engine = try Fixtures.engine(in: directory)
        let driver = Driver(engine: engine, responder: PublishingWorld.responder(), seed: seed)
        for index in 0..<tasks {
            _ = try engine.submit(
                bundle: "publishing",
                input: "piece \(index)",
                policy: index % 3 == 0 ? PolicyPreset.fullSupervised.policy : TaskPolicy(),
                by: Fixtures.person
            )
        }
        try driver.runUntilQuiet()
        return engine
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func replayReproducesEveryRow(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        let engine = try recordedRun(in: directory, seed: seed, tasks: 6)
        let ticks = try engine.store.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
        #expect(ticks > 20)
        let replayedPath = directory.file("replayed.db")
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(into: replayedPath)
        #expect(report == .identical(ticks: ticks), "seed \(seed): \(report)")
        // Table by table, row by row, including the hash chain.
        let replayed = try Store(path: replayedPath)
        for (table, order) in TableDump.tables {
            let original = try TableDump.rows(of: table, order: order, in: engine.store)
            let copy = try TableDump.rows(of: table, order: order, in: replayed)
            #expect(original == copy, "seed \(seed): table \(table) differs")
        }
    }

    @Test func aRowEditedBehindTheJournalsBackIsFoundAtItsTick() throws {
        let directory = TemporaryDirectory()
        let engine = try recordedRun(in: directory, seed: 7, tasks: 3)
        let gate = try engine.store.query(
            "SELECT event_id, decided_tick FROM gates WHERE status = 'approved' ORDER BY decided_tick LIMIT 1"
        )
        let eventID = try #require(gate.first?["event_id"]?.stringValue)
        let tick = try #require(gate.first?["decided_tick"]?.intValue)
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        sqlite3_exec(db, "UPDATE gates SET message = 'approved by nobody' WHERE event_id = '\(eventID)'", nil, nil, nil)
        sqlite3_close(db)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run()
        guard case .diverged(let difference) = report else {
            Issue.record("expected divergence, got \(report)")
            return
        }
        #expect(difference.table == "gates")
        #expect(difference.tick == tick)
    }

    @Test func aNewRuleReportsTheFirstTickItWouldHaveCaught() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "warn", "summary": "too long"]])
        )
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        _ = try engine.deliver(key: try engine.pending("command").key, result: Fixtures.commandOK)
        #expect(try engine.task("t1")?.status == .done)
        let doneTick = try engine.store.query("SELECT max(tick) AS t FROM ticks")[0]["t"]?.intValue
        // "Would a rule against publishing with open warnings have caught it?"
        let rule = SQLRule(
            name: "no_open_warnings",
            sql: """
                SELECT f.id, f.summary FROM findings f JOIN tasks t ON t.id = f.task_id
                WHERE t.id = :task AND t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
                """,
            message: "no piece is published with an open warning",
            file: "new.sql"
        )
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()], extraRules: [rule]).run()
        guard case .ruleWouldFire(let caught) = report else {
            Issue.record("expected a catch, got \(report)")
            return
        }
        #expect(caught.tick == doneTick)
        #expect(caught.violations.first?.rule == "no_open_warnings")
        #expect(caught.violations.first?.rows == [["id": "t1.f1", "summary": "too long"]])
        #expect(caught.input.kind == .effectResult)
        // Without the rule the same journal replays clean.
        #expect(
            try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run()
                == .identical(ticks: doneTick ?? 0)
        )
    }

    @Test func aTaskReplayedOnItsOwnSeesOnlyEditsToItsOwnRows() throws {
        let directory = TemporaryDirectory()
        let engine = try recordedRun(in: directory, seed: 11, tasks: 3)
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        sqlite3_exec(db, "UPDATE tasks SET outcome = 'edited by hand' WHERE id = 't2'", nil, nil, nil)
        sqlite3_close(db)
        let lastTick = try #require(
            try engine.store.query("SELECT updated_tick FROM tasks WHERE id = 't2'").first?["updated_tick"]?.intValue
        )
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t2")
        guard case .diverged(let difference) = report else {
            Issue.record("expected divergence, got \(report)")
            return
        }
        #expect(difference.table == "tasks")
        #expect(difference.tick == lastTick)
        #expect(difference.expected?["outcome"] == "edited by hand")
        guard case .identical = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t1")
        else {
            Issue.record("t1 does not depend on t2's outcome and replays identical")
            return
        }
    }

    /// A row added by hand with a tick later than any of the task's entries is still
    /// compared: replay runs to the last tick that wrote any of the task's rows.
    @Test func aRowForgedWithALaterTickIsFound() throws {
        let directory = TemporaryDirectory()
        let engine = try recordedRun(in: directory, seed: 11, tasks: 3)
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        sqlite3_exec(
            db,
            """
            INSERT INTO findings(id, task_id, step, agent, iteration, severity, status, origin, summary, fingerprint, details, created_tick, updated_tick)
            VALUES ('t1.forged', 't1', 'edit', 'editor', 0, 'blocking', 'accepted_by_human', 'agent', 'forged', 'forged', '{}', 999, 999)
            """,
            nil,
            nil,
            nil
        )
        sqlite3_close(db)
        #expect(try engine.store.query("SELECT count(*) AS n FROM findings WHERE id = 't1.forged'")[0]["n"] == 1)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t1")
        guard case .diverged(let difference) = report else {
            Issue.record("expected divergence, got \(report)")
            return
        }
        #expect(difference.table == "findings")
        #expect(difference.expected?["id"] == "t1.forged")
    }

    /// A queued task starts in the tick that ends the one before it: a tick it has no entry
    /// in. Replayed on its own it is still identical (before, that row was reported as
    /// edited behind the journal's back).
    @Test func aTaskStartedByAnothersTickReplaysIdentical() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "one", by: Fixtures.person)
        _ = try engine.submit(bundle: "publishing", input: "two", by: Fixtures.person)
        _ = try engine.cancel(task: "t1", reason: "", by: Fixtures.person)
        #expect(try engine.task("t2")?.status == .running)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t2")
        guard case .identical = report else {
            Issue.record("\(report)")
            return
        }
    }

    @Test func aTaskCanBeReplayedOnItsOwn() throws {
        let directory = TemporaryDirectory()
        let engine = try recordedRun(in: directory, seed: 11, tasks: 3)
        let report = try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t2")
        guard case .identical = report else {
            Issue.record("\(report)")
            return
        }
        let missing = try #require(throws: LoomError.self) {
            try Replayer(source: engine.store, bundles: [Fixtures.publishing()]).run(task: "t99")
        }
        #expect(missing.code == .notFound)
    }
}
