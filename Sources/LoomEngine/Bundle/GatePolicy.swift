/// How a gate is decided.
public enum GatePolicy: String, Sendable, Equatable, CaseIterable {
    /// A person always decides.
    case human
    /// Approved automatically unless a blocking finding is open; then a person decides.
    case onBlockers = "on-blockers"
    /// Approved automatically (the safety floor can still demand a person).
    case auto
}
