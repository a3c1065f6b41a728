import LoomEngine
import LoomScheduling
import LoomValues

/// A deterministic whole-system simulator in the manner of TigerBeetle's VOPR: one seed
/// drives several projects' real kernels (real SQLite files) and the host side loomd runs —
/// its pool admission, retry schedule, delivery-failure policy and effect tracking, from
/// LoomScheduling, not a copy — with simulated agents, a simulated clock, simulated people
/// and injected faults, all in one thread and in simulated time.
///
/// The run has two phases. While faults are on, the swarm's faults happen: process crashes
/// at transaction boundaries, transient failures and rate limits, duplicate and late
/// deliveries, stale answers, cancels racing answers and deliveries, resubmissions, and
/// (with a storage shim) I/O errors, full disks, short writes and power cuts. Then faults
/// stop, and every task must reach an end within `livenessTicksMax` ticks: people keep
/// answering every gate, so a task that neither parks nor ends has stalled.
///
/// What survives a crash is what is outside the daemon: the clients' acknowledgements, the
/// people, hosts that deliver again. The checks compare the databases against them.
public final class SystemSimulator {
    public struct Configuration {
        public var seed: UInt64
        /// A directory for the project databases (tmpfs keeps syncs cheap).
        public var directory: String
        public var bundle: LoomBundle
        /// Simulated time during which faults happen.
        public var faultPhaseMs = 60_000
        /// After faults stop: ticks within which every task must end.
        public var livenessTicksMax = 2_000
        /// After faults stop: simulated time within which every task must end.
        public var livenessMs = 600_000
        /// Prints every event as it happens (`loom-bench sim --seed S --trace`).
        public var trace = false
        /// A bound on events in one run.
        public var eventsMax = 200_000
        /// The host's retry schedule (loomd's, with shorter waits so a seed stays quick).
        public var retryPolicy = RetryPolicy(
            attemptsMax: 4,
            baseMs: 200,
            capMs: 5_000,
            rateLimitWaitMs: 2_000,
            rateLimitWaitsMax: 3
        )
        /// A mutation for the simulator's own test: executions never finish, so the world
        /// stalls and the liveness check must say so.
        public var stallEffects = false
        /// Overrides the swarm drawn from the seed (tests that want one fault).
        public var swarm: Swarm?

        public init(seed: UInt64, directory: String, bundle: LoomBundle) {
            self.seed = seed
            self.directory = directory
            self.bundle = bundle
        }
    }

    public let configuration: Configuration
    public let swarm: Swarm
    public private(set) var stats = SimulationStats()

    // The world.
    private var nowMs = 0
    private var agenda = EventQueue<Event>()
    private var chance: SplitMix64
    private var faultsOn = true
    private let responder = PublishingWorld.responder()
    private let person = Caller(
        principal: .human(uid: 1000),
        uid: 1000,
        gid: 1000,
        pid: 4242,
        executable: "/usr/bin/loomctl"
    )
    private var projects: [ProjectState] = []

    // The daemon: gone at a crash, rebuilt at a restart.
    private var daemonUp = false
    /// Bumped at each crash: events the dead process scheduled are ignored.
    private var epoch = 0
    private var pool: EffectQueue<Job>
    private var tracker = EffectTracker<Int>()
    private var nextTimer = 0
    /// The storage shim, when the swarm injects storage faults; a power cut since the last
    /// start makes the next start check what survived.
    private let shim: StorageShim?
    private var powerWasCut = false

    // Liveness.
    private var ticksAfterFaults = 0

    /// One project as the simulator sees it: the daemon's open engine, and what its clients
    /// were told.
    final class ProjectState {
        let index: Int
        let path: String
        let durability: Durability
        var engine: Engine?
        var lastTokenMs: Int64 = 0
        /// Idempotency key → task id, as acknowledged to the client.
        var submissions: [String: String] = [:]
        /// The acknowledgements given, with the journal's position (length, head) then.
        var acknowledged: [Acknowledgement] = []
        var deliveries: Set<String> = []
        var answers: Set<String> = []
        /// Effect key → times the kernel answered `applied` (must stay at one).
        var applied: [String: Int] = [:]
        /// Every gate event id seen, by task: the stale ids people may answer with.
        var seenGates: [String: [String]] = [:]
        var sendBacks: [String: Int] = [:]

