import Foundation
import LoomPolicy
import LoomTestKit
import Testing

@testable import LoomEngine

/// Edges of the flow interpreter that the happy paths do not reach: a queued task
/// cancelled, a blocker raised after the last gate, a loop after gate send-backs, a stall a
/// person answered, a refused delivery's audit entry.
@Suite struct EngineEdgeTests {
    /// Cancelling a queued task ends only it. Before, ending it started the next queued
    /// task beside the one in flight, and the kernel's own rule refused the cancel.
    @Test func cancellingAQueuedTaskLeavesTheOneInFlightAlone() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        for input in ["one", "two", "three"] {
            _ = try engine.submit(bundle: "publishing", input: input, by: Fixtures.person)
        }
        let started = try engine.cancel(task: "t2", reason: "not needed", by: Fixtures.person)
        #expect(started.isEmpty)
        #expect(try engine.task("t1")?.status == .running)
        #expect(try engine.task("t2")?.status == .cancelled)
        #expect(try engine.task("t3")?.status == .queued)
        // The queue still moves on when the task in flight ends.
        #expect(try engine.cancel(task: "t1", reason: "", by: Fixtures.person).map(\.key) == ["t3:draft:writer:0:1"])
    }

    /// After the last gate nobody is asked any more: an agent there whose output fails its
    /// schema twice (a summary after delivery) leaves a warning on record and the task ends
    /// done; a reviewer there that raises a blocker fails the task, saying why. Before, both
    /// had finalize refused at commit, the output unrecorded and the task cancelled.
    @Test(arguments: [("writer", "not json", TaskStatus.done), ("editor", "blocking", TaskStatus.failed)])
    func afterTheLastGateNobodyIsAsked(agent: String, output: String, ends: TaskStatus) throws {
        var files = try Fixtures.publishing().files
        files["bundle.json"] = files["bundle.json"]!.replacingOccurrences(
            of: #"{"name": "publish", "phase": "publish", "kind": "finalize"}"#,
            with:
                #"{"name": "recap", "phase": "publish", "kind": "agent", "agent": "\#(agent)"}, {"name": "publish", "phase": "publish", "kind": "finalize"}"#
        )
        let bundle = try BundleLoader.load(files: files)
        let directory = TemporaryDirectory()
        let engine = try Engine(
            store: Store(path: directory.file("state.db")),
            bundles: [bundle],
            clock: SimulatedClock().next
        )
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        _ = try engine.deliver(key: try engine.pending("command").key, result: Fixtures.commandOK)
        if output == "blocking" {
            _ = try engine.deliver(
                key: "t1:recap:\(agent):0:1",
                result: Fixtures.review([["severity": "blocking", "summary": "late problem"]])
            )
        } else {
            _ = try engine.deliver(key: "t1:recap:\(agent):0:1", result: AgentResult(output: output).json)
            _ = try engine.deliver(key: "t1:recap:\(agent):0:2", result: AgentResult(output: output).json)
            #expect(
                try engine.store.query("SELECT severity, origin, status FROM findings WHERE task_id = 't1'") == [
                    ["severity": "warn", "origin": "harness", "status": "open"]
                ]
            )
        }
        let task = try #require(try engine.task("t1"))
        #expect(task.status == ends)
        if ends == .failed {
            #expect(task.outcome.contains("blocking finding(s) open after the last gate"), "\(task.outcome)")
        }
        #expect(try engine.store.query("SELECT count(*) AS n FROM violations")[0]["n"] == 0)
    }

    /// A person's send-backs and the review loop are capped apart: after two send-backs, a
    /// new blocker still gets a fix round. Before, the loop counted the send-back rounds as
    /// its own and went straight to the gate.
    @Test func gateSendBacksDoNotUseUpTheReviewLoopsRounds() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(
            bundle: "publishing",
            input: "x",
            policy: TaskPolicy(roles: ["legal": .human]),
            by: Fixtures.person
        )
        for iteration in 0..<2 {
            _ = try engine.deliver(key: "t1:draft:writer:\(iteration):1", result: Fixtures.draft())
            _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
            _ = try engine.deliver(
                key: try engine.pending("factchecker").key,
                result: Fixtures.review([], checkedClaims: 0)
            )
            let gate = try #require(try engine.waitingGate(task: "t1"))
            _ = try engine.answerGate(
                task: "t1",
                gate: gate.eventID,
                answer: .requestChanges,
                message: "again",
                by: Fixtures.person
            )
        }
        _ = try engine.deliver(key: "t1:draft:writer:2:1", result: Fixtures.draft())
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "blocking", "summary": "new problem"]])
        )
        guard
            case .applied(let next) = try engine.deliver(
                key: try engine.pending("factchecker").key,
                result: Fixtures.review([], checkedClaims: 0)
            )
        else {
            Issue.record("not applied")
            return
        }
        #expect(next.map(\.key) == ["t1:draft:writer:3:1"])
        #expect(try engine.waitingGate(task: "t1") == nil)
    }

    /// A person who answers a stall clears it: later gates follow their own policy again.
    @Test func approvingAStalledTaskClearsTheStall() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        try engine.driveToAStall()
        let gate = try #require(try engine.waitingGate(task: "t1"))
        #expect(try engine.task("t1")?.stalled == true)
        _ = try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.person)
        let task = try #require(try engine.task("t1"))
        #expect(task.stalled == false)
        #expect(task.lastBlockers.isEmpty)
    }

    /// A delivery a rule refuses is journaled under its effect's task, so the task's log,
    /// proof and replay window include it. Before, it was filed under no task at all.
    @Test func aRefusedDeliveryIsOnTheTasksRecord() throws {
        let rule = SQLRule(
            name: "no_drafts",
            sql: "SELECT task_id FROM step_outputs WHERE task_id = :task AND unit = 'writer'",
            message: "drafts are refused here",
            file: "test"
        )
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory, extraRules: [rule])
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        let error = try #require(throws: LoomError.self) {
            try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        }
        #expect(error.code == .invariantViolation)
        #expect(try engine.store.query("SELECT task_id FROM journal WHERE kind = 'violation'") == [["task_id": "t1"]])
        #expect(
            try engine.store.query("SELECT task_id, rule FROM violations") == [["task_id": "t1", "rule": "no_drafts"]]
        )
    }
}
