import LoomConfiguration
import LoomEngine

/// Why a spawn failed, finer than `ProviderErrorClass`: recorded as `AgentResult.errorReason`.
///
/// A fallback chain moves to its next model only for `rateLimited`, `authentication`,
/// `unknownModel` and `contextExceeded` (another provider or model can help there); every other failure is
/// returned as it is and the daemon retries the transient ones with its own backoff.
/// docs/providers.md has the table of which HTTP status or exit status gives which reason.
public enum ProviderErrorReason: String, Sendable, CaseIterable {
    case rateLimited = "rate_limited"
    case authentication
    case unknownModel = "unknown_model"
    /// The prompt (with the room kept for the answer) does not fit the model's context window,
    /// or the answer was cut at its output budget: the same request fails the same way every
    /// time, so it is never retried as transient; a model with a larger window can help.
    case contextExceeded = "context_exceeded"
    /// The request itself was refused (4xx other than the above): retrying cannot help.
    case badRequest = "bad_request"
    /// The provider failed on its side (5xx, overloaded).
    case server
    /// No connection, or it broke before an answer.
    case network
    /// The whole session ran past its timeout.
    case timeout
    /// Nothing arrived for longer than the idle timeout.
    case idleTimeout = "idle_timeout"
    /// The stream ended before its end marker.
    case truncatedStream = "truncated_stream"
    /// The provider's reply was not the JSON (or the events) its protocol promises.
    case malformedResponse = "malformed_response"
    /// The answer ran past the output cap.
    case outputTooLarge = "output_too_large"
    /// A program-backed provider could not be started (not installed, not executable).
    case unavailable
    /// A program exited with a failure status that says nothing more.
    case exitStatus = "exit_status"
    /// A secret the provider needs is not set.
    case missingSecret = "missing_secret"
    /// The model reference or provider settings are wrong.
    case configuration
    /// The provider answered with an error of its own (the CLI's `is_error`).
    case providerError = "provider_error"

    /// The scheduler's view of this reason.
    public var errorClass: ProviderErrorClass {
        switch self {
        case .rateLimited: .rateLimited
        case .authentication, .unknownModel, .contextExceeded, .badRequest, .outputTooLarge, .unavailable,
            .missingSecret, .configuration:
            .permanent
        case .server, .network, .timeout, .idleTimeout, .truncatedStream, .malformedResponse, .exitStatus,
            .providerError:
            .transient
        }
    }

    /// Whether a fallback chain tries its next entry after this failure.
    public var fallsBack: Bool {
        self == .rateLimited || self == .authentication || self == .unknownModel || self == .contextExceeded
    }
}

extension AgentResult {
    /// A failure with its reason, class derived from it.
    static func failure(
        _ reason: ProviderErrorReason,
        _ message: String,
        provider: String,
        model: String,
        retryAfterMs: Int? = nil,
        durationMs: Int = 0
    ) -> AgentResult {
        var result = AgentResult(
            error: reason.errorClass,
            message: message,
            reason: reason.rawValue,
            retryAfterMs: retryAfterMs,
            provider: provider,
            model: model
        )
        result.durationMs = durationMs
        return result
    }

    /// The reason as a value, when it is one this module knows.
    var reason: ProviderErrorReason? { errorReason.flatMap(ProviderErrorReason.init(rawValue:)) }

    /// Every string field passed through `redact`.
    func redacted(_ secrets: SecretsLookup) -> AgentResult {
        var copy = self
        copy.output = output.map(secrets.redact)
        copy.errorMessage = errorMessage.map(secrets.redact)
        return copy
    }
}
