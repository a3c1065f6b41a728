import LoomValues

/// The kernel: a replay-deterministic state machine over one project's database.
///
/// Each public input (`submit`, `deliver`, `answerGate`, `cancel`) is one tick: one
/// `BEGIN IMMEDIATE` transaction that journals the input, takes one time token from the
/// injected clock, applies the transition, records the effects it asks for, runs every
/// commit-time rule, and commits. A rule that finds violating rows rolls the tick back; the
/// violation is then journaled in a tick of its own and surfaces as `invariantViolation`.
///
/// The engine reads no clock, random source or UUID: time comes from `clock`, ids are
/// derived from what is already in the database, so replaying the journal with the
/// recorded time tokens reproduces every row.
public final class Engine {
    public let store: Store
    public let limits: KernelLimits
    /// The current version of each bundle, by name: what new submissions run.
    let bundles: [String: LoomBundle]
    /// Every version known, by digest: the current ones, those handed over as archived,
    /// and those loaded from the project's `bundle_versions` when a task needs one.
    var versions: [String: LoomBundle]
    let clock: () -> Int64
    let rules: RuleBook
    /// The journal position after this engine's last committed tick, so a tick need not
    /// read it back. Dropped on any failure and re-read; the engine is the project's only
    /// writer (the host holds the project lock), and a stale cursor could not commit anyway:
    /// its tick number would collide and its chain link would break a kernel rule.
    private var cursor: TickContext.Cursor?
    /// Rows of unfinished tasks as this engine last committed them (the same reasoning as
    /// `cursor`), so a tick does not read and decode its task again.
    private var knownTasks: [String: TaskRecord] = [:]
    private static let knownTasksMax = 256
    /// The project's pending effects as this engine last committed them (see `TickContext.pending`).
    private var knownPending: [String: Effect]?
    /// Which rules each tick runs: all of them live; in replay only those added since the
    /// journal was recorded, enforced (`Replayer`) or observed (`HistoryReplayer`).
    var ruleChecking = RuleChecking.enforceAll
    /// Asked before a refused answer or cancel is journaled; nil journals every one. The host
    /// keeps a per-peer budget here (loomd), so a hostile peer cannot grow the journal without
    /// bound. Not replayed: a refusal changes no state, and a summary is journaled as recorded.
    public var refusalAudit: ((JournalInput) -> RefusalAudit)?
    /// What the added rules found in the last tick, by task (`.observeAdded` only).
    var observedViolations: [(task: String, violations: [RuleViolation])] = []

    /// The chain head after this engine's last committed tick, when it knows it.
    var committedChainHead: [UInt8]? { cursor?.chainHead }

    /// Where the journal stands after this engine's last committed tick: from memory when
    /// the engine knows it, else as stored. The host signs it (docs/journal.md, "Checkpoints");
    /// the kernel itself holds no key.
    public func chainPosition() throws(LoomError) -> ChainPosition {
        if let cursor { return ChainPosition(seq: cursor.seq, head: cursor.chainHead) }
        return try store.storedChainPosition()
    }

    /// - Parameters:
    ///   - clock: the time source; called exactly once per tick, in milliseconds.
    ///   - extraRules: operator rules added to the kernel's and the bundles' (replay uses it).
    ///   - archived: earlier versions of bundles, used only by tasks that started with them
    ///     (replay hands over a project's stored versions; a live engine loads them itself).
    public init(
        store: Store,
        bundles: [LoomBundle],
        archived: [LoomBundle] = [],
        limits: KernelLimits = KernelLimits(),
        extraRules: [SQLRule] = [],
        clock: @escaping () -> Int64
    ) throws(LoomError) {
        self.store = store
        self.limits = limits
        self.clock = clock
        var byName: [String: LoomBundle] = [:]
        for bundle in bundles { byName[bundle.name] = bundle }
        self.bundles = byName
        var byDigest: [String: LoomBundle] = [:]
        for bundle in archived + bundles { byDigest[bundle.digest] = bundle }
        self.versions = byDigest
        self.rules = try RuleBook(bundles: Array(byDigest.values), extraRules: extraRules, store: store)
    }

    // MARK: Inputs