        init(index: Int, path: String, durability: Durability) {
            self.index = index
            self.path = path
            self.durability = durability
        }
    }

    /// What a client was told, and where the journal stood when it was.
    struct Acknowledgement {
        enum What {
            case submission(key: String, index: Int)
            case delivery(key: String)
            case answer(eventID: String)
            case cancel(task: String)
        }
        let what: What
        let seq: Int64
        let headHex: String
    }

    struct Job {
        let project: Int
        let effect: Effect
        let attempt: Int
        let waits: Int
    }

    enum Event {
        case submit(project: Int, index: Int)
        case resubmit(project: Int, key: String)
        case executed(epoch: Int, job: Job, result: JSONValue)
        case retryDue(epoch: Int, job: Job, slot: String)
        case redeliver(epoch: Int, project: Int, effect: Effect, result: JSONValue, retry: Int)
        case hostDelivery(project: Int, key: String, result: JSONValue)
        case person(project: Int)
        case restart
        case powerCut
        case faultsEnd
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.swarm = configuration.swarm ?? Swarm.draw(seed: configuration.seed)
        self.chance = SplitMix64(seed: configuration.seed)
        self.pool = EffectQueue(limit: swarm.poolLimit)
        let unique = SplitMix64.hash(seed: configuration.seed, configuration.directory)
        self.shim =
            swarm.storage.isOff
            ? nil : StorageShim(name: "loom-sim-\(configuration.seed)-\(unique)", seed: configuration.seed)
        for index in 0..<swarm.projectCount {
            projects.append(
                ProjectState(
                    index: index,
                    path: "\(configuration.directory)/p\(index).db",
                    durability: swarm.durabilities[index]
                )
            )
        }
    }

    private func failure(_ kind: SimulationFailure.Kind, _ message: String) -> SimulationFailure {
        SimulationFailure(kind: kind, seed: configuration.seed, message: message, swarm: swarm.description)
    }

    // MARK: Running

    /// Runs the seed to the end and checks it; throws the first property that broke.
    @discardableResult
    public func run() throws(SimulationFailure) -> SimulationStats {
        stats.seeds = 1
        stats.tasks = swarm.projectCount * swarm.tasksPerProject
        schedule(.restart, inMs: 0)
        for project in projects {
            for index in 0..<swarm.tasksPerProject {
                schedule(
                    .submit(project: project.index, index: index),
                    inMs: chance.below(configuration.faultPhaseMs / 2)
                )
            }
            schedule(.person(project: project.index), inMs: swarm.personPeriodMs)
        }
        schedule(.faultsEnd, inMs: configuration.faultPhaseMs)
        if swarm.storage.powerLossRate > 0 {
            for _ in 0..<(1 + chance.below(3)) { schedule(.powerCut, inMs: chance.below(configuration.faultPhaseMs)) }
        }
        while let (timeMs, event) = agenda.next() {
            nowMs = timeMs
            stats.events += 1
            if configuration.trace { print("[\(timeMs) ms, epoch \(epoch)\(daemonUp ? "" : ", down")] \(event)") }
            guard stats.events <= configuration.eventsMax else {
                throw failure(.liveness, "more than \(configuration.eventsMax) events")
            }
            try handle(event)
            if !faultsOn {
                guard ticksAfterFaults <= configuration.livenessTicksMax,
                    nowMs <= configuration.faultPhaseMs + configuration.livenessMs
                else {
                    throw failure(
                        .liveness,
                        "tasks still unfinished \(ticksAfterFaults) ticks after the faults stopped: \(try unfinishedSummary())"
                    )
                }
                if try allFinished() { break }
            }
        }
        guard !faultsOn, try allFinished() else {
            throw failure(.liveness, "the world went quiet with tasks unfinished: \(try unfinishedSummary())")
        }
        if let counts = shim?.counts {
            stats.ioErrors = counts.ioErrors
            stats.diskFull = counts.diskFull
            stats.shortWrites = counts.shortWrites
            stats.powerLosses = counts.powerCuts
            stats.tornWrites = counts.tornWrites
        }
        try check()
        return stats
    }

    private func schedule(_ event: Event, inMs delay: Int) {
        agenda.schedule(event, atMs: nowMs + max(0, delay))
    }

