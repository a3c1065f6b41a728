import Dispatch
import LoomCode
import LoomEngine
import LoomProviders
import LoomScheduling
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// One supervised project: its lock, its database, its engine, and the serial queue every
/// call into that engine runs on (one task in flight per project; its ticks in order).
public final class Project: @unchecked Sendable {
    public let root: String
    public let queue: DispatchQueue
    package let lock: ProjectLock
    /// Touched only on `queue`, like the three below (SIGHUP replaces them).
    private var bundles: [LoomBundle] = []
    /// Digests of the loaded bundles with host-handler steps: only their tasks have handler
    /// facts (branch, change, checks) for `status` to read.
    package private(set) var handlerBundleDigests: Set<String> = []
    package private(set) var loadedDigests: Set<String> = []
    let clock: () -> Int64
    /// Open only while the project has work: a project whose tasks are parked or finished
    /// keeps just its lock, and its connection (page cache, statements, file handles) is
    /// closed until an answer, a delivery or a read needs it again. Touched only on `queue`.
    private var openEngine: Engine?

    /// The project's engine, opened on first use (on `queue`).
    ///
    /// Its store is the file's sole writer: a commit by anyone else fences it (no more
    /// writes) and quarantines the project. A quarantined project's store is fenced as it
    /// opens, and a write made while the project was closed shows in the file's fingerprint.
    package var engine: Engine {
        get throws(LoomError) {
            if let openEngine { return openEngine }
            var options = StoreOptions()
            options.soleWriter = true
            let store = try Store(path: databasePath, options: options)
            store.onFence = { [weak self] reason in self?.quarantine(reason) }
            if let entry = quarantines?.entry(for: root) {
                store.fence(because: entry.reason)
            } else if let closedFingerprint, closedFingerprint != DatabaseFingerprint(databasePath: databasePath) {
                store.fence(because: "\(databasePath) changed while loomd had it closed (a write loomd did not make)")
            }
            closedFingerprint = nil
            let opened = try Engine(store: store, bundles: bundles, clock: clock)
            opened.refusalAudit = { [weak self] input in self?.auditRefusal(input) ?? .journal(suppressedBefore: nil) }
            openEngine = opened
            Self.openCount.withLock { $0 += 1 }
            return opened
        }
    }

    package var databasePath: String { "\(root)/.loom/state.db" }
    /// The database's files as loomd closed them (on `queue`); nil while open, or when the
    /// close could not be confirmed.
    private var closedFingerprint: DatabaseFingerprint?
    /// Where quarantines are kept; nil for a host that does not quarantine.
    package let quarantines: QuarantineList?
    /// Tells the daemon a project was just quarantined (it logs and records it).
    package let onQuarantine: @Sendable (String, String) -> Void

    /// Whether the project is quarantined: no ticks, no effects, until the operator clears it.
    package var isQuarantined: Bool { quarantines?.entry(for: root) != nil }

    private func quarantine(_ reason: String) {
        onQuarantine(root, reason)
    }

    /// Looks for a write loomd did not make (on `queue`), without writing: a status request
    /// shows a quarantine at once, not at the next tick.
    package func noticeOtherWriters() {
        _ = openEngine?.store.noticeOtherWriters()
    }

    /// How long a project stays open after its last use: a burst of requests reuses the
    /// connection, and one timer per burst (not per tick, never while parked) closes it.
    package static let hibernateAfterMs = 2_000
    /// Above this many open connections, an idle project closes at once instead: a burst
    /// across many projects must not hold them all open (memory is the daemon's limit).
    package static let openConnectionsMax = 32
    package static let openCount = Counter()
    private var lastUse = 0

    package static func hasHandlerSteps(_ bundle: LoomBundle) -> Bool {
        bundle.flows.values.contains { flow in
            flow.steps.contains { step in
                if case .command(let spec) = step.kind { return spec.handler != nil }
                return false
            }
        }
    }

    /// Runs new tasks with `bundles` from now on (on `queue`). The engine is reopened with
    /// them; tasks under way keep the version they started with, which the project's
    /// database holds.
    package func use(bundles: [LoomBundle]) {
        self.bundles = bundles
        handlerBundleDigests = Set(bundles.filter(Self.hasHandlerSteps).map(\.digest))
        loadedDigests = Set(bundles.map(\.digest))
        closeEngine()
    }

