#if canImport(Glibc)
import Glibc
#endif

/// How child-process backends are confined.
///
/// `.bubblewrap` runs each child under `bwrap`: the whole file system read-only, a fresh
/// `/tmp`, `/dev` and `/proc`, the task's worktree the only writable place, and each of
/// `hiddenDirectories` (loomd's socket directory, its state directory) covered by an
/// empty tmpfs so that nothing in them can be reached. The child gets its own pid
/// namespace and session and dies with its parent. The network stays (a CLI agent needs
/// its API); what it cannot reach is loomd's control socket. HTTP backends run inside
/// loomd and are not affected.
public enum Sandbox: Sendable, Equatable {
    case none
    case bubblewrap(hiddenDirectories: [String], executable: String = "bwrap")

    /// The sandbox's name in configuration and on the command line.
    public var name: String {
        switch self {
        case .none: "none"
        case .bubblewrap: "bwrap"
        }
    }

    /// `argv` wrapped for this sandbox, writable only at `workingDirectory`.
    /// `readablePaths` are bound read-only over the fresh `/tmp` (a prompt file).
    public func wrap(_ argv: [String], workingDirectory: String, readablePaths: [String] = []) -> [String] {
        switch self {
        case .none:
            return argv
        case .bubblewrap(let hidden, let executable):
            var wrapped = [executable, "--die-with-parent", "--unshare-pid", "--new-session",
                           "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
            // Hidden directories first, so that a worktree inside one (unusual) stays reachable.
            for directory in hidden { wrapped += ["--tmpfs", directory] }
            for path in readablePaths { wrapped += ["--ro-bind", path, path] }
            wrapped += ["--bind", workingDirectory, workingDirectory, "--chdir", workingDirectory, "--"]
            return wrapped + argv
        }
    }

    /// Whether bubblewrap can create its namespaces here (containers often forbid it):
    /// nil when it can, else what it said.
    public static func bubblewrapProblem(executable: String = "bwrap") -> String? {
        let probe = ChildProcess.run(argv: [executable, "--ro-bind", "/", "/", "--unshare-pid", "--", "/bin/true"],
                                     environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], timeoutMs: 10_000, outputLimitBytes: 4_096)
        if let spawnError = probe.spawnError { return spawnError }
        if probe.exitCode == 0 { return nil }
        return "bwrap exited with \(probe.exitCode.map(String.init) ?? "a signal"): \(String(decoding: probe.output, as: UTF8.self))"
    }
}