    private func handle(_ event: Event) throws(SimulationFailure) {
        switch event {
        case .restart:
            try startDaemon()
        case .faultsEnd:
            faultsOn = false
            shim?.set(StorageFaultRates())
            if !daemonUp { try startDaemon() }
        case .powerCut:
            guard faultsOn, daemonUp else { return }
            crash(power: true)
        case .submit(let project, let index):
            try submit(projects[project], key: "sim-\(project)-\(index)", index: index)
        case .resubmit(let project, let key):
            try resubmit(projects[project], key: key)
        case .executed(let at, let job, let result):
            guard at == epoch, daemonUp else { return }
            try executed(job, result: result)
        case .retryDue(let at, let job, let slot):
            guard at == epoch, daemonUp, tracker.wake(slot) else { return }
            start(job)
        case .redeliver(let at, let project, let effect, let result, let retry):
            guard at == epoch, daemonUp else { return }
            try deliver(effect, result, in: projects[project], retry: retry)
        case .hostDelivery(let project, let key, let result):
            try hostDelivery(projects[project], key: key, result: result)
        case .person(let project):
            try personLooks(projects[project])
        }
    }

    // MARK: The daemon

    /// Opens every project and re-issues its pending effects, as loomd's recovery does.
    private func startDaemon() throws(SimulationFailure) {
        epoch += 1
        pool.reset()
        tracker = EffectTracker()
        daemonUp = true
        // Every connection of the dead process is closed by now: the disk takes I/O again.
        shim?.revive()
        shim?.set(faultsOn ? swarm.storage : StorageFaultRates())
        let afterPowerCut = powerWasCut
        powerWasCut = false
        for project in projects {
            do throws(LoomError) {
                var options = StoreOptions()
                options.durability = project.durability
                options.soleWriter = true
                options.vfsName = shim?.name
                let store = try Store(path: project.path, options: options)
                store.faultHook = { [unowned self] point in try self.maybeCrash(point) }
                project.lastTokenMs = try store.lastTimeToken() ?? 1_700_000_000_000
                let engine = try Engine(store: store, bundles: [configuration.bundle]) {
                    [unowned self, unowned project] in
                    project.lastTokenMs = max(project.lastTokenMs + 1, 1_700_000_000_000 + Int64(self.nowMs))
                    return project.lastTokenMs
                }
                project.engine = engine
            } catch {
                if afterPowerCut, error.code == .corrupt || error.code == .notADatabase {
                    throw failure(
                        .durability,
                        "\(project.path) (\(project.durability.rawValue)) does not open after a power cut: \(error)"
                    )
                }
                if afterPowerCut { powerWasCut = true }
                guard try absorb(error, doing: "opening \(project.path)") else { return }
            }
            guard let engine = project.engine else { continue }
            if afterPowerCut {
                try checkSurvivors(project, engine: engine)
                guard daemonUp else { return }
            }
            do throws(LoomError) {
                try schedule(engine.pendingEffects(), in: project)
            } catch {
                guard try absorb(error, doing: "recovering \(project.path)") else { return }
            }
        }
        stats.restarts += 1
    }

    /// Throws a typed crash at a transaction boundary, at the swarm's rate, while faults are on.
    private func maybeCrash(_ point: FaultPoint) throws(SimulatedCrash) {
        guard faultsOn, daemonUp, swarm.crashRate > 0, chance.chance(swarm.crashRate) else { return }
        throw SimulatedCrash(point: "\(point)")
    }

