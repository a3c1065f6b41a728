import LoomValues

/// A task's lifecycle state. `parked` waits at a gate for an answer.
public enum TaskStatus: String, Sendable, CaseIterable {
    case queued, running, parked, done, abandoned, cancelled, failed

    public var isFinished: Bool { self == .done || self == .abandoned || self == .cancelled || self == .failed }
}

/// One task's row, as the kernel keeps it.
public struct TaskRecord: Sendable, Equatable {
    public var id: String
    public var seq: Int64
    public var bundle: String
    public var bundleDigest: String
    public var flow: String
    public var input: String
    public var policy: TaskPolicy
    public var idempotencyKey: String?
    public var status: TaskStatus
    public var stepIndex: Int
    public var step: String
    public var iteration: Int
    public var spawnCount: Int
    public var spawnCap: Int
    public var feedback: String
    /// Fingerprints of the blocking findings the last round of the looping step left open (stall breaker).
    public var lastBlockers: [String]
    public var stalled: Bool
    public var submittedBy: JSONValue
    /// Why the task ended, for people.
    public var outcome: String
    public var createdTick: Int64
    public var updatedTick: Int64
}

/// A gate's row.
public struct GateRecord: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case waiting, approved
        case changesRequested = "changes_requested"
        case abandoned, cancelled
    }

    public var eventID: String
    public var taskID: String
    public var step: String
    public var role: String
    public var policy: GatePolicy
    public var requiresHuman: Bool
    public var reasons: [String]
    public var status: Status
    public var decidedBy: Principal?
    public var message: String
    public var openedTick: Int64
}

/// The answers a gate takes.
public enum GateAnswer: String, Sendable, CaseIterable {
    case approve
    /// Needs a message; walks the task back to the step the bundle names.
    case requestChanges = "request_changes"
    case abandon
}
