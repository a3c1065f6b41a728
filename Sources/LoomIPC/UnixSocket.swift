import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// The small set of Unix-socket syscalls the server, `bind` and the client share,
/// with errno turned into values the callers can map to `IPCError`s.
package enum UnixSocket {
    /// `sun_path` is 108 bytes on Linux including the terminating NUL.
    package static let maxPathBytes = MemoryLayout<sockaddr_un>.size - MemoryLayout<sa_family_t>.size - 1

    /// A failed syscall: what we were doing and errno.
    package struct Failure: Error {
        package let operation: String
        package let errno: Int32
        package var text: String { "\(operation): \(Errno(errno).description)" }
    }

    /// A new unconnected stream socket with close-on-exec set (fcntl, not SOCK_CLOEXEC,
    /// to keep one code path for sockets we create and sockets we are handed).
    package static func makeSocket() throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", errno: errno) }
        _ = setCloseOnExec(fd)
        return fd
    }

    @discardableResult
    package static func setCloseOnExec(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFD)
        return flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0
    }

    @discardableResult
    package static func setNonBlocking(_ fd: Int32, _ on: Bool = true) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return false }
        return fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) == 0
    }

    /// Runs `body` with a filled-in `sockaddr_un` for `path`; nil if the path is too long.
    package static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Connects a new blocking socket to `path`. `timeoutMs` bounds a connect that waits
    /// for room in a full backlog (Linux applies SO_SNDTIMEO to Unix-socket connect).
    package static func connect(path: String, timeoutMs: Int) throws(Failure) -> Int32 {
        let fd = try makeSocket()
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var failure: Int32 = 0
        let done = withAddress(path) { address, length in
            while true {
                if Glibc.connect(fd, address, length) == 0 { return true }
                if errno == EINTR { continue }
                failure = errno
                return false
            }
        }
        guard let done else {
            close(fd)
            throw Failure(operation: "socket path is empty or longer than \(maxPathBytes) bytes", errno: ENAMETOOLONG)
        }
        guard done else {
            close(fd)
            throw Failure(operation: "connect", errno: failure)
        }
        return fd
    }
}
