import Dispatch
import Logging
import LoomCode
import LoomEngine
import LoomHost
import LoomIPC
import LoomIPCServer
import LoomProviders
import LoomScheduling
import LoomSystem
import LoomValues
import LoomViews

#if canImport(Glibc)
import Glibc
#endif

/// loomd's one lifecycle owner: it starts the parts in order (registry, projects and their
/// recovery, the socket, READY) and stops them in reverse (STOPPING, the socket, effects
/// get a grace period, projects close).
///
/// Parked tasks cost nothing: there is no polling and no timer; an answer arriving on the
/// socket runs on the project's queue and wakes the task. The only periodic work is the
/// watchdog ping, and only when systemd asked for one.
public final class Daemon: @unchecked Sendable {
    public static let version = "0.1.0"

    /// What SIGHUP replaces, read by every request thread: hence one lock around the three.
    private struct Reloadable {
        var configuration: DaemonConfiguration
        var bundles: [LoomBundle]
        var policy: PeerPolicy
    }
    private let reloadLock = Lock()
    private var reloadable: Reloadable

    public var configuration: DaemonConfiguration { reloadLock.withLock { reloadable.configuration } }
    var bundles: [LoomBundle] { reloadLock.withLock { reloadable.bundles } }
    var policy: PeerPolicy { reloadLock.withLock { reloadable.policy } }
    let notifier = SystemdNotifier()
    /// The operator's command run when a gate opens (nil: none configured).
    private(set) var gateNotifier: GateNotifier?
    /// Fleet-wide watchers (`watch` with `fleet: true`): told after every tick which project
    /// and task moved, so a fleet view refreshes from events, not a timer.
    private let fleetLock = Lock()
    private var fleetWatchers: [Int: @Sendable (JSONValue) -> Bool] = [:]
    private var nextFleetWatcherID = 0
    /// At most this many fleet watchers at once (each is a connection; the server bounds those too).
    static let fleetWatchersMax = 64

    /// Gate events already logged and announced as opened (once per loomd process).
    private let openedGates = RecentSet(capacity: 4_096)
    /// The structured log (stderr; the journal under systemd).
    let logger: Logger
    let metrics = DaemonMetrics()
    let registry: ProjectRegistry
    /// Signs every project's chain heads with loomd's key (created at first start).
    let signer: ChainSigner
    /// Projects whose database someone else wrote: not driven until an operator clears them.
    let quarantines: QuarantineList
    var runner: EffectRunner
    var server: IPCServer?
    /// Agent hosts that execute steps from outside (never approvers).
    let hosts = HostProcesses()
    private let projectsLock = Lock()
    /// Held while a project is being opened (see `openProject`).
    private let openingLock = Lock()
    private var projects: [String: Project] = [:]
    /// The scheduler's own queue: lifecycle, signals, the watchdog heartbeat.
    let control = DispatchQueue(label: "loom.control")
    private var signalSources: [DispatchSourceSignal] = []
    private var watchdogTimer: DispatchSourceTimer?
    private let clock = WallClock()
    private var lastStatusLine = ""
    /// Guards the clock's last token and the last STATUS= line.
    private let stateLock = Lock()
    /// Why the configured confinement cannot work here (bwrap missing or refused), found at
    /// start; each spawn still fails closed on its own. Shown by status and the metrics.
    private(set) var confinementProblem: String?

    public init(configuration: DaemonConfiguration) throws(LoomError) {
        guard FileSystem.makeDirectories(configuration.stateDirectory, mode: 0o750) else {
            throw LoomError(
                .io,
                "cannot create the state directory \(configuration.stateDirectory): \(Errno.current.description)",
                context: "starting loomd"
            )
        }
        registry = try ProjectRegistry(stateDirectory: configuration.stateDirectory)
        signer = try ChainSigner(stateDirectory: configuration.stateDirectory)
        quarantines = try QuarantineList(stateDirectory: configuration.stateDirectory)
        runner = EffectRunner(
            configuration: configuration,
            executor: EffectExecutor(
                provider: try Self.loadProvider(configuration),
                stateDirectory: configuration.stateDirectory,
                confinement: try configuration.confinementSettings()
            ),
            metrics: metrics
        )
        let level = StderrLogHandler.level(named: configuration.logLevel) ?? .info
        let journald = getenv("JOURNAL_STREAM") != nil
        logger = Logger(label: "loomd") { _ in StderrLogHandler(level: level, journald: journald) }
        if let argv = configuration.notifier {
            let log = logger
            gateNotifier = GateNotifier(argv: argv, timeoutMs: configuration.notifierTimeoutMs) { line in
                log.warning("\(line)")
            }
        }
        reloadable = Reloadable(
            configuration: configuration,
            bundles: try BundleCatalog.load(configuration.bundleDirectories),
            policy: PeerPolicy(
                submitters: configuration.submitters,
                approvers: configuration.approvers,
                agentUID: runner.executor.confinement.agent?.uid
            )
        )
    }

