import Dispatch
import LoomProviders

/// A bounded, fleet-wide pool for effect work (agent spawns, commands): at most `limit`
/// run at once, the rest wait in FIFO order. Nothing here polls; a finishing job starts
/// the next one.
final class EffectPool: @unchecked Sendable {
    let limit: Int
    private let lock = Lock()
    private var running = 0
    private var waiting: [(enqueuedMs: Int, job: @Sendable () -> Void)] = []
    private var accepting = true
    private let workers = DispatchQueue(label: "loom.effects", attributes: .concurrent)
    /// Milliseconds from enqueue to start, for the schedule-to-start histogram.
    var onStart: (@Sendable (Int) -> Void)?

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Queues a job; it must call `done` exactly once when finished.
    func submit(_ job: @escaping @Sendable (_ done: @escaping @Sendable () -> Void) -> Void) {
        let now = ChildProcess.monotonicMilliseconds()
        let start: (@Sendable () -> Void)? = lock.withLock {
            guard accepting else { return nil }
            let wrapped: @Sendable () -> Void = { [self] in job { self.finished() } }
            if running < limit {
                running += 1
                return wrapped
            }
            waiting.append((now, wrapped))
            return nil
        }
        if let start {
            onStart?(0)
            workers.async(execute: start)
        }
    }

    private func finished() {
        let next: (Int, @Sendable () -> Void)? = lock.withLock {
            if accepting, !waiting.isEmpty { return waiting.removeFirst() }
            running -= 1
            return nil
        }
        if let (enqueued, job) = next {
            onStart?(ChildProcess.monotonicMilliseconds() - enqueued)
            workers.async(execute: job)
        }
    }

    /// Stops starting new work; returns how many jobs are still running.
    func stopAccepting() -> Int {
        lock.withLock {
            accepting = false
            waiting.removeAll()
            return running
        }
    }

    var runningCount: Int { lock.withLock { running } }
    var waitingCount: Int { lock.withLock { waiting.count } }
}
