import Dispatch
import LoomCode
import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Drives one task of a project to its end in this process, without a daemon: the same
/// engine, gates and rules as loomd, the same effect executor, so the audit trail is the
/// same. Only who waits for whom differs: a gate that needs a person is asked through
/// `OneShotPrompter` (a terminal), and without one the run stops, parked, for `--resume`.
///
/// It holds the project's lock for the whole run, so loomd and a run never drive the same
/// project at once. Everything it has done is durable after each tick: an interruption
/// loses at most the effects in flight, which `resume` runs again with the same keys.
public final class OneShotRun {
    public struct Options: Sendable {
        public var project: String
        public var bundles: [LoomBundle]
        public var bundle: String?
        public var flow: String?
        public var policy = TaskPolicy()
        public var input: String?
        /// Continue the project's unfinished task instead of submitting one.
        public var resume = false
        public var executor: EffectExecutor
        /// Effects of one step run at most this many at a time (a review fan-out).
        public var concurrency = 4

        public init(project: String, bundles: [LoomBundle], executor: EffectExecutor) {
            self.project = project
            self.bundles = bundles
            self.executor = executor
        }
    }

    public enum Outcome: Sendable, Equatable {
        case finished(TaskRecord)
        /// Waiting at a gate a person must answer, and nobody to ask.
        case parked(TaskRecord, GateRecord)
    }

    private let options: Options
    private let prompter: any OneShotPrompter
    private let person: Caller
    private let clock = WallClock()

    public init(options: Options, prompter: any OneShotPrompter, person: Caller) {
        self.options = options
        self.prompter = prompter
        self.person = person
    }

    public func run() throws(LoomError) -> Outcome {
        guard LoomDirectory.ensure(project: options.project) else {
            throw LoomError(.io, "cannot create \(options.project)/.loom", context: "starting a run")
        }
        let lock: ProjectLock
        do {
            lock = try ProjectLock(projectRoot: options.project)
        } catch  where error.code == .conflict {
            throw LoomError(
                .conflict,
                "\(options.project) is driven by loomd or another run; submit to loomd with `loomctl submit`, or wait for the other run",
                context: "starting a run"
            )
        }
        defer { withExtendedLifetime(lock) {} }
        let engine = try Engine(
            store: Store(path: "\(options.project)/.loom/state.db"),
            bundles: options.bundles,
            clock: clock.now
        )
        let taskID = try start(engine)
        prompter.progress(
            "\(taskID): \(try engine.task(taskID)?.bundle ?? "")/\(try engine.task(taskID)?.flow ?? "") in \(options.project)"
        )
        while true {
            guard let task = try engine.task(taskID) else {
                throw LoomError(.internal, "task \(taskID) vanished", context: "running")
            }
            if task.status.isFinished {
                WorktreeJanitor.release(project: options.project, task: taskID)
                return .finished(task)
            }
            let pending = try engine.pendingEffects().filter { $0.taskID == taskID }
            if !pending.isEmpty {
                try execute(pending, engine: engine)
                continue
            }
            guard task.status == .parked, let gate = try engine.waitingGate(task: taskID) else {
                throw LoomError(
                    .conflict,
                    "task \(taskID) is \(task.status.rawValue) behind another unfinished task of this project; finish that one first (loomctl run --resume)",
                    context: "running"
                )
            }
            guard let decision = prompter.decide(gate: gate, task: task) else { return .parked(task, gate) }
            do {
                _ = try engine.answerGate(
                    task: taskID,
                    gate: gate.eventID,
                    answer: decision.answer,
                    message: decision.message,
                    by: person
                )
            } catch  where error.code == .invalidInput || error.code == .conflict {
                prompter.progress("refused: \(error.message)")
            }
        }
    }

    /// Submits the task, or finds the unfinished one to resume.
    private func start(_ engine: Engine) throws(LoomError) -> String {
        if options.resume {
            let rows = try engine.store.query(
                "SELECT id FROM tasks WHERE status IN ('running', 'parked') ORDER BY seq LIMIT 1"
            )
            guard let id = rows.first?["id"]?.stringValue else {
                throw LoomError(.notFound, "\(options.project) has no unfinished task to resume", context: "resuming")
            }
            return id
        }
        guard let input = options.input, !input.allSatisfy(\.isWhitespace) else {
            throw LoomError(.invalidInput, "say what to do (loomctl run \"…\"), or --resume", context: "starting a run")
        }
        let bundle = options.bundle ?? BundleCatalog.defaultBundle(among: options.bundles)
        guard let bundle else {
            throw LoomError(.bundle, "no bundle is loaded; name a directory with --bundles", context: "starting a run")
        }
        return try engine.submit(bundle: bundle, flow: options.flow, input: input, policy: options.policy, by: person)
            .taskID
    }

    /// Runs the effects (a fan-out's in parallel, within `concurrency`) and delivers each
    /// result as it arrives, in this thread: the engine is used from one thread only.
    private func execute(_ effects: [Effect], engine: Engine) throws(LoomError) {
        let results = ResultQueue()
        let executor = options.executor
        let project = options.project
        let slots = DispatchSemaphore(value: max(1, options.concurrency))
        let task = try engine.task(effects[0].taskID)
        let flow = task.flatMap { task in options.bundles.first { $0.name == task.bundle }?.flow(named: task.flow) }
        for effect in effects {
            let phase = flow?.step(named: effect.step).map { "[\($0.phase)] " } ?? ""
            prompter.progress(
                "  \(phase)… \(effect.step) \(effect.unit)" + (effect.attempt > 1 ? " (attempt \(effect.attempt))" : "")
            )
            DispatchQueue.global().async {
                slots.wait()
                defer { slots.signal() }
                let result = executor.execute(effect, project: project) { pid, started in
                    if started { InterruptGuard.add(pid) } else { InterruptGuard.remove(pid) }
                }
                results.push(effect, result)
            }
        }
        for _ in effects {
            let (effect, result) = results.pop()
            prompter.progress("  " + OneShotProgress.line(effect, result))
            _ = try engine.deliver(key: effect.key, result: result)
        }
    }
}

/// What a run asks a person, and how it reports progress.
public protocol OneShotPrompter: Sendable {
    func progress(_ line: String)
    /// The person's answer to `gate`, or nil when there is nobody to ask.
    func decide(gate: GateRecord, task: TaskRecord) -> (answer: GateAnswer, message: String)?
}

/// Results handed from worker threads to the delivering thread.
package final class ResultQueue: @unchecked Sendable {
    private let lock = Lock()
    private let ready = DispatchSemaphore(value: 0)
    private var items: [(Effect, JSONValue)] = []

    package func push(_ effect: Effect, _ result: JSONValue) {
        lock.withLock { items.append((effect, result)) }
        ready.signal()
    }

    package func pop() -> (Effect, JSONValue) {
        ready.wait()
        return lock.withLock { items.removeFirst() }
    }
}
