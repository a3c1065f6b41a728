/// Maps what a backend saw (an HTTP status, a program's exit) to a `ProviderErrorReason`.
///
/// One table for every backend, so that docs/providers.md can state it once and the tests
/// can check it row by row.
public enum ErrorClassifier {
    /// An HTTP status outside 2xx. `body` is the start of the error body: some providers
    /// say "unknown model" with a 400 (OpenRouter) rather than a 404.
    public static func reason(httpStatus status: Int, body: String = "") -> ProviderErrorReason {
        // What the body says about the context window is believed over the status: servers
        // disagree on it (400 from OpenAI and llama-server, 413 from some proxies, 500 from
        // older llama-cpp-python), and it is the one cause a person can act on.
        if status >= 400, status != 429, status != 401, status != 403, mentionsContextExceeded(body) {
            return .contextExceeded
        }
        switch status {
        // Redirects are not followed (the key must not travel): the base URL is wrong.
        case 300..<400: return .configuration
        case 401, 403: return .authentication
        case 404: return .unknownModel
        case 429: return .rateLimited
        case 400, 422:
            return mentionsUnknownModel(body) ? .unknownModel : .badRequest
        case 408, 409, 425: return .network
        case 400..<500: return .badRequest
        // 5xx, and 529 (overloaded) with them.
        default: return .server
        }
    }

    /// How a program-backed provider ended, when it did not succeed. The sysexits(3)
    /// codes let a `command:` provider say what went wrong; anything else is transient.
    public static func reason(exitCode: Int32) -> ProviderErrorReason {
        switch exitCode {
        case 64, 65, 78: return .badRequest  // EX_USAGE, EX_DATAERR, EX_CONFIG
        case 69: return .rateLimited  // EX_UNAVAILABLE: the service said "not now"
        case 77: return .authentication  // EX_NOPERM
        case 126, 127: return .unavailable  // not executable, not found (from a shell)
        default: return .exitStatus  // includes 75, EX_TEMPFAIL
        }
    }

    /// A CLI's error text (Claude Code puts it in `result`): rate limits, logins and model
    /// names are recognised, anything else is the provider's own error.
    public static func reason(cliErrorText text: String) -> ProviderErrorReason {
        let lower = text.lowercased()
        if lower.contains("rate limit") || lower.contains("usage limit") || lower.contains("rate_limit") {
            return .rateLimited
        }
        if lower.contains("invalid api key") || lower.contains("/login") || lower.contains("not logged in")
            || lower.contains("authentication")
            || lower.contains("unauthorized")
        {
            return .authentication
        }
        if mentionsContextExceeded(lower) { return .contextExceeded }
        if mentionsUnknownModel(lower) { return .unknownModel }
        return .providerError
    }

    static func mentionsUnknownModel(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard lower.contains("model") else { return false }
        return lower.contains("not found") || lower.contains("not a valid model") || lower.contains("does not exist")
            || lower.contains("invalid model") || lower.contains("unknown model") || lower.contains("model_not_found")
    }

    /// The phrases servers use when a prompt does not fit the model's window, as they send them:
    /// OpenAI and llama-cpp-python's server (`context_length_exceeded`, "This model's maximum
    /// context length is …"), llama.cpp's llama-server (`exceed_context_size_error`, "request
    /// (N tokens) exceeds the available context size (M tokens)"), llama-cpp-python's own
    /// `ValueError` ("Requested tokens (N) exceed context window of M"), Anthropic
    /// ("prompt is too long: N tokens > M maximum"), Ollama ("input length exceeds the
    /// context length").
    static func mentionsContextExceeded(_ text: String) -> Bool {
        let lower = text.lowercased()
        return contextPhrases.contains { lower.contains($0) }
    }

    static let contextPhrases = [
        "context_length_exceeded", "exceed_context_size_error", "maximum context length",
        "exceeds the available context size",
        "exceed context window", "prompt is too long", "exceeds the context length", "input length exceeds the context",
    ]
}