    /// Drops the open engine, if any; the next use reopens it (on `queue`). The head is
    /// signed first: a project that goes quiet leaves no unsigned tail behind.
    private func closeEngine() {
        guard openEngine != nil else { return }
        if !isQuarantined { checkpointReporting(force: true) }
        weak var closing = openEngine
        openEngine = nil
        Self.openCount.withLock { $0 -= 1 }
        // Only a connection that is really closed has written its last (its WAL checkpoint).
        closedFingerprint = closing == nil && !isQuarantined ? DatabaseFingerprint(databasePath: databasePath) : nil
    }

    /// Ends a quarantine (on `queue`, after the list dropped it): the fenced engine goes
    /// unsigned (it can write nothing), and the next use opens the file afresh.
    package func reopenAfterQuarantine() {
        guard openEngine != nil else { return }
        openEngine = nil
        Self.openCount.withLock { $0 -= 1 }
        closedFingerprint = nil
    }

    /// Closes the connection once the project has been idle a while (on `queue`).
    package func hibernateSoon() {
        if Self.openCount.withLock({ $0 }) > Self.openConnectionsMax {
            hibernateIfIdle()
            return
        }
        lastUse += 1
        let use = lastUse
        queue.asyncAfter(deadline: .now() + .milliseconds(Self.hibernateAfterMs)) { [weak self] in
            guard let self, self.lastUse == use else { return }
            self.hibernateIfIdle()
        }
    }

    /// Closes the connection when nothing runs (on `queue`); the next use reopens it.
    package func hibernateIfIdle() {
        guard openEngine != nil, watchers.isEmpty, activeCounts.running == 0 else { return }
        closeEngine()
        // Hand the connection's memory back to the system, not just to malloc's free lists.
        Memory.trimSoon()
    }
    /// Watch streams for this project; touched only on `queue`.
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    private var publishedSeq: Int64 = 0
    private let countsLock = Lock()
    private var counts = ActiveCounts()

    /// Tasks in flight or waiting, for STATUS= and the fleet view, and the ended ones by
    /// state (done, failed, …) so the fleet view counts every state without opening a
    /// database.
    package struct ActiveCounts: Equatable, Sendable {
        package var running = 0, parked = 0, queued = 0
        package var ended: [String: Int] = [:]

        package var active: [Int] { [running, parked, queued] }
    }

    /// The latest counts (any thread).
    package var activeCounts: ActiveCounts { countsLock.withLock { counts } }

    /// Re-reads the counts (on `queue`): an index range over three statuses, not a scan;
    /// the ended states are counted again only when the active counts moved (a task
    /// started, parked or ended), not on every tick.
    package func refreshCounts() {
        var fresh = ActiveCounts()
        let old = activeCounts
        let rows =
            (try? (try engine).store.query(
                "SELECT status, count(*) AS n FROM tasks WHERE status IN ('running', 'parked', 'queued') GROUP BY status"
            )) ?? []
        for row in rows {
            let count = Int(row["n"]?.intValue ?? 0)
            switch row["status"]?.stringValue {
            case "running": fresh.running = count
            case "parked": fresh.parked = count
            default: fresh.queued = count
            }
        }
        fresh.ended = old.ended
        if fresh.active != old.active || old.ended.isEmpty {
            let ended =
                (try? (try engine).store.query(
                    "SELECT status, count(*) AS n FROM tasks WHERE status NOT IN ('running', 'parked', 'queued') GROUP BY status"
                )) ?? []
            fresh.ended = Dictionary(
                uniqueKeysWithValues: ended.compactMap { row in
                    row["status"]?.stringValue.map { ($0, Int(row["n"]?.intValue ?? 0)) }
                }
            )
        }
        countsLock.withLock { counts = fresh }
    }

    package struct Watcher {
        let task: String?
        let send: (JSONValue) -> Bool
        /// Ends the stream when the project stops being served.
        let end: () -> Void
    }

    /// Signs chain heads; nil leaves the chain unsigned (a host that holds no key).
    package let signer: ChainSigner?
    /// The last entry a checkpoint covers (on `queue`).
    private var lastSignedSeq: Int64 = 0
    /// Where failures that have no caller to answer go (the daemon's log).
    package let log: @Sendable (String) -> Void