    /// After a power cut: the file passes integrity_check, what survived is a prefix of what
    /// was acknowledged (the same chain at every surviving acknowledgement), nothing
    /// acknowledged is missing under FULL, and under NORMAL what is missing is a suffix,
    /// which the clients are then told about (they submit again, people answer again).
    private func checkSurvivors(_ project: ProjectState, engine: Engine) throws(SimulationFailure) {
        var surviving: Int64 = 0
        var broken: String?
        // The simulator's own look at the file: no faults injected into it.
        shim?.set(StorageFaultRates())
        defer { shim?.set(faultsOn ? swarm.storage : StorageFaultRates()) }
        do throws(LoomError) {
            let integrity = try engine.store.integrityCheck()
            if integrity != "ok" { broken = "integrity_check: \(integrity)" }
            surviving = try engine.chainPosition().seq
            for acknowledgement in project.acknowledged
            where broken == nil && acknowledgement.seq <= surviving && acknowledgement.seq > 0 {
                let rows = try engine.store.query(
                    "SELECT lower(hex(hash)) AS h FROM journal WHERE seq = :seq",
                    bindings: [":seq": String(acknowledgement.seq)]
                )
                if rows.first?["h"]?.stringValue != acknowledgement.headHex {
                    broken =
                        "the journal at \(acknowledgement.seq) is not what was acknowledged (\(acknowledgement.what)): not a prefix"
                }
            }
        } catch {
            if error.code == .injectedFault || error.code == .io || error.code == .full {
                crash()
                return
            }
            throw failure(.durability, "\(project.path) after a power cut: \(error)")
        }
        if let broken {
            throw failure(.durability, "\(project.path) (\(project.durability.rawValue)) after a power cut: \(broken)")
        }
        let lost = project.acknowledged.filter { $0.seq > surviving }
        guard !lost.isEmpty else { return }
        guard project.durability == .normal else {
            throw failure(
                .durability,
                "\(project.path) (full) lost \(lost.count) acknowledged input(s) to a power cut, first \(lost[0].what) at \(lost[0].seq); the journal ends at \(surviving)"
            )
        }
        stats.lostTail += lost.count
        project.acknowledged.removeAll { $0.seq > surviving }
        for acknowledgement in lost {
            switch acknowledgement.what {
            case .submission(let key, let index):
                project.submissions[key] = nil
                schedule(.submit(project: project.index, index: index), inMs: 1)
            case .delivery(let key):
                project.deliveries.remove(key)
                project.applied[key] = nil
            case .answer(let eventID):
                project.answers.remove(eventID)
            case .cancel:
                break
            }
        }
    }

    /// The daemon process dies: every engine, pool slot, tracked effect and timer goes.
    /// With `power`, the machine loses power too: the shim drops what no sync covered.
    private func crash(power: Bool = false) {
        stats.crashes += 1
        if let shim {
            let cut = power || (swarm.storage.powerLossRate > 0 && chance.chance(0.3))
            if cut {
                shim.powerCut(torn: swarm.storage.tornPages)
                powerWasCut = true
            } else {
                shim.crash()
            }
        }
        daemonUp = false
        epoch += 1
        for project in projects { project.engine = nil }
        pool.reset()
        tracker = EffectTracker()
        schedule(.restart, inMs: 100 + chance.below(2_000))
    }

    /// Decides what an error from the kernel means. An injected crash kills the daemon
    /// (returns false: stop what you were doing). A storage error is the host's to handle
    /// (returns true). Anything else is a bug the simulator reports.
    private func absorb(_ error: LoomError, doing: String) throws(SimulationFailure) -> Bool {
        switch error.code {
        case .injectedFault:
            crash()
            return false
        case .io, .full, .busy, .readOnly, .corrupt:
            guard faultsOn else { throw failure(.safety, "\(doing) failed with faults off: \(error)") }
            // The daemon cannot go on with a store that failed; it exits, systemd restarts it.
            crash()
            return false
        default:
            throw failure(.safety, "\(doing) failed: \(error)")
        }
    }

    /// Hands effects to the pool, as loomd's `schedule` does.
    private func schedule(_ effects: [Effect], in project: ProjectState) {
        let (run, _) = ScheduleDecision.split(effects, quarantined: false) { _ in .daemon }
        for effect in run where tracker.begin(EffectTracker<Int>.slot(key: effect.key, project: project.path)) {
            start(Job(project: project.index, effect: effect, attempt: 1, waits: 0))
        }
    }

    private func start(_ job: Job) {
        if case .start(let started) = pool.submit(job, nowMs: nowMs) { execute(started) }
    }

    /// Runs one attempt in the simulated world: an agent, a command; sometimes it fails.
    private func execute(_ job: Job) {
        var result = responder.execute(job.effect, seed: configuration.seed ^ UInt64(job.attempt) &* 0x9E37)
        if faultsOn, job.effect.kind == .spawn {
            if chance.chance(swarm.transientRate) {
                stats.transientFailures += 1
                result = AgentResult(error: .transient, message: "simulated timeout", provider: "scripted").json
            } else if chance.chance(swarm.rateLimitRate) {
                stats.rateLimits += 1
                result =
                    AgentResult(
                        error: .rateLimited,
                        message: "simulated 429",
                        retryAfterMs: chance.below(1_000),
                        provider: "scripted"
                    ).json
            }
        }
        guard !configuration.stallEffects else { return }
        schedule(.executed(epoch: epoch, job: job, result: result), inMs: 1 + chance.below(swarm.executionMsMax))
    }

