import LoomEngine

/// A deterministic clock: each token is the previous one plus `stepMs`. After a simulated
/// crash it restarts from the last token the database holds, as a real clock would simply
/// keep going; tokens taken by ticks that never committed are not seen again.
public final class SimulatedClock: @unchecked Sendable {
    public private(set) var nowMs: Int64
    public let stepMs: Int64

    public init(startMs: Int64 = 1_700_000_000_000, stepMs: Int64 = 1_000) {
        self.nowMs = startMs
        self.stepMs = stepMs
    }

    public func next() -> Int64 {
        nowMs += stepMs
        return nowMs
    }

    public func resume(after store: Store, startMs: Int64 = 1_700_000_000_000) throws(LoomError) {
        nowMs = try store.lastTimeToken() ?? startMs
    }
}
