/// What one process loom starts for a task may see and do, beyond the confinement's
/// defaults: where it works, what of the person's it may read, and whether it has a
/// network. Built by the caller that knows the task (the effect executor, the checks).
public struct LaunchProfile: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An agent's program (a harness, a `command:` provider).
        case agent
        /// One of the project's checks.
        case check
        /// A bundle's command step.
        case command
    }

    public var kind: Kind
    /// The only writable place: the task's worktree (or the project, for a bundle without one).
    public var workingDirectory: String
    /// The project whose task this is. It is hidden whole (its `.loom` with it: the state
    /// database, the config, other tasks' worktrees) and only `workingDirectory` is bound
    /// back; when the two are the same, the project is writable and its `.loom` hidden.
    public var projectDirectory: String?
    /// Made visible read-only: the repository's git directory (so git works in the
    /// worktree, but hooks, config and branches cannot be changed), the program itself
    /// when it lives somewhere hidden, a prompt file.
    public var readOnlyPaths: [String] = []
    /// Paths under `$HOME` the program needs to keep (a harness's login and settings),
    /// bound read-write when they exist; the rest of `$HOME` is an empty tmpfs.
    public var homePaths: [String] = []
    /// Agents keep the network (their API); checks and command steps have none unless
    /// they ask for it.
    public var network: Bool

    public init(
        kind: Kind,
        workingDirectory: String,
        projectDirectory: String? = nil,
        readOnlyPaths: [String] = [],
        homePaths: [String] = [],
        network: Bool
    ) {
        self.kind = kind
        self.workingDirectory = workingDirectory
        self.projectDirectory = projectDirectory
        self.readOnlyPaths = readOnlyPaths
        self.homePaths = homePaths
        self.network = network
    }
}
