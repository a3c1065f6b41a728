import LoomConfiguration
import LoomEngine
import LoomValues

/// The Anthropic Messages API (`POST {baseURL}/v1/messages`, headers `x-api-key` and
/// `anthropic-version`), streamed.
///
/// The stream's SSE events: `message_start` (input usage, including the prompt cache's
/// `cache_creation_input_tokens` and `cache_read_input_tokens`), `content_block_start`,
/// `content_block_delta` (`text_delta` pieces of the answer), `content_block_stop`,
/// `message_delta` (cumulative `output_tokens`, the stop reason), `message_stop` (the
/// end), `ping`, and `error` (a failure after the stream began, such as
/// `overloaded_error`). A stream without `message_stop` is truncated.
///
/// Tokens: in = `input_tokens` + `cache_creation_input_tokens` (input billed as input),
/// cached = `cache_read_input_tokens`. The API reports no cost: it comes from the price table.
public struct AnthropicBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings
    public let prices: PriceTable

    public init(providerName: String, settings: ProviderSettings, prices: PriceTable = PriceTable()) {
        self.providerName = providerName
        self.settings = settings
        self.prices = prices
    }

    public func body(for request: AgentRequest, model: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "max_tokens": .int(Int64(settings.maxTokens ?? 8_192)),
            "messages": .array([.object(["role": "user", "content": .string(request.prompt)])]),
            "stream": true,
        ]
        if let temperature = settings.temperature { body["temperature"] = .double(temperature) }
        return .object(body)
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let endpoint: HTTPEndpoint
        switch HTTPEndpoint.resolve(
            settings,
            provider: provider,
            model: model,
            secrets: context.secrets,
            defaultSecret: "ANTHROPIC_API_KEY"
        ) {
        case .success(let resolved): endpoint = resolved
        case .failure(let failure): return failure.result
        }
        let headers = [
            ("Content-Type", "application/json"), ("Accept", "text/event-stream"), ("x-api-key", endpoint.key ?? ""),
            ("anthropic-version", settings.apiVersion ?? "2023-06-01"),
        ]
        return HTTPExchange.spawn(
            AnthropicStream.self,
            url: "\(endpoint.baseURL)/v1/messages",
            headers: headers,
            body: body(for: request, model: model),
            request: request,
            provider: provider,
            model: model,
            prices: prices,
            context: context
        )
    }

    /// An `error.type` from the API (in an error body or an `error` event) as a reason. A
    /// prompt past the window is an `invalid_request_error` whose message says "prompt is too
    /// long: N tokens > M maximum": the message decides that one.
    public static func reason(errorType: String, message: String = "") -> ProviderErrorReason {
        if errorType == "invalid_request_error", ErrorClassifier.mentionsContextExceeded(message) {
            return .contextExceeded
        }
        return switch errorType {
        case "rate_limit_error": .rateLimited
        case "authentication_error", "permission_error": .authentication
        case "not_found_error": .unknownModel
        case "invalid_request_error", "request_too_large": .badRequest
        default: .server  // api_error, overloaded_error, and whatever comes next
        }
    }
}
