import Foundation
import LoomConfiguration
import LoomSystem

/// How many spawns may talk to one model endpoint at once, process-wide.
///
/// A local model server answers one request at a time well (llama.cpp's server with one
/// slot interrupts or queues the rest, and a request cut short shows as an empty answer);
/// a fan-out of reviewers must queue for it rather than all start. Each endpoint (a base
/// URL, else a provider name) has a limit (`ProviderSettings.maxConcurrent`, else the kind's
/// default: `EndpointSlots.defaultLimit`); spawns beyond it wait, first come first served,
/// and say so (`onWait`), so status shows them as waiting for the model, not running.
/// A wait is bounded by the spawn's own session timeout.
public final class EndpointSlots: @unchecked Sendable {
    public static let shared = EndpointSlots()
    /// Endpoints tracked at once (an entry goes when nothing runs or waits on it).
    public static let endpointsMax = 1_024

    private let condition = NSCondition()
    private var running: [String: Int] = [:]
    private var queues: [String: [UInt64]] = [:]
    private var nextTicket: UInt64 = 0

    public init() {}

    /// Why a slot was not had.
    public enum Refusal: Error, Equatable {
        case timedOut(waitedMs: Int)
        case tooManyEndpoints
        /// The spawn's task ended while it waited: it gives its turn up rather than spend
        /// the model's time on an answer nobody will read.
        case cancelled
    }

    /// How often a waiting spawn looks whether its task has ended.
    static let cancellationCheckMs = 250

    /// Waits for a slot of `endpoint` (at most `limit` at once) for up to `timeoutMs`;
    /// `onWait` is told when the wait starts (how many run, the limit) and ends (nil).
    /// Returns a release to call exactly once when the exchange is over.
    public func acquire(
        _ endpoint: String,
        limit: Int,
        timeoutMs: Int,
        isCancelled: () -> Bool = { false },
        onWait: (_ runningNow: Int?) -> Void = { _ in }
    ) -> Result<@Sendable () -> Void, Refusal> {
        condition.lock()
        guard running[endpoint] != nil || queues[endpoint] != nil || running.count < Self.endpointsMax else {
            condition.unlock()
            return .failure(.tooManyEndpoints)
        }
        let ticket = nextTicket
        nextTicket += 1
        queues[endpoint, default: []].append(ticket)
        let started = Date()
        let deadline = started.addingTimeInterval(Double(max(0, timeoutMs)) / 1_000)
        var toldWaiting = false
        while !(queues[endpoint]?.first == ticket && running[endpoint, default: 0] < max(1, limit)) {
            if !toldWaiting {
                toldWaiting = true
                let now = running[endpoint, default: 0]
                condition.unlock()
                onWait(now)
                condition.lock()
                continue
            }
            let nextLook = min(deadline, Date().addingTimeInterval(Double(Self.cancellationCheckMs) / 1_000))
            let signalled = condition.wait(until: nextLook)
            let cancelled = !signalled && isCancelled()
            if cancelled || (!signalled && Date() >= deadline) {
                queues[endpoint]?.removeAll { $0 == ticket }
                if queues[endpoint]?.isEmpty == true { queues[endpoint] = nil }
                condition.broadcast()
                condition.unlock()
                if toldWaiting { onWait(nil) }
                return .failure(
                    cancelled ? .cancelled : .timedOut(waitedMs: Int(Date().timeIntervalSince(started) * 1_000))
                )
            }
        }
        queues[endpoint]!.removeFirst()
        if queues[endpoint]!.isEmpty { queues[endpoint] = nil }
        running[endpoint, default: 0] += 1
        // The next in line may fit too (a limit above 1).
        condition.broadcast()
        condition.unlock()
        if toldWaiting { onWait(nil) }
        let released = ReleaseOnce()
        return .success { [self] in
            guard released.take() else { return }
            condition.lock()
            running[endpoint, default: 1] -= 1
            if running[endpoint] == 0 { running[endpoint] = nil }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Spawns holding a slot of `endpoint` now (tests, status).
    public func runningCount(_ endpoint: String) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return running[endpoint, default: 0]
    }

    /// The default limit for a provider: 1 for a model server on this machine (an
    /// OpenAI-compatible one, llama.cpp; Ollama, which runs `OLLAMA_NUM_PARALLEL` requests,
    /// 1 unless set), nil (the effect pool's size) for hosted APIs and programs.
    public static func defaultLimit(for settings: ProviderSettings) -> Int? {
        switch settings.kind {
        case .openai: return ContextBudget.isLoopback(settings.baseURL) ? 1 : nil
        case .ollama: return 1
        default: return nil
        }
    }
}

/// A release that happens once however often it is called.
private final class ReleaseOnce: @unchecked Sendable {
    private let lock = Lock()
    private var done = false
    func take() -> Bool {
        lock.withLock {
            defer { done = true }
            return !done
        }
    }
}
