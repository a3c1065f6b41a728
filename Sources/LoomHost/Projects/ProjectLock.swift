import LoomEngine
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `<project>/.loom/lock`, so a one-shot run and the daemon never
/// drive the same project at once. The kernel caches its journal position on the strength
/// of this lock. The operating system releases a dead holder's lock with its process, so a crash
/// leaves no stale lock behind.
public final class ProjectLock: @unchecked Sendable {
    public let path: String
    private let fd: Int32

    public init(projectRoot: String) throws(LoomError) {
        path = "\(projectRoot)/.loom/lock"
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw LoomError(.io, "cannot open \(path): \(Errno.current.description)", context: "locking \(projectRoot)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw LoomError(
                .conflict,
                "\(projectRoot) is being driven by another loom process (\(path) is locked)",
                context: "locking \(projectRoot)"
            )
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
