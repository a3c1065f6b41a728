import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// One file per running child process (`<state>/children/<pid>`, holding the child's start
/// time), so that after a crash the next loomd ends exactly the processes the last one
/// started, and never an unrelated process that happens to reuse a pid.
package struct ChildRecords: Sendable {
    package let directory: String

    package init(directory: String) {
        self.directory = directory
        FileSystem.makeDirectories(directory, mode: 0o700)
    }

    package func add(_ pid: Int32) {
        guard let started = Self.startTime(of: pid) else { return }
        try? writeFileAtomically("\(directory)/\(pid)", "\(started)\n")
    }

    package func remove(_ pid: Int32) { unlink("\(directory)/\(pid)") }

    /// Kills the process group of every recorded child that is still the same process;
    /// returns how many it ended.
    @discardableResult
    package func endLeftovers() -> Int {
        var ended = 0
        for name in FileSystem.list(directory) {
            let path = "\(directory)/\(name)"
            defer { unlink(path) }
            guard let pid = Int32(name),
                let recorded = FileSystem.readText(path, limit: 4_096)?.split(separator: "\n").first.flatMap({
                    UInt64($0)
                })
            else { continue }
            guard Self.startTime(of: pid) == recorded else { continue }
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            ended += 1
        }
        return ended
    }

    /// When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat).
    package static func startTime(of pid: Int32) -> UInt64? {
        ProcessStat.field(22, of: pid).flatMap { UInt64($0) }
    }
}
