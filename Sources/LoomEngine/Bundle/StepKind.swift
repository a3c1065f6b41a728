/// What a step does when the task reaches it.
public enum StepKind: Sendable, Equatable {
    /// Spawn one agent. `loopTo` names an earlier step of the same flow to walk
    /// back to while this step leaves a blocking finding open.
    case agent(agent: String, loopTo: String?)
    /// Spawn several agents in parallel. With `rerunOnlyBlocking`, a loop
    /// iteration re-spawns only the agents whose findings are still blocking,
    /// so agents that were satisfied are not paid for again.
    case fanOut(agents: [String], loopTo: String?, rerunOnlyBlocking: Bool)
    /// Wait for a decision on the gate `role`; a request-changes answer walks
    /// back to the step `onRequestChanges` (an earlier step of the same flow).
    case gate(role: String, onRequestChanges: String)
    /// Run a host command or a host-registered handler.
    case command(CommandSpec)
    /// The task is done. Always the last step of a flow.
    case finalize

    /// The manifest spelling of this kind ("agent", "fanOut", ...).
    public var kindName: String {
        switch self {
        case .agent: return "agent"
        case .fanOut: return "fanOut"
        case .gate: return "gate"
        case .command: return "command"
        case .finalize: return "finalize"
        }
    }

    /// The step a loop walks back to, if this kind can loop.
    public var loopTarget: String? {
        switch self {
        case .agent(_, let loopTo): return loopTo
        case .fanOut(_, let loopTo, _): return loopTo
        case .gate(_, let onRequestChanges): return onRequestChanges
        case .command, .finalize: return nil
        }
    }
}
