/// Named policy presets: a task-level override of who answers each gate role.
///
/// Resolution for a gate: the task's explicit role override, then the task's preset, then
/// the bundle's default for that role, then `human`.
public enum GatePolicyPreset: String, Sendable, CaseIterable {
    case fullSupervised = "full-supervised"
    case reviewPlanOnly = "review-plan-only"
    case reviewFinalOnly = "review-final-only"
    case gatesOnBlockers = "gates-on-blockers"
    case fullAutonomous = "full-autonomous"

    /// The policy this preset gives a gate role. The role names `plan` and `final` are the
    /// generic ones a bundle uses for "before the work" and "before delivery".
    public func policy(forRole role: String) -> GatePolicy {
        switch self {
        case .fullSupervised: return .human
        case .reviewPlanOnly: return role == "plan" ? .human : .auto
        case .reviewFinalOnly: return role == "final" ? .human : .auto
        case .gatesOnBlockers: return .onBlockers
        case .fullAutonomous: return .auto
        }
    }
}

/// A task's policy choice, stored with the task as JSON.
public struct TaskPolicy: Sendable, Equatable {
    public var preset: GatePolicyPreset?
    public var roles: [String: GatePolicy]

    public init(preset: GatePolicyPreset? = nil, roles: [String: GatePolicy] = [:]) {
        self.preset = preset
        self.roles = roles
    }

    public func resolve(role: String, bundleDefault: GatePolicy?) -> GatePolicy {
        roles[role] ?? preset?.policy(forRole: role) ?? bundleDefault ?? .human
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["roles": .object(roles.mapValues { .string($0.rawValue) })]
        if let preset { object["preset"] = .string(preset.rawValue) }
        return .object(object)
    }

    public init(json: JSONValue) throws(LoomError) {
        var roles: [String: GatePolicy] = [:]
        for (role, value) in json["roles"]?.objectValue ?? [:] {
            guard let policy = value.stringValue.flatMap(GatePolicy.init(rawValue:)) else {
                throw LoomError(.invalidInput, "policy for gate role '\(role)' must be one of human, on-blockers, auto")
            }
            roles[role] = policy
        }
        var preset: GatePolicyPreset?
        if let name = json["preset"]?.stringValue {
            guard let value = GatePolicyPreset(rawValue: name) else {
                throw LoomError(.invalidInput, "unknown policy preset '\(name)'; known: \(GatePolicyPreset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            preset = value
        }
        self.init(preset: preset, roles: roles)
    }
}
