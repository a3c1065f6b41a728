import LoomEngine
import LoomIPC
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Everything loomd is told at start: from flags, the environment and an optional config
/// file (JSON). Every limit has a name and a default.
public struct DaemonConfiguration: Sendable {
    public var stateDirectory: String
    public var socketPath: String
    public var configPath: String?
    public var foreground = true
    /// Directories holding bundles (each subdirectory with a bundle.json is one bundle).
    public var bundleDirectories: [String] = []
    /// A scripted-provider script (tests and the demo); without one, spawns fail clearly.
    public var providerScript: String?
    /// How every process started for a task is confined: bubblewrap unless the operator
    /// says `none` (see `Confinement`, docs/SECURITY.md).
    public var confinement: Confinement.Mode = .bubblewrap
    /// The user task processes run as (a name or uid), when agents get one of their own;
    /// nil runs them as loomd's user. Never an approver or submitter (refused at start).
    public var agentUser: String?
    /// The operator's notifier: a command (argv, no shell) run with a gate's card as JSON
    /// on stdin whenever a gate opens; nil announces nothing.
    public var notifier: [String]?
    public var notifierTimeoutMs = 10_000
    /// How much loomd logs: trace, debug, info (the default), notice, warning, error,
    /// critical (`LOOM_LOG`, `--log-level`).
    public var logLevel = "info"
    /// The bundle a submission without `bundle` runs: loom's main job, the code bundle,
    /// when it is loaded, else the first bundle loaded.
    public var defaultBundle = "code"
    /// Config-file keys a command-line flag set: a flag beats the file, at start and on
    /// every SIGHUP ("bundles", "defaultBundle", "providerScript").
    public var setByFlags: Set<String> = []

    /// Settings read once at start (the pool, the runner, the socket), with
    /// `providerScript`; a reload that changes one says it waits for a restart. The rest
    /// applies at once.
    static var restartOnly: [(name: String, path: WritableKeyPath<DaemonConfiguration, Int>)] {
        [
            ("effectsMax", \.effectsMax), ("maxFrameBytes", \.maxFrameBytes), ("retryAttemptsMax", \.retryAttemptsMax),
            ("retryBaseMs", \.retryBaseMs), ("retryCapMs", \.retryCapMs), ("rateLimitWaitMs", \.rateLimitWaitMs),
            ("rateLimitWaitsMax", \.rateLimitWaitsMax),
        ]
    }

    /// Takes the restart-only settings back from `running`, so the live configuration says
    /// what is in effect.
    mutating func keepRestartOnly(of running: DaemonConfiguration) {
        for setting in Self.restartOnly { self[keyPath: setting.path] = running[keyPath: setting.path] }
        providerScript = running.providerScript
        confinement = running.confinement
        agentUser = running.agentUser
        notifier = running.notifier
        notifierTimeoutMs = running.notifierTimeoutMs
    }

    /// The restart-only settings that differ between `self` and `other`, as "name (old → new)".
    func restartOnlyChanges(to other: DaemonConfiguration) -> [String] {
        var changes = Self.restartOnly.compactMap { setting in
            self[keyPath: setting.path] == other[keyPath: setting.path]
                ? nil : "\(setting.name) (\(self[keyPath: setting.path]) → \(other[keyPath: setting.path]))"
        }
        if notifier != other.notifier || notifierTimeoutMs != other.notifierTimeoutMs {
            changes.append("notifier")
        }
        if agentUser != other.agentUser {
            changes.append("agentUser (\(agentUser ?? "none") → \(other.agentUser ?? "none"))")
        }
        if confinement != other.confinement {
            changes.append("confinement (\(confinement.rawValue) → \(other.confinement.rawValue))")
        }
        if providerScript != other.providerScript {
            changes.append("providerScript (\(providerScript ?? "none") → \(other.providerScript ?? "none"))")
        }
        return changes
    }

