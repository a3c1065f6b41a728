import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Runs git in one directory, without a shell, with a deadline and bounded output.
///
/// Every call gets a fixed, minimal environment: no prompt can block a daemon thread, and
/// the person's locale cannot change the text we parse.
///
/// not-a-task-process: git is loom's own tool, run with the repository named explicitly and
/// hooks and fsmonitor off, so nothing an agent wrote in a worktree runs through it.
public struct Git: Sendable {
    public let directory: String
    public var timeoutMs = 120_000
    public var outputLimitBytes = 4 << 20
    /// Options put before every command: a worktree's pinned repository (see
    /// `TaskWorkspace.git()`), never one git discovers from files an agent can write.
    var leadingOptions: [String] = []

    public init(directory: String) {
        self.directory = directory
    }

    /// Git in `workTree` with its repository named, not discovered: `--git-dir` and
    /// `--work-tree` make git ignore the worktree's own `.git` file, and no fsmonitor or
    /// hook command configured anywhere runs.
    init(workTree: String, gitDirectory: String) {
        directory = workTree
        leadingOptions = [
            "--git-dir=\(gitDirectory)", "--work-tree=\(workTree)", "-c", "core.fsmonitor=false", "-c",
            "core.hooksPath=/dev/null",
        ]
    }

    public struct Output: Sendable {
        public var exitCode: Int32?
        public var text: String
        public var truncated: Bool
        public var ok: Bool { exitCode == 0 }
        /// The output's first line, trimmed, for error messages.
        public var firstLine: String {
            text.split(separator: "\n", omittingEmptySubsequences: true).first.map { String($0).trimmingSpaces() } ?? ""
        }
    }

    /// The environment every git child gets (and the checks, which run in the same worktree).
    public static var environment: [String: String] {
        var environment = ChildEnvironment.base()
        environment["LC_ALL"] = "C.UTF-8"
        environment["GIT_TERMINAL_PROMPT"] = "0"
        // Reads never write: `git status` would otherwise refresh the person's index file.
        environment["GIT_OPTIONAL_LOCKS"] = "0"
        return environment
    }

    /// How git is started: under `setpriv --pdeathsig KILL` when util-linux's setpriv is
    /// installed, so a git child is killed when the loomd thread waiting for it dies (a
    /// `kill -9` of loomd leaves no `git gc` or `git worktree add` running on). git and setpriv
    /// are found on loomd's PATH once; without git, every call fails saying to install it.
    struct Launch: Sendable {
        var git: String?
        var setpriv: String?

        static let found = Launch(
            git: ChildEnvironment.which("git", path: ChildEnvironment.startPath),
            setpriv: ChildEnvironment.which("setpriv", path: ChildEnvironment.startPath)
        )

        func argv(_ arguments: [String]) -> [String]? {
            guard let git else { return nil }
            guard let setpriv else { return [git] + arguments }
            return [setpriv, "--pdeathsig", "KILL", "--", git] + arguments
        }
    }

    /// Runs `git ARGS`; a git that cannot be started at all is a `GitError`.
    public func run(_ arguments: [String]) throws(GitError) -> Output {
        try run(arguments, launch: .found)
    }

    func run(_ arguments: [String], launch: Launch) throws(GitError) -> Output {
        guard let argv = launch.argv(leadingOptions + arguments) else {
            throw GitError(
                "git is not available (not found on PATH \(ChildEnvironment.startPath)); install git",
                command: arguments
            )
        }
        let result = ChildProcess.run(
            .init(
                argv: argv,
                directory: directory,
                environment: Self.environment,
                timeoutMs: timeoutMs,
                outputLimitBytes: outputLimitBytes
            )
        )
        if let spawnError = result.spawnError {
            throw GitError("git is not available (\(spawnError)); install git", command: arguments)
        }
        if result.timedOut {
            throw GitError("git \(arguments.first ?? "") did not finish within \(timeoutMs) ms", command: arguments)
        }
        return Output(
            exitCode: result.exitCode,
            text: String(decoding: result.output, as: UTF8.self),
            truncated: result.truncated
        )
    }

    /// Runs `git ARGS` and returns its trimmed output, or throws with git's own first line.
    @discardableResult
    public func check(_ arguments: [String], _ what: String) throws(GitError) -> String {
        let output = try run(arguments)
        guard output.ok else { throw GitError("\(what): \(output.firstLine)", command: arguments) }
        return output.text.trimmingSpaces()
    }
}

/// A git operation that failed, with the command for context.
public struct GitError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let command: [String]

    public init(_ message: String, command: [String]) {
        self.message = message
        self.command = command
    }

    public var description: String { message }
}
