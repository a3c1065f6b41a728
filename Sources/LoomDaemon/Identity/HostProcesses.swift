import LoomIPC
import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Processes that execute agent steps for loomd from outside it: an agent host (Claude
/// Code, through `loomctl mcp`) and the MCP server it started.
///
/// A host executes steps but is never an approver. loomd cannot tell the model inside a
/// host from the person who started it (both run as the same uid), so every peer whose
/// process ancestry includes a registered host process is treated as an agent, exactly as
/// a descendant of a process loomd spawned is: the kernel then refuses its answers to
/// gates that need a person, on record. A peer registers itself and its parent (the host
/// that started it) when it calls `hosts.attach` or any `effects.*` method.
///
/// Entries are keyed by pid and the process's start time (field 22 of /proc/<pid>/stat), so
/// a pid the kernel reuses for an unrelated process is not mistaken for a host; dead
/// entries are dropped when the set is read.
final class HostProcesses: @unchecked Sendable {
    /// At most this many live host processes are remembered. A live entry is never evicted:
    /// dropping one would let its descendants answer gates as a person, so an attacker could
    /// wash a host out by registering many processes. When full, a registration is refused.
    static let entriesMax = 256

    private let lock = Lock()
    private var entries: [(pid: Int32, started: String)] = []
    private let capacity: Int

    init(capacity: Int = HostProcesses.entriesMax) {
        self.capacity = capacity
    }

    /// Registers `pid` and its parent (unless the parent is init or loomd itself).
    /// Returns the pids registered, or nil when the set is full of live hosts.
    func register(peer pid: Int32) -> [Int32]? {
        var pids = [pid]
        if let parent = PeerPolicy.parentPid(of: pid), parent > 1, parent != getpid() { pids.append(parent) }
        let stamped = pids.compactMap { pid in ProcessStat.field(22, of: pid).map { (pid: pid, started: $0) } }
        return lock.withLock { () -> [Int32]? in
            let fresh = stamped.filter { entry in
                !entries.contains { $0.pid == entry.pid && $0.started == entry.started }
            }
            if entries.count + fresh.count > capacity {
                entries.removeAll { ProcessStat.field(22, of: $0.pid) != $0.started }
                guard entries.count + fresh.count <= capacity else { return nil }
            }
            entries += fresh
            return stamped.map(\.pid)
        }
    }

    /// The registered processes still alive (with the start time they registered with).
    var live: Set<Int32> {
        lock.withLock {
            entries.removeAll { ProcessStat.field(22, of: $0.pid) != $0.started }
            return Set(entries.map(\.pid))
        }
    }
}