    /// Submits a task. With an idempotency key already used, returns that task and changes nothing.
    ///
    /// - Parameter options: opaque to the kernel: journaled with the submission for the host
    ///   that runs the task's effects (who executes them, for instance), so that choice
    ///   survives a restart and is on record. The transitions never read it.
    public func submit(
        bundle: String,
        flow: String? = nil,
        input: String,
        policy: TaskPolicy = TaskPolicy(),
        idempotencyKey: String? = nil,
        options: JSONValue? = nil,
        by caller: Caller
    ) throws(LoomError) -> SubmitReceipt {
        guard input.utf8.count <= limits.inputMaxBytes else {
            throw LoomError(
                .tooLarge,
                "task input is \(input.utf8.count) bytes; the limit is \(limits.inputMaxBytes)",
                context: "submitting a task"
            )
        }
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.utf8.count > limits.idempotencyKeyMaxBytes {
            throw LoomError(
                .invalidInput,
                "an idempotency key must be 1 to \(limits.idempotencyKeyMaxBytes) bytes",
                context: "submitting a task"
            )
        }
        guard let loaded = bundles[bundle] else {
            throw LoomError(
                .notFound,
                "no bundle named '\(bundle)' is loaded; loaded: \(bundles.keys.sorted().joined(separator: ", "))",
                context: "submitting a task"
            )
        }
        let flowName = flow ?? loaded.defaultFlow
        guard loaded.flow(named: flowName) != nil else {
            throw LoomError(.notFound, "bundle '\(bundle)' has no flow '\(flowName)'", context: "submitting a task")
        }
        var payload: [String: JSONValue] = [
            "bundle": .string(bundle), "digest": .string(loaded.digest), "flow": .string(flowName),
            "input": .string(input), "policy": policy.json,
            // Which semantics of the transitions run this task: a replay by another build
            // then says so instead of reporting a divergence alone (`KernelSemantics`).
            KernelSemantics.payloadKey: .int(Int64(KernelSemantics.version)),
        ]
        if let idempotencyKey { payload["idempotencyKey"] = .string(idempotencyKey) }
        if let options {
            guard options.objectValue != nil else {
                throw LoomError(.invalidInput, "submission options must be a JSON object", context: "submitting a task")
            }
            payload["options"] = options
        }
        let outcome = try perform(JournalInput(kind: .submitted, taskID: "", payload: .object(payload), caller: caller))
        return SubmitReceipt(taskID: outcome.taskID, created: outcome.duplicate == nil, newEffects: outcome.newEffects)
    }

    /// Delivers an effect's result. Exactly-once application: a second delivery of the same
    /// key answers `duplicate` with the recorded result.
    public func deliver(key: String, result: JSONValue, by caller: Caller = .system) throws(LoomError) -> Delivery {
        // The result's size is checked where it is encoded, as part of its journal entry.
        let outcome = try perform(
            JournalInput(
                kind: .effectResult,
                taskID: "",
                payload: .object(["key": .string(key), "result": result]),
                caller: caller
            )
        )
        if let recorded = outcome.duplicate { return recorded.isNull ? .discarded : .duplicate(recorded: recorded) }
        return .applied(newEffects: outcome.newEffects)
    }

    /// Answers the gate a task waits at. `gate` must be the waiting gate's event id.
    @discardableResult
    public func answerGate(
        task: String,
        gate: String,
        answer: GateAnswer,
        message: String = "",
        by caller: Caller
    ) throws(LoomError) -> [Effect] {
        guard message.utf8.count <= limits.messageMaxBytes else {
            throw LoomError(
                .tooLarge,
                "message is \(message.utf8.count) bytes; the limit is \(limits.messageMaxBytes)",
                context: "answering \(gate)"
            )
        }
        let payload: JSONValue = .object([
            "gate": .string(gate), "answer": .string(answer.rawValue), "message": .string(message),
        ])
        return try perform(JournalInput(kind: .gateAnswered, taskID: task, payload: payload, caller: caller)).newEffects
    }

    /// Cancels a task that has not finished. Its pending effects are cancelled with it.
    @discardableResult
    public func cancel(task: String, reason: String, by caller: Caller) throws(LoomError) -> [Effect] {
        guard reason.utf8.count <= limits.messageMaxBytes else {
            throw LoomError(
                .tooLarge,
                "reason is \(reason.utf8.count) bytes; the limit is \(limits.messageMaxBytes)",
                context: "cancelling \(task)"
            )
        }
        return try perform(
            JournalInput(kind: .cancelled, taskID: task, payload: .object(["reason": .string(reason)]), caller: caller)
        ).newEffects
    }

    // MARK: Reading

