import Dispatch
import Foundation
import LoomProviders
import LoomSystem

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange with URLSession, its body handed over as it arrives: the work of the
/// `loom-http` helper (see `HTTPHelperWire` for why it runs in its own process).
///
/// Why URLSession: the LLM APIs are HTTPS, and the toolchain's FoundationNetworking
/// (libcurl underneath) brings TLS, proxies, HTTP/2 and chunked decoding at no build
/// cost, where async-http-client would bring SwiftNIO and BoringSSL (minutes of build on
/// two cores) and a hand-written HTTP/1.1 client could not speak TLS at all. A data
/// delegate gets the body chunk by chunk, so SSE and NDJSON pass through as they stream.
///
/// Limits: the whole exchange (`timeoutMs`), silence between bytes (`idleTimeoutMs`),
/// and the response size (`responseMaxBytes`) are enforced here, by cancelling the task;
/// the chunk handler can stop it too. Each request gets its own ephemeral session (no
/// cache, no cookies), invalidated at the end.
enum HTTPTransfer {
    /// Sends `request` and blocks until the response ended, failed or ran out of time.
    /// `onChunk` runs for each piece of the body, in order, on one thread at a time;
    /// returning false stops the transfer.
    static func send(
        _ request: StreamingHTTPClient.Request,
        limits: StreamingHTTPClient.Limits,
        onHead: @escaping @Sendable (Int, [String: String]) -> Void = { _, _ in },
        onChunk: @escaping @Sendable ([UInt8]) -> Bool
    ) -> StreamingHTTPClient.Outcome {
        guard let url = URL(string: request.url), let scheme = url.scheme, scheme == "http" || scheme == "https" else {
            return StreamingHTTPClient.Outcome(failure: .invalidURL)
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }

        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        // Backstops only: our own watch below is what enforces the limits.
        configuration.timeoutIntervalForRequest = Double(limits.idleTimeoutMs) / 1_000 + 5
        configuration.timeoutIntervalForResource = Double(limits.timeoutMs) / 1_000 + 5
        let delegate = StreamDelegate(limits: limits, onHead: onHead, onChunk: onChunk)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        let task = session.dataTask(with: urlRequest)
        let started = MonotonicClock.milliseconds()
        delegate.touch(started)
        task.resume()
        // Wake every 50 ms to check the deadline and the silence; the delegate signals at the end.
        while delegate.done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            let now = MonotonicClock.milliseconds()
            if now - started >= limits.timeoutMs {
                delegate.fail(.timeout)
                task.cancel()
            } else if now - delegate.lastActivityMs >= limits.idleTimeoutMs {
                delegate.fail(.idleTimeout)
                task.cancel()
            }
            if delegate.failureSet && now - started >= limits.timeoutMs + 5_000 { break }
        }
        session.invalidateAndCancel()
        return delegate.outcome
    }
}

/// Collects a response for `HTTPTransfer`; every callback runs on its serial queue.
private final class StreamDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = Lock()
    private let limits: StreamingHTTPClient.Limits
    private let onHead: @Sendable (Int, [String: String]) -> Void
    private let onChunk: @Sendable ([UInt8]) -> Bool
    private var state = StreamingHTTPClient.Outcome()
    private var lastActivity = 0
    private var finished = false

    init(
        limits: StreamingHTTPClient.Limits,
        onHead: @escaping @Sendable (Int, [String: String]) -> Void,
        onChunk: @escaping @Sendable ([UInt8]) -> Bool
    ) {
        self.limits = limits
        self.onHead = onHead
        self.onChunk = onChunk
    }

    var outcome: StreamingHTTPClient.Outcome { lock.withLock { state } }
    var lastActivityMs: Int { lock.withLock { lastActivity } }
    var failureSet: Bool { lock.withLock { state.failure != nil } }

    func touch(_ now: Int) { lock.withLock { lastActivity = now } }

    /// The first failure wins: a timeout stays a timeout when the cancel it causes reports back.
    func fail(_ failure: StreamingHTTPClient.Failure) {
        lock.withLock { if state.failure == nil { state.failure = failure } }
    }

    func urlSession(
        _ session: URLSession,
        dataTask: URLSessionDataTask,
        didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        let status = http?.statusCode ?? 0
        lock.withLock {
            state.status = status
            state.headers = headers
            lastActivity = MonotonicClock.milliseconds()
        }
        onHead(status, headers)
        completionHandler(.allow)
    }

    /// Redirects are not followed: the request carries an API key, which must not travel to
    /// wherever a response points. The 3xx comes back as the answer and is classified.
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let stop = lock.withLock { () -> Bool in
            lastActivity = MonotonicClock.milliseconds()
            state.bytesReceived += data.count
            if state.bytesReceived > limits.responseMaxBytes {
                if state.failure == nil { state.failure = .responseTooLarge }
                return true
            }
            return state.failure != nil
        }
        if stop {
            dataTask.cancel()
            return
        }
        if !onChunk([UInt8](data)) {
            fail(.stopped)
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.withLock {
            if let error, state.failure == nil {
                let nsError = error as NSError
                state.failure = nsError.code == NSURLErrorTimedOut ? .timeout : .network(nsError.localizedDescription)
            }
            finished = true
        }
        done.signal()
    }
}