    /// An attempt finished: its pool slot goes to the next job; then retry or deliver.
    private func executed(_ job: Job, result: JSONValue) throws(SimulationFailure) {
        if let next = pool.finish(nowMs: nowMs) { execute(next.job) }
        let project = projects[job.project]
        guard let engine = project.engine else { return }
        let slot = EffectTracker<Int>.slot(key: job.effect.key, project: project.path)
        if let decision = configuration.retryPolicy.decision(
            key: job.effect.key,
            result: result,
            attempt: job.attempt,
            waits: job.waits
        ) {
            do throws(LoomError) {
                let started = try engine.recordRetry(
                    key: job.effect.key,
                    attempt: job.attempt,
                    errorClass: result["errorClass"]?.stringValue ?? "",
                    delayMs: decision.delayMs,
                    message: result["error"]?.stringValue ?? ""
                )
                countTick()
                schedule(started, in: project)
                if try engine.task(job.effect.taskID)?.status.isFinished == true {
                    tracker.end(slot)
                    return
                }
            } catch {
                guard try absorb(error, doing: "journaling a retry of \(job.effect.key)") else { return }
            }
            nextTimer += 1
            tracker.park(slot, task: job.effect.taskID, timer: nextTimer)
            let waits = decision.nextAttempt == job.attempt ? job.waits + 1 : 0
            schedule(
                .retryDue(
                    epoch: epoch,
                    job: Job(project: job.project, effect: job.effect, attempt: decision.nextAttempt, waits: waits),
                    slot: slot
                ),
                inMs: decision.delayMs
            )
            return
        }
        tracker.end(slot)
        try deliver(job.effect, result, in: project, retry: 0)
    }

    /// Delivers a result as loomd does, with `DeliveryFailure` deciding what a failure means.
    private func deliver(
        _ effect: Effect,
        _ result: JSONValue,
        in project: ProjectState,
        retry: Int
    ) throws(SimulationFailure) {
        guard let engine = project.engine else { return }
        do {
            let outcome = try engine.deliver(key: effect.key, result: result)
            countTick()
            try noteDelivery(outcome, key: effect.key, in: project, fromHost: false)
            if case .applied(let more) = outcome {
                schedule(more, in: project)
                if faultsOn, chance.chance(swarm.duplicateRate) {
                    schedule(
                        .hostDelivery(project: project.index, key: effect.key, result: result),
                        inMs: chance.below(10_000)
                    )
                }
            }
            try afterTick(effect.taskID, in: project)
        } catch let broken as SimulationFailure {
            throw broken
        } catch {
            let error = error as! LoomError
            if configuration.trace {
                print("  delivering \(effect.key) failed: \(error) [sqlite \(error.sqliteCode ?? 0)]")
            }
            switch DeliveryFailure.decide(error, key: effect.key, retry: retry, standInPossible: false) {
            case .retry(let delayMs):
                guard error.code != .injectedFault else { return crash() }
                stats.deliveryRetries += 1
                schedule(
                    .redeliver(epoch: epoch, project: project.index, effect: effect, result: result, retry: retry + 1),
                    inMs: delayMs
                )
            case .leavePending:
                stats.leftPending += 1
            case .standIn, .quarantined:
                throw failure(.safety, "delivering \(effect.key): unexpected \(error)")
            case .cancelTask(let reason):
                guard try absorb(error, doing: "delivering \(effect.key)") else { return }
                _ = reason
            }
        }
    }

    private func noteDelivery(
        _ outcome: Delivery,
        key: String,
        in project: ProjectState,
        fromHost: Bool
    ) throws(SimulationFailure) {
        switch outcome {
        case .applied:
            project.applied[key, default: 0] += 1
            guard project.applied[key] == 1 else {
                throw failure(.safety, "the result of \(key) was applied \(project.applied[key] ?? 0) times")
            }
            guard !fromHost || !project.deliveries.contains(key) else {
                throw failure(.safety, "a duplicate delivery of \(key) was applied")
            }
            project.deliveries.insert(key)
            acknowledge(.delivery(key: key), in: project)
        case .duplicate:
            stats.duplicateDeliveries += 1
        case .discarded:
            stats.discardedDeliveries += 1
        }
    }

