import Dispatch
import LoomIPC
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately dumb client for sending what IPCClient never would: raw bytes,
/// broken frames, pipelined requests, half-closes. Every wait has a deadline.
final class RawConnection {
    let fd: Int32
    private var decoder = FrameDecoder()

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw TestFailure("connect \(path): errno \(e)")
        }
    }

    deinit { close(fd) }

    /// Sends everything or returns false (the server closed the connection).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            written += n
        }
        return true
    }

    @discardableResult
    func send(_ value: JSONValue) -> Bool { send(FrameCodec.encode(value)) }

    @discardableResult
    func request(_ id: Int64, _ method: String, _ params: JSONValue = [:]) -> Bool {
        send(IPCRequest(id: id, method: method, params: params).json)
    }

    /// Says hello and checks the answer.
    func hello() throws {
        request(1, "hello", ["protocol": 1, "client": "raw-test"])
        let answer = try readFrame()
        guard answer?["result"]?["protocol"] == 1 else {
            throw TestFailure("hello failed: \(String(describing: answer))")
        }
    }

    /// The next frame, or nil at EOF. Throws after `timeoutMs`.
    func readFrame(timeoutMs: Int = 5_000) throws -> JSONValue? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        while true {
            if let body = try decoder.next() { return try JSONValue.parse(bytes: body) }
            guard let n = try readSome(deadline: deadline) else { throw TestFailure("no frame within \(timeoutMs) ms") }
            if n == 0 { return nil }
        }
    }

    /// True if the server closes the connection within `timeoutMs` (frames before EOF are skipped).
    func waitForEOF(timeoutMs: Int = 5_000) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        while true {
            guard let n = try? readSome(deadline: deadline) else { return false }
            if n == 0 { return true }
        }
    }

    /// Without blocking: has the server closed its end?
    func peerClosed() -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        if pfd.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Bytes read (0 at EOF, also after ECONNRESET), or nil when the deadline passed.
    private func readSome(deadline: UInt64) throws -> Int? {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now < deadline else { return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&pfd, 1, Int32((deadline - now) / 1_000_000 + 1))
        if rc == 0 { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        if n < 0 { return errno == EINTR ? try readSome(deadline: deadline) : 0 }
        decoder.append(Array(buffer[0..<n]))
        return n
    }
}

/// A failure in test plumbing (not in the code under test).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
