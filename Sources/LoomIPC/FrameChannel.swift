import Dispatch
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The client's blocking frame transport over one connected socket, with deadlines.
///
/// Blocking is done with poll() on a non-blocking socket so that every wait has a
/// deadline (SO_RCVTIMEO would bound each read, not the whole answer). Any I/O or
/// framing failure closes the channel: after one, frame boundaries and pending
/// answers are unknowable, so reuse would only produce wrong answers.
final class FrameChannel {
    /// Bytes read per read() call.
    static let readChunkBytes = 64 << 10

    private var fd: Int32
    private var decoder: FrameDecoder
    private let jsonLimits: JSONLimits
    private let peerName: String

    init(fd: Int32, maxFrameBytes: Int, peerName: String) {
        self.fd = fd
        self.decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        self.jsonLimits = JSONLimits(maxBytes: maxFrameBytes, maxDepth: IPCProtocol.maxJSONDepthDefault)
        self.peerName = peerName
        UnixSocket.setNonBlocking(fd)
    }

    deinit { close() }

    var isOpen: Bool { fd >= 0 }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// Writes one frame completely before `deadline` (uptime ns; nil = no deadline).
    func send(_ value: JSONValue, deadline: UInt64?) throws(IPCError) {
        guard isOpen else { throw closedError() }
        let bytes = FrameCodec.encode(value)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                written += n
                continue
            }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) {
                try wait(for: Int16(POLLOUT), deadline: deadline)
                continue
            }
            throw fail(lost(e))
        }
    }

    /// The next answer frame, waiting until `deadline` (uptime ns; nil = no deadline).
    func receive(deadline: UInt64?) throws(IPCError) -> IPCResponse {
        guard isOpen else { throw closedError() }
        while true {
            let body: [UInt8]?
            do {
                body = try decoder.next()
            } catch {
                throw fail(error)
            }
            if let body {
                let json: JSONValue
                do {
                    json = try JSONValue.parse(bytes: body, limits: jsonLimits)
                } catch {
                    throw fail(IPCError(.badJSON, "the server sent invalid JSON: \(error)"))
                }
                do {
                    return try IPCResponse(json: json)
                } catch {
                    throw fail(error)
                }
            }
            try wait(for: Int16(POLLIN), deadline: deadline)
            let (n, e) = withUnsafeTemporaryAllocation(byteCount: Self.readChunkBytes, alignment: 1) {
                buffer -> (Int, Int32) in
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n > 0 { decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
                return (n, n < 0 ? errno : 0)
            }
            if n == 0 { throw fail(IPCError(.unavailable, "\(peerName) closed the connection")) }
            if n < 0 && e != EINTR && e != EAGAIN && e != EWOULDBLOCK { throw fail(lost(e)) }
        }
    }

    private func wait(for events: Int16, deadline: UInt64?) throws(IPCError) {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { throw fail(IPCError(.unavailable, "\(peerName) did not answer in time")) }
                // Round up so a sub-millisecond remainder does not become a busy 0 ms poll.
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, timeout)
            if rc > 0 { return }  // ready, or HUP/ERR: the read/send reports which
            if rc < 0 && errno != EINTR { throw fail(lost(errno)) }
        }
    }

    private func lost(_ e: Int32) -> IPCError {
        IPCError(.unavailable, "lost the connection to \(peerName): \(Errno(e).description)")
    }

    private func closedError() -> IPCError {
        IPCError(.unavailable, "the connection to \(peerName) is closed")
    }

    private func fail(_ error: IPCError) -> IPCError {
        close()
        return error
    }
}
