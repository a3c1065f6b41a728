import LoomEngine

/// Ollama's native chat API: `POST {baseURL}/api/chat` with `"stream": true`, answered
/// with newline-delimited JSON objects, each holding `message.content`, the last one
/// `"done": true` with `prompt_eval_count` (input tokens) and `eval_count` (output).
/// A failure is `{"error": "…"}`, as the body of an HTTP error or as a line of the stream.
/// Ollama reports no cost; a local model usually has no price either.
public struct OllamaBackend: SpawnBackend {
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
            "messages": .array([.object(["role": "user", "content": .string(request.prompt)])]),
            "stream": true,
        ]
        var options: [String: JSONValue] = [:]
        if let temperature = settings.temperature { options["temperature"] = .double(temperature) }
        if let maxTokens = settings.maxTokens { options["num_predict"] = .int(Int64(maxTokens)) }
        if !options.isEmpty { body["options"] = .object(options) }
        return .object(body)
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        guard let baseURL = settings.baseURL else {
            return .failure(.configuration, "\(provider) has no baseURL", provider: provider, model: model)
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/x-ndjson")]
        if let secretName = settings.apiKeySecret {
            // A hosted or proxied Ollama may want a bearer token.
            guard let key = context.secrets.value(secretName) else {
                return .failure(.missingSecret, "\(provider) needs the secret \(secretName)", provider: provider, model: model)
            }
            headers.append(("Authorization", "Bearer \(key)"))
        }
        let stream = OllamaStream(answer: StreamedAnswer(outputMaxBytes: request.limits.outputMaxBytes, context: context))
        let response = HTTPExchange.perform(.init(url: "\(baseURL)/api/chat", headers: headers, body: body(for: request, model: model).canonicalBytes()),
                                            limits: request.limits, consume: stream.consume)
        return stream.result(response, provider: provider, model: model, prices: prices).redacted(context.secrets)
    }
}

/// The decoding state of one NDJSON chat stream.
final class OllamaStream: @unchecked Sendable {
    let answer: StreamedAnswer
    private var lines = LineBuffer(lineMaxBytes: HTTPExchange.lineMaxBytes)
    private var done = false
    private var tokensIn = 0
    private var tokensOut = 0
    private var problem: (ProviderErrorReason, String)?

    init(answer: StreamedAnswer) {
        self.answer = answer
    }

    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            for line in try lines.append(chunk) where !line.trimmingSpaces.isEmpty {
                if !handle(line) { return false }
            }
        } catch {
            problem = (.malformedResponse, "a stream line ran past \(HTTPExchange.lineMaxBytes) bytes")
            return false
        }
        return true
    }

    private func handle(_ line: String) -> Bool {
        guard let json = try? JSONValue.parse(line) else {
            problem = (.malformedResponse, "a stream line is not JSON: \(line.prefix(120))")
            return false
        }
        if let error = json["error"]?.stringValue {
            problem = (ErrorClassifier.mentionsUnknownModel(error) ? .unknownModel : .server, "the stream reported: \(error.prefix(500))")
            return false
        }
        if let content = json["message"]?["content"]?.stringValue, !answer.append(content) {
            problem = (.outputTooLarge, "the answer ran past the spawn's output limit")
            return false
        }
        if json["done"]?.boolValue == true {
            tokensIn = Int(json["prompt_eval_count"]?.intValue ?? 0)
            tokensOut = Int(json["eval_count"]?.intValue ?? 0)
            done = true
            return false
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let failure = HTTPExchange.failure(response, provider: provider, model: model) { return failure }
        if let (reason, message) = problem {
            return .failure(reason, "\(provider): \(message)", provider: provider, model: model, durationMs: response.durationMs)
        }
        guard done else {
            return .failure(.truncatedStream, "\(provider)'s stream ended before \"done\": true", provider: provider, model: model, durationMs: response.durationMs)
        }
        var result = AgentResult(output: answer.value, tokensIn: tokensIn, tokensOut: tokensOut, durationMs: response.durationMs, provider: provider, model: model)
        result.costMicroUSD = prices.costMicroUSD(provider: provider, model: model, tokensIn: tokensIn, tokensOut: tokensOut, tokensCached: 0) ?? 0
        return result
    }
}
