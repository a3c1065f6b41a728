import Dispatch
import LoomIPC
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

// glibc's accept4 (2.10); Swift's Glibc module hides it without _GNU_SOURCE.
@_silgen_name("accept4")
private func acceptCloseOnExec(
    _ fd: Int32,
    _ address: UnsafeMutablePointer<sockaddr>?,
    _ length: UnsafeMutablePointer<socklen_t>?,
    _ flags: Int32
) -> Int32

/// The daemon side of the control socket: accepts connections, frames and validates
/// requests, answers `hello` itself, and hands every other request to `handler` as
/// an `IPCReply`.
///
/// Threading: accepting runs on one serial queue and never blocks; each connection
/// has its own serial queue, on which `handler` is called, in request order. A slow
/// handler therefore stalls only its own connection; long work should move off that
/// queue and answer through the reply later (replies are thread-safe).
///
/// Hostile or broken clients are bounded by `Limits` and dropped individually; the
/// server keeps serving everyone else. Call `stop()` to shut down (the accept source
/// keeps the server alive until then).
public final class IPCServer: @unchecked Sendable {
    /// Per-server resource limits. Every limit exists because some client behaviour
    /// would otherwise cost the daemon unbounded memory, descriptors or time.
    public struct Limits: Sendable {
        /// Largest frame body accepted or sent.
        public var maxFrameBytes = IPCProtocol.maxFrameBytesDefault
        /// Open connections; beyond this a new connection is accepted and closed at once.
        public var maxConnections = 1024
        /// A frame whose first byte arrived must be complete within this (slowloris).
        public var frameDeadlineMs = 10_000
        /// A new connection must have said hello within this, or it is closed: connections
        /// that never send a byte would otherwise hold `maxConnections` slots for ever.
        public var helloDeadlineMs = 10_000
        /// Per connection: answers queued for a reader that falls further behind drop it.
        public var maxBufferedWriteBytes = 8 << 20
        /// Requests awaiting an answer per connection; beyond → `busy`.
        public var maxInFlightPerConnection = 64
        public init() {}
    }

    /// Listen backlog used by `bind(path:mode:)`.
    public static let listenBacklog: Int32 = 512
    /// Connections taken per accept event before other work gets a turn.
    static let acceptBatch = 64
    /// Out of descriptors (EMFILE/ENFILE): pause accepting this long instead of spinning
    /// on a listening socket that stays readable.
    static let acceptBackoffMs = 100

    public let serverVersion: String
    public let limits: Limits
    private let listenFD: Int32
    private let handler: @Sendable (IPCReply) -> Void
    private let acceptQueue = DispatchQueue(label: "loom.ipc.accept")

    private enum Phase { case idle, running, stopped }
    // Guarded by `lock`.
    private let lock = Lock()
    private var phase = Phase.idle
    private var acceptSource: DispatchSourceRead?
    private var acceptSuspended = false
    private var connections: [ObjectIdentifier: IPCConnection] = [:]
    private var connectionNumber = 0

    /// `socketFD`: an already listening Unix stream socket, blocking or not (from
    /// `bind(path:mode:)` or socket activation). The server owns it from now on and
    /// closes it in `stop()`; it does not unlink the socket file.
    public init(
        socketFD: Int32,
        serverVersion: String,
        limits: Limits = Limits(),
        handler: @escaping @Sendable (IPCReply) -> Void
    ) {
        self.listenFD = socketFD
        self.serverVersion = serverVersion
        self.limits = limits
        self.handler = handler
    }

    /// Open connections right now.
    public var connectionCount: Int { lock.withLock { connections.count } }

    /// Starts accepting. Calling it again, or after `stop()`, does nothing.
    public func start() {
        lock.withLock {
            guard phase == .idle else { return }
            phase = .running
            UnixSocket.setNonBlocking(listenFD)
            UnixSocket.setCloseOnExec(listenFD)
            let source = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: acceptQueue)
            source.setEventHandler { self.acceptReady() }
            // Closed only once libdispatch has let go of the descriptor.
            let fd = listenFD
            source.setCancelHandler { Glibc.close(fd) }
            acceptSource = source
            source.resume()
        }
    }

    /// Stops accepting, closes every connection (their `onClose` hooks run) and the
    /// listening socket. Idempotent.
    public func stop() {
        let (open, wasIdle) = lock.withLock { () -> ([IPCConnection], Bool) in
            guard phase != .stopped else { return ([], false) }
            let wasIdle = phase == .idle
            phase = .stopped
            if let source = acceptSource {
                // A suspended source never runs its cancel handler (which closes the fd).
                if acceptSuspended {
                    source.resume()
                    acceptSuspended = false
                }
                source.cancel()
            }
            acceptSource = nil
            return (Array(connections.values), wasIdle)
        }
        // Never started: no source owns the descriptor, so close it here.
        if wasIdle { Glibc.close(listenFD) }
        for connection in open { connection.close() }
    }

    // MARK: - Accepting (on acceptQueue)

    /// Accepts until the socket would block: libdispatch reports readiness edge-style
    /// on Linux, so connections left in the backlog would get no further event. After
    /// `acceptBatch` the rest is re-queued, to let other work on the queue through.
    private func acceptReady() {
        guard lock.withLock({ phase == .running && !acceptSuspended }) else { return }
        for _ in 0..<Self.acceptBatch {
            // Close-on-exec from the start: the daemon starts agents from other threads, and a
            // client's socket inherited by one would keep the connection open after loomd closed it.
            let fd = acceptCloseOnExec(listenFD, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 {
                admit(fd)
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                return pauseAccepting()
            default:
                return  // EAGAIN: drained (or an error the next event will retry)
            }
        }
        acceptQueue.async { self.acceptReady() }
    }

    private func pauseAccepting() {
        lock.withLock {
            guard phase == .running, let source = acceptSource, !acceptSuspended else { return }
            source.suspend()
            acceptSuspended = true
        }
        acceptQueue.asyncAfter(deadline: .now() + .milliseconds(Self.acceptBackoffMs)) {
            self.lock.withLock {
                guard self.phase == .running, let source = self.acceptSource, self.acceptSuspended else { return }
                source.resume()
                self.acceptSuspended = false
            }
            // Connections that queued up meanwhile raise no new edge: look now.
            self.acceptReady()
        }
    }

    private func admit(_ fd: Int32) {
        UnixSocket.setNonBlocking(fd)
        // Never mistaken for root if the kernel will not say: uid/gid -1, pid 0.
        let peer =
            PeerCredentials.of(socket: fd)
            ?? PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max, executable: nil)
        let connection = lock.withLock { () -> IPCConnection? in
            guard phase == .running, connections.count < limits.maxConnections else { return nil }
            connectionNumber += 1
            let connection = IPCConnection(
                fd: fd,
                peer: peer,
                number: connectionNumber,
                serverVersion: serverVersion,
                limits: limits,
                handler: handler,
                onFinished: { [weak self] in self?.forget($0) }
            )
            connections[ObjectIdentifier(connection)] = connection
            return connection
        }
        guard let connection else {
            Glibc.close(fd)
            return
        }
        connection.start()
    }

    private func forget(_ connection: IPCConnection) {
        lock.withLock { _ = connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}
