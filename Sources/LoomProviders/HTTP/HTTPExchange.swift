import LoomEngine

/// What the HTTP backends share: one exchange with the spawn's limits, the error body
/// kept apart from the stream, and the table that turns a failed exchange into a result.
enum HTTPExchange {
    /// An error body is read for its message only.
    static let errorBodyMaxBytes = 64 * 1024
    /// One SSE or NDJSON line; streamed events are small, this is a guard.
    static let lineMaxBytes = 1 << 20
    /// Stream framing costs many bytes per token of text (each token is an event of JSON).
    static let framingFactor = 32
    static let responseMaxBytesCap = 256 << 20

    struct Response {
        var outcome: StreamingHTTPClient.Outcome
        var errorBody: String
        var durationMs: Int
        var succeeded: Bool { outcome.failure == nil && (outcome.status.map { (200..<300).contains($0) } ?? false) }
    }

    /// Runs `request`; a 2xx body goes to `consume` chunk by chunk, anything else is kept
    /// (bounded) as the error body.
    static func perform(_ request: StreamingHTTPClient.Request, limits: AgentRequest.Limits, consume: @escaping @Sendable ([UInt8]) -> Bool) -> Response {
        let started = ChildProcess.monotonicMilliseconds()
        let errorBody = ErrorBodyCollector()
        let responseMaxBytes = min(responseMaxBytesCap, max(4 << 20, limits.outputMaxBytes * framingFactor))
        let outcome = StreamingHTTPClient.send(request, limits: .init(timeoutMs: limits.timeoutMs, idleTimeoutMs: limits.idleTimeoutMs, responseMaxBytes: responseMaxBytes),
                                               onHead: { status, _ in errorBody.setStatus(status) },
                                               onChunk: { chunk in errorBody.isError ? errorBody.append(chunk) : consume(chunk) })
        return Response(outcome: outcome, errorBody: errorBody.text, durationMs: ChildProcess.monotonicMilliseconds() - started)
    }

    /// The result for an exchange that failed before or instead of a usable stream: an
    /// HTTP error status, or a transport failure. nil when the transfer itself went well
    /// (or the consumer stopped it), so the stream decides.
    /// How a streamed answer failed, if it did: the exchange itself, a problem the decoder
    /// met (`problem`), or a stream that ended before its end marker (`finished` false).
    static func streamFailure(_ response: Response, problem: (ProviderErrorReason, String)?, finished: Bool, endMarker: String,
                              provider: String, model: String) -> AgentResult? {
        if let failure = failure(response, provider: provider, model: model) { return failure }
        if let (reason, message) = problem {
            return .failure(reason, "\(provider): \(message)", provider: provider, model: model, durationMs: response.durationMs)
        }
        guard finished else {
            return .failure(.truncatedStream, "\(provider)'s stream ended before \(endMarker)", provider: provider, model: model, durationMs: response.durationMs)
        }
        return nil
    }

    static func failure(_ response: Response, provider: String, model: String) -> AgentResult? {
        let duration = response.durationMs
        if let status = response.outcome.status, !(200..<300).contains(status) {
            let reason = ErrorClassifier.reason(httpStatus: status, body: response.errorBody)
            let retryAfter = reason == .rateLimited ? retryAfterMs(response.outcome.headers) : nil
            var detail = errorMessage(response.errorBody)
            if (300..<400).contains(status) {
                detail = "redirects are not followed; set the provider's baseURL to where it points (\(response.outcome.headers["location"] ?? "no location"))"
            }
            return .failure(reason, "\(provider) answered HTTP \(status) for model \(model)" + (detail.isEmpty ? "" : ": \(detail)"),
                            provider: provider, model: model, retryAfterMs: retryAfter, durationMs: duration)
        }
        switch response.outcome.failure {
        case nil, .stopped?:
            return nil
        case .invalidURL?:
            return .failure(.configuration, "\(provider): the base URL does not make a valid http(s) URL", provider: provider, model: model, durationMs: duration)
        case .timeout?:
            return .failure(.timeout, "\(provider) did not finish within the session timeout", provider: provider, model: model, durationMs: duration)
        case .idleTimeout?:
            return .failure(.idleTimeout, "\(provider) sent nothing for longer than the idle timeout", provider: provider, model: model, durationMs: duration)
        case .responseTooLarge?:
            return .failure(.outputTooLarge, "\(provider)'s response ran past the response size limit", provider: provider, model: model, durationMs: duration)
        case .network(let message)?:
            return .failure(.network, "cannot reach \(provider): \(message)", provider: provider, model: model, durationMs: duration)
        }
    }

    /// `retry-after` (seconds, as RFC 9110 allows) or `retry-after-ms`, in milliseconds.
    static func retryAfterMs(_ headers: [String: String]) -> Int? {
        if let text = headers["retry-after-ms"], let value = Double(text.trimmingSpaces), value >= 0 { return Int(value) }
        if let text = headers["retry-after"], let value = Double(text.trimmingSpaces), value >= 0 { return Int(value * 1_000) }
        return nil
    }

    /// The human part of an error body: `error.message`, `error` or `message`, at most 500 characters.
    static func errorMessage(_ body: String) -> String {
        let json = try? JSONValue.parse(body)
        let text = json?["error"]?["message"]?.stringValue ?? json?["error"]?.stringValue ?? json?["message"]?.stringValue ?? body
        let flat = text.trimmingSpaces.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return flat.count > 500 ? String(flat.prefix(500)) + "…" : flat
    }
}

/// The body of a non-2xx response, kept (bounded) for its message.
private final class ErrorBodyCollector: @unchecked Sendable {
    private let lock = Lock()
    private var status = 0
    private var bytes: [UInt8] = []

    func setStatus(_ status: Int) { lock.withLock { self.status = status } }
    var isError: Bool { lock.withLock { !(200..<300).contains(status) } }
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }

    func append(_ chunk: [UInt8]) -> Bool {
        lock.withLock {
            let room = HTTPExchange.errorBodyMaxBytes - bytes.count
            if room > 0 { bytes += chunk.prefix(room) }
        }
        return true
    }
}
