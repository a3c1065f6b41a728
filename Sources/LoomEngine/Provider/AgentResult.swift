import LoomValues

/// How a spawn failed, in the terms the scheduler acts on.
public enum ProviderErrorClass: String, Sendable, CaseIterable {
    /// Worth retrying with backoff (timeouts, 5xx, a dropped connection).
    case transient
    /// Wait, then retry without using up an attempt; or fall back to the next model.
    case rateLimited = "rate_limited"
    /// Retrying cannot help (bad credentials, unknown model, a refused request).
    case permanent
    /// The provider answered, but not in the shape the agent's schema requires.
    case invalidOutput = "invalid_output"
}

/// The outcome of one agent spawn, with its accounting. Delivered to the kernel as JSON.
public struct AgentResult: Sendable, Equatable {
    public var output: String?
    public var errorClass: ProviderErrorClass?
    public var errorMessage: String?
    /// A finer, adapter-defined reason for `errorClass` (`authentication`, `unknown_model`,
    /// `timeout`, …): what a fallback chain decides on. Absent from older results.
    public var errorReason: String?
    /// How long the backend asked us to wait before trying again (a rate limit's
    /// `retry-after`), when it said.
    public var retryAfterMs: Int?
    public var tokensIn: Int = 0
    public var tokensOut: Int = 0
    public var tokensCached: Int = 0
    /// In micro-dollars, so that sums are exact and the journal holds no floating point.
    public var costMicroUSD: Int = 0
    public var durationMs: Int = 0
    public var provider: String = ""
    public var model: String = ""
    /// How many model calls this result stands for: more than one when a fallback chain
    /// moved on. Each counts against the task's spawn cap.
    public var attempts = 1
    /// How the process that produced it was confined, as the host recorded it (opaque to
    /// the kernel; kept so the journal shows how every spawn ran). Absent from older results.
    public var confinement: JSONValue?
    /// How the prompt was fitted to the model's window (the window, the prompt's size before
    /// and after, what was cut), as the host recorded it: opaque to the kernel, journaled so
    /// every cut is on record. Absent from older results.
    public var fit: JSONValue?
    /// True when the token counts are loom's estimate from the text, not the server's count
    /// (a server that reported no usage). Absent (false) from older results.
    public var tokensEstimated = false

    public init(
        output: String,
        tokensIn: Int = 0,
        tokensOut: Int = 0,
        tokensCached: Int = 0,
        costMicroUSD: Int = 0,
        durationMs: Int = 0,
        provider: String = "",
        model: String = ""
    ) {
        self.output = output
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.tokensCached = tokensCached
        self.costMicroUSD = costMicroUSD
        self.durationMs = durationMs
        self.provider = provider
        self.model = model
    }

    public init(
        error: ProviderErrorClass,
        message: String,
        reason: String? = nil,
        retryAfterMs: Int? = nil,
        provider: String = "",
        model: String = ""
    ) {
        self.errorClass = error
        self.errorMessage = message
        self.errorReason = reason
        self.retryAfterMs = retryAfterMs
        self.provider = provider
        self.model = model
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "status": .string(errorClass == nil ? "ok" : "error"),
            "usage": tokensEstimated
                ? .object([
                    "in": .int(Int64(tokensIn)), "out": .int(Int64(tokensOut)), "cached": .int(Int64(tokensCached)),
                    "estimated": true,
                ])
                : .object([
                    "in": .int(Int64(tokensIn)), "out": .int(Int64(tokensOut)), "cached": .int(Int64(tokensCached)),
                ]),
            "costMicroUSD": .int(Int64(costMicroUSD)),
            "durationMs": .int(Int64(durationMs)),
            "provider": .string(provider),
            "model": .string(model),
        ]
        if let output { object["output"] = .string(output) }
        if let errorClass { object["errorClass"] = .string(errorClass.rawValue) }
        if let errorMessage { object["error"] = .string(errorMessage) }
        // Only when set, so results without them encode exactly as before.
        if let errorReason { object["errorReason"] = .string(errorReason) }
        if let retryAfterMs { object["retryAfterMs"] = .int(Int64(retryAfterMs)) }
        if attempts != 1 { object["attempts"] = .int(Int64(attempts)) }
        if let confinement { object["confinement"] = confinement }
        if let fit { object["fit"] = fit }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let status = json["status"]?.stringValue else { return nil }
        if status == "ok" {
            guard let output = json["output"]?.stringValue else { return nil }
            self.init(output: output)
        } else {
            guard let errorClass = json["errorClass"]?.stringValue.flatMap(ProviderErrorClass.init(rawValue:)) else {
                return nil
            }
            self.init(
                error: errorClass,
                message: json["error"]?.stringValue ?? "",
                reason: json["errorReason"]?.stringValue,
                retryAfterMs: json["retryAfterMs"]?.intValue.map { Int($0) }
            )
        }
        tokensIn = Int(json["usage"]?["in"]?.intValue ?? 0)
        tokensOut = Int(json["usage"]?["out"]?.intValue ?? 0)
        tokensCached = Int(json["usage"]?["cached"]?.intValue ?? 0)
        costMicroUSD = Int(json["costMicroUSD"]?.intValue ?? 0)
        durationMs = Int(json["durationMs"]?.intValue ?? 0)
        provider = json["provider"]?.stringValue ?? ""
        model = json["model"]?.stringValue ?? ""
        attempts = max(1, Int(json["attempts"]?.intValue ?? 1))
        confinement = json["confinement"]
        fit = json["fit"]
        tokensEstimated = json["usage"]?["estimated"]?.boolValue ?? false
    }
}

/// The seam every LLM backend adapter implements. Adapters live outside the kernel.
public protocol AgentProvider: Sendable {
    /// Runs one spawn. Failures are results with an `errorClass`, not thrown errors, so that
    /// the scheduler can decide on retry or fallback from data.
    func spawn(_ request: AgentRequest) async -> AgentResult
}
