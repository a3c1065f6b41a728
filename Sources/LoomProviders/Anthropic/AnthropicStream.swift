import LoomEngine
import LoomValues

/// The decoding state of one Messages stream.
final class AnthropicStream: StreamDecoder, @unchecked Sendable {
    let answer: StreamedAnswer
    private var feed = ServerSentEventFeed()
    private var stopped = false
    private var tokensIn = 0
    private var tokensCached = 0
    private var tokensOut = 0
    private var stopReason: String?
    private var problem: (ProviderErrorReason, String)?

    required init(answer: StreamedAnswer) {
        self.answer = answer
    }

    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            return try feed.feed(chunk, to: handle)
        } catch {
            problem = (.malformedResponse, "a stream line or event ran past \(HTTPExchange.lineMaxBytes) bytes")
            return false
        }
    }

    private func handle(_ event: ServerSentEvents.Event) -> Bool {
        guard let json = try? JSONValue.parse(event.data) else {
            problem = (.malformedResponse, "a \(event.name) event is not JSON: \(event.data.prefix(120))")
            return false
        }
        switch json["type"]?.stringValue ?? event.name {
        case "message_start":
            let usage = json["message"]?["usage"]
            tokensIn = Int(
                (usage?["input_tokens"]?.intValue ?? 0) + (usage?["cache_creation_input_tokens"]?.intValue ?? 0)
            )
            tokensCached = Int(usage?["cache_read_input_tokens"]?.intValue ?? 0)
            tokensOut = Int(usage?["output_tokens"]?.intValue ?? 0)
        case "content_block_delta":
            if json["delta"]?["type"]?.stringValue == "text_delta", let text = json["delta"]?["text"]?.stringValue,
                !answer.append(text)
            {
                problem = (.outputTooLarge, "the answer ran past the spawn's output limit")
                return false
            }
        case "message_delta":
            if let out = json["usage"]?["output_tokens"]?.intValue { tokensOut = Int(out) }
            if let reason = json["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
        case "message_stop":
            stopped = true
            return false
        case "error":
            let type = json["error"]?["type"]?.stringValue ?? "api_error"
            let message = json["error"]?["message"]?.stringValue ?? ""
            problem = (
                AnthropicBackend.reason(errorType: type, message: message),
                "the stream reported \(type): \(message.prefix(500))"
            )
            return false
        default:
            break  // ping, content_block_start, content_block_stop
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let status = response.outcome.status, !(200..<300).contains(status),
            let type = (try? JSONValue.parse(response.errorBody))?["error"]?["type"]?.stringValue,
            var failure = HTTPExchange.failure(response, provider: provider, model: model)
        {
            // The error type is more precise than the status (a 400 can be a bad model name).
            let message = (try? JSONValue.parse(response.errorBody))?["error"]?["message"]?.stringValue ?? ""
            let reason =
                status == 429 || status == 529
                ? ErrorClassifier.reason(httpStatus: status)
                : AnthropicBackend.reason(errorType: type, message: message)
            failure.errorClass = reason.errorClass
            failure.errorReason = reason.rawValue
            return failure
        }
        if let failure = HTTPExchange.streamFailure(
            response,
            problem: problem,
            finished: stopped,
            cutBy: stopReason == "max_tokens" ? "stop_reason \"max_tokens\"" : nil,
            answerBytes: answer.value.utf8.count,
            endMarker: "message_stop",
            provider: provider,
            model: model
        ) {
            return failure
        }
        var result = AgentResult(
            output: answer.value,
            tokensIn: tokensIn,
            tokensOut: tokensOut,
            tokensCached: tokensCached,
            durationMs: response.durationMs,
            provider: provider,
            model: model
        )
        result.costMicroUSD = prices.costMicroUSD(of: result)
        return result
    }
}
