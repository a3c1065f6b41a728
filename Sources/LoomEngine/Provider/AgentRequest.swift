/// One agent spawn, as the kernel asks for it: domain-blind and provider-blind.
///
/// The kernel renders the prompt; an adapter picks the model from `modelTier` (or its own
/// configuration for `role`) and runs it. The request is stored in the effect ledger as JSON.
public struct AgentRequest: Sendable, Equatable {
    public let taskID: String
    public let step: String
    /// The agent's name in the bundle (`writer`, `editor`): the role a fallback chain is keyed by.
    public let role: String
    public let prompt: String
    /// A bundle's tier name (`fast`, `balanced`, `premium`) or nil for the configured default.
    public let modelTier: String?
    public let iteration: Int
    public let attempt: Int
    public let limits: Limits

    public struct Limits: Sendable, Equatable {
        /// Whole session, start to last byte.
        public var timeoutMs: Int = 30 * 60 * 1000
        /// Longest silence before the spawn counts as hung.
        public var idleTimeoutMs: Int = 5 * 60 * 1000
        /// Largest output accepted.
        public var outputMaxBytes: Int = 1 << 20

        public init() {}
    }

    public init(taskID: String, step: String, role: String, prompt: String, modelTier: String?, iteration: Int, attempt: Int, limits: Limits = Limits()) {
        self.taskID = taskID
        self.step = step
        self.role = role
        self.prompt = prompt
        self.modelTier = modelTier
        self.iteration = iteration
        self.attempt = attempt
        self.limits = limits
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "task": .string(taskID), "step": .string(step), "role": .string(role), "prompt": .string(prompt),
            "iteration": .int(Int64(iteration)), "attempt": .int(Int64(attempt)),
            "limits": .object([
                "timeoutMs": .int(Int64(limits.timeoutMs)),
                "idleTimeoutMs": .int(Int64(limits.idleTimeoutMs)),
                "outputMaxBytes": .int(Int64(limits.outputMaxBytes)),
            ]),
        ]
        if let modelTier { object["tier"] = .string(modelTier) }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let task = json["task"]?.stringValue, let step = json["step"]?.stringValue,
              let role = json["role"]?.stringValue, let prompt = json["prompt"]?.stringValue,
              let iteration = json["iteration"]?.intValue, let attempt = json["attempt"]?.intValue else { return nil }
        var limits = Limits()
        if let value = json["limits"]?["timeoutMs"]?.intValue { limits.timeoutMs = Int(value) }
        if let value = json["limits"]?["idleTimeoutMs"]?.intValue { limits.idleTimeoutMs = Int(value) }
        if let value = json["limits"]?["outputMaxBytes"]?.intValue { limits.outputMaxBytes = Int(value) }
        self.init(taskID: task, step: step, role: role, prompt: prompt, modelTier: json["tier"]?.stringValue,
                  iteration: Int(iteration), attempt: Int(attempt), limits: limits)
    }
}