    /// Effects with an intent and no result: what a restarted host must issue again, in
    /// the order they were asked for. Cost is proportional to what is in flight.
    public func pendingEffects(limit: Int = 10_000) throws(LoomError) -> [Effect] {
        try store.read { tx throws(LoomError) in
            let statement = try tx.statement(
                "SELECT key, task_id, step, unit, iteration, attempt, kind, request FROM effects WHERE status = 'pending' ORDER BY intent_tick, key LIMIT ?"
            )
            defer { statement.reset() }
            statement.bind(1, limit)
            var effects: [Effect] = []
            while try statement.step() { effects.append(try Transaction.decodeEffect(statement)) }
            return effects
        }
    }

    public func task(_ id: String) throws(LoomError) -> TaskRecord? {
        try store.read { tx throws(LoomError) in try tx.task(id) }
    }

    /// The bundle version a task runs (by its digest), loaded or archived.
    public func bundle(digest: String) -> LoomBundle? { versions[digest] }

    public func waitingGate(task: String) throws(LoomError) -> GateRecord? {
        try store.read { tx throws(LoomError) in try tx.waitingGate(task: task) }
    }

    // MARK: The tick

    struct Outcome {
        var taskID: String
        var newEffects: [Effect] = []
        /// Set when the input was a duplicate: the recorded result (`.null` for discarded).
        var duplicate: JSONValue?
    }

    /// Runs one input as one tick; on a rule violation or a refusal, journals that in a
    /// tick of its own and rethrows.
    /// - Parameter auditRejections: journal a rule violation or a refused answer in a tick
    ///   of its own (replay passes false: the record already holds those entries).
    func perform(_ input: JournalInput, auditRejections: Bool = true) throws(LoomError) -> Outcome {
        var timeToken: Int64?
        let tokenOnce: () -> Int64 = { [clock] in
            if let timeToken { return timeToken }
            let value = clock()
            timeToken = value
            return value
        }
        var committed: TickContext.Cursor?
        var tasks = knownTasks
        var pending = knownPending
        do {
            let outcome = try store.write { tx throws(LoomError) in
                let context = try TickContext(
                    tx: tx,
                    clock: tokenOnce,
                    journalEntryMaxBytes: store.options.journalEntryMaxBytes,
                    cursor: cursor,
                    knownTasks: knownTasks,
                    knownPending: knownPending
                )
                let outcome = try apply(input, in: context)
                pending = context.pending
                if outcome.duplicate != nil {
                    committed = cursor
                    return outcome
                }
                try checkRules(in: context)
                try context.finish()
                committed = context.cursorAfter
                tasks = context.taskCache
                return outcome
            }
            cursor = committed
            knownPending = pending
            knownTasks = tasks.filter { !$0.value.status.isFinished }
            if knownTasks.count > Self.knownTasksMax { knownTasks = [:] }
            return outcome
        } catch {
            cursor = nil
            knownTasks = [:]
            knownPending = nil
            guard auditRejections else { throw error }
            if error.code == .invariantViolation {
                try recordRejection(of: input, kind: .violation, error: error, clock: tokenOnce)
            } else if input.kind == .gateAnswered || input.kind == .cancelled,
                [.staleGate, .forbidden, .invalidInput, .notFound].contains(error.code)
            {
                // Refused answers are audited: who tried to answer what, and why it failed,
                // within the host's per-peer budget (`refusalAudit`).
                if case .journal(let suppressed) = refusalAudit?(input) ?? .journal(suppressedBefore: nil) {
                    try recordRejection(
                        of: input,
                        kind: .refused,
                        error: error,
                        clock: tokenOnce,
                        suppressed: suppressed
                    )
                }
            }
            throw error
        }
    }

    /// Journals a rejected input in its own tick (the rejected tick's time token is reused,
    /// so the audit trail says when it was tried).
    private func recordRejection(
        of input: JournalInput,
        kind: JournalKind,
        error: LoomError,
        clock: @escaping () -> Int64,
        suppressed: JSONValue? = nil
    ) throws(LoomError) {
        var payload: [String: JSONValue] = [
            "input": .object(["kind": .string(input.kind.rawValue), "payload": input.payload]),
            "code": .string(error.code.rawValue), "message": .string(error.message),
        ]
        if let suppressed { payload["suppressedBefore"] = suppressed }
        if kind == .violation { payload["violations"] = .array(error.violations.map(\.json)) }
        _ = try store.write { tx throws(LoomError) in
            // A delivery names its effect, not its task: file the rejection under the effect's
            // task, so the task's log, proof and replay window include it.
            var taskID = input.taskID
            if taskID.isEmpty, let key = input.payload["key"]?.stringValue {
                taskID =
                    try tx.rows("SELECT task_id FROM effects WHERE key = :key", bindings: [":key": key], limit: 1)
                    .first?["task_id"]?.stringValue ?? ""
            }
            let rejected = JournalInput(kind: kind, taskID: taskID, payload: .object(payload), caller: input.caller)
            let context = try TickContext(
                tx: tx,
                clock: clock,
                journalEntryMaxBytes: store.options.journalEntryMaxBytes
            )
            _ = try apply(rejected, in: context)
            try context.finish()
        }
    }

