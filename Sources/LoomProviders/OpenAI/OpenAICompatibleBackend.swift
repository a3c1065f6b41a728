import LoomEngine

/// Any OpenAI-compatible chat-completions endpoint: OpenAI, OpenRouter, llama.cpp, vLLM.
///
/// `POST {baseURL}/chat/completions` with `"stream": true`; the answer arrives as SSE
/// `data:` events of `chat.completion.chunk` JSON and ends with `data: [DONE]`. A stream
/// that ends without `[DONE]` is a truncated stream (transient), not an answer.
///
/// Usage: OpenAI reports it in a last chunk when asked (`stream_options.include_usage`);
/// OpenRouter when asked with `usage: {include: true}`, and then also its cost in USD,
/// which is used as it is. Others (llama.cpp) may report none in a stream: then tokens
/// are 0 and the cost comes from the price table if at all.
public struct OpenAICompatibleBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings
    public let prices: PriceTable

    public init(providerName: String, settings: ProviderSettings, prices: PriceTable = PriceTable()) {
        self.providerName = providerName
        self.settings = settings
        self.prices = prices
    }

    /// The request body, as sent (tests compare it).
    public func body(for request: AgentRequest, model: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array([.object(["role": "user", "content": .string(request.prompt)])]),
            "stream": true,
            "stream_options": .object(["include_usage": true]),
        ]
        if settings.kind == .openrouter { body["usage"] = .object(["include": true]) }
        if let maxTokens = settings.maxTokens { body["max_tokens"] = .int(Int64(maxTokens)) }
        if let temperature = settings.temperature { body["temperature"] = .double(temperature) }
        return .object(body)
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        guard let baseURL = settings.baseURL else {
            return .failure(.configuration, "\(provider) has no baseURL", provider: provider, model: model)
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
        if let secretName = settings.apiKeySecret {
            guard let key = context.secrets.value(secretName) else {
                return .failure(.missingSecret, "\(provider) needs the secret \(secretName): set it with `loomctl secrets set \(secretName)` or in loomd's environment",
                                provider: provider, model: model)
            }
            headers.append(("Authorization", "Bearer \(key)"))
        }
        if settings.kind == .openrouter { headers.append(("X-Title", "loom")) }
        let stream = OpenAIStream(answer: StreamedAnswer(outputMaxBytes: request.limits.outputMaxBytes, context: context))
        let response = HTTPExchange.perform(.init(url: "\(baseURL)/chat/completions", headers: headers, body: body(for: request, model: model).canonicalBytes()),
                                            limits: request.limits, consume: stream.consume)
        let result = stream.result(response, provider: provider, model: model, prices: prices)
        return result.redacted(context.secrets)
    }
}

/// The decoding state of one chat-completions stream.
final class OpenAIStream: @unchecked Sendable {
    let answer: StreamedAnswer
    private var lines = LineBuffer(lineMaxBytes: HTTPExchange.lineMaxBytes)
    private var events = ServerSentEvents(eventMaxBytes: HTTPExchange.lineMaxBytes)
    private var done = false
    private var usage: JSONValue?
    private var problem: (ProviderErrorReason, String)?

    init(answer: StreamedAnswer) {
        self.answer = answer
    }

    /// Feeds body bytes; false stops the transfer (done, or something went wrong).
    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            for line in try lines.append(chunk) {
                guard let event = try events.feed(line) else { continue }
                if !handle(event.data) { return false }
            }
        } catch {
            problem = (.malformedResponse, "a stream line or event ran past \(HTTPExchange.lineMaxBytes) bytes")
            return false
        }
        return true
    }

    private func handle(_ data: String) -> Bool {
        if data == "[DONE]" {
            done = true
            return false
        }
        guard let json = try? JSONValue.parse(data) else {
            problem = (.malformedResponse, "a stream event is not JSON: \(data.prefix(120))")
            return false
        }
        // OpenRouter reports a failure after the stream started as an event with `error`.
        if let error = json["error"], !error.isNull {
            let code = Int(error["code"]?.intValue ?? 500)
            let message = error["message"]?.stringValue ?? error.canonicalText
            problem = (ErrorClassifier.reason(httpStatus: code, body: message), "the stream reported an error (\(code)): \(message.prefix(500))")
            return false
        }
        if let usage = json["usage"], !usage.isNull { self.usage = usage }
        for choice in json["choices"]?.arrayValue ?? [] {
            if let content = choice["delta"]?["content"]?.stringValue, !answer.append(content) {
                problem = (.outputTooLarge, "the answer ran past \(answer.value.utf8.count) bytes, the spawn's output limit")
                return false
            }
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let failure = HTTPExchange.failure(response, provider: provider, model: model) { return failure }
        if let (reason, message) = problem {
            return .failure(reason, "\(provider): \(message)", provider: provider, model: model, durationMs: response.durationMs)
        }
        guard done else {
            return .failure(.truncatedStream, "\(provider)'s stream ended before [DONE]", provider: provider, model: model, durationMs: response.durationMs)
        }
        let prompt = Int(usage?["prompt_tokens"]?.intValue ?? 0)
        let cached = Int(usage?["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
        let completion = Int(usage?["completion_tokens"]?.intValue ?? 0)
        var result = AgentResult(output: answer.value, tokensIn: max(0, prompt - cached), tokensOut: completion, tokensCached: cached,
                                 durationMs: response.durationMs, provider: provider, model: model)
        if let cost = usage?["cost"]?.doubleValue {
            result.costMicroUSD = PriceTable.microUSD(dollars: cost)
        } else {
            result.costMicroUSD = prices.costMicroUSD(provider: provider, model: model, tokensIn: result.tokensIn, tokensOut: completion, tokensCached: cached) ?? 0
        }
        return result
    }
}
