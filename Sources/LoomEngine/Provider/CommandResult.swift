import LoomValues

/// The outcome of a command step (a deterministic check such as a test run), delivered as JSON.
///
/// A model never writes one of these: command steps are run by the host, and their status
/// is what bundle safety-floor rules read.
public struct CommandResult: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case ok, failed, timeout, skipped
    }

    public var status: Status
    public var exitCode: Int?
    /// Captured output, already truncated by the host to the step's limit.
    public var output: String
    public var truncated: Bool
    public var durationMs: Int
    /// Structured facts a host handler reports beside the text (per-check statuses, the
    /// files a diff touched), for bundle rules to query with `json_extract`.
    public var details: JSONValue?

    public init(
        status: Status,
        exitCode: Int?,
        output: String,
        truncated: Bool = false,
        durationMs: Int = 0,
        details: JSONValue? = nil
    ) {
        self.status = status
        self.exitCode = exitCode
        self.output = output
        self.truncated = truncated
        self.durationMs = durationMs
        self.details = details
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "status": .string(status.rawValue), "output": .string(output),
            "truncated": .bool(truncated), "durationMs": .int(Int64(durationMs)),
        ]
        if let exitCode { object["exitCode"] = .int(Int64(exitCode)) }
        if let details { object["details"] = details }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let status = json["status"]?.stringValue.flatMap(Status.init(rawValue:)) else { return nil }
        self.init(
            status: status,
            exitCode: json["exitCode"]?.intValue.map { Int($0) },
            output: json["output"]?.stringValue ?? "",
            truncated: json["truncated"]?.boolValue ?? false,
            durationMs: Int(json["durationMs"]?.intValue ?? 0),
            details: json["details"]
        )
    }
}
