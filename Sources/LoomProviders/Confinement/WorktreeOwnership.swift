import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Hands a task's worktree to the agent's user while task processes run in it, and takes
/// it back when the last one ends, so loom's own steps (the diff, the checks' reset,
/// delivery) always work on files loomd owns and an agent never owns anything of loomd's
/// in between. Counted per directory: a fan-out's reviewers share one worktree.
///
/// The walk changes the owner of links, never what they point to (`AT_SYMLINK_NOFOLLOW`),
/// and it runs only while no agent process is alive in the tree (pid namespaces end with
/// their step), so nothing moves under it.
final class WorktreeOwnership: @unchecked Sendable {
    static let shared = WorktreeOwnership()

    private let lock = Lock()
    private var holders: [String: Int] = [:]

    /// Gives `directory` to `agent` unless a task process already holds it.
    func handOver(_ directory: String, to agent: AgentIdentity) {
        lock.withLock {
            holders[directory, default: 0] += 1
            if holders[directory] == 1 { Self.changeOwner(directory, uid: agent.uid, gid: agent.gid) }
        }
    }

    /// Takes `directory` back for loomd once no task process holds it.
    func takeBack(_ directory: String) {
        lock.withLock {
            holders[directory, default: 1] -= 1
            guard holders[directory] == 0 else { return }
            holders[directory] = nil
            Self.changeOwner(directory, uid: geteuid(), gid: getegid())
        }
    }

    /// Changes the owner of `path` and everything below it, links themselves included.
    static func changeOwner(_ path: String, uid: UInt32, gid: UInt32) {
        _ = fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW)
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return }
        for name in FileSystem.list(path) { changeOwner("\(path)/\(name)", uid: uid, gid: gid) }
    }
}