    /// What task processes must never see: the state directory (keys, secrets, models),
    /// the socket's directory, the bundles and the config file.
    /// The agent user is resolved and checked here: it must exist, must not be loomd's own
    /// user, must be on neither allowlist (an agent's uid never answers a gate, whatever
    /// the config says), and loomd must be able to switch to it.
    public func confinementSettings() throws(LoomError) -> Confinement {
        let hidden =
            [stateDirectory, Daemon.directory(of: socketPath)] + bundleDirectories + (configPath.map { [$0] } ?? [])
        var settings = Confinement(mode: confinement, hiddenPaths: hidden.filter { !$0.isEmpty })
        guard let agentUser else { return settings }
        func refuse(_ message: String) -> LoomError { LoomError(.invalidInput, message, context: "checking agentUser") }
        guard let agent = AgentIdentity.lookUp(agentUser) else {
            throw refuse(
                "agentUser '\(agentUser)' is not a user on this machine (systemd-sysusers creates loom-agent from loom.sysusers.conf)"
            )
        }
        guard agent.uid != getuid() else {
            throw refuse("agentUser \(agent.name) is loomd's own user; agents need a user of their own")
        }
        for (list, uids) in [("approvers", approvers), ("submitters", submitters)] where uids.contains(agent.uid) {
            throw refuse(
                "agentUser \(agent.name) (uid \(agent.uid)) is listed in \(list): an agent's user may never answer gates or submit; remove it from \(list)"
            )
        }
        if let problem = agent.problem() { throw refuse(problem) }
        settings.agent = agent
        return settings
    }

    /// Fleet-wide concurrent effects (spawns and commands).
    public var effectsMax = 4
    /// Who may submit and who may answer gates (uids); the daemon's own uid and root by default.
    public var submitters: Set<UInt32>
    public var approvers: Set<UInt32>
    public var maxFrameBytes = 1 << 20
    /// Transient failures: attempts, and the backoff base and cap.
    public var retryAttemptsMax = 5
    public var retryBaseMs = 1_000
    public var retryCapMs = 60_000
    /// A rate limit waits this long and does not use up an attempt; after this many waits
    /// for one attempt the rate-limited result is delivered (each wait is a journal entry,
    /// so a provider that never lets up must not grow the journal for ever).
    public var rateLimitWaitMs = 60_000
    public var rateLimitWaitsMax = 30
    /// In-flight effects get this long to finish on SIGTERM before loomd exits anyway.
    public var shutdownGraceMs = 10_000
    /// LOOMD_CRASH_AT: a named point at which loomd SIGKILLs itself (crash tests only).
    public var crashPoint: CrashPoint?

    public init(stateDirectory: String, socketPath: String) {
        self.stateDirectory = stateDirectory
        self.socketPath = socketPath
        let me = getuid()
        submitters = [me, 0]
        approvers = [me, 0]
    }

    /// Defaults from the environment, as systemd and a person's shell provide it.
    public static func fromEnvironment(_ environment: [String: String]) -> DaemonConfiguration {
        let home = environment["HOME"] ?? "/tmp"
        let state =
            environment["STATE_DIRECTORY"].map { String($0.split(separator: ":").first ?? "") }
            ?? "\(home)/.local/state/loom"
        var configuration = DaemonConfiguration(
            stateDirectory: state,
            socketPath: DefaultSocketPath.resolve(environment)
        )
        if let bundles = environment["LOOM_BUNDLES"] {
            configuration.bundleDirectories = bundles.split(separator: ":").map(String.init)
        }
        configuration.crashPoint = environment["LOOMD_CRASH_AT"].flatMap(CrashPoint.init(rawValue:))
        if let level = environment["LOOM_LOG"], !level.isEmpty { configuration.logLevel = level }
        return configuration
    }

    /// Every key a config file may hold (docs/CONFIG.md lists each; a test checks it does).
    public static let settingNames: Set<String> = [
        "bundles", "defaultBundle", "providerScript", "confinement", "agentUser", "notifier", "notifierTimeoutMs",
        "effectsMax", "submitters", "approvers", "maxFrameBytes", "retryAttemptsMax", "retryBaseMs", "retryCapMs",
        "rateLimitWaitMs", "rateLimitWaitsMax", "shutdownGraceMs",
    ]

    /// Reads and applies a JSON config file.
    public mutating func apply(configFile path: String) throws(LoomError) {
        guard let text = FileSystem.readText(path) else {
            throw LoomError(
                .notFound,
                "cannot read the configuration \(path): \(Errno.current.description)",
                context: "reading the configuration"
            )
        }
        try apply(configText: text, file: path)
    }

