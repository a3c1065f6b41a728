import LoomValues

/// Everything one tick knows: its transaction, its number, its single time token, the
/// journal chain position, and what it has produced so far.
///
/// Created inside `Store.write` and dropped at its end; nothing in it outlives the tick.
final class TickContext {
    let tx: Transaction
    let tick: Int64
    private let clock: () -> Int64
    /// The largest journal entry (canonical actor plus payload) this tick accepts.
    let journalEntryMaxBytes: Int
    private var token: Int64?
    /// The tick's one time token, taken when the tick journals its input (a duplicate input
    /// is not a tick and takes none). Every row this tick writes that needs a time uses it.
    var timeMs: Int64 {
        if let token { return token }
        // Assertion: the clock is read once per tick, whatever path asks for the time.
        precondition(clockReads == 0, "tick \(tick) read the clock a second time")
        clockReads += 1
        let value = clock()
        token = value
        return value
    }
    private var clockReads = 0
    private(set) var nextSeq: Int64
    private(set) var chainHead: [UInt8]
    let firstSeq: Int64
    /// The task the tick's input names (the `ticks.task_id`).
    var primaryTask: String = ""
    /// Tasks whose rows this tick changed; rules scoped with `:task` run for each.
    private(set) var touchedTasks: [String] = []
    var newEffects: [Effect] = []
    var taskCache: [String: TaskRecord] = [:]
    /// Tasks whose row exists in the database (loaded, or inserted earlier in this tick).
    var stored: Set<String> = []
    /// Every pending effect of the project by key (requests left out), kept in step with the
    /// ledger by the effect methods below so that a delivery need not read the ledger back;
    /// nil when there are too many to keep, and the ledger is read instead.
    private(set) var pending: [String: Effect]?
    static let pendingKeptMax = 1_000

    /// Where the journal stands: the last committed tick, its last entry, the chain head.
    struct Cursor: Equatable {
        var tick: Int64
        var seq: Int64
        var chainHead: [UInt8]
    }

    /// - Parameters:
    ///   - cursor: the position after the last tick this engine committed, if it knows it;
    ///     otherwise it is read from the `ticks` table.
    ///   - knownTasks: task rows as this engine last committed them.
    ///   - knownPending: the pending effects as this engine last committed them; nil reads them.
    init(
        tx: Transaction,
        clock: @escaping () -> Int64,
        journalEntryMaxBytes: Int,
        cursor: Cursor? = nil,
        knownTasks: [String: TaskRecord] = [:],
        knownPending: [String: Effect]? = nil
    ) throws(LoomError) {
        self.tx = tx
        self.journalEntryMaxBytes = journalEntryMaxBytes
        taskCache = knownTasks
        stored = Set(knownTasks.keys)
        if let knownPending {
            pending = knownPending
        } else {
            pending = try tx.pendingEffectsByKey(limit: Self.pendingKeptMax)
        }
        var start: Cursor
        if let cursor { start = cursor } else { start = try Self.readCursor(tx) }
        tick = start.tick + 1
        nextSeq = start.seq + 1
        chainHead = start.chainHead
        firstSeq = nextSeq
        self.clock = clock
    }

    static func readCursor(_ tx: Transaction) throws(LoomError) -> Cursor {
        let statement = try tx.statement("SELECT tick, last_seq, chain_head FROM ticks ORDER BY tick DESC LIMIT 1")
        defer { statement.reset() }
        guard try statement.step() else { return Cursor(tick: 0, seq: 0, chainHead: JournalEntry.genesisHash) }
        let row = statement.row
        return Cursor(
            tick: try row.int64("tick"),
            seq: try row.int64("last_seq"),
            chainHead: try row.blob("chain_head")
        )
    }

    /// The position after this tick, once it has committed.
    var cursorAfter: Cursor { Cursor(tick: tick, seq: nextSeq - 1, chainHead: chainHead) }

    func touch(_ taskID: String) {
        if !touchedTasks.contains(taskID) { touchedTasks.append(taskID) }
    }

    /// Appends one entry to the hash-chained journal.
    func journal(kind: JournalKind, taskID: String, caller: Caller, payload: JSONValue) throws(LoomError) {
        try journal(kind: kind, taskID: taskID, caller: caller, payloadBytes: payload.canonicalBytes())
    }