    /// Dispatches one journaled input. Replay calls this too, with the recorded time.
    func apply(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        switch input.kind {
        case .submitted: return try applySubmission(input, in: context)
        case .effectResult, .timerFired: return try applyDelivery(input, in: context)
        case .gateAnswered: return try applyAnswer(input, in: context)
        case .cancelled: return try applyCancel(input, in: context)
        case .violation, .refused: return try applyRejectionRecord(input, in: context)
        case .effectRetry: return try applyRetryRecord(input, in: context)
        }
    }

    func checkRules(in context: TickContext) throws(LoomError) {
        var violations: [RuleViolation] = []
        for taskID in context.touchedTasks {
            let digest = context.taskCache[taskID]?.bundleDigest
            let found = try rules.check(
                tx: context.tx,
                task: taskID,
                tick: context.tick,
                bundle: digest,
                rowsMax: limits.violationRowsMax,
                onlyAdded: ruleChecking != .enforceAll
            )
            if ruleChecking == .observeAdded {
                if !found.isEmpty { observedViolations.append((taskID, found)) }
            } else {
                violations += found
            }
        }
        if !violations.isEmpty {
            throw LoomError(
                .invariantViolation,
                "commit-time rule \(violations.map(\.rule).joined(separator: ", ")) refused the change: \(violations[0].message)",
                context: "tick \(context.tick) for \(context.primaryTask)",
                violations: violations
            )
        }
    }

    private func applyRejectionRecord(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        try context.journal(kind: input.kind, taskID: input.taskID, caller: input.caller, payload: input.payload)
        if input.kind == .violation {
            for violation in input.payload["violations"]?.arrayValue ?? [] {
                try context.tx.statement(
                    "INSERT OR IGNORE INTO violations(tick, task_id, rule, message, rows, actor) VALUES (?, ?, ?, ?, ?, ?)"
                )
                .bind(1, context.tick).bind(2, input.taskID).bind(3, violation["rule"]?.stringValue ?? "")
                .bind(4, violation["message"]?.stringValue ?? "").bind(
                    5,
                    (violation["rows"] ?? .array([])).canonicalText
                )
                .bind(6, input.caller.json.canonicalText).run()
            }
        }
        return Outcome(taskID: input.taskID)
    }
}

extension Engine {
    /// Journals that the host is retrying an effect (after a transient failure, or waiting
    /// out a rate limit): the audit trail shows every attempt, and nothing else changes.
    /// Returns the effects of a task that started because this one ended (a retry past the
    /// spawn cap fails the task, and the next queued one starts in the same tick).
    ///
    /// Idempotent per decision: when the key's last retry on record is the same attempt,
    /// class and wait, nothing is journaled and nothing is counted again (a host that lost
    /// its memory of a retry in a crash and met the same failure again). The check is here,
    /// on the host's way in, and not in the transition, so that a journal written before it
    /// (duplicates included) still replays as it was recorded.
    /// - Parameter wait: for a rate-limit wait, which wait of `attempt` this is (1-based).
    @discardableResult
    public func recordRetry(
        key: String,
        attempt: Int,
        errorClass: String,
        delayMs: Int,
        message: String,
        wait: Int? = nil,
        by caller: Caller = .system
    ) throws(LoomError) -> [Effect] {
        if let last = try retries(key: key).last,
            last.isSameDecision(
                as: RetryRecord(attempt: attempt, errorClass: errorClass, delayMs: delayMs, wait: wait, timeMs: 0)
            )
        {
            return []
        }
        var fields: [String: JSONValue] = [
            "key": .string(key), "attempt": .int(Int64(attempt)), "errorClass": .string(errorClass),
            "delayMs": .int(Int64(delayMs)), "message": .string(String(message.prefix(1_000))),
        ]
        if let wait { fields["wait"] = .int(Int64(wait)) }
        return try perform(JournalInput(kind: .effectRetry, taskID: "", payload: .object(fields), caller: caller))
            .newEffects
    }

