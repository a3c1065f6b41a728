import Dispatch
import LoomIPC
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// One accepted client connection inside `IPCServer`.
///
/// Two halves with different threading, on purpose:
/// - the read side (decoder, `hello` state, frame deadline) lives on the
///   connection's serial `queue`, driven by a DispatchSourceRead;
/// - the write side and the lifecycle (`closed`, queued bytes, in-flight replies)
///   sit behind `lock`, because handlers answer from any thread and
///   `IPCReply.event` must say synchronously whether the client is still there.
///
/// The descriptor is closed only after every dispatch source watching it has been
/// cancelled (in the last cancel handler), so a recycled fd number can never be
/// confused with this connection inside libdispatch.
final class IPCConnection: @unchecked Sendable {
    /// Bytes read per readable event.
    static let readChunkBytes = 64 << 10
    /// Chunks read per turn on the queue before yielding it.
    static let maxReadsPerEvent = 16
    /// After a fatal protocol error the error frame gets this long to reach the client.
    static let closeLingerMs = 2_000

    let fd: Int32
    let peer: PeerCredentials
    let lock = Lock()

    private let limits: IPCServer.Limits
    private let serverVersion: String
    private let handler: @Sendable (IPCReply) -> Void
    private let onFinished: @Sendable (IPCConnection) -> Void
    private let queue: DispatchQueue
    private let jsonLimits: JSONLimits

    // MARK: read side: confined to `queue`
    private var decoder: FrameDecoder
    private var helloDone = false
    private var readStopped = false
    /// Uptime (ns) by which the partially received frame must be complete.
    private var frameDeadline: UInt64?
    /// Uptime (ns) by which the client must have said hello.
    private var helloDeadline: UInt64?
    /// Uptime (ns) by which a connection closing after an error must be gone.
    private var lingerDeadline: UInt64?

    // MARK: write side and lifecycle: guarded by `lock`
    private var closed = false
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var writeSourceResumed = false
    private var timer: DispatchSourceTimer?
    /// fd-watching sources not yet through their cancel handler.
    private var liveSources = 0
    private var outBuffer: [UInt8] = []
    private var outOffset = 0
    /// Unanswered requests. Weak so that a handler dropping a reply unanswered is
    /// noticed (IPCReply.deinit) instead of leaking here.
    private var inFlight: [Int64: WeakReply] = [:]
    /// Close as soon as the queued bytes are written (after a fatal protocol error).
    private var closeAfterFlush = false
    /// Close once nothing is in flight and everything is written (the peer half-closed).
    private var closeWhenIdle = false

    private struct WeakReply { weak var reply: IPCReply? }

    private enum WriteOutcome { case queued, closed, overLimit, failed }

    init(
        fd: Int32,
        peer: PeerCredentials,
        number: Int,
        serverVersion: String,
        limits: IPCServer.Limits,
        handler: @escaping @Sendable (IPCReply) -> Void,
        onFinished: @escaping @Sendable (IPCConnection) -> Void
    ) {
        self.fd = fd
        self.peer = peer
        self.limits = limits
        self.serverVersion = serverVersion
        self.handler = handler
        self.onFinished = onFinished
        self.queue = DispatchQueue(label: "loom.ipc.connection.\(number)")
        self.decoder = FrameDecoder(maxFrameBytes: limits.maxFrameBytes)
        self.jsonLimits = JSONLimits(maxBytes: limits.maxFrameBytes, maxDepth: IPCProtocol.maxJSONDepthDefault)
    }

    var isClosed: Bool { lock.withLock { closed } }

    // MARK: - Lifecycle

    /// Starts reading. A connection closed before it started (server stopping) stays closed.
    func start() {
        lock.withLock {
            guard !closed else { return }
            let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            read.setEventHandler { self.readable() }
            read.setCancelHandler { self.sourceCancelled() }
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { self.deadlineTimerFired() }
            readSource = read
            self.timer = timer
            liveSources += 1
            read.resume()
            timer.resume()
        }
        queue.async {
            guard !self.helloDone else { return }
            self.helloDeadline = Self.uptime() + UInt64(max(0, self.limits.helloDeadlineMs)) * 1_000_000
            self.rescheduleTimer()
        }
    }