    /// A host (or a slow agent) delivers a result again, late.
    private func hostDelivery(_ project: ProjectState, key: String, result: JSONValue) throws(SimulationFailure) {
        guard daemonUp, let engine = project.engine else { return }
        let outcome: Delivery
        do throws(LoomError) {
            outcome = try engine.deliver(key: key, result: result)
        } catch  where error.code == .notFound && project.durability == .normal && (shim?.counts.powerCuts ?? 0) > 0 {
            // Its intent was in the tail a power cut took (NORMAL): the key is unknown now.
            return
        } catch {
            _ = try absorb(error, doing: "delivering \(key) again")
            return
        }
        try noteDelivery(outcome, key: key, in: project, fromHost: true)
        // A host's delivery that applies (its first application was in a tail a power cut
        // took) moves the task on, as loomd's `effects.deliver` does.
        if case .applied(let more) = outcome {
            schedule(more, in: project)
            if let task = try? engine.task(key.split(separator: ":").first.map(String.init) ?? "")?.id {
                try afterTick(task, in: project)
            }
        }
    }

    private func afterTick(_ task: String, in project: ProjectState) throws(SimulationFailure) {
        guard let engine = project.engine else { return }
        do throws(LoomError) {
            if try engine.task(task)?.status.isFinished == true {
                _ = tracker.dropWaiting(task: task, project: project.path)
            }
        } catch {
            _ = try absorb(error, doing: "reading \(task)")
        }
    }

    private func countTick() {
        if !faultsOn { ticksAfterFaults += 1 }
        stats.ticks += 1
    }

    /// Records what a client was told, with the journal's length at that moment (from the
    /// engine's memory: no I/O, so no fault can hit it).
    private func acknowledge(_ what: Acknowledgement.What, in project: ProjectState) {
        guard let position = try? project.engine?.chainPosition() else { return }
        project.acknowledged.append(
            Acknowledgement(
                what: what,
                seq: position.seq,
                headHex: position.head.map { byte in
                    let digits = Array("0123456789abcdef")
                    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
                }.joined()
            )
        )
    }

    // MARK: Clients and people

    private func submit(_ project: ProjectState, key: String, index: Int) throws(SimulationFailure) {
        guard daemonUp, let engine = project.engine else {
            // The client could not reach loomd; it tries again, with the same key.
            return schedule(.submit(project: project.index, index: index), inMs: 500)
        }
        let receipt: SubmitReceipt
        do throws(LoomError) {
            receipt = try engine.submit(
                bundle: configuration.bundle.name,
                input: "simulated request \(key) (seed \(configuration.seed))",
                idempotencyKey: key,
                by: person
            )
        } catch {
            guard try absorb(error, doing: "submitting \(key)") else {
                return schedule(.submit(project: project.index, index: index), inMs: 500)
            }
            return
        }
        countTick()
        if let known = project.submissions[key], known != receipt.taskID {
            throw failure(.safety, "idempotency key \(key) named \(known), now \(receipt.taskID)")
        }
        if project.submissions[key] == nil {
            project.submissions[key] = receipt.taskID
            acknowledge(.submission(key: key, index: index), in: project)
        }
        schedule(receipt.newEffects, in: project)
        if faultsOn, chance.chance(swarm.resubmitRate) {
            schedule(.resubmit(project: project.index, key: key), inMs: chance.below(20_000))
        }
    }

    /// A cron job sends a submission it was already told about: the same task, nothing new.
    private func resubmit(_ project: ProjectState, key: String) throws(SimulationFailure) {
        guard daemonUp, let engine = project.engine, let known = project.submissions[key] else { return }
        let receipt: SubmitReceipt
        do throws(LoomError) {
            receipt = try engine.submit(
                bundle: configuration.bundle.name,
                input: "simulated request \(key) (seed \(configuration.seed))",
                idempotencyKey: key,
                by: person
            )
        } catch {
            _ = try absorb(error, doing: "resubmitting \(key)")
            return
        }
        stats.resubmissions += 1
        guard receipt.taskID == known, !receipt.created else {
            throw failure(
                .safety,
                "resubmitting \(key) made \(receipt.taskID) (created \(receipt.created)); acknowledged as \(known)"
            )
        }
    }

