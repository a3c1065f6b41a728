import LoomConfiguration
import LoomEngine
import LoomValues

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

    /// `budget`: the model's window as the router found it. A stated window (operator or
    /// server) is asked for (`num_ctx`: Ollama otherwise runs with its small default and
    /// drops the start of a longer prompt) and caps the answer (`num_predict`).
    public func body(for request: AgentRequest, model: String, budget: ContextBudget? = nil) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array([.object(["role": "user", "content": .string(request.prompt)])]),
            "stream": true,
        ]
        var options: [String: JSONValue] = [:]
        if let temperature = settings.temperature { options["temperature"] = .double(temperature) }
        let stated = budget.flatMap { $0.source == .kindDefault ? nil : $0 }
        if let maxTokens = settings.maxTokens ?? stated?.answerTokens {
            options["num_predict"] = .int(Int64(maxTokens))
        }
        if let stated { options["num_ctx"] = .int(Int64(stated.contextTokens)) }
        if !options.isEmpty { body["options"] = .object(options) }
        return .object(body)
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let endpoint: HTTPEndpoint
        switch HTTPEndpoint.resolve(settings, provider: provider, model: model, secrets: context.secrets) {
        case .success(let resolved): endpoint = resolved
        case .failure(let failure): return failure.result
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/x-ndjson")]
        // A hosted or proxied Ollama may want a bearer token.
        if let key = endpoint.key { headers.append(("Authorization", "Bearer \(key)")) }
        return HTTPExchange.spawn(
            OllamaStream.self,
            url: "\(endpoint.baseURL)/api/chat",
            headers: headers,
            body: body(for: request, model: model, budget: context.budget),
            request: request,
            provider: provider,
            model: model,
            prices: prices,
            context: context
        )
    }
}
