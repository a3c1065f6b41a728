import LoomConfiguration
import LoomEngine
import LoomValues

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
    /// `budget`: the model's window as the router found it. A window the operator or the
    /// server stated caps the answer at its share (`max_tokens`) when no `maxTokens` is set,
    /// so prompt and answer together stay inside it; a kind's assumed default sends nothing.
    public func body(for request: AgentRequest, model: String, budget: ContextBudget? = nil) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array([.object(["role": "user", "content": .string(request.prompt)])]),
            "stream": true,
            "stream_options": .object(["include_usage": true]),
        ]
        if settings.kind == .openrouter { body["usage"] = .object(["include": true]) }
        if let maxTokens = settings.maxTokens ?? budget.flatMap({ $0.source == .kindDefault ? nil : $0.answerTokens }) {
            body["max_tokens"] = .int(Int64(maxTokens))
        }
        if let temperature = settings.temperature { body["temperature"] = .double(temperature) }
        return .object(body)
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let endpoint: HTTPEndpoint
        switch HTTPEndpoint.resolve(settings, provider: provider, model: model, secrets: context.secrets) {
        case .success(let resolved): endpoint = resolved
        case .failure(let failure): return failure.result
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
        if let key = endpoint.key { headers.append(("Authorization", "Bearer \(key)")) }
        if settings.kind == .openrouter { headers.append(("X-Title", "loom")) }
        return HTTPExchange.spawn(
            OpenAIStream.self,
            url: "\(endpoint.baseURL)/chat/completions",
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