    package init(
        root: String,
        bundles: [LoomBundle],
        frameMaxBytes: Int,
        signer: ChainSigner? = nil,
        quarantines: QuarantineList? = nil,
        onQuarantine: @escaping @Sendable (String, String) -> Void = { _, _ in },
        log: @escaping @Sendable (String) -> Void = { _ in },
        clock: @escaping () -> Int64
    ) throws(LoomError) {
        self.root = root
        self.signer = signer
        self.quarantines = quarantines
        self.onQuarantine = onQuarantine
        self.log = log
        shownPayloadMaxBytes = frameMaxBytes / 4
        queue = DispatchQueue(label: "loom.project.\(root)")
        guard LoomDirectory.ensure(project: root) else {
            throw LoomError(
                .io,
                "cannot create \(root)/.loom: \(Errno.current.description)",
                context: "opening project \(root)"
            )
        }
        lock = try ProjectLock(projectRoot: root)
        self.clock = clock
        use(bundles: bundles)
        publishedSeq =
            try engine.store.query("SELECT coalesce(max(seq), 0) AS s FROM journal").first?["s"]?.intValue ?? 0
        lastSignedSeq = try engine.store.lastCheckpoint()?.seq ?? 0
        refreshCounts()
    }

    /// Signs the chain head the engine committed and stores the checkpoint (on `queue`), when
    /// `force` (a gate, a task's end, going idle, shutdown) or when enough entries went
    /// unsigned. Needs the engine open: a closed project has signed its head already.
    package func checkpoint(force: Bool) throws(LoomError) {
        // A quarantined project's head is not loomd's to vouch for.
        guard let signer, let engine = openEngine, !isQuarantined else { return }
        let position = try engine.chainPosition()
        guard position.seq > lastSignedSeq, force || position.seq - lastSignedSeq >= signer.entriesPerCheckpoint else {
            return
        }
        try engine.store.appendCheckpoint(try signer.sign(position))
        lastSignedSeq = position.seq
        try signer.noteSigned(position, project: root)
    }

    /// `checkpoint(force:)`, with a failure logged: an unsigned stretch is not lost work
    /// (the next checkpoint covers it), so it never fails the tick that prompted it.
    package func checkpointReporting(force: Bool) {
        do { try checkpoint(force: force) } catch { log("signing the chain head of \(root) failed: \(error)") }
    }

    /// Adds a watcher (on `queue`); returns its id.
    package func addWatcher(task: String?, send: @escaping (JSONValue) -> Bool, end: @escaping () -> Void) -> Int {
        nextWatcherID += 1
        watchers[nextWatcherID] = Watcher(task: task, send: send, end: end)
        return nextWatcherID
    }

    package func removeWatcher(_ id: Int) { watchers[id] = nil }

    /// Ends every watch stream (on `queue`): the project is no longer served.
    package func closeWatchers() {
        let ended = watchers.values
        watchers.removeAll()
        for watcher in ended { watcher.end() }
    }

    /// Sends journal entries committed since the last call to the watchers (on `queue`).
    package func publish() {
        guard !watchers.isEmpty else {
            publishedSeq =
                (try? (try engine).store.query("SELECT coalesce(max(seq), 0) AS s FROM journal").first?["s"]?.intValue)
                ?? publishedSeq
            return
        }
        guard let entries = try? journalEntries(task: nil, afterSeq: publishedSeq, limit: 1_000).entries,
            !entries.isEmpty
        else { return }
        publishedSeq = entries.last?["seq"]?.intValue ?? publishedSeq
        for (id, watcher) in watchers {
            for entry in entries where watcher.task == nil || entry["task"]?.stringValue == watcher.task {
                if !watcher.send(entry) {
                    watchers[id] = nil
                    break
                }
            }
        }
    }

    /// Tasks whose agent spawns a host executes (`submit` with `"executor": "host"`), read
    /// once from each task's journaled submission and cached: the choice never changes.
    private let executorsLock = Lock()
    private var executors: [String: Bool] = [:]
    /// The cache is bounded; past this many tasks it starts over (a miss costs one indexed read).
    package static let executorsCachedMax = 10_000

    /// Whether a host executes `task`'s spawns. False when its submission cannot be read: a
    /// host is offered, and may deliver, only what is known to be its own (loomd's scheduling
    /// looks again on record, see `Daemon.retryExecutorLookup`).
    package func isHostExecuted(_ task: String) -> Bool {
        executorChoice(task) == .host
    }

