import Dispatch
import LoomEngine
import LoomHost
import LoomProviders
import LoomScheduling
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Executes the effects the kernel asks for, on the bounded pool, and hands each result
/// back to its project's queue for delivery.
///
/// Transient failures are retried with backoff (base × 2ⁿ, capped, with jitter derived
/// from the effect key so a replayed schedule is the same); a rate limit waits separately
/// and does not use up an attempt. An effect key already running is not started twice.
final class EffectRunner: @unchecked Sendable {
    let configuration: DaemonConfiguration
    let pool: EffectPool
    let executor: EffectExecutor
    let metrics: DaemonMetrics
    private let lock = Lock()
    /// Effects started and not yet delivered, and retries waiting out their delay, by slot
    /// (LoomScheduling's decisions, shared with the simulator): a task that ends meanwhile
    /// (cancelled, failed) spends no more attempts.
    private var tracker = EffectTracker<DispatchWorkItem>()
    /// When a failed effect runs again (LoomScheduling, shared with the simulator).
    let retryPolicy: RetryPolicy
    /// Pids of the processes loomd started for effects; an answer from one of their
    /// descendants is refused.
    private var children: Set<Int32> = []
    /// Spawns waiting for their model's endpoint (`EndpointSlots`), by slot: what they wait for.
    private var modelWaits: [String: String] = [:]
    /// Tasks that have ended (by project), so their spawns still waiting for a model's turn
    /// give it up; bounded, oldest forgotten first.
    private let endedTasks = RecentSet(capacity: 4_096)
    private let timers = DispatchQueue(label: "loom.retries")

    /// Children on record in the state directory, so a restarted loomd can end what a
    /// killed one left running.
    let childRecords: ChildRecords

    init(configuration: DaemonConfiguration, executor: EffectExecutor, metrics: DaemonMetrics) {
        self.configuration = configuration
        self.childRecords = ChildRecords(directory: "\(configuration.stateDirectory)/children")
        self.pool = EffectPool(limit: configuration.effectsMax)
        self.executor = executor
        self.metrics = metrics
        self.retryPolicy = RetryPolicy(
            attemptsMax: configuration.retryAttemptsMax,
            baseMs: configuration.retryBaseMs,
            capMs: configuration.retryCapMs,
            rateLimitWaitMs: configuration.rateLimitWaitMs,
            rateLimitWaitsMax: configuration.rateLimitWaitsMax
        )
        pool.onStart = { waitedMs in metrics.scheduleToStart.observe(Double(waitedMs) / 1_000) }
    }

    var spawnedPids: Set<Int32> { lock.withLock { children } }

    /// A retry about to happen, for the journal: (effect, attempt, error class, delay, message,
    /// which rate-limit wait of the attempt it is or nil, then). The retry is scheduled only
    /// once `then` is called, with whether it may go ahead (false when journaling it ended
    /// the task, at its spawn cap say).
    typealias RetryNotice =
        @Sendable (Effect, Int, String, Int, String, Int?, _ then: @escaping @Sendable (Bool) -> Void) -> Void

    /// Starts `effects` (once each) of the project at `directory`;
    /// `deliver` runs with each result, `retrying` before each retry.
    /// What an agent prints while it works: (effect, text), for watchers; never journaled.
    typealias ProgressNotice = @Sendable (Effect, String) -> Void

    /// `resume`: where an effect's retries stand when the journal already holds some (a
    /// restarted loomd): its next attempt starts at its due time, with its count, instead of
    /// as a first attempt now, so nothing is journaled or counted twice.
    func run(
        _ effects: [Effect],
        directory: String,
        resume: (Effect) -> RetryResume? = { _ in nil },
        retrying: @escaping RetryNotice,
        progress: @escaping ProgressNotice = { _, _ in },
        deliver: @escaping @Sendable (Effect, JSONValue) -> Void
    ) {
        for effect in effects {
            let slot = Self.slot(effect.key, directory)
            let fresh = lock.withLock { tracker.begin(slot) }
            guard fresh else { continue }
            guard let resumed = resume(effect) else {
                attempt(
                    effect,
                    number: 1,
                    waits: 0,
                    calls: 1,
                    directory: directory,
                    retrying: retrying,
                    progress: progress,
                    deliver: deliver
                )
                continue
            }
            let retry = DispatchWorkItem { [self] in
                guard lock.withLock({ tracker.wake(slot) }) else { return }
                attempt(
                    effect,
                    number: resumed.attempt,
                    waits: resumed.waits,
                    calls: resumed.calls,
                    directory: directory,
                    retrying: retrying,
                    progress: progress,
                    deliver: deliver
                )
            }
            lock.withLock { tracker.park(slot, task: effect.taskID, timer: retry) }
            timers.asyncAfter(deadline: .now() + .milliseconds(resumed.delayMs), execute: retry)
        }
    }

