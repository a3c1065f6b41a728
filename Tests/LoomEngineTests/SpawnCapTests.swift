import Testing
@testable import LoomEngine
import LoomTestKit

/// The spawn cap counts model calls, not effects: a fallback chain that moved on and a
/// transient retry each spend one.
@Suite struct SpawnCapTests {
    @Test func fallbacksCountAgainstTheCap() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let id = try engine.submit(bundle: "publishing", input: "tides", by: Fixtures.person).taskID
        var draft = AgentResult(json: Fixtures.draft())!
        draft.attempts = 39
        _ = try engine.deliver(key: try engine.pending("writer").key, result: draft.json)
        // 1 + 38 more calls made; the two editors of the next step would be 41 and 42.
        let task = try #require(try engine.task(id))
        #expect(task.status == .failed)
        #expect(task.outcome.contains("spawn cap of 40 reached at step edit"))
    }

    @Test func aTransientRetryPastTheCapEndsTheTask() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let id = try engine.submit(bundle: "publishing", input: "tides", by: Fixtures.person).taskID
        let key = try engine.pending("writer").key
        for attempt in 1...39 {
            try engine.recordRetry(key: key, attempt: attempt, errorClass: "transient", delayMs: 10, message: "503")
        }
        // Rate-limit waits call no model and do not count.
        try engine.recordRetry(key: key, attempt: 40, errorClass: "rate_limited", delayMs: 10, message: "429")
        #expect(try engine.task(id)?.spawnCount == 40)
        #expect(try engine.task(id)?.status == .running)
        try engine.recordRetry(key: key, attempt: 40, errorClass: "transient", delayMs: 10, message: "503")
        let task = try #require(try engine.task(id))
        #expect(task.status == .failed)
        #expect(task.outcome.contains("retries and fallbacks count"))
        // The retried attempt's late result changes nothing.
        #expect(try engine.deliver(key: key, result: Fixtures.draft()) == .discarded)
    }
}
