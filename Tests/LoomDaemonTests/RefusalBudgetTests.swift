import Foundation
import LoomEngine
import LoomScheduling
import LoomValues
import Testing

@testable import LoomDaemon
@testable import LoomHost

/// Refused requests are journaled one by one only within a per-peer budget; past it they
/// are counted, summed up on record, and shown in the metrics.
@Suite(.serialized) struct RefusalBudgetTests {
    @Test func aPeerPastItsBudgetIsCountedAndItsNextJournaledRefusalCarriesTheCount() {
        var budget = RefusalBudget(capacity: 3, refillMs: 1_000, windowMs: 60_000)
        let peer = RefusalBudget.Peer(uid: 1001)
        for _ in 0..<3 {
            #expect(budget.admit(peer, kind: "gate_answered", task: "t1", nowMs: 0) == .journal(suppressedBefore: nil))
        }
        #expect(budget.admit(peer, kind: "gate_answered", task: "t1", nowMs: 0) == .suppress(opensWindow: true))
        #expect(budget.admit(peer, kind: "cancelled", task: "t2", nowMs: 10) == .suppress(opensWindow: false))
        // Another uid has its own budget.
        #expect(
            budget.admit(.init(uid: 1002), kind: "cancelled", task: "t1", nowMs: 10) == .journal(suppressedBefore: nil)
        )
        // A second later one token is back: the next refusal is journaled with the summary.
        guard case .journal(let summary?) = budget.admit(peer, kind: "gate_answered", task: "t1", nowMs: 1_000) else {
            Issue.record("the refusal after a refill was not journaled with its summary")
            return
        }
        #expect(summary.count == 2)
        #expect(summary.kinds == ["gate_answered": 1, "cancelled": 1])
        #expect(summary.task == "t2")
        #expect(budget.closeWindows(nowMs: 100_000).isEmpty, "a summary is journaled once")
    }

    @Test func aWindowClosesWithOneSummaryAndNotBefore() {
        var budget = RefusalBudget(capacity: 1, refillMs: 1_000_000, windowMs: 60_000)
        let peer = RefusalBudget.Peer(uid: 7)
        _ = budget.admit(peer, kind: "gate_answered", task: "t1", nowMs: 0)
        for ms in 1...50 { _ = budget.admit(peer, kind: "gate_answered", task: "t1", nowMs: Int64(ms)) }
        #expect(budget.closeWindows(nowMs: 59_999).isEmpty)
        let closed = budget.closeWindows(nowMs: 60_001)
        #expect(closed.map(\.count) == [50])
        #expect(closed.first?.json["kinds"]?["gate_answered"]?.intValue == 50)
        #expect(budget.closeWindows(nowMs: 120_000).isEmpty)
    }

    @Test func theTableOfPeersIsBoundedAndNewcomersShareTheOverflowBudget() {
        var budget = RefusalBudget(capacity: 1, refillMs: 1_000_000, windowMs: 60_000, peersMax: 4)
        // Three peers each spend their budget and are suppressed once: nothing to forget.
        for uid in UInt32(1)...3 {
            _ = budget.admit(.init(uid: uid), kind: "cancelled", task: "t", nowMs: 0)
            _ = budget.admit(.init(uid: uid), kind: "cancelled", task: "t", nowMs: 0)
        }
        for uid in UInt32(100)..<1_100 { _ = budget.admit(.init(uid: uid), kind: "cancelled", task: "t", nowMs: 0) }
        #expect(budget.peerCount <= 4)
        let closed = budget.closeWindows(nowMs: 60_000)
        #expect(closed.first { $0.peer == .overflow }?.count == 999, "one newcomer spent the shared budget")
        #expect(closed.filter { $0.peer != .overflow }.map(\.count) == [1, 1, 1])
    }

    @Test func aFloodOfRefusedAnswersGrowsTheJournalByTheBudgetAndOneSummary() throws {
        let directory = "/tmp/loom-refusals-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: "\(directory)/p", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DaemonHarness.publishingScript.write(
            toFile: "\(directory)/script.json",
            atomically: true,
            encoding: .utf8
        )
        var configuration = DaemonConfiguration(stateDirectory: "\(directory)/state", socketPath: "\(directory)/d.sock")
        configuration.bundleDirectories = ["\(DaemonHarness.repositoryRoot)/bundles"]
        configuration.providerScript = "\(directory)/script.json"
        let daemon = try Daemon(configuration: configuration)
        let project = try daemon.openProject("\(directory)/p")
        let person = Caller(principal: .human(uid: 1000), uid: 1000, gid: 1000, pid: 4242)
        let stranger = Caller(principal: .human(uid: 1001), uid: 1001, gid: 1001, pid: 4243)
        let attempts = 200
        let refused = try project.queue.sync { () throws(LoomError) -> Int64 in
            let task = try project.engine.submit(bundle: "publishing", input: "x", by: person).taskID
            for index in 0..<attempts {
                // A stale gate from a new process each time: the budget is the uid's.
                let caller = Caller(principal: stranger.principal, uid: 1001, gid: 1001, pid: Int32(5_000 + index))
                do {
                    _ = try project.engine.answerGate(
                        task: task,
                        gate: "g-bogus",
                        answer: .approve,
                        message: "",
                        by: caller
                    )
                    Issue.record("a stale answer was accepted")
                } catch {}
            }
            return try project.engine.store.query("SELECT count(*) AS n FROM journal WHERE kind = 'refused'").first?[
                "n"
            ]?.intValue ?? -1
        }
        let journaled = Int(refused)
        #expect(journaled >= 1 && journaled <= RefusalBudget.capacityDefault + 1, "\(journaled) refusals journaled")
        let suppressed = attempts - journaled
        #expect(daemon.metricsText().contains("loom_refusals_suppressed_total{kind=\"gate_answered\"} \(suppressed)"))

        // The window closes: one summary entry holds the count, and nothing is lost from it.
        let summaries = try project.queue.sync { () throws(LoomError) -> [JSONValue] in
            #expect(project.journalClosedRefusalWindows(nowMs: Int64.max / 2).isEmpty)
            return try project.engine.store.query(
                "SELECT json_extract(payload, '$.input.payload.count') AS count FROM journal WHERE kind = 'refused' AND json_extract(payload, '$.input.kind') = 'refusals_suppressed'"
            )
        }
        #expect(summaries.map { $0["count"]?.intValue } == [Int64(suppressed)])
        // The summary replays as recorded, like any refusal.
        let report = try project.queue.sync { () throws(LoomError) -> ReplayReport in
            try Replayer(source: (try project.engine).store, bundles: daemon.bundles, extraRules: []).run(task: "t1")
        }
        guard case .identical = report else {
            Issue.record("replay after suppressed refusals: \(report)")
            return
        }
    }
}
