#if canImport(Glibc)
import Glibc
#endif

// glibc's prctl is variadic, which Swift cannot call; these take the options loom uses.
@_silgen_name("prctl")
private func prctl(_ option: Int32, _ argument: UInt, _ unused2: UInt, _ unused3: UInt, _ unused4: UInt) -> Int32

/// Keeps every process loom starts for a task a descendant of the process that started it.
///
/// A process that double-forks and `setsid`s is re-parented when its parent exits, normally
/// to pid 1, and so drops out of any ancestry check ("is this peer something loomd
/// started?"). `becomeSubreaper` makes the calling process a child subreaper
/// (`PR_SET_CHILD_SUBREAPER`): orphans below it are re-parented to it instead, so every
/// descendant stays one, however it forks. Under confinement this is a second wall: each
/// task process is already inside a pid namespace that dies with its effect.
///
/// A subreaper must reap what it adopts, but `waitpid(-1)` would also take the exit status
/// of a child `ChildProcess.run` is waiting for (a failed check would read as exit 0). So
/// every child `ChildProcess` starts is registered, under the same lock, from before it
/// exists until it is reaped, and `reapOrphans` reaps only exited processes that are not.
public final class ChildReaper: @unchecked Sendable {
    public static let shared = ChildReaper()

    private let lock = Lock()
    private var owned: Set<Int32> = []
    private var subreaper = false

    /// Makes this process a child subreaper; false when the kernel refused.
    @discardableResult
    public func becomeSubreaper() -> Bool {
        let done = prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0) == 0
        lock.withLock { subreaper = done }
        return done
    }

    /// Whether this process adopts its descendants' orphans.
    public var isSubreaper: Bool { lock.withLock { subreaper } }

    /// Runs `spawn` (which starts a child and returns its pid, or nil) with the reaper held
    /// off, and registers the child before the reaper can see it.
    package func spawning(_ spawn: () -> Int32?) -> Int32? {
        lock.withLock {
            let pid = spawn()
            if let pid { owned.insert(pid) }
            return pid
        }
    }

    /// Called once `ChildProcess` has reaped `pid`; then reaps any orphans that have exited.
    package func reaped(_ pid: Int32) {
        lock.withLock { _ = owned.remove(pid) }
        reapOrphans()
    }

    /// Reaps adopted processes that have exited; returns how many. Cheap when this process
    /// is not a subreaper (it adopts nothing).
    @discardableResult
    public func reapOrphans() -> Int {
        lock.withLock {
            guard subreaper else { return 0 }
            var reaped = 0
            for pid in Self.children() where !owned.contains(pid) && Self.hasExited(pid) {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { reaped += 1 }
            }
            return reaped
        }
    }

    /// This process's children, from every thread's list (a child belongs to the thread
    /// that forked it, an adopted orphan to whichever thread the kernel picked).
    package static func children() -> Set<Int32> {
        var pids: Set<Int32> = []
        for thread in FileSystem.list("/proc/self/task") {
            guard let text = FileSystem.readText("/proc/self/task/\(thread)/children", limit: 1 << 20) else { continue }
            for word in text.split(separator: " ") {
                if let pid = Int32(String(word).trimmingSpaces()) { pids.insert(pid) }
            }
        }
        return pids
    }

    /// Whether `pid` is a zombie (state `Z` in /proc/<pid>/stat), waiting to be reaped.
    package static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = FileSystem.readText("/proc/\(pid)/stat", limit: 4_096), let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
}

/// Makes this process's memory and `/proc/<pid>/environ` unreadable to other processes of
/// the same uid (`PR_SET_DUMPABLE` 0): a task process that finds loomd's pid still cannot
/// read the keys loomd holds. False when the kernel refused.
@discardableResult
public func forbidInspection() -> Bool {
    prctl(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0) == 0
}
