import Foundation
import LoomEngine
import LoomSystem
import LoomValues

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
    static func perform(
        _ request: StreamingHTTPClient.Request,
        limits: AgentRequest.Limits,
        onChild: @escaping @Sendable (SpawnContext.ChildEvent) -> Void = { _ in },
        consume: @escaping @Sendable ([UInt8]) -> Bool
    ) -> Response {
        let started = MonotonicClock.milliseconds()
        let errorBody = ErrorBodyCollector()
        let responseMaxBytes = min(responseMaxBytesCap, max(4 << 20, limits.outputMaxBytes * framingFactor))
        let outcome = StreamingHTTPClient.send(
            request,
            limits: .init(
                timeoutMs: limits.timeoutMs,
                idleTimeoutMs: limits.idleTimeoutMs,
                responseMaxBytes: responseMaxBytes
            ),
            onHead: { status, _ in errorBody.setStatus(status) },
            onChild: onChild,
            onChunk: { chunk in errorBody.isError ? errorBody.append(chunk) : consume(chunk) }
        )
        return Response(
            outcome: outcome,
            errorBody: errorBody.text,
            durationMs: MonotonicClock.milliseconds() - started
        )
    }

    /// The result for an exchange that failed before or instead of a usable stream: an
    /// HTTP error status, or a transport failure. nil when the transfer itself went well
    /// (or the consumer stopped it), so the stream decides.
    /// How a streamed answer failed, if it did: the exchange itself, a problem the decoder
    /// met (`problem`), an answer the server says it cut at the output budget (`cutBy` names
    /// the field that said so), or a stream that ended before its end marker (`finished` false).
    static func streamFailure(
        _ response: Response,
        problem: (ProviderErrorReason, String)?,
        finished: Bool,
        cutBy: String? = nil,
        answerBytes: Int = 0,
        endMarker: String,
        provider: String,
        model: String
    ) -> AgentResult? {
        if let failure = failure(response, provider: provider, model: model) { return failure }
        let cut =
            finished ? cutBy.map { cutAnswer($0, provider: provider, model: model, answerBytes: answerBytes) } : nil
        if let (reason, message) = problem ?? cut {
            return .failure(
                reason,
                "\(provider): \(message)",
                provider: provider,
                model: model,
                durationMs: response.durationMs
            )
        }
        guard finished else {
            // Transient: a dropped connection is worth another try. What the server did not say
            // cannot be guessed; a prompt past the window is caught before sending when the
            // model's window is known (`contextTokens`).
            return .failure(
                .truncatedStream,
                "\(provider)'s stream ended before \(endMarker) after \(response.outcome.bytesReceived) bytes (the server's own log says why)",
                provider: provider,
                model: model,
                durationMs: response.durationMs
            )
        }
        return nil
    }

    /// The answer stopped because it reached the output budget or the context window
    /// (`finish_reason: "length"`, `stop_reason: "max_tokens"`, `done_reason: "length"`): it is
    /// cut, and the same request would be cut again.
    static func cutAnswer(
        _ field: String,
        provider: String,
        model: String,
        answerBytes: Int
    ) -> (ProviderErrorReason, String) {
        (
            .contextExceeded,
            "the answer of \(provider):\(model) was cut at \(answerBytes) bytes (\(field)): the model's context window or output budget (maxTokens) is used up"
        )
    }

    static func failure(_ response: Response, provider: String, model: String) -> AgentResult? {
        let duration = response.durationMs
        if let status = response.outcome.status, !(200..<300).contains(status) {
            let reason = ErrorClassifier.reason(httpStatus: status, body: response.errorBody)
            // A rate limit's wait, and a 503's: an overloaded server that says when to come back
            // is believed (the daemon waits at least that long before its transient retry).
            let retryAfter = reason == .rateLimited || status == 503 ? retryAfterMs(response.outcome.headers) : nil
            var detail = errorMessage(response.errorBody)
            if (300..<400).contains(status) {
                detail =
                    "redirects are not followed; set the provider's baseURL to where it points (\(response.outcome.headers["location"] ?? "no location"))"
            }
            let head =
                reason == .contextExceeded
                ? "the prompt does not fit the context window of \(provider):\(model) (HTTP \(status))"
                : "\(provider) answered HTTP \(status) for model \(model)"
            return .failure(
                reason,
                head + (detail.isEmpty ? "" : ": \(detail)"),
                provider: provider,
                model: model,
                retryAfterMs: retryAfter,
                durationMs: duration
            )
        }
        switch response.outcome.failure {
        case nil, .stopped?:
            return nil
        case .invalidURL?:
            return .failure(
                .configuration,
                "\(provider): the base URL does not make a valid http(s) URL",
                provider: provider,
                model: model,
                durationMs: duration
            )
        case .timeout?:
            return .failure(
                .timeout,
                "\(provider) did not finish within the session timeout",
                provider: provider,
                model: model,
                durationMs: duration
            )
        case .idleTimeout?:
            return .failure(
                .idleTimeout,
                "\(provider) sent nothing for longer than the idle timeout",
                provider: provider,
                model: model,
                durationMs: duration
            )
        case .responseTooLarge?:
            return .failure(
                .outputTooLarge,
                "\(provider)'s response ran past the response size limit",
                provider: provider,
                model: model,
                durationMs: duration
            )
        case .network(let message)?:
            return .failure(
                .network,
                "cannot reach \(provider): \(message)",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
    }

    /// `retry-after-ms`, or `retry-after` as seconds or as an HTTP-date (both are RFC 9110's),
    /// in milliseconds. A date is measured against `now` (milliseconds since 1970); one in the
    /// past means "now" (0).
    static func retryAfterMs(_ headers: [String: String], now: Int = Int(Date().timeIntervalSince1970 * 1_000)) -> Int?
    {
        if let text = headers["retry-after-ms"], let value = Double(text.trimmingSpaces()), value >= 0 {
            return Int(value)
        }
        guard let text = headers["retry-after"]?.trimmingSpaces() else { return nil }
        if let value = Double(text), value >= 0 { return Int(value * 1_000) }
        if let date = httpDateMs(text) { return max(0, date - now) }
        return nil
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form RFC 9110 lets a server send.
    static func httpDateMs(_ text: String) -> Int? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]),
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(
                of: String(parts[2])
            )
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0..<24).contains(clock[0]), (0..<60).contains(clock[1]),
            (0..<61).contains(clock[2])
        else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), so no calendar or locale is needed.
        let y = month < 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = month + 1
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 86_400) + clock[0] * 3_600 + clock[1] * 60 + clock[2]) * 1_000
    }

    /// The human part of an error body: `error.message`, `error` or `message`, at most 500 characters.
    static func errorMessage(_ body: String) -> String {
        let json = try? JSONValue.parse(body)
        let text =
            json?["error"]?["message"]?.stringValue ?? json?["error"]?.stringValue ?? json?["message"]?.stringValue
            ?? body
        let flat = text.trimmingSpaces().split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
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