    /// Appends one entry whose payload the caller has already encoded (canonically).
    func journal(kind: JournalKind, taskID: String, caller: Caller, payloadBytes: [UInt8]) throws(LoomError) {
        let maxBytes = journalEntryMaxBytes
        let actorBytes = caller.canonicalBytes
        guard actorBytes.count + payloadBytes.count <= maxBytes else {
            throw LoomError(
                .tooLarge,
                "journal entry is \(actorBytes.count + payloadBytes.count) bytes; the limit is \(maxBytes)",
                context: "journaling \(kind.rawValue) for \(taskID)"
            )
        }
        let hash = JournalEntry.chainHash(
            previous: chainHead,
            seq: nextSeq,
            tick: tick,
            timeMs: timeMs,
            taskID: taskID,
            kind: kind.rawValue,
            actorBytes: actorBytes,
            payloadBytes: payloadBytes
        )
        try tx.statement(
            "INSERT INTO journal(seq, tick, task_id, kind, actor, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .bind(1, nextSeq).bind(2, tick).bind(3, taskID).bind(4, kind.rawValue)
        .bind(5, utf8: actorBytes).bind(6, utf8: payloadBytes).bind(7, blob: chainHead).bind(8, blob: hash)
        .run()
        if primaryTask.isEmpty { primaryTask = taskID }
        chainHead = hash
        nextSeq += 1
    }

    // MARK: The ledger

    /// An effect's ledger row. A pending effect comes from `pending`; any other key is read.
    func ledgerRow(key: String) throws(LoomError) -> Transaction.LedgerRow? {
        if let effect = pending?[key] { return Transaction.LedgerRow(effect: effect, status: "pending", result: nil) }
        let row = try tx.ledgerRow(key: key)
        // The ledger has a pending effect the cache lacks: stop trusting the cache this tick.
        if row?.status == "pending" { pending = nil }
        return row
    }

    func insertEffect(_ effect: Effect) throws(LoomError) {
        // Assertion: an intent is recorded once; a key already pending would be a second
        // intent for the same (task, step, unit, iteration, attempt).
        assert(pending?[effect.key] == nil, "effect \(effect.key) is already pending")
        try tx.insertEffect(effect, tick: tick)
        pending?[effect.key] = Effect(
            key: effect.key,
            taskID: effect.taskID,
            step: effect.step,
            unit: effect.unit,
            iteration: effect.iteration,
            attempt: effect.attempt,
            kind: effect.kind,
            request: .null
        )
        if (pending?.count ?? 0) > Self.pendingKeptMax { pending = nil }
    }

    /// Records a pending effect's result; an effect that is not pending is a conflict (a second
    /// writer, or a damaged ledger), never a second application.
    func completeEffect(key: String, resultBytes: [UInt8]) throws(LoomError) {
        try tx.completeEffect(key: key, resultBytes: resultBytes, tick: tick)
        guard tx.connection.changes == 1 else {
            throw LoomError(.conflict, "effect \(key) is no longer pending", context: "recording the result of \(key)")
        }
        pending?[key] = nil
    }

    func cancelPendingEffects(task: String) throws(LoomError) {
        try tx.cancelPendingEffects(task: task, tick: tick)
        pending = pending?.filter { $0.value.taskID != task }
    }

    func pendingEffectCount(task: String, step: String, iteration: Int) throws(LoomError) -> Int {
        guard let pending else { return try tx.pendingEffectCount(task: task, step: step, iteration: iteration) }
        return pending.values.reduce(0) {
            $0 + ($1.taskID == task && $1.step == step && $1.iteration == iteration ? 1 : 0)
        }
    }

    /// Records the tick row; the last write of every tick.
    func finish() throws(LoomError) {
        // Assertions: a tick journals its input before its row is written (so its token was
        // taken there), and its journal range is not empty.
        precondition(token != nil, "tick \(tick) ends without having journaled its input")
        precondition(nextSeq > firstSeq, "tick \(tick) journaled nothing")
        try tx.statement(
            "INSERT INTO ticks(tick, time_ms, task_id, first_seq, last_seq, chain_head) VALUES (?, ?, ?, ?, ?, ?)"
        )
        .bind(1, tick).bind(2, timeMs).bind(3, primaryTask).bind(4, firstSeq).bind(5, nextSeq - 1).bind(
            6,
            blob: chainHead
        )
        .run()
    }
}
