import Foundation
import LoomValues

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Telegram Bot API over HTTPS, one blocking call at a time per caller: POST
/// `<base>/bot<token>/<method>` with a JSON body, `{"ok": true, "result": …}` back.
/// URLSession comes from FoundationNetworking on Linux; no package is needed.
final class BotAPI: @unchecked Sendable {
    let base: String
    private let token: String
    private let session: URLSession
    /// Largest answer accepted.
    static let responseBytesMax = 8 << 20

    init(base: String, token: String, pollTimeoutSeconds: Int) {
        self.base = base
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(pollTimeoutSeconds + 15)
        configuration.timeoutIntervalForResource = Double(pollTimeoutSeconds + 30)
        session = URLSession(configuration: configuration)
    }

    private final class Outcome: @unchecked Sendable {
        var data: Data?
        var response: URLResponse?
        var error: (any Error)?
    }

    func call(_ method: String, _ params: JSONValue) throws(BotAPIError) -> JSONValue {
        guard let url = URL(string: "\(base)/bot\(token)/\(method)") else {
            throw BotAPIError(kind: .refused, method: method, message: "bad API base URL")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(params.canonicalText.utf8)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            outcome.data = data
            outcome.response = response
            outcome.error = error
            done.signal()
        }.resume()
        done.wait()
        if let error = outcome.error {
            // Never the URL: it holds the token.
            throw BotAPIError(
                kind: .transient,
                method: method,
                message: "network: \((error as NSError).localizedDescription)"
            )
        }
        let status = (outcome.response as? HTTPURLResponse)?.statusCode ?? 0
        let body = outcome.data ?? Data()
        guard body.count <= Self.responseBytesMax else {
            throw BotAPIError(
                kind: .transient,
                method: method,
                message: "answer of \(body.count) bytes is over the limit"
            )
        }
        let parsed = try? JSONValue.parse(bytes: Array(body))
        if status == 200, parsed?["ok"]?.boolValue == true {
            return parsed?["result"] ?? .null
        }
        let description = parsed?["description"]?.stringValue ?? "HTTP \(status)"
        if status == 429 {
            var error = BotAPIError(kind: .transient, method: method, message: description)
            error.retryAfterSeconds = parsed?["parameters"]?["retry_after"]?.intValue.map { Int($0) }
            throw error
        }
        throw BotAPIError(
            kind: status >= 500 || status == 0 ? .transient : .refused,
            method: method,
            message: description
        )
    }
}
