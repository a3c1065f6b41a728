import LoomTestKit
import Testing

@testable import LoomEngine

/// Commit-time rules and refusals: what an agent or a bug cannot get past.
@Suite struct SafetyRuleTests {
    /// Brings t1 to a legal gate that needs a human (policy human).
    private func parkedAtLegal(_ engine: Engine, writer: Caller = .system) throws -> GateRecord {
        _ = try engine.submit(
            bundle: "publishing",
            input: "x",
            policy: TaskPolicy(roles: ["legal": .human]),
            by: Fixtures.person
        )
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft(), by: writer)
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        return try #require(try engine.waitingGate(task: "t1"))
    }

    @Test func anAgentCannotAnswerAGateThatNeedsAPerson() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let gate = try parkedAtLegal(engine)
        let journalBefore = try engine.store.query("SELECT count(*) AS n FROM journal")[0]["n"]?.intValue ?? 0
        let error = try #require(throws: LoomError.self) {
            try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.agentProcess)
        }
        #expect(error.code == .invariantViolation)
        // The writer agent authored the draft, so this is also a self-approval.
        #expect(error.violations.map(\.rule) == ["human_gate_answered_by_human", "no_self_approval"])
        // Rolled back: still parked at the same gate; the attempt is on record.
        #expect(try engine.task("t1")?.status == .parked)
        #expect(try engine.waitingGate(task: "t1")?.eventID == gate.eventID)
        let recorded = try engine.store.query("SELECT kind, task_id FROM journal WHERE seq > \(journalBefore)")
        #expect(recorded == [["kind": "violation", "task_id": "t1"]])
        let violation = try engine.store.query("SELECT rule, actor FROM violations")
        #expect(violation.first?["rule"] == "human_gate_answered_by_human")
        #expect(violation.first?["actor"]?.stringValue?.contains("agent:writer") == true)
        #expect(try engine.store.integrityCheck() == "ok")
    }

    @Test func noPrincipalApprovesWorkItAuthored() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        // uid 1000 executed the writer step itself (as an agent host would), so it authored the draft.
        let gate = try parkedAtLegal(engine, writer: Fixtures.person)
        let error = try #require(throws: LoomError.self) {
            try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.person)
        }
        #expect(error.violations.map(\.rule) == ["no_self_approval"])
        // Someone else may approve it.
        try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.stranger)
        #expect(try engine.task("t1")?.status == .running)
    }

    @Test func aStaleGateAnswerIsRefusedAndAudited() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let gate = try parkedAtLegal(engine)
        let error = try #require(throws: LoomError.self) {
            try engine.answerGate(task: "t1", gate: "t1.g0", answer: .approve, by: Fixtures.person)
        }
        #expect(error.code == .staleGate)
        try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.person)
        let again = try #require(throws: LoomError.self) {
            try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.person)
        }
        #expect(again.code == .staleGate)
        let refused = try engine.store.query(
            "SELECT json_extract(payload, '$.code') AS code FROM journal WHERE kind = 'refused'"
        )
        #expect(refused == [["code": "stale_gate"], ["code": "stale_gate"]])
    }

    @Test func deliveringTwiceAnswersDuplicateWithTheRecordedResult() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        let first = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft("First"))
        guard case .applied = first else {
            Issue.record("first delivery: \(first)")
            return
        }
        let ticks = try engine.store.query("SELECT count(*) AS n FROM ticks")
        let second = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft("Second"))
        #expect(second == .duplicate(recorded: Fixtures.draft("First")))
        #expect(try engine.store.query("SELECT count(*) AS n FROM ticks") == ticks)
        let unknown = try #require(throws: LoomError.self) {
            try engine.deliver(key: "t9:x:y:0:1", result: Fixtures.draft())
        }
        #expect(unknown.code == .notFound)
    }

    @Test func theSameIdempotencyKeyReturnsTheSameTask() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let first = try engine.submit(
            bundle: "publishing",
            input: "nightly",
            idempotencyKey: "cron-2026-11-26",
            by: Fixtures.person
        )
        let second = try engine.submit(
            bundle: "publishing",
            input: "nightly",
            idempotencyKey: "cron-2026-11-26",
            by: Fixtures.person
        )
        #expect(first.taskID == second.taskID)
        #expect(first.created && !second.created)
        #expect(try engine.store.query("SELECT count(*) AS n FROM tasks") == [["n": 1]])
    }

    @Test func aBundleRuleRollsBackAndNamesItsRows() throws {
        let directory = TemporaryDirectory()
        // An operator rule: no task may finish with a warn finding open.
        let rule = SQLRule(
            name: "no_open_warnings",
            sql:
                "SELECT id FROM findings WHERE task_id = :task AND status = 'open' AND severity = 'warn' AND (SELECT status FROM tasks WHERE id = :task) = 'done'",
            message: "no open warnings at publication",
            file: "test"
        )
        let engine = try Fixtures.engine(in: directory, extraRules: [rule])
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "warn", "summary": "long"]])
        )
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        let render = try engine.pending("command")
        let error = try #require(throws: LoomError.self) {
            try engine.deliver(key: render.key, result: Fixtures.commandOK)
        }
        #expect(error.violations.first?.rule == "no_open_warnings")
        #expect(error.violations.first?.rows == [["id": "t1.f1"]])
        #expect(try engine.pendingEffects().map(\.key) == [render.key])
    }

    @Test func rulesThatWriteOrDoNotCompileAreRefusedAtStart() throws {
        let directory = TemporaryDirectory()
        let writes = SQLRule(name: "sneaky", sql: "DELETE FROM findings", message: "", file: "test")
        #expect(throws: LoomError.self) { try Fixtures.engine(in: directory, extraRules: [writes]) }
        let broken = SQLRule(name: "broken", sql: "SELECT nope FROM nowhere", message: "", file: "test")
        let error = try #require(throws: LoomError.self) { try Fixtures.engine(in: directory, extraRules: [broken]) }
        #expect(error.message.contains("broken"))
    }

    /// A state no transition makes (a bug, a hand-edited file): two tasks in flight at once.
    /// The rule names every in-flight task after the first, and is quiet with one.
    @Test func moreThanOneTaskInFlightIsCaught() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        for piece in 1...3 { _ = try engine.submit(bundle: "publishing", input: "piece \(piece)", by: Fixtures.person) }
        func inFlight() throws -> [RuleViolation] {
            try engine.store.write { tx throws(LoomError) in
                try engine.rules.check(tx: tx, task: "t1", tick: 1, bundle: nil, rowsMax: 50).filter {
                    $0.rule == "one_task_in_flight"
                }
            }
        }
        #expect(try inFlight().isEmpty)  // t1 runs; t2 and t3 are queued
        _ = try engine.store.write { tx throws(LoomError) in
            try tx.connection.execute("UPDATE tasks SET status = 'parked' WHERE id = 't3'")
        }
        #expect(try inFlight().first?.rows == [["id": "t3", "status": "parked"]])
        _ = try engine.store.write { tx throws(LoomError) in
            try tx.connection.execute("UPDATE tasks SET status = 'running' WHERE id = 't2'")
        }
        #expect(try inFlight().first?.rows.count == 2)
    }
}
