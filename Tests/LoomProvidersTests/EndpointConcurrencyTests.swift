import Foundation
import LoomConfiguration
import LoomEngine
import LoomSystem
import Testing

@testable import LoomProviders

/// Per-endpoint concurrency: spawns beyond a provider's `maxConcurrent` queue for the model
/// (and say so), instead of all talking to a one-slot local server at once.
@Suite(.serialized) struct EndpointConcurrencyTests {
    /// Three spawns at once through the router; the server (which answers one connection at a
    /// time, like a one-slot llama.cpp) records how many held the endpoint while it answered.
    func runThree(maxConcurrent: Int?) throws -> (held: [Int], waits: [String], outputs: [String?]) {
        let base = LockedBox<String>("")
        let held = LockedBox<[Int]>([])
        let server = try LoopbackHTTPServer { _ in
            held.update { $0.append(EndpointSlots.shared.runningCount(base.value)) }
            return .stream([OpenAICompatibleBackendTests.chunk("{\"ok\": true}"), "data: [DONE]\n\n"], delayMs: 100)
        }
        defer { server.stop() }
        base.update { $0 = "\(server.baseURL)/v1" }
        let limit = maxConcurrent.map { #", "maxConcurrent": \#($0)"# } ?? ""
        let router = ModelRouter(
            configuration: try ModelsConfiguration.parse(
                """
                {"version": 1, "default": ["local:m"], "providers": {"local": {"kind": "openai", "baseURL": "\(base.value)", "contextTokens": 8192\(limit)}}}
                """,
                path: "models.json"
            )
        )
        let waits = LockedBox<[String]>([])
        let outputs = LockedBox<[String?]>([])
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            Thread {
                var context = SpawnWatcher().context()
                context.onModelWait = { text in if let text { waits.update { $0.append(text) } } }
                let result = router.spawn(makeRequest(), context: context)
                outputs.update { $0.append(result.output) }
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        return (held.value, waits.value, outputs.value)
    }

    @Test func aLocalServerTakesOneRequestAtATimeByDefault() throws {
        let (held, waits, outputs) = try runThree(maxConcurrent: nil)
        #expect(outputs.count == 3 && outputs.allSatisfy { $0 == "{\"ok\": true}" })
        #expect(held == [1, 1, 1], "never more than one request at the endpoint: \(held)")
        #expect(waits.count == 2, "two of three queued for the model: \(waits)")
        #expect(waits.allSatisfy { $0.hasPrefix("waiting for the model local:m (1 of 1 request(s)") })
    }

    @Test func maxConcurrentLetsMoreIn() throws {
        let (held, waits, outputs) = try runThree(maxConcurrent: 3)
        #expect(outputs.count == 3 && outputs.allSatisfy { $0 == "{\"ok\": true}" })
        #expect(waits.isEmpty)
        #expect((held.max() ?? 0) >= 2, "more than one request held the endpoint: \(held)")
    }

    /// A spawn whose task ended while it waited gives its turn up at once, not at its
    /// timeout, and the next in line gets the slot: no model time on an unread answer.
    @Test func aWaitingSpawnWhoseTaskEndedGivesItsTurnUp() throws {
        let slots = EndpointSlots()
        guard case .success(let release) = slots.acquire("e", limit: 1, timeoutMs: 1_000) else {
            Issue.record("no first slot")
            return
        }
        let ended = LockedBox(false)
        let started = Date()
        Thread {
            usleep(300_000)
            ended.update { $0 = true }
        }.start()
        guard case .failure(.cancelled) = slots.acquire("e", limit: 1, timeoutMs: 60_000, isCancelled: { ended.value })
        else {
            Issue.record("the wait did not end when the task did")
            return
        }
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.25 && waited < 5, "gave up after \(waited) s, not at the 60 s timeout")
        release()
        #expect(slots.runningCount("e") == 0)
        guard case .success(let next) = slots.acquire("e", limit: 1, timeoutMs: 1_000) else {
            Issue.record("the slot was not free")
            return
        }
        next()
    }

    @Test func aWaitIsBoundedAndFirstComeFirstServed() throws {
        let slots = EndpointSlots()
        guard case .success(let release) = slots.acquire("e", limit: 1, timeoutMs: 1_000) else {
            Issue.record("no first slot")
            return
        }
        let started = Date()
        guard case .failure(.timedOut(let waited)) = slots.acquire("e", limit: 1, timeoutMs: 200) else {
            Issue.record("a second slot was given")
            return
        }
        #expect(waited >= 150 && Date().timeIntervalSince(started) < 5)
        let order = LockedBox<[Int]>([])
        let group = DispatchGroup()
        for index in 0..<3 {
            group.enter()
            Thread {
                if case .success(let done) = slots.acquire("e", limit: 1, timeoutMs: 10_000) {
                    order.update { $0.append(index) }
                    done()
                }
                group.leave()
            }.start()
            // Each is in line before the next starts.
            usleep(50_000)
        }
        release()
        release()  // a second call does nothing
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(order.value == [0, 1, 2])
        #expect(slots.runningCount("e") == 0)
    }
}

/// A value shared between test threads.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