    /// Applies a JSON config file over these settings. Unknown keys are errors (a typo must not pass).
    public mutating func apply(configText: String, file: String) throws(LoomError) {
        let json: JSONValue
        do { json = try JSONValue.parse(configText) } catch {
            throw LoomError(
                .invalidJSON,
                "\(file) is not JSON: \(error.message) at byte \(error.offset)",
                context: "reading the configuration"
            )
        }
        guard let object = json.objectValue else {
            throw LoomError(.invalidInput, "\(file) must hold a JSON object", context: "reading the configuration")
        }
        let known = Self.settingNames
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw LoomError(
                .invalidInput,
                "\(file): unknown setting '\(unknown)'; known: \(known.sorted().joined(separator: ", "))",
                context: "reading the configuration"
            )
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(LoomError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value.intValue, range.contains(Int(number)) else {
                throw LoomError(
                    .invalidInput,
                    "\(file): \(key) must be an integer in \(range.lowerBound)...\(range.upperBound)",
                    context: "reading the configuration"
                )
            }
            return Int(number)
        }
        func uids(_ key: String) throws(LoomError) -> Set<UInt32>? {
            guard let value = object[key] else { return nil }
            guard let list = value.arrayValue?.compactMap({ $0.intValue.flatMap { UInt32(exactly: $0) } }),
                list.count == value.arrayValue?.count
            else {
                throw LoomError(
                    .invalidInput,
                    "\(file): \(key) must be a list of uids",
                    context: "reading the configuration"
                )
            }
            return Set(list)
        }
        if !setByFlags.contains("bundles"), let bundles = object["bundles"]?.arrayValue {
            bundleDirectories = bundles.compactMap(\.stringValue)
        }
        if !setByFlags.contains("providerScript"), let script = object["providerScript"]?.stringValue {
            providerScript = script
        }
        if !setByFlags.contains("defaultBundle"), let name = object["defaultBundle"]?.stringValue {
            defaultBundle = name
        }
        if let value = object["notifier"] {
            guard let argv = value.arrayValue?.compactMap(\.stringValue), argv.count == value.arrayValue?.count,
                !argv.isEmpty, argv.count <= 64
            else {
                throw LoomError(
                    .invalidInput,
                    "\(file): notifier must be a command as a list of 1 to 64 strings, e.g. [\"notify-send\", \"loom\"]",
                    context: "reading the configuration"
                )
            }
            notifier = argv
        }
        if let value = try int("notifierTimeoutMs", 1_000...120_000) { notifierTimeoutMs = value }
        if !setByFlags.contains("agentUser"), let value = object["agentUser"] {
            guard let user = value.stringValue ?? value.intValue.map(String.init), !user.isEmpty else {
                throw LoomError(
                    .invalidInput,
                    "\(file): agentUser must be a user name or uid",
                    context: "reading the configuration"
                )
            }
            agentUser = user
        }
        if let value = object["confinement"] {
            guard let mode = value.stringValue.flatMap(Confinement.Mode.init(rawValue:)) else {
                throw LoomError(
                    .invalidInput,
                    "\(file): confinement must be \"bwrap\" or \"none\"",
                    context: "reading the configuration"
                )
            }
            if !setByFlags.contains("confinement") { confinement = mode }
        }
        if let value = try int("effectsMax", 1...64) { effectsMax = value }
        if let value = try int("maxFrameBytes", 4_096...(64 << 20)) { maxFrameBytes = value }
        if let value = try int("retryAttemptsMax", 1...20) { retryAttemptsMax = value }
        if let value = try int("retryBaseMs", 1...600_000) { retryBaseMs = value }
        if let value = try int("retryCapMs", 1...3_600_000) { retryCapMs = value }
        if let value = try int("rateLimitWaitMs", 0...86_400_000) { rateLimitWaitMs = value }
        if let value = try int("rateLimitWaitsMax", 0...1_000) { rateLimitWaitsMax = value }
        if let value = try int("shutdownGraceMs", 0...600_000) { shutdownGraceMs = value }
        if let value = try uids("submitters") { submitters = value }
        if let value = try uids("approvers") { approvers = value }
    }
}

/// Named points at which loomd kills itself with SIGKILL when `LOOMD_CRASH_AT` names one:
/// the crash tests restart it and check that nothing acknowledged was lost.
public enum CrashPoint: String, Sendable, CaseIterable {
    case afterIntent = "after-intent"
    case afterExecute = "after-execute"
    case afterDelivery = "after-delivery"
    /// Just after a retry is journaled, before its delay has run out.
    case duringBackoff = "during-backoff"
    case parked
    case recovery

    func hit(_ point: CrashPoint, once marker: String) {
        guard point == self else { return }
        // A marker file makes each point fire once per state directory, so the restarted
        // daemon gets past it.
        if access(marker, F_OK) == 0 { return }
        let fd = open(marker, O_CREAT | O_WRONLY, 0o600)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        kill(getpid(), SIGKILL)
    }
}