    /// The person looks at the project's parked tasks and answers each gate: sometimes with
    /// a stale event id first, sometimes cancelling instead, racing the answer.
    private func personLooks(_ project: ProjectState) throws(SimulationFailure) {
        // People keep looking for as long as the run goes on; the run loop ends it.
        schedule(.person(project: project.index), inMs: swarm.personPeriodMs)
        guard daemonUp, let engine = project.engine else { return }
        do throws(LoomError) {
            // Now and then a person cancels a task while its effects run: their results,
            // when they come, must be discarded, never applied.
            if faultsOn, chance.chance(swarm.cancelRaceRate / 3),
                let running = try engine.store.query(
                    "SELECT id FROM tasks WHERE status = 'running' ORDER BY seq LIMIT 1"
                ).first?["id"]?.stringValue
            {
                stats.cancelRaces += 1
                schedule(
                    try engine.cancel(task: running, reason: "simulated cancel while effects run", by: person),
                    in: project
                )
                countTick()
                acknowledge(.cancel(task: running), in: project)
                try afterTickLoom(running, in: project)
            }
            let parked = try engine.store.query("SELECT id FROM tasks WHERE status = 'parked' ORDER BY seq")
            for row in parked {
                guard let task = row["id"]?.stringValue, let gate = try engine.waitingGate(task: task) else { continue }
                try answer(gate, task: task, in: project, engine: engine)
                guard daemonUp else { return }
            }
        } catch {
            _ = try absorb(error, doing: "answering gates")
        }
    }

    private func answer(_ gate: GateRecord, task: String, in project: ProjectState, engine: Engine) throws(LoomError) {
        var seen = project.seenGates[task, default: []]
        if !seen.contains(gate.eventID) { seen.append(gate.eventID) }
        project.seenGates[task] = seen
        // A stale page: an older event id of this task. It must be refused.
        if faultsOn, seen.count > 1, chance.chance(swarm.staleAnswerRate) {
            let stale = seen[chance.below(seen.count - 1)]
            do throws(LoomError) {
                try engine.answerGate(task: task, gate: stale, answer: .approve, by: person)
                throw LoomError(
                    .internal,
                    "a stale answer naming \(stale) was applied while \(gate.eventID) waits",
                    context: "simulating"
                )
            } catch  where error.code == .staleGate {
                stats.staleAnswersRefused += 1
                countTick()
            }
        }
        if faultsOn, chance.chance(swarm.cancelRaceRate) {
            // A cancel lands first; the answer that raced it must be refused, not applied.
            stats.cancelRaces += 1
            schedule(
                try engine.cancel(task: task, reason: "simulated cancel racing an answer", by: person),
                in: project
            )
            countTick()
            acknowledge(.cancel(task: task), in: project)
            do throws(LoomError) {
                try engine.answerGate(task: task, gate: gate.eventID, answer: .approve, by: person)
                throw LoomError(
                    .internal,
                    "an answer to \(gate.eventID) was applied after its task was cancelled",
                    context: "simulating"
                )
            } catch
                where error.code == .staleGate || error.code == .conflict || error.code == .notFound
                || error.code == .invalidInput
            {
                countTick()
            }
            return try afterTickLoom(task, in: project)
        }
        var (answer, message) =
            responder.gate(gate, SplitMix64.hash(seed: configuration.seed, gate.eventID)) ?? (.approve, "")
        if !faultsOn, answer != .approve { (answer, message) = (.approve, "") }
        if answer == .requestChanges {
            let key = "\(task)#\(gate.role)"
            project.sendBacks[key, default: 0] += 1
            if project.sendBacks[key, default: 0] > 2 { (answer, message) = (.approve, "") }
        }
        do throws(LoomError) {
            let started = try engine.answerGate(
                task: task,
                gate: gate.eventID,
                answer: answer,
                message: message,
                by: person
            )
            countTick()
            project.answers.insert(gate.eventID)
            acknowledge(.answer(eventID: gate.eventID), in: project)
            schedule(started, in: project)
            // A second person on a stale page answers the same event id: refused, never applied.
            if faultsOn, chance.chance(swarm.staleAnswerRate) {
                do throws(LoomError) {
                    try engine.answerGate(
                        task: task,
                        gate: gate.eventID,
                        answer: .abandon,
                        message: "stale page",
                        by: person
                    )
                    throw LoomError(.internal, "a second answer to \(gate.eventID) was applied", context: "simulating")
                } catch  where error.code == .staleGate || error.code == .conflict {
                    stats.staleAnswersRefused += 1
                    countTick()
                }
            }
        } catch  where error.code == .invariantViolation {
            // A rule refused the answer (journaled); the person abandons instead.
            countTick()
            let started = try engine.answerGate(
                task: task,
                gate: gate.eventID,
                answer: .abandon,
                message: "refused",
                by: person
            )
            project.answers.insert(gate.eventID)
            acknowledge(.answer(eventID: gate.eventID), in: project)
            schedule(started, in: project)
        }
        try afterTickLoom(task, in: project)
    }

