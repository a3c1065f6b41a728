import LoomEngine
import LoomSystem
import LoomValues

/// The decoding state of one NDJSON chat stream.
final class OllamaStream: StreamDecoder, @unchecked Sendable {
    let answer: StreamedAnswer
    private var lines = LineBuffer(lineMaxBytes: HTTPExchange.lineMaxBytes)
    private var done = false
    private var tokensIn = 0
    private var tokensOut = 0
    private var cutByLength = false
    private var problem: (ProviderErrorReason, String)?

    required init(answer: StreamedAnswer) {
        self.answer = answer
    }

    func consume(_ chunk: [UInt8]) -> Bool {
        do {
            for line in try lines.append(chunk) where !line.trimmingSpaces().isEmpty {
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
            let reason: ProviderErrorReason =
                ErrorClassifier.mentionsContextExceeded(error)
                ? .contextExceeded
                : ErrorClassifier.mentionsUnknownModel(error) ? .unknownModel : .server
            problem = (reason, "the stream reported: \(error.prefix(500))")
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
            cutByLength = json["done_reason"]?.stringValue == "length"
            return false
        }
        return true
    }

    func result(_ response: HTTPExchange.Response, provider: String, model: String, prices: PriceTable) -> AgentResult {
        if let failure = HTTPExchange.streamFailure(
            response,
            problem: problem,
            finished: done,
            cutBy: cutByLength ? "done_reason \"length\"" : nil,
            answerBytes: answer.value.utf8.count,
            endMarker: "\"done\": true",
            provider: provider,
            model: model
        ) {
            return failure
        }
        var result = AgentResult(
            output: answer.value,
            tokensIn: tokensIn,
            tokensOut: tokensOut,
            durationMs: response.durationMs,
            provider: provider,
            model: model
        )
        result.costMicroUSD = prices.costMicroUSD(of: result)
        return result
    }
}