    /// Who executes `task`'s spawns, from its journaled submission; `.unknown` when the store
    /// could not be read (not cached: the caller looks again, on record).
    package func executorChoice(_ task: String) -> ExecutorChoice {
        if let known = executorsLock.withLock({ executors[task] }) { return known ? .host : .daemon }
        let rows: [JSONValue]
        do throws(LoomError) {
            if let failure = executorLookupFault?(task) { throw failure }
            rows = try (try engine).store.query(
                "SELECT json_extract(payload, '$.options.executor') AS executor FROM journal WHERE task_id = :task AND kind = 'submitted' LIMIT 1",
                bindings: [":task": task]
            )
        } catch {
            return .unknown(error)
        }
        let host = rows.first?["executor"]?.stringValue == "host"
        executorsLock.withLock {
            if executors.count >= Self.executorsCachedMax { executors.removeAll() }
            executors[task] = host
        }
        return host ? .host : .daemon
    }

    /// How many refusals each peer may have journaled one by one (on `queue`); nil journals
    /// every one (a one-shot run has no peers). See `Project+Refusals.swift`.
    package var refusalBudget: RefusalBudget?
    /// Told of each refusal counted instead of journaled (on `queue`): its input's kind, and
    /// whether it opened its peer's window (the daemon then closes it `windowMs` later).
    package var onRefusalSuppressed: ((_ kind: String, _ opensWindow: Bool) -> Void)?

    /// Tests only: makes the executor lookup of a task fail with the returned error.
    package var executorLookupFault: ((String) -> LoomError?)?

    /// The most text one progress event carries; a longer chunk is cut (the result has it all).
    package static let progressTextMaxBytes = 4_096

    /// Sends what an agent printed so far to the watchers of its task (on `queue`). Not a
    /// journal entry: it has no `seq`, and the effect's result is what the journal keeps.
    package func publishProgress(_ effect: Effect, text: String) {
        guard !text.isEmpty else { return }
        let piece = String(decoding: text.utf8.prefix(Self.progressTextMaxBytes), as: UTF8.self)
        keepProgress(effect, piece)
        guard !watchers.isEmpty else { return }
        let event = progressEvent(effect, text: piece)
        for (id, watcher) in watchers where watcher.task == nil || watcher.task == effect.taskID {
            if !watcher.send(event) { watchers[id] = nil }
        }
    }

    /// An agent's output so far, per running effect, for a watcher that attaches late: the
    /// last `progressKeptMaxBytes` of each, dropped when its result is delivered.
    private var progressSoFar: [String: (effect: Effect, text: String)] = [:]
    package static let progressKeptMaxBytes = 16 * 1024
    /// At most this many effects' output is kept (a runaway fan-out cannot grow it).
    package static let progressKeptEffectsMax = 64

    private func keepProgress(_ effect: Effect, _ piece: String) {
        guard progressSoFar[effect.key] != nil || progressSoFar.count < Self.progressKeptEffectsMax else { return }
        var text = (progressSoFar[effect.key]?.text ?? "") + piece
        if text.utf8.count > Self.progressKeptMaxBytes {
            text = String(decoding: text.utf8.suffix(Self.progressKeptMaxBytes), as: UTF8.self)
        }
        progressSoFar[effect.key] = (effect, text)
    }

    /// The effect's result was delivered: its output is in the journal now.
    package func forgetProgress(_ key: String) { progressSoFar[key] = nil }

    /// The output so far of `task`'s running effects (every task's with nil), as progress events.
    package func progressBacklog(task: String?) -> [JSONValue] {
        progressSoFar.values.filter { task == nil || $0.effect.taskID == task }.sorted { $0.effect.key < $1.effect.key }
            .map {
                progressEvent($0.effect, text: $0.text)
            }
    }

    private func progressEvent(_ effect: Effect, text: String) -> JSONValue {
        .object([
            "kind": "progress", "project": .string(root), "task": .string(effect.taskID), "key": .string(effect.key),
            "step": .string(effect.step), "unit": .string(effect.unit), "text": .string(text),
        ])
    }

    /// A payload longer than this (a quarter of a frame) is shown by its size: one journal
    /// entry may hold 1 MiB, as much as one frame, and an answer or event must fit in a
    /// frame with its envelope. The entry is whole in the database and in its proof
    /// (`loomctl export`).
    package let shownPayloadMaxBytes: Int

