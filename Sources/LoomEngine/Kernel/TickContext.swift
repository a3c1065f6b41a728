/// Everything one tick knows: its transaction, its number, its single time token, the
/// journal chain position, and what it has produced so far.
///
/// Created inside `Store.write` and dropped at its end; nothing in it outlives the tick.
final class TickContext {
    let tx: Transaction
    let tick: Int64
    private let clock: () -> Int64
    private var token: Int64?
    /// The tick's one time token, taken when the tick journals its input (a duplicate input
    /// is not a tick and takes none). Every row this tick writes that needs a time uses it.
    var timeMs: Int64 {
        if let token { return token }
        let value = clock()
        token = value
        return value
    }
    private(set) var nextSeq: Int64
    private(set) var chainHead: [UInt8]
    let firstSeq: Int64
    /// The task the tick's input names (the `ticks.task_id`).
    var primaryTask: String = ""
    /// Tasks whose rows this tick changed; rules scoped with `:task` run for each.
    private(set) var touchedTasks: [String] = []
    var newEffects: [Effect] = []
    var taskCache: [String: TaskRecord] = [:]

    init(tx: Transaction, clock: @escaping () -> Int64) throws(LoomError) {
        self.tx = tx
        let statement = try tx.statement("SELECT tick, last_seq, chain_head FROM ticks ORDER BY tick DESC LIMIT 1")
        defer { statement.reset() }
        if try statement.step() {
            tick = statement.int64(0) + 1
            nextSeq = statement.int64(1) + 1
            chainHead = statement.blob(2)
        } else {
            tick = 1
            nextSeq = 1
            chainHead = JournalEntry.genesisHash
        }
        firstSeq = nextSeq
        self.clock = clock
    }

    func touch(_ taskID: String) {
        if !touchedTasks.contains(taskID) { touchedTasks.append(taskID) }
    }

    /// Appends one entry to the hash-chained journal.
    func journal(kind: JournalKind, taskID: String, caller: Caller, payload: JSONValue, maxBytes: Int) throws(LoomError) {
        let actor = caller.json
        let actorText = actor.canonicalText
        let payloadText = payload.canonicalText
        guard actorText.utf8.count + payloadText.utf8.count <= maxBytes else {
            throw LoomError(.tooLarge, "journal entry is \(actorText.utf8.count + payloadText.utf8.count) bytes; the limit is \(maxBytes)", context: "journaling \(kind.rawValue) for \(taskID)")
        }
        let hash = JournalEntry.chainHash(previous: chainHead, seq: nextSeq, tick: tick, timeMs: timeMs, taskID: taskID,
                                          kind: kind.rawValue, actor: actor, payload: payload)
        try tx.statement("INSERT INTO journal(seq, tick, task_id, kind, actor, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, nextSeq).bind(2, tick).bind(3, taskID).bind(4, kind.rawValue)
            .bind(5, actorText).bind(6, payloadText).bind(7, blob: chainHead).bind(8, blob: hash)
            .run()
        if primaryTask.isEmpty { primaryTask = taskID }
        chainHead = hash
        nextSeq += 1
    }

    var wroteJournal: Bool { nextSeq > firstSeq }

    /// Records the tick row; the last write of every tick.
    func finish() throws(LoomError) {
        try tx.statement("INSERT INTO ticks(tick, time_ms, task_id, first_seq, last_seq, chain_head) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(1, tick).bind(2, timeMs).bind(3, primaryTask).bind(4, firstSeq).bind(5, nextSeq - 1).bind(6, blob: chainHead)
            .run()
    }
}
