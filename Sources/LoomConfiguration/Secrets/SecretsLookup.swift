/// Where backends get API keys, and what every output and message is scrubbed of.
///
/// Names resolve from the environment first (what systemd's `LoadCredential`/`Environment`
/// or a person's shell gives), then from the secrets file. Every value that could be
/// handed out is known up front, so `redact` can remove any of them from text a provider
/// echoed back, an error body, or a child's output, whether or not it was asked for.
public struct SecretsLookup: Sendable {
    /// Values shorter than this are not redacted (they would shred ordinary text); the
    /// secrets file refuses to store them.
    public static let redactableLengthMin = 8
    public static let placeholder = "[redacted]"

    private let environment: [String: String]
    private let stored: [String: String]
    /// Longest first, so that a secret containing another is removed whole.
    private let values: [String]

    /// - Parameters:
    ///   - environment: the process environment (only the names asked for are used, but
    ///     values of names that look like keys are redacted too).
    ///   - stored: the secrets file's entries.
    public init(environment: [String: String] = [:], stored: [String: String] = [:]) {
        self.environment = environment
        self.stored = stored
        var values = Set(stored.values)
        for (name, value) in environment where Self.looksSecret(name) { values.insert(value) }
        self.values = values.filter { $0.utf8.count >= Self.redactableLengthMin }.sorted {
            $0.utf8.count > $1.utf8.count
        }
    }

    /// The value of `name`, or nil when neither the environment nor the file has it.
    public func value(_ name: String) -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        return stored[name]
    }

    /// `text` with every known secret replaced by `[redacted]`.
    public func redact(_ text: String) -> String {
        var result = text
        for value in values where result.contains(value) {
            result = result.replacingAll(value, with: Self.placeholder)
        }
        return result
    }

    /// Environment names that hold credentials by convention (`*_KEY`, `*_TOKEN`, …).
    package static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD"].contains { upper.hasSuffix($0) || upper.contains("\($0)_") }
    }
}

extension String {
    /// Every occurrence of `target` replaced (FoundationEssentials-free).
    package func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
