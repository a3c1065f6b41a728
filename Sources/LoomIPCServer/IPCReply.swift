import LoomIPC
import LoomSystem
import LoomValues

/// The handle a server handler gets for one request: read `request` and `peer`,
/// then answer exactly once with `result` or `error`, optionally after any number
/// of `event`s (a stream).
///
/// Thread-safe: answer from any thread, now or later. Every send is a no-op once
/// the connection has closed, and anything sent after the final answer is ignored.
/// A reply dropped without an answer (its last reference released) is answered
/// with an `internal` error, so a handler bug cannot leave a client waiting.
public final class IPCReply: @unchecked Sendable {
    public let request: IPCRequest
    /// The connecting process, as read with SO_PEERCRED when the connection was accepted.
    public let peer: PeerCredentials

    let connection: IPCConnection
    // Both guarded by `connection.lock`.
    var finished = false
    var storedOnClose: (@Sendable () -> Void)?

    init(request: IPCRequest, peer: PeerCredentials, connection: IPCConnection) {
        self.request = request
        self.peer = peer
        self.connection = connection
    }

    deinit {
        connection.abandoned(id: request.id, finished: connection.lock.withLock { finished })
    }

    /// The final answer.
    public func result(_ value: JSONValue) {
        connection.finish(self, .result(id: request.id, value))
    }

    /// The final answer, as an error.
    public func error(_ error: IPCError) {
        connection.finish(self, .error(id: request.id, error))
    }

    /// Sends one stream event. Returns false once the client is gone, the reply has
    /// been answered, or the connection's write buffer went over its limit (the
    /// connection is then closed). An event over the frame limit ends the stream
    /// with a `too_large` error and returns false.
    @discardableResult
    public func event(_ value: JSONValue) -> Bool {
        connection.event(self, value)
    }

    /// Called once, from whichever thread closes the connection, if the connection
    /// closes before this request's final answer (the cleanup hook for watches).
    /// Set after the connection already closed, it is called at once; after the
    /// final answer it is released unused, since the handler knows the request ended.
    public var onClose: (@Sendable () -> Void)? {
        get { connection.lock.withLock { storedOnClose } }
        set { connection.setOnClose(self, newValue) }
    }

    /// True once the connection is closed; sends are then no-ops.
    public var isClosed: Bool { connection.isClosed }
}
