import Dispatch
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// A blocking control-socket client, for the CLI and front-ends.
///
/// Not thread-safe, one request at a time: the CLI never needs more, and that keeps
/// every answer trivially matched to its question. After any transport failure or
/// timeout the client is closed (a late answer would otherwise be read as the answer
/// to the next call); calls then throw `unavailable`.
public final class IPCClient {
    /// The server's version string from `hello`.
    public let serverVersion: String
    public let socketPath: String
    /// Bound on `call` (send plus answer) and on the connect-and-hello in `init`.
    public let timeoutMs: Int
    /// Longest wait for the next frame of a `stream`; 0 (the default) waits
    /// indefinitely, because a watch is legitimately silent for long periods.
    public var streamIdleTimeoutMs = 0

    private let channel: FrameChannel
    private var nextID: Int64 = 2  // 1 was hello

    /// Connects and says hello. A missing socket or a refused connection is
    /// `unavailable` ("no daemon is listening on <path>"); a protocol mismatch is the
    /// server's `invalid_params`.
    public init(
        socketPath: String,
        clientName: String = "loomctl",
        timeoutMs: Int = 30_000,
        maxFrameBytes: Int = IPCProtocol.maxFrameBytesDefault
    ) throws(IPCError) {
        self.socketPath = socketPath
        self.timeoutMs = timeoutMs
        let deadline = Self.deadline(after: timeoutMs)
        let fd: Int32
        do {
            fd = try UnixSocket.connect(path: socketPath, timeoutMs: max(1, timeoutMs))
        } catch {
            throw Self.connectError(error, path: socketPath, timeoutMs: timeoutMs).failing(.connect)
        }
        let channel = FrameChannel(fd: fd, maxFrameBytes: maxFrameBytes, peerName: "the daemon at \(socketPath)")
        let hello = IPCRequest(
            id: 1,
            method: "hello",
            params: .object([
                "protocol": .int(Int64(IPCProtocol.version)),
                "client": .string(clientName),
            ])
        )
        let answer: JSONValue?
        do {
            answer = try Self.exchange(channel, hello, deadline: deadline, idleMs: nil, onEvent: nil)
        } catch  where error.code == .unavailable {
            // Connected, so a daemon is there: say so, rather than "no daemon is listening".
            channel.close()
            throw IPCError(
                .unavailable,
                "the daemon at \(socketPath) accepted the connection but dropped it before answering hello (is it at its connection limit?): \(error.message)"
            ).failing(.hello)
        }
        guard case .some(let result) = answer, result["protocol"]?.intValue == Int64(IPCProtocol.version),
            let server = result["server"]?.stringValue
        else {
            channel.close()
            throw IPCError(
                .internal,
                "the daemon at \(socketPath) answered hello with \(answer.map { $0.canonicalText } ?? "nothing")"
            )
        }
        self.serverVersion = server
        self.channel = channel
    }

    deinit { channel.close() }

    /// Calls `method` with `params` and returns its typed result, or throws the server's error.
    public func call<M: IPCMethod>(_ method: M.Type, _ params: M.Params) throws(IPCError) -> M.Result {
        try M.Result(json: call(M.name, params.json))
    }

    /// Calls a method that takes no params.
    public func call<M: IPCMethod>(_ method: M.Type) throws(IPCError) -> M.Result where M.Params == NoParams {
        try call(method, NoParams())
    }

    /// Calls a streaming method (`watch`): `onEvent` runs for each event until the final
    /// answer; see `stream(_:_:onEvent:)`.
    public func stream<M: IPCMethod>(
        _ method: M.Type,
        _ params: M.Params,
        onEvent: (JSONValue) -> Bool
    ) throws(IPCError) -> M.Result? {
        guard let result = try stream(M.name, params.json, onEvent: onEvent) else { return nil }
        return try M.Result(json: result)
    }

    /// Sends one request by name and returns its result as JSON: the wire as it is, for
    /// tests that send what no typed client would. Events of a streaming method are discarded.
    public func call(_ method: String, _ params: JSONValue = .object([:])) throws(IPCError) -> JSONValue {
        let answer = try Self.exchange(
            channel,
            request(method, params),
            deadline: Self.deadline(after: timeoutMs),
            idleMs: nil,
            onEvent: nil
        )
        // Only a stream can end without a result.
        return answer ?? .null
    }

    /// Calls a streaming method: `onEvent` runs for each event until the final frame,
    /// whose result is returned (its error thrown). If `onEvent` returns false the
    /// connection is closed and nil is returned; the client is then unusable.
    public func stream(
        _ method: String,
        _ params: JSONValue = .object([:]),
        onEvent: (JSONValue) -> Bool
    ) throws(IPCError) -> JSONValue? {
        try withoutActuallyEscaping(onEvent) { onEvent throws(IPCError) in
            try Self.exchange(
                channel,
                request(method, params),
                deadline: Self.deadline(after: timeoutMs),
                idleMs: streamIdleTimeoutMs > 0 ? streamIdleTimeoutMs : nil,
                onEvent: onEvent
            )
        }
    }

    /// Closes the connection; later calls throw `unavailable`. Idempotent.
    public func close() {
        channel.close()
    }

    // MARK: - Internals

    private func request(_ method: String, _ params: JSONValue) -> IPCRequest {
        defer { nextID += 1 }
        return IPCRequest(id: nextID, method: method, params: params)
    }

    /// Sends `request` (within `deadline`) and reads until its final frame. Without
    /// `idleMs` the answer must arrive by `deadline`; with it, each frame must arrive
    /// within `idleMs` of the previous one. Events go to `onEvent` (dropped if nil).
    /// Returns nil only when `onEvent` asked to stop.
    private static func exchange(
        _ channel: FrameChannel,
        _ request: IPCRequest,
        deadline: UInt64?,
        idleMs: Int?,
        onEvent: ((JSONValue) -> Bool)?
    ) throws(IPCError) -> JSONValue? {
        try channel.send(request.json, deadline: deadline)
        let streaming = onEvent != nil
        while true {
            let frameDeadline = streaming ? idleMs.flatMap { Self.deadline(after: $0) } : deadline
            switch try channel.receive(deadline: frameDeadline) {
            case .result(let id, let value) where id == request.id:
                return value
            case .error(let id, let error) where id == request.id:
                throw error
            case .error(0, let error):
                // Not attributable to a request: the server is about to hang up.
                channel.close()
                throw error
            case .event(let id, let value) where id == request.id:
                if let onEvent, !onEvent(value) {
                    channel.close()
                    return nil
                }
            default:
                continue  // a stray answer (cannot happen one-at-a-time); skip it
            }
        }
    }

    private static func deadline(after ms: Int) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds + UInt64(max(0, ms)) * 1_000_000
    }

    private static func connectError(_ failure: UnixSocket.Failure, path: String, timeoutMs: Int) -> IPCError {
        switch failure.errno {
        case ENOENT, ECONNREFUSED, ENOTDIR:
            return IPCError(.unavailable, "no daemon is listening on \(path)")
        case EACCES, EPERM:
            return IPCError(.forbidden, "permission denied connecting to \(path)")
        case EAGAIN, EWOULDBLOCK, ETIMEDOUT:
            return IPCError(.unavailable, "the daemon at \(path) did not accept the connection within \(timeoutMs) ms")
        case ENAMETOOLONG:
            return IPCError(.invalidParams, "socket path must be 1 to \(UnixSocket.maxPathBytes) bytes: \(path)")
        default:
            return IPCError(.unavailable, "cannot connect to \(path): \(failure.text)")
        }
    }
}
