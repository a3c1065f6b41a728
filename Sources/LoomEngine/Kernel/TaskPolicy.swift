import LoomValues

/// A task's choice of who answers its gates, stored with the task as JSON.
///
/// Resolution for a gate role: the task's override for that role, then the task's
/// override for every role (`fallback`), then the bundle's default for the role, then
/// `human`. Named presets (full-supervised, gates-on-blockers, …) are tables of these
/// overrides kept outside the kernel, with the front-ends that offer them.
public struct TaskPolicy: Sendable, Equatable {
    /// The preset's name, if the policy came from one (recorded for people, not consulted).
    public var label: String?
    /// The policy for every role not named in `roles`.
    public var fallback: GatePolicy?
    public var roles: [String: GatePolicy]

    public init(label: String? = nil, fallback: GatePolicy? = nil, roles: [String: GatePolicy] = [:]) {
        self.label = label
        self.fallback = fallback
        self.roles = roles
    }

    public func resolve(role: String, bundleDefault: GatePolicy?) -> GatePolicy {
        roles[role] ?? fallback ?? bundleDefault ?? .human
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["roles": .object(roles.mapValues { .string($0.rawValue) })]
        if let label { object["label"] = .string(label) }
        if let fallback { object["fallback"] = .string(fallback.rawValue) }
        return .object(object)
    }

    public init(json: JSONValue) throws(LoomError) {
        func policy(_ value: JSONValue, _ what: String) throws(LoomError) -> GatePolicy {
            guard let policy = value.stringValue.flatMap(GatePolicy.init(rawValue:)) else {
                throw LoomError(.invalidInput, "policy for \(what) must be one of human, on-blockers, auto")
            }
            return policy
        }
        var roles: [String: GatePolicy] = [:]
        for (role, value) in json["roles"]?.objectValue ?? [:] {
            roles[role] = try policy(value, "gate role '\(role)'")
        }
        let fallback = try json["fallback"].map { value throws(LoomError) in try policy(value, "every gate") }
        self.init(label: json["label"]?.stringValue, fallback: fallback, roles: roles)
    }
}
