/// Which effects the host has started and not yet delivered, and which wait out a retry
/// delay, by slot (a project and an effect key: every project has a t1). loomd's
/// `EffectRunner` keeps one behind its lock; the simulator keeps one per simulated daemon.
///
/// It decides two things: an effect already running is not started twice (recovery and a
/// delivery can both hand it over), and a task that ended spends no more retries.
public struct EffectTracker<Timer> {
    private var inFlight: Set<String> = []
    private var waiting: [String: (task: String, timer: Timer)] = [:]

    public init() {}

    public static func slot(key: String, project: String) -> String { project + "\u{0}" + key }

    public var inFlightCount: Int { inFlight.count }
    public var waitingCount: Int { waiting.count }

    /// The started slots beginning with `prefix`, sorted (what a status shows of a task).
    public func inFlight(withPrefix prefix: String) -> [String] { inFlight.filter { $0.hasPrefix(prefix) }.sorted() }

    /// Whether `slot` waits out a retry delay.
    public func isWaiting(_ slot: String) -> Bool { waiting[slot] != nil }

    /// Marks a slot started; false when it already runs (do not start it again).
    public mutating func begin(_ slot: String) -> Bool { inFlight.insert(slot).inserted }

    /// The effect was delivered, or will not be tried again.
    public mutating func end(_ slot: String) { inFlight.remove(slot) }

    /// The effect waits out a retry delay, with the timer that will wake it.
    public mutating func park(_ slot: String, task: String, timer: Timer) { waiting[slot] = (task, timer) }

    /// The retry timer fired: true when the retry is still wanted (its task did not end).
    public mutating func wake(_ slot: String) -> Bool { waiting.removeValue(forKey: slot) != nil }

    /// Drops the waiting retries of `task` in `project`: the task ended and its effects were
    /// cancelled with it. Returns their timers, to cancel.
    public mutating func dropWaiting(task: String, project: String) -> [Timer] {
        let prefix = Self.slot(key: "", project: project)
        let slots = waiting.filter { $0.value.task == task && $0.key.hasPrefix(prefix) }
        for slot in slots.keys {
            waiting[slot] = nil
            inFlight.remove(slot)
        }
        return slots.values.map(\.timer)
    }
}
