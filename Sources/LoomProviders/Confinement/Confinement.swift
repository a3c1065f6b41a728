import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// How loom confines every process it starts for a task: an agent's program, a check, a
/// command step, and everything those start. Set once, by the operator (loomd's
/// `confinement` setting, `loomctl run --confinement`); `Launcher` applies it.
///
/// `.bubblewrap` is the default and fails closed: when bwrap is missing or cannot make its
/// namespaces, the spawn fails, naming the package. `.none` runs task processes as loomd's
/// own children, with loomd's view of the machine; it must be asked for by name, and every
/// spawn's record then says `"confined": false` (see docs/SECURITY.md).
public struct Confinement: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case bubblewrap = "bwrap"
        case none
    }

    public var mode: Mode
    /// loom's own places that no task process may see: loomd's state directory (keys,
    /// secrets, models), its socket's directory, its bundle directories and config file.
    /// A directory is covered by an empty tmpfs, a file by /dev/null.
    public var hiddenPaths: [String]
    /// bubblewrap's program: a name looked up on `/usr/bin:/bin`, or a path.
    public var bwrapExecutable = "bwrap"
    /// The user task processes run as, when agents have one of their own (the system
    /// service's `loom-agent`); nil runs them as loomd's own user.
    public var agent: AgentIdentity?

    public init(mode: Mode, hiddenPaths: [String] = []) {
        self.mode = mode
        self.hiddenPaths = hiddenPaths
    }

    /// The default: bubblewrap, hiding `paths`.
    public static func bubblewrap(hiding paths: [String]) -> Confinement {
        Confinement(mode: .bubblewrap, hiddenPaths: paths)
    }

    /// Task processes run as loomd's children, unconfined: an operator's explicit choice.
    public static let unconfined = Confinement(mode: .none)

    /// The package to install when bwrap is missing, named in every error about it.
    public static let bwrapPackage = "bubblewrap"

    /// Where the bwrap program is, or nil when it is not installed.
    public var bwrapPath: String? { ProgramRun.resolve(bwrapExecutable, path: "/usr/local/bin:/usr/bin:/bin") }

    /// Whether bubblewrap can confine a process here: nil when it can (or when confinement
    /// is off), else what is wrong, in words an operator can act on. loomd asks at start and
    /// says so in its log and status; each spawn still fails closed on its own.
    public func problem() -> String? {
        guard mode == .bubblewrap else { return nil }
        // The probe is the launcher itself with loom's own `/bin/true` and a check's profile
        // (no network): it can fail only where a real launch would.
        var probe = self
        probe.hiddenPaths = []
        probe.agent = nil
        let outcome = Launcher.run(
            argv: ["/bin/true"],
            profile: LaunchProfile(kind: .check, workingDirectory: "/tmp", network: false),
            confinement: probe,
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"],
            timeoutMs: 10_000,
            outputLimitBytes: 4_096
        )
        if let confinementProblem = outcome.confinementProblem { return confinementProblem }
        if let spawnError = outcome.result.spawnError { return "bwrap cannot be started: \(spawnError)" }
        if outcome.result.exitCode == 0 { return nil }
        let said = String(decoding: outcome.result.output, as: UTF8.self).trimmingSpaces()
        return
            "bwrap cannot make its namespaces here (exit \(outcome.result.exitCode.map(String.init) ?? "by a signal")): \(said)"
    }
}
