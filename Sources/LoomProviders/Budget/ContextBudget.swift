import LoomConfiguration
import LoomEngine
import LoomValues

/// A model's context window and the part of it kept for the answer, and where the figures
/// came from: the operator (`contextTokens`, `maxTokens` in models.json, per provider or per
/// model), the server (llama.cpp's `/props`, vLLM's `/models`, Ollama's `/api/show`), or the
/// provider kind's documented default (`ContextBudget.default(for:baseURL:)`).
public struct ContextBudget: Sendable, Equatable {
    public enum Source: String, Sendable {
        case configured, server
        case kindDefault = "default"
    }

    public var contextTokens: Int
    /// Tokens kept for the answer (sent as the answer's cap where the server is local).
    public var answerTokens: Int
    public var source: Source

    public init(contextTokens: Int, answerTokens: Int, source: Source) {
        self.contextTokens = contextTokens
        self.answerTokens = answerTokens
        self.source = source
    }

    /// What a prompt may use: the window less the answer's share.
    public var promptTokens: Int { max(0, contextTokens - answerTokens) }

    /// The window loom assumes when nobody says: the figure each kind is known to run with.
    /// A local OpenAI-compatible server: 2,048 (llama-cpp-python's default `n_ctx`); Ollama:
    /// 2,048 (its `num_ctx` default before 0.6); hosted OpenAI-compatible APIs 128,000; Anthropic
    /// 200,000; CLI agents (which manage their own context) 200,000; a `command:` 128,000; the
    /// scripted provider 1,048,576 (nothing to fit). The answer keeps the kind's `maxTokens`,
    /// else a quarter of the window, at most 4,096 (8,192 for CLI agents).
    public static func kindDefault(for settings: ProviderSettings) -> ContextBudget {
        let window: Int
        var answerMax = 4_096
        switch settings.kind {
        case .openai: window = isLoopback(settings.baseURL) ? 2_048 : 128_000
        case .openrouter, .command: window = 128_000
        case .anthropic: window = 200_000
        case .ollama: window = 2_048
        case .claudeCode, .aider, .opencode:
            window = 200_000
            answerMax = 8_192
        case .scripted: window = 1 << 20
        }
        return ContextBudget(
            contextTokens: window,
            answerTokens: settings.maxTokens ?? min(answerMax, window / 4),
            source: .kindDefault
        )
    }

    /// Whether a base URL points at this machine (a local model server).
    public static func isLoopback(_ baseURL: String?) -> Bool {
        guard let baseURL else { return false }
        let rest = baseURL.drop(while: { $0 != "/" }).dropFirst(2)
        var host = rest.prefix(while: { $0 != "/" })
        if host.hasPrefix("[") { return host.hasPrefix("[::1]") }
        if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
        return host == "localhost" || host.hasPrefix("127.")
    }

    var json: JSONValue {
        .object([
            "contextTokens": .int(Int64(contextTokens)), "answerTokens": .int(Int64(answerTokens)),
            "source": .string(source.rawValue),
        ])
    }
}
