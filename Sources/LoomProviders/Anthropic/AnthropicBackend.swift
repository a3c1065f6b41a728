import LoomEngine

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
        guard let baseURL = settings.baseURL else {
            return .failure(.configuration, "\(provider) has no baseURL", provider: provider, model: model)
        }
        let secretName = settings.apiKeySecret ?? "ANTHROPIC_API_KEY"
        guard let key = context.secrets.value(secretName) else {
            return .failure(.missingSecret, "\(provider) needs the secret \(secretName): set it with `loomctl secrets set \(secretName)` or in loomd's environment",
                            provider: provider, model: model)
        }
        let headers = [("Content-Type", "application/json"), ("Accept", "text/event-stream"), ("x-api-key", key),
                       ("anthropic-version", settings.apiVersion ?? "2023-06-01")]
        let stream = AnthropicStream(answer: StreamedAnswer(outputMaxBytes: request.limits.outputMaxBytes, context: context))
        let response = HTTPExchange.perform(.init(url: "\(baseURL)/v1/messages", headers: headers, body: body(for: request, model: model).canonicalBytes()),
                                            limits: request.limits, consume: stream.consume)
        return stream.result(response, provider: provider, model: model, prices: prices).redacted(context.secrets)
    }

    /// An `error.type` from the API (in an error body or an `error` event) as a reason.
    public static func reason(errorType: String) -> ProviderErrorReason {
        switch errorType {
        case "rate_limit_error": .rateLimited
        case "authentication_error", "permission_error": .authentication
        case "not_found_error": .unknownModel
        case "invalid_request_error", "request_too_large": .badRequest
        default: .server   // api_error, overloaded_error, and whatever comes next
        }
    }
}

/// The decoding state of one Messages stream.
final class AnthropicStream: @unchecked Sendable {
    let answer: StreamedAnswer
    private var lines = LineBuffer(lineMaxBytes: HTTPExchange.lineMaxBytes)
    private var events = ServerSentEvents(eventMaxBytes: HTTPExchange.lineMaxBytes)
    private var stopped = false
    private var tokensIn = 0
    private var tokensCached = 0
    private var tokensOut = 0
    private var problem: (ProviderErrorReason, String)?

    init(answer: StreamedAnswer) {
        self.answer = answer
    }

    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            for line in try lines.append(chunk) {
                guard let event = try events.feed(line) else { continue }
                if !handle(event) { return false }
            }
        } catch {
            problem = (.malformedResponse, "a stream line or event ran past \(HTTPExchange.lineMaxBytes) bytes")
            return false
        }
        return true
    }

    private func handle(_ event: ServerSentEvents.Event) -> Bool {
        guard let json = try? JSONValue.parse(event.data) else {
            problem = (.malformedResponse, "a \(event.name) event is not JSON: \(event.data.prefix(120))")
            return false
        }
        switch json["type"]?.stringValue ?? event.name {
        case "message_start":
            let usage = json["message"]?["usage"]
            tokensIn = Int((usage?["input_tokens"]?.intValue ?? 0) + (usage?["cache_creation_input_tokens"]?.intValue ?? 0))
            tokensCached = Int(usage?["cache_read_input_tokens"]?.intValue ?? 0)
            tokensOut = Int(usage?["output_tokens"]?.intValue ?? 0)
        case "content_block_delta":
            if json["delta"]?["type"]?.stringValue == "text_delta", let text = json["delta"]?["text"]?.stringValue, !answer.append(text) {
                problem = (.outputTooLarge, "the answer ran past the spawn's output limit")
                return false
            }
        case "message_delta":
            if let out = json["usage"]?["output_tokens"]?.intValue { tokensOut = Int(out) }
        case "message_stop":
            stopped = true
            return false
        case "error":
            let type = json["error"]?["type"]?.stringValue ?? "api_error"
            let message = json["error"]?["message"]?.stringValue ?? ""
            problem = (AnthropicBackend.reason(errorType: type), "the stream reported \(type): \(message.prefix(500))")
            return false
        default:
            break   // ping, content_block_start, content_block_stop
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let status = response.outcome.status, !(200..<300).contains(status), let type = (try? JSONValue.parse(response.errorBody))?["error"]?["type"]?.stringValue,
           var failure = HTTPExchange.failure(response, provider: provider, model: model) {
            // The error type is more precise than the status (a 400 can be a bad model name).
            let reason = status == 429 || status == 529 ? ErrorClassifier.reason(httpStatus: status) : AnthropicBackend.reason(errorType: type)
            failure.errorClass = reason.errorClass
            failure.errorReason = reason.rawValue
            return failure
        }
        if let failure = HTTPExchange.failure(response, provider: provider, model: model) { return failure }
        if let (reason, message) = problem {
            return .failure(reason, "\(provider): \(message)", provider: provider, model: model, durationMs: response.durationMs)
        }
        guard stopped else {
            return .failure(.truncatedStream, "\(provider)'s stream ended before message_stop", provider: provider, model: model, durationMs: response.durationMs)
        }
        var result = AgentResult(output: answer.value, tokensIn: tokensIn, tokensOut: tokensOut, tokensCached: tokensCached,
                                 durationMs: response.durationMs, provider: provider, model: model)
        result.costMicroUSD = prices.costMicroUSD(provider: provider, model: model, tokensIn: tokensIn, tokensOut: tokensOut, tokensCached: tokensCached) ?? 0
        return result
    }
}
