import LoomValues

/// What the host says about journaling one refused input (`Engine.refusalAudit`): anyone who
/// reaches the socket can cause a refusal, and each journaled one stays for ever, so the host
/// may journal them one by one only within a per-peer budget.
public enum RefusalAudit: Sendable, Equatable {
    /// Journal it. `suppressedBefore`: a summary of the same peer's refusals that were not
    /// journaled since its last journaled one, carried in this entry's payload.
    case journal(suppressedBefore: JSONValue?)
    /// Do not journal it (the host counts it and journals a summary later). The input is
    /// refused all the same: this never touches an accepted input.
    case skip
}
