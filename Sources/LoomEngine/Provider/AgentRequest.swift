import LoomValues

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
    /// Where the values that may be cut to fit a model's window sit in `prompt`, and how each
    /// shrinks, sorted by variable name; empty when the agent declares none (and then absent
    /// from the JSON, so requests of bundles without it encode exactly as before).
    public let shrinkable: [Shrinkable]

    /// One shrinkable template variable: its rule and the UTF-8 byte ranges of its value's
    /// occurrences in the prompt (the same value at each).
    public struct Shrinkable: Sendable, Equatable {
        public let variable: String
        public let rule: ShrinkRule
        public let spans: [Range<Int>]

        public init(variable: String, rule: ShrinkRule, spans: [Range<Int>]) {
            self.variable = variable
            self.rule = rule
            self.spans = spans
        }
    }

    public struct Limits: Sendable, Equatable {
        /// Whole session, start to last byte.
        public var timeoutMs: Int = 30 * 60 * 1000
        /// Longest silence before the spawn counts as hung.
        public var idleTimeoutMs: Int = 5 * 60 * 1000
        /// Largest output accepted.
        public var outputMaxBytes: Int = 1 << 20

        public init() {}
    }

    public init(
        taskID: String,
        step: String,
        role: String,
        prompt: String,
        modelTier: String?,
        iteration: Int,
        attempt: Int,
        limits: Limits = Limits(),
        shrinkable: [Shrinkable] = []
    ) {
        self.taskID = taskID
        self.step = step
        self.role = role
        self.prompt = prompt
        self.modelTier = modelTier
        self.iteration = iteration
        self.attempt = attempt
        self.limits = limits
        self.shrinkable = shrinkable
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
        if !shrinkable.isEmpty {
            object["shrink"] = .array(
                shrinkable.map { item in
                    .object([
                        "variable": .string(item.variable), "rule": .string(item.rule.rawValue),
                        "spans": .array(
                            item.spans.map { .array([.int(Int64($0.lowerBound)), .int(Int64($0.upperBound))]) }
                        ),
                    ])
                }
            )
        }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let task = json["task"]?.stringValue, let step = json["step"]?.stringValue,
            let role = json["role"]?.stringValue, let prompt = json["prompt"]?.stringValue,
            let iteration = json["iteration"]?.intValue, let attempt = json["attempt"]?.intValue
        else { return nil }
        var limits = Limits()
        if let value = json["limits"]?["timeoutMs"]?.intValue { limits.timeoutMs = Int(value) }
        if let value = json["limits"]?["idleTimeoutMs"]?.intValue { limits.idleTimeoutMs = Int(value) }
        if let value = json["limits"]?["outputMaxBytes"]?.intValue { limits.outputMaxBytes = Int(value) }
        var shrinkable: [Shrinkable] = []
        let promptBytes = prompt.utf8.count
        for item in json["shrink"]?.arrayValue ?? [] {
            // A span outside the prompt is dropped, not trusted: a host cuts only inside it.
            guard let variable = item["variable"]?.stringValue,
                let rule = item["rule"]?.stringValue.flatMap(ShrinkRule.init(rawValue:))
            else { continue }
            let spans = (item["spans"]?.arrayValue ?? []).compactMap { pair -> Range<Int>? in
                guard let start = pair[0]?.intValue, let end = pair[1]?.intValue, 0 <= start, start <= end,
                    Int(end) <= promptBytes
                else { return nil }
                return Int(start)..<Int(end)
            }
            shrinkable.append(Shrinkable(variable: variable, rule: rule, spans: spans))
        }
        self.init(
            taskID: task,
            step: step,
            role: role,
            prompt: prompt,
            modelTier: json["tier"]?.stringValue,
            iteration: Int(iteration),
            attempt: Int(attempt),
            limits: limits,
            shrinkable: shrinkable
        )
    }
}
