import LoomEngine
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The one place where loom starts a process for a task. Agents' programs, checks and
/// command steps all come through here, so what confines them is written once and every
/// spawn's record says how it ran.
///
/// Under bubblewrap a task process gets its own pid, ipc and uts namespaces (it cannot see
/// loomd or any process outside its effect, and everything it starts dies with it), a new
/// session with no controlling terminal (no `TIOCSTI` into the person's terminal), no
/// capabilities, the machine read-only, a fresh `/tmp`, an empty `$HOME` and `/run/user`,
/// none of loom's own files (`Confinement.hiddenPaths`, the project with its `.loom`),
/// the repository's git directory read-only, and its working directory the only place it
/// can write. Checks and command steps also lose the network unless they ask for it.
public enum Launcher {
    /// How a launch went: the child's result, and the record of its confinement that goes
    /// into the effect's result (and so into the journal).
    public struct Outcome: Sendable {
        public var result: ChildProcess.Result
        public var record: JSONValue
        /// Set when the confinement could not be applied, so nothing was started: an
        /// operator's problem (install bwrap), not the task's, and not worth a retry.
        public var confinementProblem: String?
    }

    /// Places a task process never sees under bubblewrap, whatever the configuration says.
    static let alwaysCovered = ["/tmp", "/run/user"]

    /// Starts `argv` as `profile` describes under `confinement`, and waits for it (see
    /// `ChildProcess.run` for the rest of the parameters). A confinement that cannot be
    /// applied fails the launch: nothing runs unconfined by accident.
    public static func run(
        argv: [String],
        profile: LaunchProfile,
        confinement: Confinement,
        environment: [String: String],
        input: [UInt8] = [],
        timeoutMs: Int,
        outputLimitBytes: Int,
        idleTimeoutMs: Int? = nil,
        separateStandardError: Bool = false,
        onStart: (Int32) -> Void = { _ in },
        onOutput: ((ArraySlice<UInt8>) -> Void)? = nil
    ) -> Outcome {
        let options: [String]
        switch bubblewrapOptions(profile: profile, confinement: confinement, home: environment["HOME"]) {
        case .failure(let message):
            var result = ChildProcess.Result(
                exitCode: nil,
                signal: nil,
                output: [],
                truncated: false,
                timedOut: false,
                durationMs: 0
            )
            result.spawnError = message
            return Outcome(
                result: result,
                record: record(profile: profile, options: nil, uid: confinement.agent?.uid ?? getuid()),
                confinementProblem: message
            )
        case .success(let built):
            options = built
        }
        // Under an agent user of its own, the process is that user from its first
        // instruction, and owns the worktree only while it runs.
        let worktree = confinement.agent == nil ? nil : worktreeDirectory(profile)
        if let agent = confinement.agent, let worktree { WorktreeOwnership.shared.handOver(worktree, to: agent) }
        defer { if let worktree { WorktreeOwnership.shared.takeBack(worktree) } }
        let launch = ChildProcess.Launch(
            argv: (confinement.agent?.prefix() ?? []) + options + argv,
            directory: profile.workingDirectory,
            environment: environment,
            input: input,
            timeoutMs: timeoutMs,
            outputLimitBytes: outputLimitBytes,
            idleTimeoutMs: idleTimeoutMs,
            separateStandardError: separateStandardError
        )
        let result = ChildProcess.run(launch, onStart: onStart, onOutput: onOutput)
        return Outcome(
            result: result,
            record: record(
                profile: profile,
                options: confinement.mode == .none ? nil : options,
                uid: confinement.agent?.uid ?? getuid()
            )
        )
    }

    /// The record of one launch: whether it was confined, the profile's name, a digest of
    /// the exact bubblewrap options (so a proof shows which confinement ran, and two runs
    /// can be compared), the uid and whether it had a network.
    static func record(profile: LaunchProfile, options: [String]?, uid: UInt32 = getuid()) -> JSONValue {
        var record: [String: JSONValue] = [
            "confined": .bool(options != nil), "uid": .int(Int64(uid)), "network": .bool(profile.network),
        ]
        if let options {
            record["profile"] = .string("bwrap:\(profile.kind.rawValue)")
            record["digest"] = .string(SHA256.hash(Array(options.joined(separator: "\u{0}").utf8)).hexString)
        } else {
            record["profile"] = .string("none")
        }
        return .object(record)
    }