    private func afterTickLoom(_ task: String, in project: ProjectState) throws(LoomError) {
        guard let engine = project.engine, try engine.task(task)?.status.isFinished == true else { return }
        _ = tracker.dropWaiting(task: task, project: project.path)
    }

    // MARK: Checks

    private func allFinished() throws(SimulationFailure) -> Bool {
        guard daemonUp else { return false }
        for project in projects {
            guard project.submissions.count == swarm.tasksPerProject, let engine = project.engine else { return false }
            do throws(LoomError) {
                let open = try engine.store.query(
                    "SELECT count(*) AS n FROM tasks WHERE status IN ('queued', 'running', 'parked')"
                )
                if open.first?["n"]?.intValue != 0 { return false }
            } catch {
                throw failure(.safety, "counting open tasks: \(error)")
            }
        }
        return true
    }

    private func unfinishedSummary() throws(SimulationFailure) -> String {
        var parts: [String] = []
        for project in projects {
            guard let engine = project.engine else {
                parts.append("p\(project.index): closed")
                continue
            }
            let rows =
                (try? engine.store.query(
                    "SELECT id, status, step FROM tasks WHERE status IN ('queued', 'running', 'parked')"
                )) ?? []
            let pending = (try? engine.pendingEffects().map(\.key)) ?? []
            parts.append(
                "p\(project.index): submitted \(project.submissions.count)/\(swarm.tasksPerProject), open \(rows.map { "\($0["id"]?.stringValue ?? "")=\($0["status"]?.stringValue ?? "")@\($0["step"]?.stringValue ?? "")" }), pending \(pending), in flight \(tracker.inFlightCount), pool \(pool.running)+\(pool.waitingCount)"
            )
        }
        return parts.joined(separator: "; ")
    }

    /// After the run: every project's file is whole, nothing acknowledged was lost, no result
    /// was applied twice, and the journal replays to the same rows.
    private func check() throws(SimulationFailure) {
        for project in projects {
            project.engine = nil
            do {
                let store = try Store(path: project.path)
                let integrity = try store.integrityCheck()
                guard integrity == "ok" else {
                    throw failure(.durability, "\(project.path): integrity_check: \(integrity)")
                }
                let twice = try store.query(
                    "SELECT json_extract(payload, '$.key') AS key, count(*) AS n FROM journal WHERE kind = 'effect_result' GROUP BY 1 HAVING n > 1"
                )
                guard twice.isEmpty else {
                    throw failure(.safety, "\(project.path): results journaled twice: \(twice)")
                }
                for (key, taskID) in project.submissions {
                    let rows = try store.query(
                        "SELECT id FROM tasks WHERE idempotency_key = :key",
                        bindings: [":key": key]
                    )
                    guard rows.first?["id"]?.stringValue == taskID else {
                        throw failure(.safety, "\(project.path): acknowledged submission \(key) → \(taskID) lost")
                    }
                }
                for key in project.deliveries {
                    let status = try store.query("SELECT status FROM effects WHERE key = :key", bindings: [":key": key])
                        .first?["status"]?.stringValue
                    guard status == "done" || status == "cancelled" else {
                        throw failure(
                            .safety,
                            "\(project.path): acknowledged delivery \(key) lost (\(status ?? "no row"))"
                        )
                    }
                }
                for eventID in project.answers {
                    let rows = try store.query(
                        "SELECT status FROM gates WHERE event_id = :id AND status <> 'waiting'",
                        bindings: [":id": eventID]
                    )
                    guard rows.count == 1 else {
                        throw failure(.safety, "\(project.path): acknowledged answer \(eventID) lost")
                    }
                }
                let report = try Replayer(source: store, bundles: [configuration.bundle]).run()
                guard case .identical = report else { throw failure(.safety, "\(project.path): replay: \(report)") }
            } catch let broken as SimulationFailure {
                throw broken
            } catch {
                throw failure(.safety, "\(project.path): checking: \(error)")
            }
        }
    }
}
