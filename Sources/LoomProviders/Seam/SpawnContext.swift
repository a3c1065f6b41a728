import LoomConfiguration
import LoomEngine
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Everything about where and how a spawn runs that is not part of the kernel's request:
/// given by the daemon per spawn.
///
/// - `workingDirectory`: the task's git worktree. Child-process backends run there, and a
///   sandbox makes it the only writable place.
/// - `onChild`: told each child pid when it starts and again when it has been reaped, so
///   the daemon can record it (and kill leftovers after a crash) and can refuse gate
///   answers from an agent's own process tree. Called on the spawning thread.
/// - `onProgress`: streamed text as it arrives (model tokens, a CLI's output), for live
///   progress; nil when nobody watches. Called on whatever thread reads the stream; keep it
///   cheap. Text is redacted before it is passed on.
/// - `secrets`: where API keys come from; also what gets redacted.
/// - `confinement`: how child processes are confined (see `Launcher`); `projectDirectory`
///   is the project the task belongs to (hidden from them) and `readOnlyPaths` what they
///   may read of it (its repository's git directory).
/// - `environment`: what child processes get as their environment (and where their
///   executables are looked up: its `PATH`). Secrets are added per provider, by name.
public struct SpawnContext: Sendable {
    /// A child process's life, as `onChild` is told about it.
    public enum ChildEvent: Sendable, Equatable {
        case started(Int32)
        case ended(Int32)
    }

    public var workingDirectory: String
    public var secrets: SecretsLookup
    public var confinement: Confinement
    public var projectDirectory: String?
    public var readOnlyPaths: [String] = []
    public var onChild: @Sendable (ChildEvent) -> Void
    public var onProgress: (@Sendable (String) -> Void)?
    /// Whether the spawn's task has ended meanwhile (a waiting spawn then gives its turn up).
    public var isCancelled: @Sendable () -> Bool = { false }
    /// Told the record of each process launched for the spawn (`Launcher.Outcome.record`).
    public var onLaunch: @Sendable (JSONValue) -> Void = { _ in }
    public var environment: [String: String]
    /// The window and answer budget of the model this call goes to, set by the router per
    /// chain entry: HTTP backends of local servers send the answer's cap (and Ollama the window).
    public var budget: ContextBudget?
    /// Told when the spawn starts waiting for its model's endpoint (a text saying for which,
    /// and how many run) and when the wait ends (nil): status shows it as waiting, not running.
    public var onModelWait: (@Sendable (String?) -> Void)?

    public init(
        workingDirectory: String,
        secrets: SecretsLookup = SecretsLookup(),
        confinement: Confinement,
        projectDirectory: String? = nil,
        readOnlyPaths: [String] = [],
        environment: [String: String] = SpawnContext.inheritedEnvironment(),
        onChild: @escaping @Sendable (ChildEvent) -> Void = { _ in },
        onProgress: (@Sendable (String) -> Void)? = nil
    ) {
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.secrets = secrets
        self.confinement = confinement
        self.projectDirectory = projectDirectory
        self.readOnlyPaths = readOnlyPaths
        self.onChild = onChild
        self.onProgress = onProgress
    }

    /// The few variables a child needs from loomd's own environment (`PATH`, `HOME` for a
    /// CLI's login, locale), and nothing else: loomd's environment may hold keys.
    public static func inheritedEnvironment() -> [String: String] {
        var environment = ChildEnvironment.base()
        for name in [
            "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
            "XDG_CACHE_HOME",
        ] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }

    /// Passes streamed text on, redacted.
    func progress(_ text: String) {
        guard let onProgress, !text.isEmpty else { return }
        onProgress(secrets.redact(text))
    }
}
