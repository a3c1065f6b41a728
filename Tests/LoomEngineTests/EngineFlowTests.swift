import Foundation
import LoomPolicy
import LoomTestKit
import Testing

@testable import LoomEngine

/// The flow interpreter on the publishing bundle: a kernel that knows no domain runs a
/// draft → edit → legal gate → render → publish process.
@Suite struct EngineFlowTests {
    @Test func aTaskRunsToDoneThroughAGateAPersonAnswers() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let receipt = try engine.submit(bundle: "publishing", input: "Write about tides", by: Fixtures.person)
        #expect(receipt.taskID == "t1")
        #expect(receipt.created)
        #expect(receipt.newEffects.map(\.key) == ["t1:draft:writer:0:1"])
        let prompt = AgentRequest(json: receipt.newEffects[0].request)?.prompt ?? ""
        #expect(prompt.contains("Write about tides"))

        let afterDraft = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        guard case .applied(let fanOut) = afterDraft else {
            Issue.record("draft not applied: \(afterDraft)")
            return
        }
        #expect(Set(fanOut.map(\.unit)) == ["editor", "factchecker"])
        #expect(AgentRequest(json: try engine.pending("editor").request)?.prompt.contains("A title") == true)

        // A claim finding trips the legal gate's safety floor: a person must answer even
        // though the gate's policy (on-blockers) would let the resolver approve.
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "info", "summary": "fine"]])
        )
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review(
                [["severity": "warn", "summary": "unsourced figure", "category": "claim"]],
                checkedClaims: 3
            )
        )
        let task = try #require(try engine.task("t1"))
        #expect(task.status == .parked)
        let gate = try #require(try engine.waitingGate(task: "t1"))
        #expect(gate.eventID == "t1.g1")
        #expect(gate.requiresHuman)
        #expect(gate.reasons.contains { $0.hasPrefix("safety floor claims_unchecked") })

        try engine.answerGate(task: "t1", gate: gate.eventID, answer: .approve, by: Fixtures.person)
        let render = try engine.pending("command")
        #expect(render.request["argv"] == ["sh", "-c", "wc -w"])
        _ = try engine.deliver(key: render.key, result: Fixtures.commandOK)
        let done = try #require(try engine.task("t1"))
        #expect(done.status == .done)
        #expect(try engine.pendingEffects().isEmpty)
        let decided = try engine.store.query("SELECT decided_by FROM gates WHERE event_id = 't1.g1'")
        #expect(decided.first?["decided_by"]?.stringValue?.contains("uid:1000") == true)
    }

    @Test func theResolverAnswersAGateWithNothingOpenAndSaysSo() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        #expect(try engine.task("t1")?.status == .running)
        let gate = try engine.store.query("SELECT status, requires_human, decided_by FROM gates WHERE task_id = 't1'")
        #expect(gate.count == 1)
        #expect(gate[0]["status"] == "approved")
        #expect(gate[0]["decided_by"]?.stringValue?.contains("policy:on-blockers") == true)
    }

    @Test func blockersWalkBackAndOnlyTheBlockingReviewerRunsAgain() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "blocking", "summary": "lede buried"]])
        )
        guard
            case .applied(let next) = try engine.deliver(
                key: try engine.pending("factchecker").key,
                result: Fixtures.review([], checkedClaims: 1)
            )
        else {
            Issue.record("not applied")
            return
        }
        #expect(next.map(\.key) == ["t1:draft:writer:1:1"])
        #expect(AgentRequest(json: next[0].request)?.prompt.contains("lede buried") == true)
        guard
            case .applied(let round2) = try engine.deliver(key: "t1:draft:writer:1:1", result: Fixtures.draft("Better"))
        else {
            Issue.record("not applied")
            return
        }
        #expect(round2.map(\.unit) == ["editor"])
        _ = try engine.deliver(key: round2[0].key, result: Fixtures.review([]))
        let findings = try engine.store.query(
            "SELECT status FROM findings WHERE task_id = 't1' AND severity = 'blocking'"
        )
        #expect(findings == [["status": "fixed"]])
        #expect(try engine.pending("command").step == "render")
    }

    @Test func theSameBlockersTwiceRunningForceAPerson() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        try engine.driveToAStall()
        let gate = try #require(try engine.waitingGate(task: "t1"))
        #expect(gate.reasons.contains { $0.hasPrefix("stall breaker") })
        #expect(try engine.task("t1")?.stalled == true)
    }

    @Test func garbageIsRetriedOnceThenBecomesABlockerAPersonMustSee() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(
            bundle: "publishing",
            input: "x",
            policy: PolicyPreset.fullAutonomous.policy,
            by: Fixtures.person
        )
        guard
            case .applied(let retry) = try engine.deliver(
                key: "t1:draft:writer:0:1",
                result: AgentResult(output: "not json").json
            )
        else {
            Issue.record("not applied")
            return
        }
        #expect(retry.map(\.key) == ["t1:draft:writer:0:2"])
        #expect(AgentRequest(json: retry[0].request)?.prompt.contains("output is not JSON") == true)
        _ = try engine.deliver(key: "t1:draft:writer:0:2", result: AgentResult(output: #"{"title": ""}"#).json)
        let harness = try engine.store.query("SELECT severity, origin, status FROM findings WHERE task_id = 't1'")
        #expect(harness == [["severity": "blocking", "origin": "harness", "status": "open"]])
        // Even fully autonomous, the gate cannot be resolved over the harness blocker.
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        #expect(try engine.task("t1")?.status == .parked)
    }

    @Test func tasksQueueBehindTheOneInFlight() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let first = try engine.submit(bundle: "publishing", input: "one", by: Fixtures.person)
        let second = try engine.submit(bundle: "publishing", input: "two", by: Fixtures.person)
        #expect(second.newEffects.isEmpty)
        #expect(try engine.task(second.taskID)?.status == .queued)
        let effects = try engine.cancel(task: first.taskID, reason: "changed my mind", by: Fixtures.person)
        #expect(effects.map(\.key) == ["t2:draft:writer:0:1"])
        #expect(try engine.task("t1")?.status == .cancelled)
        #expect(try engine.task("t2")?.status == .running)
        #expect(try engine.store.query("SELECT status FROM effects WHERE task_id = 't1'") == [["status": "cancelled"]])
        // A late result for the cancelled task's effect is discarded, not applied.
        #expect(try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft()) == .discarded)
    }

    @Test func requestChangesWalksBackWithTheMessageAndNeedsOne() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(
            bundle: "publishing",
            input: "x",
            policy: TaskPolicy(roles: ["legal": .human]),
            by: Fixtures.person
        )
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft())
        _ = try engine.deliver(key: try engine.pending("editor").key, result: Fixtures.review([]))
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        let gate = try #require(try engine.waitingGate(task: "t1"))
        #expect(gate.reasons == ["policy: human"])
        #expect(throws: LoomError.self) {
            try engine.answerGate(
                task: "t1",
                gate: gate.eventID,
                answer: .requestChanges,
                message: "  ",
                by: Fixtures.person
            )
        }
        let effects = try engine.answerGate(
            task: "t1",
            gate: gate.eventID,
            answer: .requestChanges,
            message: "shorter, please",
            by: Fixtures.person
        )
        #expect(effects.map(\.key) == ["t1:draft:writer:1:1"])
        #expect(AgentRequest(json: effects[0].request)?.prompt.contains("shorter, please") == true)
    }

    @Test func theSpawnCapEndsARunawayTask() throws {
        var files = try Fixtures.publishing().files
        files["bundle.json"] = files["bundle.json"]!.replacingOccurrences(
            of: #""spawnCap": 40"#,
            with: #""spawnCap": 3"#
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
        _ = try engine.deliver(
            key: try engine.pending("editor").key,
            result: Fixtures.review([["severity": "blocking", "summary": "no"]])
        )
        // Three spawns so far; walking back to the writer would be the fourth.
        _ = try engine.deliver(
            key: try engine.pending("factchecker").key,
            result: Fixtures.review([], checkedClaims: 0)
        )
        let task = try #require(try engine.task("t1"))
        #expect(task.status == .failed)
        #expect(task.outcome.contains("spawn cap of 3"))
        #expect(try engine.pendingEffects().isEmpty)
    }
}
