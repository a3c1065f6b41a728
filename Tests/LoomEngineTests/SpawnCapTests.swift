import LoomTestKit
import Testing

@testable import LoomEngine

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

    /// A host that lost its memory of a retry (loomd killed during the backoff) and met the
    /// same failure again journals nothing and counts nothing a second time.
    @Test func theSameRetryDecisionIsJournaledOnce() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let id = try engine.submit(bundle: "publishing", input: "tides", by: Fixtures.person).taskID
        let key = try engine.pending("writer").key
        let before = try #require(try engine.task(id)).spawnCount
        try engine.recordRetry(key: key, attempt: 1, errorClass: "transient", delayMs: 1_500, message: "503")
        try engine.recordRetry(key: key, attempt: 1, errorClass: "transient", delayMs: 1_500, message: "503")
        try engine.recordRetry(key: key, attempt: 2, errorClass: "rate_limited", delayMs: 100, message: "429", wait: 1)
        try engine.recordRetry(key: key, attempt: 2, errorClass: "rate_limited", delayMs: 100, message: "429", wait: 1)
        try engine.recordRetry(key: key, attempt: 2, errorClass: "rate_limited", delayMs: 100, message: "429", wait: 2)
        let retries = try engine.retries(key: key)
        #expect(retries.map(\.attempt) == [1, 2, 2])
        #expect(retries.map(\.wait) == [nil, 1, 2])
        #expect(retries[0].delayMs == 1_500 && retries[0].dueMs == retries[0].timeMs + 1_500 && retries[0].timeMs > 0)
        // One transient retry: one more call counted.
        #expect(try #require(try engine.task(id)).spawnCount == before + 1)
        #expect(try engine.retries(key: "t9:nothing:0:0:1").isEmpty)
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
