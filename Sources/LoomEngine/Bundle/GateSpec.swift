/// A gate a bundle declares, keyed by role: how it is decided by default and
/// which safety-floor rules can force a human to decide it anyway.
public struct GateSpec: Sendable, Equatable {
    public let role: String
    /// The policy used unless the host overrides it for this role.
    public let defaultPolicy: GatePolicy
    /// Names of the bundle's `safetyFloor` rules that apply to this gate.
    public let safetyFloor: [String]
    /// What the gate shows the person it asks (nil: the gate's facts only).
    public let card: GateCardSpec?

    public init(role: String, defaultPolicy: GatePolicy, safetyFloor: [String], card: GateCardSpec? = nil) {
        self.role = role
        self.defaultPolicy = defaultPolicy
        self.safetyFloor = safetyFloor
        self.card = card
    }
}
