/// What a step does when the task reaches it.
public enum StepKind: Sendable, Equatable {
    /// Spawn one agent. `loopTo` names an earlier step of the same flow to walk
    /// back to while a blocking finding is open: one this step raised, or with
    /// `loopScope` `.task`, any of the task's (a step that weighs other steps'
    /// findings loops until all of them are settled).
    case agent(agent: String, loopTo: String?, loopScope: LoopScope = .step)
    /// Spawn several agents in parallel. With `rerunOnlyBlocking`, a loop
    /// iteration re-spawns only the agents whose findings are still blocking,
    /// so agents that were satisfied are not paid for again.
    case fanOut(agents: [String], loopTo: String?, rerunOnlyBlocking: Bool)
    /// Wait for a decision on the gate `role`; a request-changes answer walks
    /// back to the step `onRequestChanges` (an earlier step of the same flow).
    case gate(role: String, onRequestChanges: String)
    /// Run a host command or a host-registered handler.
    case command(CommandSpec)
    /// Spawn one agent whose output picks the flow the task continues in: the
    /// value of `field` when it names one of `flows`, else `fallback`. The task
    /// enters the chosen flow at its first step.
    case branch(agent: String, field: String, flows: [String], fallback: String)
    /// The task is done. Always the last step of a flow.
    case finalize

    /// The manifest spelling of this kind ("agent", "fanOut", ...).
    public var kindName: String {
        switch self {
        case .agent: return "agent"
        case .fanOut: return "fanOut"
        case .gate: return "gate"
        case .command: return "command"
        case .branch: return "branch"
        case .finalize: return "finalize"
        }
    }

    /// The step a loop walks back to, if this kind can loop.
    public var loopTarget: String? {
        switch self {
        case .agent(_, let loopTo, _): return loopTo
        case .fanOut(_, let loopTo, _): return loopTo
        case .gate(_, let onRequestChanges): return onRequestChanges
        case .command, .branch, .finalize: return nil
        }
    }
}

/// Which open blocking findings keep a looping agent step walking back.
public enum LoopScope: String, Sendable, Equatable {
    /// Only those the step itself raised.
    case step
    /// Any of the task's.
    case task
}
