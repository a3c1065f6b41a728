import LoomValues

/// Something the kernel asks the outside world to do.
///
/// Its key is derived from (task, step, unit, iteration, attempt), so re-issuing it after a
/// crash uses the same key and delivering its result twice is harmless.
public struct Effect: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case spawn, command, timer, notify
    }

    public let key: String
    public let taskID: String
    public let step: String
    /// The agent name for a spawn, `command` for a command step.
    public let unit: String
    public let iteration: Int
    public let attempt: Int
    public let kind: Kind
    /// For `spawn`, an `AgentRequest` as JSON; for `command`, a `CommandRequest` as JSON.
    public let request: JSONValue

    public static func key(task: String, step: String, unit: String, iteration: Int, attempt: Int) -> String {
        "\(task):\(step):\(unit):\(iteration):\(attempt)"
    }
}

/// What delivering an effect's result did.
public enum Delivery: Sendable, Equatable {
    /// The result was applied; these new effects were committed with it.
    case applied(newEffects: [Effect])
    /// This key's result was applied before; nothing changed. The recorded result.
    case duplicate(recorded: JSONValue)
    /// The effect was cancelled with its task before the result came; it was not applied.
    case discarded
}

/// What submitting a task did.
public struct SubmitReceipt: Sendable, Equatable {
    public let taskID: String
    /// False when the idempotency key named a task submitted before.
    public let created: Bool
    public let newEffects: [Effect]
}
