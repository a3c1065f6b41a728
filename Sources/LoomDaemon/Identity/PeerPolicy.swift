import LoomEngine
import LoomIPC
import LoomIPCServer
import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Who a socket peer is, and what it may do.
///
/// Every request's actor is the peer's uid, gid, pid and executable (SO_PEERCRED and
/// /proc). A peer whose process ancestry includes a process loomd started for an effect,
/// or loomd itself, is an agent, whatever its uid: it is journaled as such, and the
/// kernel's rules refuse its gate answers. (Confined task processes cannot reach the
/// socket at all; this is the wall behind that one.)
struct PeerPolicy: Sendable {
    let submitters: Set<UInt32>
    let approvers: Set<UInt32>
    /// The agents' own user, when they have one: a peer with this uid is an agent whatever
    /// its ancestry, and may neither submit nor answer, whatever a reloaded config lists.
    var agentUID: UInt32? = nil
    /// How far up the process tree to look; deeper trees count as agents (refuse on doubt).
    static let ancestryDepthMax = 64

    func caller(for peer: PeerCredentials, spawned: Set<Int32>) -> Caller {
        let principal: Principal
        if let agentUID, peer.uid == agentUID {
            principal = Principal(kind: .agent, id: "agent-user:\(agentUID)")
        } else if let ancestor = agentAncestor(of: peer.pid, spawned: spawned) {
            principal = Principal(kind: .agent, id: "agent-process:\(ancestor)")
        } else {
            principal = .human(uid: peer.uid)
        }
        return Caller(principal: principal, uid: peer.uid, gid: peer.gid, pid: peer.pid, executable: peer.executable)
    }

    /// The pid of the loomd-spawned ancestor of `pid`, if any, or loomd's own pid for any
    /// other descendant of loomd: loomd starts no person, and as a child subreaper it
    /// adopts every orphan below it, so a process that double-forks out of its effect's
    /// tree is still found here, however it forks.
    func agentAncestor(of pid: Int32, spawned: Set<Int32>, daemon: Int32 = getpid()) -> Int32? {
        var current = pid
        for _ in 0..<Self.ancestryDepthMax {
            if spawned.contains(current) || current == daemon { return current }
            guard current > 1, let parent = Self.parentPid(of: current) else { return nil }
            current = parent
        }
        return current
    }

    /// The parent pid (field 4 of /proc/<pid>/stat).
    static func parentPid(of pid: Int32) -> Int32? {
        ProcessStat.field(4, of: pid).flatMap { Int32($0) }
    }

    func maySubmit(_ peer: PeerCredentials) -> Bool { peer.uid != agentUID && submitters.contains(peer.uid) }
    func mayAnswer(_ peer: PeerCredentials) -> Bool { peer.uid != agentUID && approvers.contains(peer.uid) }
}
