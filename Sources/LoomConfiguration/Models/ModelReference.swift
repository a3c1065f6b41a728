/// `provider:model`, as a fallback chain lists it (`openrouter:deepseek/deepseek-chat`,
/// `ollama:qwen2.5-coder`, `command:/usr/local/bin/my-agent --fast`, `claude-code`).
///
/// The provider is everything before the first colon; the model is the rest, which may
/// hold colons and slashes of its own (`ollama:qwen2.5-coder:7b`). Program-backed
/// providers may omit the model to use the program's default.
public struct ModelReference: Sendable, Hashable, CustomStringConvertible {
    public static let lengthMax = 512

    public let provider: String
    public let model: String

    public init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    public init(parsing text: String) throws(ProviderConfigurationError) {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty, trimmed.utf8.count <= Self.lengthMax else {
            throw ProviderConfigurationError(
                .invalidValue,
                "a model reference must be 1 to \(Self.lengthMax) characters: provider:model",
                context: "reading a model reference"
            )
        }
        let parts = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let provider = String(parts[0])
        guard Self.isValidProviderName(provider) else {
            throw ProviderConfigurationError(
                .invalidValue,
                "'\(trimmed)' does not start with a provider name (a-z, 0-9, -, _), as in openrouter:deepseek/deepseek-chat",
                context: "reading a model reference"
            )
        }
        self.init(provider: provider, model: parts.count > 1 ? String(parts[1]) : "")
    }

    /// A comma-separated chain (`a:x,b:y`), as `loomctl models set` takes it.
    public static func parseChain(_ text: String) throws(ProviderConfigurationError) -> [ModelReference] {
        var chain: [ModelReference] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            chain.append(try ModelReference(parsing: String(part)))
        }
        return chain
    }

    public var description: String { model.isEmpty ? provider : "\(provider):\(model)" }

    package static func isValidProviderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }
}
