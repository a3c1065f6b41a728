import Foundation
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP request whose body is handed over as it arrives, for streaming APIs.
///
/// The request itself is made by the `loom-http` helper (URLSession; see `HTTPHelperWire`
/// for why in its own process), started as a child with its own process group: the body
/// comes back chunk by chunk, so SSE and NDJSON are parsed incrementally, and stopping the
/// transfer kills the helper. The helper enforces the limits (the whole exchange, silence
/// between bytes, the response size); this side holds a backstop a few seconds later, so
/// a helper that hangs is killed all the same.
///
/// not-a-task-process: the child is loom's own `loom-http` helper, found beside the running
/// executable; it carries a provider's request, not anything a task runs.
public enum StreamingHTTPClient {
    public struct Request: Sendable {
        public var url: String
        public var method = "POST"
        public var headers: [(String, String)] = []
        public var body: [UInt8] = []

        public init(url: String, method: String = "POST", headers: [(String, String)] = [], body: [UInt8] = []) {
            self.url = url
            self.method = method
            self.headers = headers
            self.body = body
        }
    }

    public struct Limits: Sendable {
        public var timeoutMs: Int
        public var idleTimeoutMs: Int
        public var responseMaxBytes: Int

        public init(timeoutMs: Int, idleTimeoutMs: Int, responseMaxBytes: Int) {
            self.timeoutMs = timeoutMs
            self.idleTimeoutMs = idleTimeoutMs
            self.responseMaxBytes = responseMaxBytes
        }
    }

    public enum Failure: Sendable, Equatable {
        case invalidURL
        case network(String)
        case timeout
        case idleTimeout
        case responseTooLarge
        /// The chunk handler asked to stop.
        case stopped
    }

    public struct Outcome: Sendable {
        /// The status, when a response head arrived.
        public var status: Int?
        /// Header names lowercased.
        public var headers: [String: String] = [:]
        public var failure: Failure?
        public var bytesReceived = 0

        public init(
            status: Int? = nil,
            headers: [String: String] = [:],
            failure: Failure? = nil,
            bytesReceived: Int = 0
        ) {
            self.status = status
            self.headers = headers
            self.failure = failure
            self.bytesReceived = bytesReceived
        }
    }

    /// How long past its own limits the helper is given before it is killed.
    static let backstopMs = 5_000

    /// Sends `request` and blocks until the response ended, failed or ran out of time.
    /// `onChunk` runs for each piece of the body, in order, on the calling thread;
    /// returning false stops the transfer.
    /// `onChild`: told the helper's pid when it starts and when it has ended, so the daemon
    /// records it with its other children (a restarted loomd ends what a killed one left).
    public static func send(
        _ request: Request,
        limits: Limits,
        onHead: @escaping @Sendable (Int, [String: String]) -> Void = { _, _ in },
        onChild: @escaping @Sendable (SpawnContext.ChildEvent) -> Void = { _ in },
        onChunk: @escaping @Sendable ([UInt8]) -> Bool
    ) -> Outcome {
        guard let url = URL(string: request.url), let scheme = url.scheme, scheme == "http" || scheme == "https" else {
            return Outcome(failure: .invalidURL)
        }
        guard let helper = helperPath() else {
            return Outcome(
                failure: .network("\(HTTPHelperWire.executableName) is not installed next to this program or on PATH")
            )
        }
        var outcome = Outcome()
        var reader = HTTPHelperWire.FrameReader()
        var ended = false
        var pid: Int32 = 0
        // The helper is loom's own program, not an agent: it gets loom's environment (proxies,
        // CA bundles), and the request, API key included, on stdin.
        // The helper dies with this process (PR_SET_PDEATHSIG, set by the helper itself, which
        // checks it is still this process's child).
        var environment = ProcessInfo.processInfo.environment
        environment["LOOM_HTTP_PARENT"] = String(getpid())
        defer { if pid > 0 { onChild(.ended(pid)) } }
        let run = ChildProcess.run(
            .init(
                argv: [helper],
                environment: environment,
                input: HTTPHelperWire.encodeRequest(request, limits: limits),
                timeoutMs: limits.timeoutMs + backstopMs,
                outputLimitBytes: 0,
                idleTimeoutMs: limits.idleTimeoutMs + backstopMs,
                separateStandardError: true,
                streamsOutputOnly: true
            ),
            onStart: { started in
                pid = started
                onChild(.started(started))
            },
            onOutput: { bytes in
                guard !ended, outcome.failure != .stopped else { return }
                let frames: [HTTPHelperWire.Frame]
                do {
                    frames = try reader.append(bytes)
                } catch {
                    outcome.failure = .network("\(HTTPHelperWire.executableName) sent \(error)")
                    kill(-pid, SIGKILL)
                    return
                }
                for frame in frames {
                    switch frame {
                    case .head(let status, let headers):
                        outcome.status = status
                        outcome.headers = headers
                        onHead(status, headers)
                    case .body(let chunk):
                        outcome.bytesReceived += chunk.count
                        if !onChunk(chunk) {
                            outcome.failure = .stopped
                            kill(-pid, SIGKILL)
                            return
                        }
                    case .end(let failure):
                        if outcome.failure == nil { outcome.failure = failure }
                        ended = true
                    }
                }
            }
        )
        if !ended && outcome.failure == nil {
            if let spawnError = run.spawnError {
                outcome.failure = .network(spawnError)
            } else if run.timedOut {
                outcome.failure = .timeout
            } else if run.idleTimedOut {
                outcome.failure = .idleTimeout
            } else {
                let detail = String(decoding: run.standardError.prefix(300), as: UTF8.self)
                outcome.failure = .network(
                    "\(HTTPHelperWire.executableName) ended without an answer\(detail.isEmpty ? "" : ": " + detail)"
                )
            }
        }
        return outcome
    }

    /// The helper: `LOOM_HTTP_HELPER` if set, else beside the running executable, else on PATH.
    static func helperPath() -> String? {
        if let named = ProcessInfo.processInfo.environment["LOOM_HTTP_HELPER"], !named.isEmpty {
            return access(named, X_OK) == 0 ? named : nil
        }
        return LoomExecutables.find(HTTPHelperWire.executableName)
    }
}
