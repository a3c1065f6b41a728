import LoomEngine
import LoomValues

/// The decoding state of one chat-completions stream.
final class OpenAIStream: StreamDecoder, @unchecked Sendable {
    let answer: StreamedAnswer
    private var feed = ServerSentEventFeed()
    private var done = false
    private var usage: JSONValue?
    private var finishReason: String?
    private var problem: (ProviderErrorReason, String)?

    required init(answer: StreamedAnswer) {
        self.answer = answer
    }

    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            return try feed.feed(chunk) { handle($0.data) }
        } catch {
            problem = (.malformedResponse, "a stream line or event ran past \(HTTPExchange.lineMaxBytes) bytes")
            return false
        }
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
            problem = (
                ErrorClassifier.reason(httpStatus: code, body: error.canonicalText),
                "the stream reported an error (\(code)): \(message.prefix(500))"
            )
            return false
        }
        if let usage = json["usage"], !usage.isNull { self.usage = usage }
        for choice in json["choices"]?.arrayValue ?? [] {
            if let content = choice["delta"]?["content"]?.stringValue, !answer.append(content) {
                problem = (.outputTooLarge, "the answer ran past the spawn's output limit")
                return false
            }
            if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let failure = HTTPExchange.streamFailure(
            response,
            problem: problem,
            finished: done,
            cutBy: finishReason == "length" ? "finish_reason \"length\"" : nil,
            answerBytes: answer.value.utf8.count,
            endMarker: "[DONE]",
            provider: provider,
            model: model
        ) {
            return failure
        }
        let prompt = Int(usage?["prompt_tokens"]?.intValue ?? 0)
        let cached = Int(usage?["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
        let completion = Int(usage?["completion_tokens"]?.intValue ?? 0)
        var result = AgentResult(
            output: answer.value,
            tokensIn: max(0, prompt - cached),
            tokensOut: completion,
            tokensCached: cached,
            durationMs: response.durationMs,
            provider: provider,
            model: model
        )
        if let cost = usage?["cost"]?.doubleValue {
            result.costMicroUSD = PriceTable.microUSD(dollars: cost)
        } else {
            result.costMicroUSD =
                prices.costMicroUSD(
                    provider: provider,
                    model: model,
                    tokensIn: result.tokensIn,
                    tokensOut: completion,
                    tokensCached: cached
                ) ?? 0
        }
        return result
    }
}