    /// The retries journaled for the effect `key`, oldest first (at most `limit`): what a
    /// restarted host resumes from. Reads the effect's task's entries through
    /// `journal_by_task`, so the cost follows the task, not the history.
    public func retries(key: String, limit: Int = 1_000) throws(LoomError) -> [RetryRecord] {
        try store.read { tx throws(LoomError) in
            guard
                let task = try tx.rows(
                    "SELECT task_id FROM effects WHERE key = :key",
                    bindings: [":key": key],
                    limit: 1
                ).first?["task_id"]?.stringValue
            else {
                return []
            }
            return try tx.rows(
                """
                SELECT json_extract(j.payload, '$.attempt') AS attempt, json_extract(j.payload, '$.errorClass') AS error_class,
                       json_extract(j.payload, '$.delayMs') AS delay_ms, json_extract(j.payload, '$.wait') AS wait, t.time_ms AS time_ms
                FROM journal j JOIN ticks t ON t.tick = j.tick
                WHERE j.task_id = :task AND j.kind = 'effect_retry' AND json_extract(j.payload, '$.key') = :key
                ORDER BY j.seq
                """,
                bindings: [":task": task, ":key": key],
                limit: limit
            ).map { row in
                RetryRecord(
                    attempt: Int(row["attempt"]?.intValue ?? 0),
                    errorClass: row["error_class"]?.stringValue ?? "",
                    delayMs: Int(row["delay_ms"]?.intValue ?? 0),
                    wait: row["wait"]?.intValue.map { Int($0) },
                    timeMs: row["time_ms"]?.intValue ?? 0
                )
            }
        }
    }

    func applyRetryRecord(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        guard let key = input.payload["key"]?.stringValue, let row = try context.ledgerRow(key: key) else {
            throw LoomError(
                .notFound,
                "no effect has the key '\(input.payload["key"]?.stringValue ?? "")'",
                context: "recording a retry"
            )
        }
        try context.journal(kind: .effectRetry, taskID: row.effect.taskID, caller: input.caller, payload: input.payload)
        // A retried spawn calls a model again (a rate-limit wait does not): it counts against the
        // cap, and a retry past the cap ends the task instead of spending more.
        if row.effect.kind == .spawn, input.payload["errorClass"]?.stringValue == ProviderErrorClass.transient.rawValue,
            var task = try loadTask(row.effect.taskID, in: context), !task.status.isFinished
        {
            if task.spawnCount >= task.spawnCap {
                try finish(
                    &task,
                    status: .failed,
                    outcome:
                        "spawn cap of \(task.spawnCap) reached retrying \(row.effect.unit) at step \(row.effect.step) (retries and fallbacks count)",
                    in: context
                )
            } else {
                task.spawnCount += 1
                try save(task, in: context)
            }
        }
        return Outcome(taskID: row.effect.taskID, newEffects: context.newEffects)
    }

    /// Journals an input the host refused before it reached a transition (a caller outside
    /// an allowlist, say), so the audit trail shows the attempt. Changes no state.
    public func refuse(task: String, payload: JSONValue, reason: String, by caller: Caller) throws(LoomError) {
        let attempted = JournalInput(kind: .gateAnswered, taskID: task, payload: payload, caller: caller)
        guard case .journal(let suppressed) = refusalAudit?(attempted) ?? .journal(suppressedBefore: nil) else {
            return
        }
        var record: [String: JSONValue] = [
            "input": .object(["kind": "gate_answered", "payload": payload]), "code": "forbidden",
            "message": .string(reason),
        ]
        if let suppressed { record["suppressedBefore"] = suppressed }
        _ = try perform(JournalInput(kind: .refused, taskID: task, payload: .object(record), caller: caller))
    }

    /// The input kind a summary of refusals not journaled one by one is filed under.
    public static let refusalsSuppressedKind = "refusals_suppressed"

    /// Journals a summary of a peer's refusals that were not journaled one by one (the host's
    /// per-peer budget ran out): a `refused` entry whose input is `refusals_suppressed`, so a
    /// journal with summaries replays and reads as one without.
    public func recordSuppressedRefusals(task: String, summary: JSONValue, by caller: Caller) throws(LoomError) {
        let count = summary["count"]?.intValue ?? 0
        let record: JSONValue = .object([
            "input": .object(["kind": .string(Self.refusalsSuppressedKind), "payload": summary]),
            "code": "rate_limited",
            "message": .string("\(count) refused request(s) of this peer were counted, not journaled one by one"),
        ])
        _ = try perform(JournalInput(kind: .refused, taskID: task, payload: record, caller: caller))
    }
}