    /// Journal entries as the audit trail shows them: at most `limit`, and once they add up
    /// to `bytesMax` no more (but always one); `more` says whether entries follow.
    package func journalEntries(
        task: String?,
        afterSeq: Int64,
        limit: Int,
        bytesMax: Int = .max
    ) throws(LoomError) -> (entries: [JSONValue], more: Bool) {
        let filter = task == nil ? "" : "AND j.task_id = :task"
        let rows = try (try engine).store.query(
            """
            SELECT j.seq, j.tick, k.time_ms AS time, j.task_id AS task, j.kind, j.actor, j.payload, lower(hex(j.hash)) AS hash
            FROM journal j JOIN ticks k ON k.tick = j.tick WHERE j.seq > :after \(filter) ORDER BY j.seq LIMIT \(limit + 1)
            """,
            bindings: [":after": String(afterSeq)].merging(task.map { [":task": $0] } ?? [:]) { $1 },
            limit: limit + 1
        )
        var entries: [JSONValue] = []
        var bytes = 0
        for row in rows.prefix(limit) {
            guard case .object(var object) = row else { continue }
            // Every entry says whose it is: a watch of several projects mixes them.
            object["project"] = .string(root)
            var size = 200 + root.utf8.count
            for key in ["actor", "payload"] {
                guard let text = object[key]?.stringValue else { continue }
                if key == "payload", text.utf8.count > shownPayloadMaxBytes {
                    object[key] = .object([
                        "omitted": .bool(true), "bytes": .int(Int64(text.utf8.count)),
                        "why": "too long to show here; loomctl export has the entry whole",
                    ])
                    continue
                }
                size += text.utf8.count
                if let parsed = try? JSONValue.parse(text) { object[key] = parsed }
            }
            if object["kind"]?.stringValue == "effect_result", let rejection = try rejection(object) {
                object["rejected"] = rejection
                size += rejection.canonicalText.utf8.count
            }
            if !entries.isEmpty, bytes + size > bytesMax { return (entries, true) }
            bytes += size
            entries.append(.object(object))
        }
        return (entries, rows.count > limit)
    }
}

extension Project {
    /// For an agent's answer the kernel rejected (its output failed the agent's schema): why,
    /// checked again by the kernel's own validator against the task's bundle version, and the
    /// harness finding the rejection became when it did (the second failure). Not journaled
    /// apart: the output and the schema are, and the check is a pure function of them.
    package func rejection(_ entry: [String: JSONValue]) throws(LoomError) -> JSONValue? {
        guard let key = entry["payload"]?["key"]?.stringValue, let tick = entry["tick"]?.intValue,
            entry["payload"]?["result"]?["status"]?.stringValue == "ok",
            let text = entry["payload"]?["result"]?["output"]?.stringValue
        else { return nil }
        let engine = try engine
        let store = try engine.store
        guard
            let row = try store.query(
                """
                SELECT o.task_id, o.step, o.unit, o.iteration, t.bundle_digest FROM effects e
                JOIN step_outputs o ON o.task_id = e.task_id AND o.step = e.step AND o.unit = e.unit AND o.iteration = e.iteration AND o.attempt = e.attempt
                JOIN tasks t ON t.id = e.task_id
                WHERE e.key = :key AND e.kind = 'spawn' AND o.kind = 'spawn' AND o.valid = 0
                """,
                bindings: [":key": key]
            ).first,
            let digest = row["bundle_digest"]?.stringValue, let unit = row["unit"]?.stringValue,
            let spec = engine.bundle(digest: digest)?.agents[unit]
        else { return nil }
        var rejection: [String: JSONValue] = [
            "errors": .array(engine.validationErrors(of: text, agent: spec).prefix(10).map { .string($0) })
        ]
        if let finding = try store.query(
            """
            SELECT id, severity, summary FROM findings WHERE task_id = :task AND step = :step AND agent = :agent AND iteration = :iteration
              AND origin = 'harness' AND created_tick = :tick
            """,
            bindings: [
                ":task": row["task_id"]?.stringValue ?? "", ":step": row["step"]?.stringValue ?? "", ":agent": unit,
                ":iteration": String(row["iteration"]?.intValue ?? 0), ":tick": String(tick),
            ]
        ).first {
            rejection["finding"] = finding
        }
        return .object(rejection)
    }
}

/// A locked integer shared by every project.
package final class Counter: @unchecked Sendable {
    private let mutex = Lock()
    private var value = 0

    package func withLock<T>(_ body: (inout Int) -> T) -> T {
        mutex.withLock { body(&value) }
    }
}
