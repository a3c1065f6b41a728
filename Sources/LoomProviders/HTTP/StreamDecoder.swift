import LoomEngine
import LoomValues

/// One streamed answer's decoder (`AnthropicStream`, `OpenAIStream`, `OllamaStream`): fed the
/// body as it arrives, then asked for the spawn's result. It is fed from the thread that
/// runs the exchange and read once the exchange has ended, one after the other, hence
/// unchecked Sendable in the conformers (the chunk callback is @Sendable).
protocol StreamDecoder: AnyObject, Sendable {
    init(answer: StreamedAnswer)
    /// Feeds body bytes; false stops the transfer (done, or something went wrong).
    func consume(_ chunk: [UInt8]) -> Bool
    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult
}

/// Server-sent events over a byte stream: the body split into lines, the lines into events.
struct ServerSentEventFeed {
    private var lines = LineBuffer(lineMaxBytes: HTTPExchange.lineMaxBytes)
    private var events = ServerSentEvents(eventMaxBytes: HTTPExchange.lineMaxBytes)

    /// Hands each event completed by `chunk` to `handle`, in order, until one returns false;
    /// throws when a line or an event runs past `HTTPExchange.lineMaxBytes`.
    mutating func feed(_ chunk: [UInt8], to handle: (ServerSentEvents.Event) -> Bool) throws -> Bool {
        for line in try lines.append(chunk) {
            guard let event = try events.feed(line) else { continue }
            if !handle(event) { return false }
        }
        return true
    }
}

extension HTTPExchange {
    /// One streamed spawn, the same for every HTTP backend: the body is posted to `url`, the
    /// answer decoded as it streams, and every known secret redacted from the result.
    static func spawn<Decoder: StreamDecoder>(
        _ decoder: Decoder.Type,
        url: String,
        headers: [(String, String)],
        body: JSONValue,
        request: AgentRequest,
        provider: String,
        model: String,
        prices: PriceTable,
        context: SpawnContext
    ) -> AgentResult {
        let stream = Decoder(answer: StreamedAnswer(outputMaxBytes: request.limits.outputMaxBytes, context: context))
        let response = perform(
            .init(url: url, headers: headers, body: body.canonicalBytes()),
            limits: request.limits,
            onChild: context.onChild,
            consume: stream.consume
        )
        var result = stream.result(response, provider: provider, model: model, prices: prices)
        // A server that counted nothing (llama.cpp streams no usage) did not answer for free:
        // the tokens are estimated from the prompt sent and the answer, and marked so.
        if result.errorClass == nil, result.tokensIn == 0, result.tokensOut == 0, result.tokensCached == 0 {
            result.tokensIn = TokenEstimate.usage(request.prompt)
            result.tokensOut = TokenEstimate.usage(result.output ?? "")
            result.tokensEstimated = true
            if result.costMicroUSD == 0 {
                result.costMicroUSD = prices.costMicroUSD(of: result)
            }
        }
        return result.redacted(context.secrets)
    }
}