    enum Built {
        case success([String])
        case failure(String)
    }

    /// bwrap and its options, ending in `--` (empty when confinement is off).
    static func bubblewrapOptions(profile: LaunchProfile, confinement: Confinement, home: String?) -> Built {
        guard confinement.mode == .bubblewrap else { return .success([]) }
        guard let bwrap = confinement.bwrapPath else {
            return .failure(
                "confinement is bwrap but \(confinement.bwrapExecutable) is not installed: apt-get install \(Confinement.bwrapPackage) "
                    + "(or have the operator set confinement to none, which runs task processes unconfined)"
            )
        }
        var options = [
            bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session",
            "--cap-drop", "ALL",
        ]
        if !profile.network { options.append("--unshare-net") }
        options += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        var covered: [String] = []
        // loom's own places and the project are covered read-only (remounted at the end,
        // once what is bound back inside them is in place): a write there fails loudly
        // rather than landing in a tmpfs nobody reads. /tmp, $HOME and /run/user stay
        // writable scratch space.
        var readOnly: [String] = []
        func isCovered(_ path: String) -> Bool {
            covered.contains { path == $0 || path.hasPrefix($0 == "/" ? "/" : $0 + "/") }
        }
        func cover(_ path: String, writable: Bool, always: Bool = false) {
            guard path.hasPrefix("/"), path != "/", always || !isCovered(path) else { return }
            switch FileKind.of(path) {
            case .directory:
                options += ["--tmpfs", path]
                if !writable { readOnly.append(path) }
            case .other: options += ["--ro-bind", "/dev/null", path]
            case .missing: return
            }
            covered.append(path)
        }
        for path in alwaysCovered { cover(path, writable: true) }
        let home = home.flatMap { $0.count > 1 && $0.hasPrefix("/") ? $0 : nil }
        if let home { cover(home, writable: true) }
        for path in confinement.hiddenPaths { cover(normalized(path), writable: false) }
        if let project = profile.projectDirectory.map(normalized), project != normalized(profile.workingDirectory) {
            cover(project, writable: false, always: true)
        }
        // Bound back, in this order: the working directory writable, then what must stay
        // read-only inside it (a project's own .git when it is the working directory).
        let working = normalized(profile.workingDirectory)
        options += ["--bind", working, working]
        for path in profile.readOnlyPaths.map(normalized) where FileKind.of(path) != .missing {
            options += ["--ro-bind", path, path]
        }
        if let home {
            for relative in profile.homePaths where !relative.isEmpty && !relative.split(separator: "/").contains("..")
            {
                let path = "\(home)/\(relative)"
                options += ["--bind-try", path, path]
            }
        }
        if let project = profile.projectDirectory.map(normalized), project == working,
            FileKind.of("\(project)/.loom") == .directory
        {
            options += ["--tmpfs", "\(project)/.loom"]
            readOnly.append("\(project)/.loom")
        }
        for path in readOnly { options += ["--remount-ro", path] }
        options += ["--chdir", working, "--"]
        return .success(options)
    }

    /// The working directory when it is a worktree inside the project (handed to the agent's
    /// user while it runs), never the project itself: the person's files keep their owner.
    static func worktreeDirectory(_ profile: LaunchProfile) -> String? {
        guard let project = profile.projectDirectory.map(normalized) else { return nil }
        let root = project + "/.loom/worktrees/"
        let working = normalized(profile.workingDirectory)
        guard working.hasPrefix(root), let task = working.dropFirst(root.count).split(separator: "/").first else {
            return nil
        }
        return root + task
    }

    /// `path` without trailing or repeated slashes (bwrap compares mount points as given).
    static func normalized(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return path.hasPrefix("/") ? "/" + parts.joined(separator: "/") : parts.joined(separator: "/")
    }
}

/// What is at a path, as far as mounting over it goes.
enum FileKind: Equatable {
    case directory, other, missing

    static func of(_ path: String) -> FileKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        return info.st_mode & S_IFMT == S_IFDIR ? .directory : .other
    }
}
