/// One `effect_retry` entry of the journal, as a host reads it back: which attempt failed,
/// how, how long the host said it would wait, and when that was decided (the tick's time
/// token). A restarted host resumes a retry from these instead of starting its count again:
/// the next attempt, its due time, and how many calls the effect has had.
public struct RetryRecord: Sendable, Equatable {
    /// The attempt that failed (1 for the first call).
    public var attempt: Int
    /// The failure's class as the host journaled it (`transient`, `rate_limited`).
    public var errorClass: String
    public var delayMs: Int
    /// For a rate-limit wait, which wait of `attempt` this was (1-based); nil for others and
    /// in entries written before it was recorded.
    public var wait: Int?
    /// The time token of the tick that journaled it.
    public var timeMs: Int64

    public init(attempt: Int, errorClass: String, delayMs: Int, wait: Int? = nil, timeMs: Int64) {
        self.attempt = attempt
        self.errorClass = errorClass
        self.delayMs = delayMs
        self.wait = wait
        self.timeMs = timeMs
    }

    /// When the retry was due, in the clock of the time tokens.
    public var dueMs: Int64 { timeMs + Int64(delayMs) }

    /// Whether `other` journals the same decision: the same attempt, class and wait.
    public func isSameDecision(as other: RetryRecord) -> Bool {
        attempt == other.attempt && errorClass == other.errorClass && wait == other.wait
    }
}