    /// The directory part of a path ("/" for a file at the root).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func loadProvider(_ configuration: DaemonConfiguration) throws(LoomError) -> ScriptedProvider? {
        guard let path = configuration.providerScript else { return nil }
        guard let text = FileSystem.readText(path) else {
            throw LoomError(.notFound, "cannot read the provider script \(path)", context: "starting loomd")
        }
        return try ScriptedProvider(scriptText: text)
    }

    /// The wall clock for time tokens, never going backwards within this process.
    func now() -> Int64 { clock.now() }

    // MARK: Lifecycle

    /// Starts everything and runs until a signal stops it. Returns the exit status.
    public func run() -> Int32 {
        ignoreSIGPIPE()
        raiseOpenFileLimit()
        // Dispatch runs work on many threads; one malloc arena per thread would keep what
        // each ever held. Two arenas keep a mostly idle daemon small.
        Memory.limitArenas(2)
        // Task processes must not read loomd's memory or environment (its keys), and
        // every process they start stays loomd's descendant however it forks, so a peer
        // on the socket cannot pass for a person by escaping the process tree.
        if !forbidInspection() {
            log(
                "cannot make loomd undumpable (PR_SET_DUMPABLE); same-uid processes may read its memory",
                level: .warning
            )
        }
        if !ChildReaper.shared.becomeSubreaper() {
            log("cannot become a child subreaper; orphaned task processes leave loomd's tree", level: .warning)
        }
        let confinement = runner.executor.confinement
        confinementProblem = confinement.problem()
        if let confinementProblem {
            log("\(confinementProblem); every agent, check and command step will fail until it is fixed", level: .error)
        } else if confinement.mode == .none {
            log(
                "confinement is none: agents, checks and command steps run unconfined, as loomd's own children (docs/SECURITY.md)",
                level: .warning
            )
        }
        let recoveryStarted = MonotonicClock.milliseconds()
        let leftovers = runner.childRecords.endLeftovers()
        if leftovers > 0 { log("ended \(leftovers) process(es) left running by a previous loomd") }
        notifier.extendTimeout(usec: 90_000_000)
        notifier.status("recovering \(registry.all.count) project(s)")
        for root in registry.all {
            do {
                _ = try openProject(root)
            } catch {
                log("project \(root) is not served yet (it recovers when next asked about): \(error)")
            }
        }
        // Recovery runs on each project's queue, all at once; READY waits for all of it.
        for project in allProjects { project.queue.sync {} }
        metrics.recoverySeconds = Double(MonotonicClock.milliseconds() - recoveryStarted) / 1_000
        if !registry.all.isEmpty {
            configuration.crashPoint?.hit(.recovery, once: "\(configuration.stateDirectory)/crash-recovery.done")
        }
        do {
            let fd = try listeningSocket()
            let server = IPCServer(socketFD: fd, serverVersion: "loomd \(Self.version)", limits: serverLimits()) {
                [weak self] reply in
                self?.handle(reply)
            }
            server.start()
            self.server = server
        } catch {
            log("cannot listen on \(configuration.socketPath): \(error)")
            return 1
        }
        installSignals()
        startWatchdog()
        notifier.ready(status: statusLine())
        log(
            "loomd \(Self.version) ready on \(listeningOn) (\(registry.all.count) project(s), bundles \(bundles.map(\.name).sorted().joined(separator: ", ")), recovery \(Int(metrics.recoverySeconds * 1_000)) ms)"
        )
        dispatchMain()
    }

    private func serverLimits() -> IPCServer.Limits {
        var limits = IPCServer.Limits()
        limits.maxFrameBytes = configuration.maxFrameBytes
        return limits
    }

    /// Where the server listens, for people reading the log.
    private var listeningOn = ""
    /// The socket file loomd bound itself (not one systemd passed): removed on a clean stop.
    private var boundSocketPath: String?

    private func listeningSocket() throws(IPCError) -> Int32 {
        if let fd = SystemdNotifier.listenFDs().first {
            listeningOn = "the socket systemd passed (fd \(fd))"
            return fd
        }
        listeningOn = configuration.socketPath
        let parent = String(
            configuration.socketPath[
                ..<(configuration.socketPath.lastIndex(of: "/") ?? configuration.socketPath.endIndex)
            ]
        )
        if !parent.isEmpty { FileSystem.makeDirectories(parent, mode: 0o750) }
        let fd = try IPCServer.bind(path: configuration.socketPath)
        boundSocketPath = configuration.socketPath
        return fd
    }

    /// The signals loomd handles on its control queue.
    static let controlSignals = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks the control signals in the calling thread and every thread started after it.
    /// Call first thing in main: libdispatch reads signals through a signalfd, which only
    /// sees a signal that every thread blocks; one thread that does not would take it, and
    /// a SIGTERM would be lost.
    public static func blockControlSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in controlSignals { sigaddset(&set, signalNumber) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private func installSignals() {
        for signalNumber in Self.controlSignals {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: control)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if signalNumber == SIGHUP { self.reload() } else { self.stop() }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// The watchdog ping comes from the control queue's own heartbeat, so a wedged
    /// scheduler stops pinging and systemd restarts it.
    private func startWatchdog() {
        guard let interval = SystemdNotifier.watchdogPingIntervalUsec() else { return }
        let timer = DispatchSource.makeTimerSource(queue: control)
        timer.schedule(deadline: .now(), repeating: .microseconds(Int(interval)))
        timer.setEventHandler { [weak self] in self?.notifier.watchdog() }
        timer.resume()
        watchdogTimer = timer
    }

    func stop() {
        notifier.stopping()
        log("stopping: no new effects; in-flight effects get \(configuration.shutdownGraceMs) ms")
        server?.stop()
        // A socket file left behind would read as a daemon that is not answering; one that
        // systemd owns stays (the socket unit listens on it between runs).
        if let boundSocketPath { unlink(boundSocketPath) }
        runner.drain(graceMs: configuration.shutdownGraceMs)
        // A clean stop leaves every head signed: no unsigned tail for verify to report.
        for project in allProjects { project.queue.sync { project.checkpointReporting(force: true) } }
        // Effects still running are abandoned here and re-issued by recovery on the next start.
        projectsLock.withLock { projects.removeAll() }
        exit(0)
    }

    func reload() {
        notifier.reloading()
        log("reloading the configuration")
        if let path = configuration.configPath {
            let running = configuration
            var updated = running
            do {
                try updated.apply(configFile: path)
                let waiting = running.restartOnlyChanges(to: updated)
                updated.keepRestartOnly(of: running)
                let newBundles = try BundleCatalog.load(updated.bundleDirectories)
                reloadLock.withLock {
                    reloadable = Reloadable(
                        configuration: updated,
                        bundles: newBundles,
                        policy: PeerPolicy(
                            submitters: updated.submitters,
                            approvers: updated.approvers,
                            agentUID: runner.executor.confinement.agent?.uid
                        )
                    )
                }
                for project in allProjects { project.queue.async { project.use(bundles: newBundles) } }
                log(
                    "reloaded: \(newBundles.count) bundle(s); new tasks use them, tasks under way keep the version they started with"
                )
                if !waiting.isEmpty {
                    log("these settings take effect at the next start: \(waiting.joined(separator: ", "))")
                }
            } catch {
                log("reload refused, keeping the running configuration: \(error)")
            }
        }
        notifier.ready(status: statusLine())
    }

    // MARK: Projects

    func project(_ root: String) -> Project? {
        projectsLock.withLock { projects[root] }
    }

    var allProjects: [Project] { projectsLock.withLock { projects.values.sorted { $0.root < $1.root } } }

    /// Opens (locks) a project once. Its first open, whoever asks for it, re-issues its
    /// unfinished effects: a project that could not be opened at start-up (a one-shot run
    /// held its lock, say) recovers when it is next asked about, not never.
    @discardableResult
    func openProject(_ root: String) throws(LoomError) -> Project {
        if let existing = project(root) { return existing }
        // Two first requests for one project at once: one opens it, the other waits and
        // gets it (a second open would fail on the project's own lock).
        return try openingLock.withLock { () throws(LoomError) -> Project in
            if let existing = project(root) { return existing }
            let opened = try Project(
                root: root,
                bundles: bundles,
                frameMaxBytes: configuration.maxFrameBytes,
                signer: signer,
                quarantines: quarantines,
                onQuarantine: { [weak self] root, reason in self?.quarantine(root, because: reason) },
                log: { [weak self] line in self?.log(line) },
                clock: { [unowned self] in self.now() }
            )
            watchRefusals(of: opened)
            projectsLock.withLock { projects[root] = opened }
            // First on the project's queue: every request's work runs after it.
            opened.queue.async { [self] in recover(opened) }
            return opened
        }
    }

    /// Refusals of a peer beyond its budget are counted (`loom_refusals_suppressed_total`)
    /// and summed up on record when the peer's window closes, or earlier by its next
    /// journaled refusal: a hostile peer cannot grow the journal without bound.
    private func watchRefusals(of project: Project) {
        project.refusalBudget = RefusalBudget()
        project.onRefusalSuppressed = { [weak self, weak project] kind, opensWindow in
            guard let self else { return }
            self.metrics.refusalsSuppressed.increment(kind)
            guard opensWindow, let project else { return }
            let windowMs = project.refusalBudget?.windowMs ?? Int64(RefusalBudget.windowMsDefault)
            project.queue.asyncAfter(deadline: .now() + .milliseconds(Int(windowMs))) { [weak self, weak project] in
                guard let project else { return }
                for failure in project.journalClosedRefusalWindows() {
                    self?.log("journaling a summary of suppressed refusals in \(project.root) failed: \(failure)")
                }
                project.hibernateSoon()
            }
        }
    }

    /// On the project's queue: re-issues what was in flight when the last loomd stopped.
    func recover(_ project: Project) {
        do {
            let engine = try project.engine
            if let entry = quarantines.entry(for: project.root) {
                log(
                    "project \(project.root) stays quarantined (since \(entry.sinceMs) ms): \(entry.reason); nothing of it runs until `loomctl projects clear-quarantine -C \(project.root)`"
                )
                return project.hibernateSoon()
            }
            // Worktrees of tasks that ended while no daemon watched (the branch stays).
            WorktreeJanitor.sweep(project: project.root) { task in (try? engine.task(task))?.status.isFinished ?? true }
            let pending = try engine.pendingEffects()
            metrics.recovered(pending.count)
            schedule(pending, in: project)
        } catch {
            log("recovering \(project.root) failed: \(error)")
        }
        // A project with nothing running closes its connection again.
        project.hibernateSoon()
    }

    /// Stops serving a project: it is closed (and its lock released) once the work queued
    /// on it is done. Effects still running deliver nowhere; their intents stay pending in
    /// the project's ledger, and adding the project again re-issues them.
    func closeProject(_ root: String) {
        guard let closed = projectsLock.withLock({ projects.removeValue(forKey: root) }) else { return }
        closed.queue.async { closed.closeWatchers() }
    }

    /// What every line about an effect carries.
    static func metadata(_ effect: Effect, in project: Project) -> Logger.Metadata {
        [
            "project": "\(project.root)", "task": "\(effect.taskID)", "effect": "\(effect.key)",
            "kind": "\(effect.kind.rawValue)",
        ]
    }

    /// An effect's result as a log line: finished (info) or failed (warning), with the
    /// error as the provider reported it (results are redacted of secrets before this).
    private func logFinished(_ effect: Effect, _ result: JSONValue, in project: Project) {
        var metadata = Self.metadata(effect, in: project)
        if let errorClass = result["errorClass"]?.stringValue {
            metadata["class"] = "\(errorClass)"
            metadata["error"] = "\(String((result["error"]?.stringValue ?? "").prefix(300)))"
            logger.warning("effect failed", metadata: metadata)
        } else {
            metadata["status"] = "\(result["status"]?.stringValue ?? "?")"
            if let provider = result["provider"]?.stringValue, !provider.isEmpty {
                metadata["model"] = "\(provider):\(result["model"]?.stringValue ?? "")"
            }
            logger.info("effect finished", metadata: metadata)
        }
    }

    /// Hands effects to the runner; their results come back on the project's queue.
    func schedule(_ effects: [Effect], in project: Project) {
        // A host-executed task's spawns wait in the ledger for its host (`effects.pending`);
        // its command and handler steps run here as usual. A quarantined project runs
        // nothing: its intents stay pending for after the clear.
        let (effects, lookupFailed) = ScheduleDecision.split(
            effects,
            quarantined: project.isQuarantined,
            executor: project.executorChoice
        )
        for (effect, error) in lookupFailed { retryExecutorLookup(effect, in: project, after: error, tries: 0) }
        guard !effects.isEmpty else { return }
        configuration.crashPoint?.hit(.afterIntent, once: "\(configuration.stateDirectory)/crash-after-intent.done")
        for effect in effects { logger.info("effect started", metadata: Self.metadata(effect, in: project)) }
        let now = self.now()
        runner.run(
            effects,
            directory: project.root,
            resume: { effect in
                // A retry journaled before loomd (re)started resumes at its attempt and due time.
                // Unreadable: start afresh; `recordRetry` still refuses to journal a decision twice.
                RetryResume.from((try? project.engine.retries(key: effect.key)) ?? [], nowMs: now)
            },
            retrying: { [weak self, weak project] effect, attempt, errorClass, delayMs, message, wait, then in
                guard let self, let project else { return then(false) }
                self.logger.info(
                    "effect retried",
                    metadata: Self.metadata(effect, in: project).merging([
                        "attempt": "\(attempt)", "class": "\(errorClass)", "delayMs": "\(delayMs)",
                        "error": "\(message.prefix(300))",
                    ]) { $1 }
                )
                project.queue.async {
                    do {
                        let started = try project.engine.recordRetry(
                            key: effect.key,
                            attempt: attempt,
                            errorClass: errorClass,
                            delayMs: delayMs,
                            message: message,
                            wait: wait
                        )
                        self.configuration.crashPoint?.hit(
                            .duringBackoff,
                            once: "\(self.configuration.stateDirectory)/crash-during-backoff.done"
                        )
                        // A retry past the spawn cap ended the task: do not spend the attempt.
                        then((try? project.engine.task(effect.taskID))??.status.isFinished != true)
                        self.schedule(started, in: project)
                        self.afterTick(project, task: effect.taskID)
                    } catch {
                        // As before the retry was on record: a journal that cannot take the note
                        // will refuse the result too, and that failure is logged where it happens.
                        self.log("journaling the retry of \(effect.key) failed: \(error)")
                        // A quarantined project spends nothing more: no retry.
                        then(!project.isQuarantined)
                    }
                }
            },
            progress: { [weak project] effect, text in
                guard let project else { return }
                project.queue.async { project.publishProgress(effect, text: text) }
            }
        ) { [weak self, weak project] effect, result in
            guard let self, let project else { return }
            self.configuration.crashPoint?.hit(
                .afterExecute,
                once: "\(self.configuration.stateDirectory)/crash-after-execute.done"
            )
            project.queue.async {
                self.deliver(effect, result, in: project)
            }
        }
    }

    /// A spawn whose executor could not be read (the store failed reading its submission):
    /// looked up again with backoff, each try on record (`effect_retry`, class
    /// `executor_lookup`), and after `ScheduleDecision.lookupRetriesMax` tries its task is
    /// ended on record. Never left waiting for the next start of loomd.
    func retryExecutorLookup(_ effect: Effect, in project: Project, after error: LoomError, tries: Int) {
        guard tries < ScheduleDecision.lookupRetriesMax else {
            log("ending \(effect.taskID): who executes \(effect.key) could not be read: \(error)")
            do {
                let started = try project.engine.cancel(
                    task: effect.taskID,
                    reason: "who executes \(effect.key) could not be read: \(error.message)",
                    by: .system
                )
                schedule(started, in: project)
            } catch {
                log("ending \(effect.taskID) after failed executor lookups failed too: \(error)")
            }
            return afterTick(project, task: effect.taskID)
        }
        let delayMs = ScheduleDecision.lookupRetryBaseMs << tries
        do {
            try project.engine.recordRetry(
                key: effect.key,
                attempt: effect.attempt,
                errorClass: ScheduleDecision.lookupErrorClass,
                delayMs: delayMs,
                message: error.message,
                // Numbered: without it the second try is taken for the first one repeated
                // (`recordRetry` journals a decision once) and is not on record.
                wait: tries + 1
            )
        } catch {
            log("journaling the executor lookup retry of \(effect.key) failed: \(error)")
        }
        project.queue.asyncAfter(deadline: .now() + .milliseconds(delayMs)) { [weak self, weak project] in
            guard let self, let project else { return }
            guard (try? project.engine.task(effect.taskID))??.status.isFinished != true else { return }
            switch project.executorChoice(effect.taskID) {
            case .daemon: self.schedule([effect], in: project)
            case .host: return
            case .unknown(let again): self.retryExecutorLookup(effect, in: project, after: again, tries: tries + 1)
            }
        }
    }

    /// How often a delivery the store cannot take for now is tried again, and the first delay
    /// (LoomScheduling's `DeliveryFailure`, shared with the simulator).
    static let deliveryRetriesMax = DeliveryFailure.retriesMax
    static let deliveryRetryBaseMs = DeliveryFailure.retryBaseMs

    /// On the project's queue. `retry` counts the tries after a store failure; `standIn` says
    /// `result` already replaces one the journal refused.
    private func deliver(
        _ effect: Effect,
        _ result: JSONValue,
        in project: Project,
        retry: Int = 0,
        standIn: Bool = false
    ) {
        project.forgetProgress(effect.key)
        let started = MonotonicClock.milliseconds()
        do {
            let outcome = try project.engine.deliver(key: effect.key, result: result)
            metrics.tickSeconds.observe(Double(MonotonicClock.milliseconds() - started) / 1_000)
            logFinished(effect, result, in: project)
            configuration.crashPoint?.hit(
                .afterDelivery,
                once: "\(configuration.stateDirectory)/crash-after-delivery.done"
            )
            if case .applied(let more) = outcome { schedule(more, in: project) }
            afterTick(project, task: effect.taskID)
        } catch {
            log("delivering \(effect.key) failed: \(error)")
            let replacement = standIn ? nil : effect.standIn(forRefused: result, because: error)
            let reason: String
            switch DeliveryFailure.decide(error, key: effect.key, retry: retry, standInPossible: replacement != nil) {
            case .standIn:
                guard let replacement else { return }
                return deliver(effect, replacement, in: project, standIn: true)
            case .quarantined:
                // Quarantined: nothing more is written, not even a cancel.
                return log("\(effect.key) stays pending: \(project.root) is quarantined")
            case .leavePending:
                return log("\(effect.key) stays pending: the next start of loomd runs it again")
            case .retry(let delayMs):
                log("delivering \(effect.key) again in \(delayMs) ms")
                project.queue.asyncAfter(deadline: .now() + .milliseconds(delayMs)) { [weak self, weak project] in
                    guard let self, let project else { return }
                    self.deliver(effect, result, in: project, retry: retry + 1, standIn: standIn)
                }
                return
            case .cancelTask(let why):
                if error.code == .invariantViolation {
                    error.violations.forEach { metrics.violations.increment($0.rule) }
                }
                reason = why
            }
            // Left pending, the task would wait for ever and hold the project's queue: end
            // it, on record, for a person to look at.
            do {
                let started = try project.engine.cancel(task: effect.taskID, reason: reason, by: .system)
                schedule(started, in: project)
            } catch {
                log("ending \(effect.taskID) after a refused delivery failed: \(error)")
            }
            afterTick(project, task: effect.taskID)
        }
    }

    /// Records that `root`'s database was written by someone else (on the project's queue,
    /// as its store fences itself): persisted, logged, counted in the metrics.
    func quarantine(_ root: String, because reason: String) {
        do {
            guard try quarantines.add(root, reason: reason, atMs: now()) else { return }
        } catch {
            log("recording the quarantine of \(root) failed (it holds until loomd stops): \(error)")
        }
        log(
            "QUARANTINED project \(root): \(reason). No ticks or effects run for it. Check it with `loomctl verify -C \(root)`, then clear it with `loomctl projects clear-quarantine -C \(root)`"
        )
    }

    /// Removes an ended task's worktree off the project's queue (git may take a while);
    /// its branch stays.
    func releaseWorkspace(of task: String, in project: Project) {
        let root = project.root
        DispatchQueue.global().async { WorktreeJanitor.release(project: root, task: task) }
    }

    /// After any tick of a project: watchers, counts, completion time, the signed chain head,
    /// the parked crash point.
    /// - Parameter checkpoint: sign the head now (a gate answer, a cancel); a task that
    ///   parked or ended is signed anyway, other ticks every `entriesPerCheckpoint`.
    func afterTick(_ project: Project, task: String, checkpoint: Bool = false) {
        project.publish()
        project.refreshCounts()
        defer { project.hibernateSoon() }
        let record = try? (try project.engine).task(task)
        project.checkpointReporting(
            force: checkpoint || record.map { $0.status.isFinished || $0.status == .parked } ?? false
        )
        tellFleet(project, task: task, status: record?.status)
        if let record {
            if record.status.isFinished {
                metrics.completed(atSeconds: Double(now()) / 1_000)
                runner.dropWaitingRetries(task: task, directory: project.root)
                releaseWorkspace(of: task, in: project)
            }
            if record.status == .parked {
                configuration.crashPoint?.hit(.parked, once: "\(configuration.stateDirectory)/crash-parked.done")
                announceGate(of: record, in: project)
            }
        }
        sendStatusIfChanged()
    }

    /// Adds a fleet watcher; nil when too many watch already.
    func addFleetWatcher(_ send: @escaping @Sendable (JSONValue) -> Bool) -> Int? {
        fleetLock.withLock {
            guard fleetWatchers.count < Self.fleetWatchersMax else { return nil }
            nextFleetWatcherID += 1
            fleetWatchers[nextFleetWatcherID] = send
            return nextFleetWatcherID
        }
    }

    func removeFleetWatcher(_ id: Int) { fleetLock.withLock { _ = fleetWatchers.removeValue(forKey: id) } }

    /// Tells every fleet watcher that `task` of `project` moved (on the project's queue).
    private func tellFleet(_ project: Project, task: String, status: TaskStatus?) {
        let watchers = fleetLock.withLock { fleetWatchers }
        guard !watchers.isEmpty else { return }
        let event: JSONValue = .object([
            "kind": "changed", "project": .string(project.root), "task": .string(task),
            "status": status.map { .string($0.rawValue) } ?? .null,
        ])
        for (id, send) in watchers where !send(event) { removeFleetWatcher(id) }
    }

    /// Runs the notifier for the gate `task` waits at, once per gate event (on the
    /// project's queue: it reads the card; the command itself runs on its own queue).
    private func announceGate(of task: TaskRecord, in project: Project) {
        guard let engine = try? project.engine, let gate = try? engine.waitingGate(task: task.id),
            openedGates.insert(gate.eventID)
        else { return }
        logger.info(
            "gate opened",
            metadata: [
                "project": "\(project.root)", "task": "\(task.id)", "gate": "\(gate.eventID)", "role": "\(gate.role)",
                "policy": "\(gate.policy.rawValue)",
            ]
        )
        guard let gateNotifier else { return }
        let card = try? GateCard.build(engine: engine, task: task, gate: gate)
        gateNotifier.announce(
            .object([
                "project": .string(project.root), "task": .string(task.id), "event": .string(gate.eventID),
                "role": .string(gate.role), "summary": .string(card?.summary ?? "gate \(gate.role) waits"),
                "card": card?.json ?? .null,
            ]),
            event: gate.eventID
        )
    }

    /// STATUS= only when the line changes: sd_notify is a syscall to a socket that may be
    /// slow to drain, so it stays off the per-tick path otherwise.
    func sendStatusIfChanged() {
        let line = statusLine()
        let changed = stateLock.withLock { () -> Bool in
            guard line != lastStatusLine else { return false }
            lastStatusLine = line
            return true
        }
        if changed { notifier.status(line) }
    }

    /// One line for systemd's STATUS=, from each project's in-memory counts.
    func statusLine() -> String {
        let projects = allProjects
        let totals = projects.map(\.activeCounts).reduce(into: (0, 0, 0)) {
            $0 = ($0.0 + $1.running, $0.1 + $1.parked, $0.2 + $1.queued)
        }
        return "\(projects.count) project(s), \(totals.0) running, \(totals.1) parked, \(totals.2) queued"
    }

    /// A line of the daemon's own story (start, stop, reloads, trouble), at `level`.
    func log(_ line: String, level: Logger.Level = .notice) { logger.log(level: level, "\(line)") }
}

func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

/// Every supervised project keeps its lock file open; lift the soft limit to the hard one.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else {
        return
    }
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}
