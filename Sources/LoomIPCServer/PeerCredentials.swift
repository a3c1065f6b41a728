import LoomIPC
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a Unix socket, as the kernel vouches for it.
///
/// Read once when a connection is accepted: the pid (and so `/proc/<pid>/exe`)
/// identifies the process that connected; reading it later could name an unrelated
/// process that reused the pid.
public struct PeerCredentials: Sendable, Equatable {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32
    /// The peer's executable (`readlink /proc/<pid>/exe`); nil if unreadable
    /// (another user's process without privileges, or the process already exited).
    public let executable: String?

    public init(pid: Int32, uid: UInt32, gid: UInt32, executable: String?) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.executable = executable
    }

    /// The credentials the peer had when it connected (`SO_PEERCRED`), or nil if the
    /// kernel will not say (not a connected Unix socket).
    public static func of(socket: Int32) -> PeerCredentials? {
        var cred = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        let rc = withUnsafeMutablePointer(to: &cred) {
            getsockopt(socket, SOL_SOCKET, SO_PEERCRED, $0, &length)
        }
        guard rc == 0, length == socklen_t(MemoryLayout<UCred>.size) else { return nil }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid, executable: executablePath(pid: cred.pid))
    }

    /// Mirrors `struct ucred { pid_t pid; uid_t uid; gid_t gid; }`, which Glibc only
    /// declares under `_GNU_SOURCE` and so is invisible to Swift.
    private struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Longest executable path read from /proc (PATH_MAX).
    static let maxExecutablePathBytes = 4096

    private static func executablePath(pid: Int32) -> String? {
        guard pid > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: maxExecutablePathBytes)
        let n = readlink("/proc/\(pid)/exe", &buffer, buffer.count)
        // n == count means it may have been truncated: report nothing rather than a wrong path.
        guard n > 0, n < buffer.count else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
