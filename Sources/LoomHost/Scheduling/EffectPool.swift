import Dispatch
import LoomProviders
import LoomScheduling
import LoomSystem

/// A bounded, fleet-wide pool for effect work (agent spawns, commands): at most `limit`
/// run at once, the rest wait in FIFO order. Nothing here polls; a finishing job starts
/// the next one. The admission decisions are `EffectQueue`'s (LoomScheduling), the same the
/// whole-system simulator drives in simulated time; this type adds the lock and Dispatch.
package final class EffectPool: @unchecked Sendable {
    package let limit: Int
    private let lock = Lock()
    private var queue: EffectQueue<@Sendable () -> Void>
    private let workers = DispatchQueue(label: "loom.effects", attributes: .concurrent)
    /// Milliseconds from enqueue to start, for the schedule-to-start histogram.
    package var onStart: (@Sendable (Int) -> Void)?

    package init(limit: Int) {
        self.limit = max(1, limit)
        self.queue = EffectQueue(limit: limit)
    }

    /// Queues a job; it must call `done` exactly once when finished.
    package func submit(_ job: @escaping @Sendable (_ done: @escaping @Sendable () -> Void) -> Void) {
        let now = MonotonicClock.milliseconds()
        let wrapped: @Sendable () -> Void = { [self] in job { self.finished() } }
        let admission = lock.withLock { queue.submit(wrapped, nowMs: now) }
        if case .start(let start) = admission {
            onStart?(0)
            workers.async(execute: start)
        }
    }

    private func finished() {
        let now = MonotonicClock.milliseconds()
        if let next = lock.withLock({ queue.finish(nowMs: now) }) {
            onStart?(next.waitedMs)
            workers.async(execute: next.job)
        }
    }

    /// Stops starting new work; returns how many jobs are still running.
    package func stopAccepting() -> Int {
        lock.withLock { queue.stopAccepting() }
    }

    package var runningCount: Int { lock.withLock { queue.running } }
    package var waitingCount: Int { lock.withLock { queue.waitingCount } }
}