    /// Closes now: pending bytes are dropped, `onClose` hooks of unanswered replies
    /// run (outside the lock), and the server forgets the connection. Idempotent.
    func close() {
        var live: [IPCReply] = []
        var hooks: [@Sendable () -> Void] = []
        let first = lock.withLock { () -> Bool in
            guard !closed else { return false }
            closed = true
            for entry in inFlight.values { if let reply = entry.reply { live.append(reply) } }
            for reply in live {
                if let hook = reply.storedOnClose { hooks.append(hook) }
                reply.storedOnClose = nil
            }
            inFlight.removeAll()
            outBuffer = []
            outOffset = 0
            readSource?.cancel()
            if let writeSource {
                // A suspended source never runs its cancel handler; resume it first.
                if !writeSourceResumed {
                    writeSource.resume()
                    writeSourceResumed = true
                }
                writeSource.cancel()
            }
            timer?.cancel()
            if liveSources == 0 { Glibc.close(fd) }
            return true
        }
        guard first else { return }
        for hook in hooks { hook() }
        // Dropping the last references to abandoned replies re-enters the lock: only now.
        withExtendedLifetime(live) {}
        onFinished(self)
    }

    private func sourceCancelled() {
        lock.withLock {
            liveSources -= 1
            if liveSources == 0 && closed { Glibc.close(fd) }
        }
    }

    // MARK: - Read side (on `queue`)

    /// Reads until the socket would block. libdispatch on Linux reports readiness
    /// edge-style (data that arrives together with EOF yields one event), so stopping
    /// early could leave EOF or a request unseen forever. After `maxReadsPerEvent`
    /// chunks the rest is left for a re-queued turn, so one fast client cannot keep
    /// the queue to itself.
    private func readable() {
        guard !readStopped, !isClosed else { return }
        var completed = 0
        var drained = false
        for _ in 0..<Self.maxReadsPerEvent {
            let (n, readErrno) = withUnsafeTemporaryAllocation(byteCount: Self.readChunkBytes, alignment: 1) {
                buffer -> (Int, Int32) in
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n > 0 { decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
                return (n, n < 0 ? errno : 0)
            }
            if n == 0 { return endOfInput() }
            if n < 0 {
                if readErrno == EINTR { continue }
                if readErrno == EAGAIN || readErrno == EWOULDBLOCK {
                    drained = true
                    break
                }
                return close()
            }
            while !readStopped {
                let body: [UInt8]?
                do {
                    body = try decoder.next()
                } catch {
                    return fatal(error)
                }
                guard let body else { break }
                completed += 1
                handleFrame(body)
            }
            if readStopped || isClosed { return }
        }
        if !drained { queue.async { self.readable() } }
        // Slowloris guard: a frame must be complete within frameDeadlineMs of its first
        // byte. Re-armed only when a new frame starts, not on every trickled byte.
        if decoder.bufferedBytes == 0 {
            frameDeadline = nil
        } else if frameDeadline == nil || completed > 0 {
            frameDeadline = Self.uptime() + UInt64(max(0, limits.frameDeadlineMs)) * 1_000_000
            rescheduleTimer()
        }
    }

    /// EOF. A partial frame can never complete: close. A full close (POLLHUP) means
    /// nobody will read answers: close. A half-close (shutdown(SHUT_WR), as in
    /// `printf … | nc -U`) still deserves the answers to what was asked.
    private func endOfInput() {
        if decoder.bufferedBytes > 0 { return close() }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&pfd, 1, 0) < 0 || pfd.revents & Int16(POLLHUP | POLLERR) != 0 { return close() }
        stopReading()
        let done = lock.withLock { () -> Bool in
            closeWhenIdle = true
            return shouldCloseLocked()
        }
        if done { close() }
    }

    private func stopReading() {
        readStopped = true
        frameDeadline = nil
        // A level-triggered source at EOF would fire forever; cancel rather than ignore.
        lock.withLock { readSource?.cancel() }
    }

    /// A framing/JSON/hello failure: answer with id 0 (or the request's id), stop
    /// reading, and close once the answer is written (or after closeLingerMs).
    private func fatal(_ error: IPCError, id: Int64 = 0) {
        stopReading()
        lingerDeadline = Self.uptime() + UInt64(Self.closeLingerMs) * 1_000_000
        rescheduleTimer()
        let (outcome, done) = lock.withLock { () -> (WriteOutcome, Bool) in
            let outcome = enqueueLocked(FrameCodec.encode(IPCResponse.error(id: id, error).json))
            closeAfterFlush = true
            return (outcome, shouldCloseLocked())
        }
        if outcome != .queued || done { close() }
    }

