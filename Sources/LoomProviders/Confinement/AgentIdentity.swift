import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// The uid and gid task processes run as when the operator gives agents a user of their
/// own (loomd's `agentUser`, the system service's `loom-agent`): a uid that is never an
/// approver and owns nothing of loom's, so even a process that got past confinement could
/// read none of loom's files and would be refused at the socket by its uid alone.
///
/// not-a-task-process: `problem()` runs `/bin/true` through setpriv once at start, to see
/// whether loomd may switch users; task processes get the prefix through `Launcher`.
public struct AgentIdentity: Sendable, Equatable {
    public let name: String
    public let uid: UInt32
    public let gid: UInt32

    public init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    /// A user by name or number, from the user database; nil when there is none.
    public static func lookUp(_ user: String) -> AgentIdentity? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status: Int32
        if let uid = UInt32(user) {
            status = getpwuid_r(uid, &entry, &buffer, buffer.count, &found)
        } else {
            status = getpwnam_r(user, &entry, &buffer, buffer.count, &found)
        }
        guard status == 0, let record = found?.pointee else { return nil }
        return AgentIdentity(name: String(cString: record.pw_name), uid: record.pw_uid, gid: record.pw_gid)
    }

    /// The program that switches to this user before anything else runs (util-linux).
    static let switchProgram = "/usr/bin/setpriv"

    /// `argv` prefixed to run as this user, with no supplementary groups (so not in the
    /// socket's group, whatever the user database says).
    func prefix() -> [String] {
        [Self.switchProgram, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"]
    }

    /// Whether this process may start processes as this user: nil when it can, else what
    /// is missing, in words an operator can act on.
    public func problem() -> String? {
        guard access(Self.switchProgram, X_OK) == 0 else {
            return "\(Self.switchProgram) is missing: apt-get install util-linux"
        }
        let probe = ChildProcess.run(
            .init(
                argv: prefix() + ["/bin/true"],
                environment: ["PATH": "/usr/bin:/bin"],
                timeoutMs: 10_000,
                outputLimitBytes: 4_096
            )
        )
        if probe.exitCode == 0 { return nil }
        let said = String(decoding: probe.output, as: UTF8.self).trimmingSpaces()
        return
            "loomd cannot start processes as \(name) (uid \(uid)): it needs CAP_SETUID and CAP_SETGID (the system unit grants them)"
            + (said.isEmpty ? "" : ": \(said)")
    }
}
