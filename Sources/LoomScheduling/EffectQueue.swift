/// The admission decisions of loomd's effect pool, without threads: at most `limit` jobs run
/// at once, the rest wait in FIFO order, and a finishing job hands its slot to the next.
///
/// loomd's `EffectPool` holds one behind a lock and starts what it returns on Dispatch; the
/// whole-system simulator holds one and starts what it returns in simulated time. One set of
/// decisions, two clocks: what the simulator proves is what loomd runs.
public struct EffectQueue<Job> {
    public let limit: Int
    public private(set) var running = 0
    private var waiting: [(enqueuedMs: Int, job: Job)] = []
    private var head = 0
    public private(set) var accepting = true
    /// A bound on jobs waiting: past it `submit` refuses (the caller keeps the intent pending).
    public let waitingMax: Int

    public init(limit: Int, waitingMax: Int = 1 << 20) {
        self.limit = max(1, limit)
        self.waitingMax = max(1, waitingMax)
    }

    public var waitingCount: Int { waiting.count - head }

    /// What happened to a submitted job.
    public enum Admission {
        /// Start it now; it holds a slot until `finish()`.
        case start(Job)
        /// It waits for a slot.
        case queued
        /// The pool stopped accepting, or the wait list is full: the job will not run.
        case refused
    }

    public mutating func submit(_ job: Job, nowMs: Int) -> Admission {
        guard accepting else { return .refused }
        if running < limit {
            running += 1
            precondition(running <= limit, "effect queue: \(running) running over a limit of \(limit)")
            return .start(job)
        }
        guard waitingCount < waitingMax else { return .refused }
        waiting.append((nowMs, job))
        return .queued
    }

    /// A running job finished. Returns the next job to start in its slot, with how long it
    /// waited, or nil when the slot is free.
    public mutating func finish(nowMs: Int) -> (job: Job, waitedMs: Int)? {
        precondition(running > 0, "effect queue: a job finished while none was running")
        if accepting, head < waiting.count {
            let next = waiting[head]
            head += 1
            if head > 64, head * 2 > waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
            return (next.job, nowMs - next.enqueuedMs)
        }
        running -= 1
        return nil
    }

    /// Stops starting new work and drops what waits; returns how many jobs still run.
    @discardableResult
    public mutating func stopAccepting() -> Int {
        accepting = false
        waiting.removeAll()
        head = 0
        return running
    }

    /// Forgets every job, running or waiting: the process that ran them is gone (simulator).
    public mutating func reset() {
        running = 0
        waiting.removeAll()
        head = 0
        accepting = true
    }
}