    private func handleFrame(_ body: [UInt8]) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes: body, limits: jsonLimits)
        } catch {
            return fatal(
                IPCError(
                    .badJSON,
                    "the frame is not valid JSON (\(error.code.rawValue) at byte \(error.offset): \(error.message))"
                )
            )
        }
        let request: IPCRequest
        do {
            request = try IPCRequest(json: json)
        } catch {
            // Not a usable envelope, but the framing is intact: answer and keep going.
            let id = json["id"]?.intValue ?? 0
            return send(.error(id: id > 0 ? id : 0, error))
        }
        guard helloDone else { return hello(request) }
        if request.method == "hello" {
            return send(.error(id: request.id, IPCError(.invalidParams, "hello was already sent on this connection")))
        }
        let reply = IPCReply(request: request, peer: peer, connection: self)
        let refusal = lock.withLock { () -> IPCError? in
            if closed { return nil }
            if inFlight[request.id] != nil {
                return IPCError(.invalidParams, "request id \(request.id) is already in flight on this connection")
            }
            if inFlight.count >= limits.maxInFlightPerConnection {
                return IPCError(
                    .busy,
                    "\(limits.maxInFlightPerConnection) requests are already in flight on this connection"
                )
            }
            inFlight[request.id] = WeakReply(reply: reply)
            return nil
        }
        if let refusal {
            // Mark the throwaway reply answered so its deinit sends nothing.
            lock.withLock { reply.finished = true }
            return send(.error(id: request.id, refusal))
        }
        if isClosed {
            lock.withLock { reply.finished = true }
            return
        }
        handler(reply)
    }

    /// The server answers `hello` itself: handlers only ever see greeted connections.
    private func hello(_ request: IPCRequest) {
        guard request.method == "hello" else {
            return send(
                .error(id: request.id, IPCError(.invalidParams, "send hello first (got \"\(request.method)\")"))
            )
        }
        guard let version = request.params["protocol"]?.intValue else {
            return fatal(IPCError(.invalidParams, "hello needs params.protocol (an integer)"), id: request.id)
        }
        guard version == Int64(IPCProtocol.version) else {
            return fatal(
                IPCError(
                    .invalidParams,
                    "the client speaks protocol \(version) but this server speaks protocol \(IPCProtocol.version)"
                ),
                id: request.id
            )
        }
        helloDone = true
        helloDeadline = nil
        rescheduleTimer()
        send(
            .result(
                id: request.id,
                .object([
                    "protocol": .int(Int64(IPCProtocol.version)),
                    "server": .string(serverVersion),
                ])
            )
        )
    }

    private func deadlineTimerFired() {
        let now = Self.uptime()
        if let d = frameDeadline, now >= d { return close() }
        if let d = helloDeadline, now >= d { return close() }
        if let d = lingerDeadline, now >= d { return close() }
        // A stale fire from before a reschedule: the timer is already set again.
    }

    private func rescheduleTimer() {
        let next = [frameDeadline, helloDeadline, lingerDeadline].compactMap { $0 }.min()
        lock.withLock {
            guard let timer else { return }
            if let next {
                timer.schedule(deadline: DispatchTime(uptimeNanoseconds: next))
            } else {
                timer.schedule(deadline: .distantFuture)
            }
        }
    }

    private static func uptime() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: - Write side (any thread)

    /// A frame not tied to a reply's lifecycle (hello, envelope errors).
    private func send(_ response: IPCResponse) {
        let bytes = FrameCodec.encode(response.json)
        let (outcome, done) = lock.withLock { (enqueueLocked(bytes), shouldCloseLocked()) }
        if outcome == .overLimit || outcome == .failed || done { close() }
    }

    /// The final answer for `reply`; a result over the frame limit becomes `too_large`.
    func finish(_ reply: IPCReply, _ response: IPCResponse) {
        var bytes = FrameCodec.encode(response.json)
        if bytes.count - IPCProtocol.headerBytes > limits.maxFrameBytes {
            let error = IPCError(
                .tooLarge,
                "the answer is \(bytes.count - IPCProtocol.headerBytes) bytes, over the frame limit of \(limits.maxFrameBytes) bytes"
            )
            bytes = FrameCodec.encode(IPCResponse.error(id: reply.request.id, error).json)
        }
        // The hook is released after unlocking: it may hold the last reference to another
        // reply, whose deinit takes this lock.
        var unusedHook: (@Sendable () -> Void)?
        let (outcome, done) = lock.withLock { () -> (WriteOutcome, Bool) in
            guard !reply.finished else { return (.closed, false) }
            reply.finished = true
            unusedHook = reply.storedOnClose
            reply.storedOnClose = nil
            inFlight[reply.request.id] = nil
            return (enqueueLocked(bytes), shouldCloseLocked())
        }
        withExtendedLifetime(unusedHook) {}
        if outcome == .overLimit || outcome == .failed || done { close() }
    }

    func event(_ reply: IPCReply, _ value: JSONValue) -> Bool {
        let bytes = FrameCodec.encode(IPCResponse.event(id: reply.request.id, value).json)
        if bytes.count - IPCProtocol.headerBytes > limits.maxFrameBytes {
            finish(
                reply,
                .error(
                    id: reply.request.id,
                    IPCError(
                        .tooLarge,
                        "an event of \(bytes.count - IPCProtocol.headerBytes) bytes is over the frame limit of \(limits.maxFrameBytes) bytes"
                    )
                )
            )
            return false
        }
        let outcome = lock.withLock { () -> WriteOutcome in
            guard !reply.finished else { return .closed }
            return enqueueLocked(bytes)
        }
        switch outcome {
        case .queued: return true
        case .closed: return false
        case .overLimit, .failed:
            close()
            return false
        }
    }

    func setOnClose(_ reply: IPCReply, _ hook: (@Sendable () -> Void)?) {
        var replaced: (@Sendable () -> Void)?  // released after unlocking, as in finish()
        let runNow = lock.withLock { () -> Bool in
            if reply.finished { return false }
            if closed { return hook != nil }
            replaced = reply.storedOnClose
            reply.storedOnClose = hook
            return false
        }
        withExtendedLifetime(replaced) {}
        if runNow, let hook { hook() }
    }

    /// From IPCReply.deinit: a reply released without a final answer.
    func abandoned(id: Int64, finished: Bool) {
        guard !finished else { return }
        let bytes = FrameCodec.encode(
            IPCResponse.error(
                id: id,
                IPCError(.internal, "the server dropped the request without answering")
            ).json
        )
        let (outcome, done) = lock.withLock { () -> (WriteOutcome, Bool) in
            guard !closed else { return (.closed, false) }
            inFlight[id] = nil
            return (enqueueLocked(bytes), shouldCloseLocked())
        }
        if outcome == .overLimit || outcome == .failed || done { close() }
    }

    /// Writes what the socket takes now and queues the rest for the write source.
    /// Requires `lock`.
    private func enqueueLocked(_ bytes: [UInt8]) -> WriteOutcome {
        if closed { return .closed }
        let pending = outBuffer.count - outOffset
        if pending + bytes.count > limits.maxBufferedWriteBytes { return .overLimit }
        var written = 0
        if pending == 0 {
            // Fast path: nothing queued, so order is kept by writing straight away.
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { raw in
                    Glibc.send(fd, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if n > 0 {
                    written += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                return .failed
            }
            if written == bytes.count { return .queued }
        }
        outBuffer.append(contentsOf: bytes[written...])
        armWriteSourceLocked()
        return .queued
    }

    private func armWriteSourceLocked() {
        if let writeSource {
            if !writeSourceResumed {
                writeSource.resume()
                writeSourceResumed = true
            }
            return
        }
        let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { self.writable() }
        source.setCancelHandler { self.sourceCancelled() }
        writeSource = source
        liveSources += 1
        writeSourceResumed = true
        source.resume()
    }

    /// The write source fired: flush; suspend the source once drained.
    private func writable() {
        let (failed, done) = lock.withLock { () -> (Bool, Bool) in
            guard !closed else { return (false, false) }
            while outOffset < outBuffer.count {
                let n = outBuffer.withUnsafeBytes { raw in
                    Glibc.send(
                        fd,
                        raw.baseAddress! + outOffset,
                        raw.count - outOffset,
                        Int32(MSG_NOSIGNAL | MSG_DONTWAIT)
                    )
                }
                if n > 0 {
                    outOffset += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                return (true, false)
            }
            if outOffset == outBuffer.count {
                outBuffer.removeAll(keepingCapacity: outBuffer.capacity <= Self.readChunkBytes)
                outOffset = 0
                if writeSourceResumed, let writeSource {
                    writeSource.suspend()
                    writeSourceResumed = false
                }
            } else if outOffset >= outBuffer.count / 2 {
                outBuffer.removeFirst(outOffset)
                outOffset = 0
            }
            return (false, shouldCloseLocked())
        }
        if failed || done { close() }
    }

    /// Requires `lock`.
    private func shouldCloseLocked() -> Bool {
        guard !closed, outOffset == outBuffer.count else { return false }
        return closeAfterFlush || (closeWhenIdle && inFlight.isEmpty)
    }
}