    /// `waits`: rate-limit waits so far for this attempt; `calls`: which call of the effect
    /// this is (1 + the retries before it), handed to the scripted provider so its answers
    /// follow the journal, not this process's memory.
    private func attempt(
        _ effect: Effect,
        number: Int,
        waits: Int,
        calls: Int,
        directory: String,
        retrying: @escaping RetryNotice,
        progress: @escaping ProgressNotice,
        deliver: @escaping @Sendable (Effect, JSONValue) -> Void
    ) {
        pool.submit { [self] done in
            let result = execute(effect, directory: directory, call: calls) { text in progress(effect, text) }
            done()
            if let errorClass = result["errorClass"]?.stringValue,
                let decision = retryDecision(
                    effect,
                    errorClass: errorClass,
                    attempt: number,
                    waits: waits,
                    retryAfterMs: result["retryAfterMs"]?.intValue.map { Int($0) }
                )
            {
                metrics.retries.increment(errorClass)
                // The timer starts only after the retry is on record: a delay shorter than the
                // journal write must not let an attempt run for a task that write ended.
                let slot = Self.slot(effect.key, directory)
                let wait = decision.nextAttempt == number ? waits + 1 : nil
                retrying(effect, number, errorClass, decision.delayMs, result["error"]?.stringValue ?? "", wait) {
                    [self] goAhead in
                    guard goAhead else {
                        lock.withLock { tracker.end(slot) }
                        return
                    }
                    let retry = DispatchWorkItem { [self] in
                        guard lock.withLock({ tracker.wake(slot) }) else { return }
                        attempt(
                            effect,
                            number: decision.nextAttempt,
                            waits: wait ?? 0,
                            calls: calls + 1,
                            directory: directory,
                            retrying: retrying,
                            progress: progress,
                            deliver: deliver
                        )
                    }
                    lock.withLock { tracker.park(slot, task: effect.taskID, timer: retry) }
                    timers.asyncAfter(deadline: .now() + .milliseconds(decision.delayMs), execute: retry)
                }
                return
            }
            lock.withLock { tracker.end(Self.slot(effect.key, directory)) }
            deliver(effect, result)
        }
    }

    /// Drops the retries of `task` (in the project at `directory`) that wait out their delay:
    /// the task has ended, and their effects were cancelled with it.
    func dropWaitingRetries(task: String, directory: String) {
        _ = endedTasks.insert(Self.slot(task, directory))
        let dropped = lock.withLock { tracker.dropWaiting(task: task, project: directory) }
        for item in dropped { item.cancel() }
    }

    private static func slot(_ key: String, _ directory: String) -> String {
        EffectTracker<DispatchWorkItem>.slot(key: key, project: directory)
    }

    /// nil: deliver the failure. Otherwise when and as which attempt to try again.
    /// `waits`: how many rate-limit waits this attempt has had already.
    func retryDecision(
        _ effect: Effect,
        errorClass: String,
        attempt: Int,
        waits: Int = 0,
        retryAfterMs: Int? = nil
    ) -> (delayMs: Int, nextAttempt: Int)? {
        retryPolicy.decision(
            key: effect.key,
            errorClass: errorClass,
            attempt: attempt,
            waits: waits,
            retryAfterMs: retryAfterMs
        ).map { ($0.delayMs, $0.nextAttempt) }
    }

    private func execute(
        _ effect: Effect,
        directory: String,
        call: Int,
        progress: @escaping @Sendable (String) -> Void
    ) -> JSONValue {
        let result = executor.execute(
            effect,
            project: directory,
            call: call,
            onChild: { [self] pid, started in
                if started {
                    lock.withLock { _ = children.insert(pid) }
                    childRecords.add(pid)
                } else {
                    lock.withLock { _ = children.remove(pid) }
                    childRecords.remove(pid)
                }
            },
            onProgress: progress,
            isCancelled: { [self] in endedTasks.contains(Self.slot(effect.taskID, directory)) },
            onModelWait: { [self] text in
                let slot = Self.slot(effect.key, directory)
                lock.withLock { modelWaits[slot] = text }
            }
        )
        if effect.kind == .spawn, let spawn = AgentResult(json: result) { metrics.recordSpawn(spawn) }
        return result
    }

    /// The effects of `task` in the project at `directory` that loomd has started and not yet
    /// delivered, by key, each with its state: running, waiting for its model (and why), or
    /// waiting out a retry's delay. Effect keys start with their task's id.
    func liveEffects(task: String, directory: String) -> [(key: String, state: String)] {
        let prefix = Self.slot("\(task):", directory)
        return lock.withLock {
            tracker.inFlight(withPrefix: prefix).map { slot in
                let key = String(slot.dropFirst(directory.utf8.count + 1))
                if let wait = modelWaits[slot] { return (key, wait) }
                if tracker.isWaiting(slot) { return (key, "waiting to retry") }
                return (key, "running")
            }
        }
    }

    /// Stops starting work and waits up to the grace period for what runs.
    func drain(graceMs: Int) {
        _ = pool.stopAccepting()
        let deadline = MonotonicClock.milliseconds() + graceMs
        while pool.runningCount > 0 && MonotonicClock.milliseconds() < deadline {
            MonotonicClock.sleep(milliseconds: 20)
        }
    }
}
