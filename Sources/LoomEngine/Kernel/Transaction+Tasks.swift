import LoomValues

/// Row access for tasks, effects, gates, findings and step outputs.
///
/// Kept beside the transaction so that the transition code reads as decisions, not SQL.
extension Transaction {
    static let taskColumns =
        "id, seq, bundle, bundle_digest, flow, input, policy, idempotency_key, status, step_index, step, iteration, spawn_count, spawn_cap, feedback, last_blockers, stalled, submitted_by, outcome, created_tick, updated_tick"
    // Built once: interpolating them on every call allocated a new text each tick.
    private static let selectTaskSQL = "SELECT \(taskColumns) FROM tasks WHERE id = ?"
    private static let insertTaskSQL =
        "INSERT INTO tasks(\(taskColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    func task(_ id: String) throws(LoomError) -> TaskRecord? {
        let statement = try statement(Self.selectTaskSQL)
        defer { statement.reset() }
        statement.bind(1, id)
        guard try statement.step() else { return nil }
        return try Self.decodeTask(statement)
    }

    func taskID(idempotencyKey: String) throws(LoomError) -> String? {
        let statement = try statement("SELECT id FROM tasks WHERE idempotency_key = ?")
        defer { statement.reset() }
        statement.bind(1, idempotencyKey)
        return try statement.step() ? statement.row.text("id") : nil
    }

    static func decodeTask(_ statement: SQLiteStatement) throws(LoomError) -> TaskRecord {
        let row = statement.row
        return TaskRecord(
            id: try row.text("id"),
            seq: try row.int64("seq"),
            bundle: try row.text("bundle"),
            bundleDigest: try row.text("bundle_digest"),
            flow: try row.text("flow"),
            input: try row.text("input"),
            policy: try TaskPolicy(json: row.json("policy")),
            idempotencyKey: try row.optionalText("idempotency_key"),
            status: try row.value("status", as: TaskStatus.self),
            stepIndex: try row.int("step_index"),
            step: try row.text("step"),
            iteration: try row.int("iteration"),
            spawnCount: try row.int("spawn_count"),
            spawnCap: try row.int("spawn_cap"),
            feedback: try row.text("feedback"),
            lastBlockers: try row.json("last_blockers").arrayValue?.compactMap(\.stringValue) ?? [],
            stalled: try row.bool("stalled"),
            submittedBy: try row.json("submitted_by"),
            outcome: try row.text("outcome"),
            createdTick: try row.int64("created_tick"),
            updatedTick: try row.int64("updated_tick")
        )
    }

    func insert(_ task: TaskRecord) throws(LoomError) {
        let statement = try statement(Self.insertTaskSQL)
        statement.bind(1, task.id).bind(2, task.seq).bind(3, task.bundle).bind(4, task.bundleDigest).bind(5, task.flow)
            .bind(6, task.input).bind(7, json: task.policy.json).bind(8, task.idempotencyKey).bind(
                9,
                task.status.rawValue
            )
            .bind(10, task.stepIndex).bind(11, task.step).bind(12, task.iteration).bind(13, task.spawnCount).bind(
                14,
                task.spawnCap
            )
            .bind(15, task.feedback).bind(16, json: JSONValue.array(task.lastBlockers.map { .string($0) }))
            .bind(17, task.stalled ? 1 : 0).bind(18, json: task.submittedBy).bind(19, task.outcome)
            .bind(20, task.createdTick).bind(21, task.updatedTick)
        try statement.run()
    }

    /// Writes the columns a transition may change; the rest are fixed at submission.
    /// - Parameter statusChanged: false leaves `status` out of the statement: SQLite rewrites
    ///   the entry of every index on a column named in SET, changed or not, and most ticks
    ///   keep the status (the index `tasks_by_status` would otherwise be rewritten every tick).
    func update(_ task: TaskRecord, statusChanged: Bool = true) throws(LoomError) {
        let statement = try statement(statusChanged ? Self.updateTaskSQL : Self.updateTaskKeepingStatusSQL)
        var index: Int32 = 1
        if statusChanged {
            statement.bind(index, task.status.rawValue)
            index += 1
        }
        statement.bind(index, task.stepIndex).bind(index + 1, task.step).bind(index + 2, task.iteration)
            .bind(index + 3, task.spawnCount).bind(index + 4, task.feedback).bind(
                index + 5,
                json: JSONValue.array(task.lastBlockers.map { .string($0) })
            )
            .bind(index + 6, task.stalled ? 1 : 0).bind(index + 7, task.outcome).bind(index + 8, task.updatedTick).bind(
                index + 9,
                task.flow
            ).bind(index + 10, task.id)
        try statement.run()
    }

    private static let updatedTaskColumns = """
        step_index = ?, step = ?, iteration = ?, spawn_count = ?, feedback = ?,
          last_blockers = ?, stalled = ?, outcome = ?, updated_tick = ?, flow = ? WHERE id = ?
        """
    private static let updateTaskSQL = "UPDATE tasks SET status = ?, " + updatedTaskColumns
    private static let updateTaskKeepingStatusSQL = "UPDATE tasks SET " + updatedTaskColumns

    func nextTaskSeq() throws(LoomError) -> Int64 {
        (try connection.scalarInt("SELECT max(seq) FROM tasks") ?? 0) + 1
    }

    func activeTaskExists() throws(LoomError) -> Bool {
        try connection.scalarInt("SELECT 1 FROM tasks WHERE status IN ('running', 'parked') LIMIT 1") != nil
    }

    func nextQueuedTaskID() throws(LoomError) -> String? {
        try connection.scalarText("SELECT id FROM tasks WHERE status = 'queued' ORDER BY seq LIMIT 1")
    }

    // MARK: Effects

    func insertEffect(_ effect: Effect, tick: Int64) throws(LoomError) {
        try statement(
            "INSERT INTO effects(key, task_id, step, unit, iteration, attempt, kind, request, status, intent_tick) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
        )
        .bind(1, effect.key).bind(2, effect.taskID).bind(3, effect.step).bind(4, effect.unit).bind(5, effect.iteration)
        .bind(6, effect.attempt).bind(7, effect.kind.rawValue).bind(8, json: effect.request).bind(9, tick)
        .run()
    }

    struct LedgerRow {
        var effect: Effect
        var status: String
        var result: JSONValue?
    }

    /// A ledger row without its request (a delivery does not need the prompt back); the
    /// recorded result is parsed only for a duplicate delivery, which answers with it.
    func ledgerRow(key: String) throws(LoomError) -> LedgerRow? {
        let statement = try statement(
            "SELECT task_id, step, unit, iteration, attempt, kind, status, result FROM effects WHERE key = ?"
        )
        defer { statement.reset() }
        statement.bind(1, key)
        guard try statement.step() else { return nil }
        let row = statement.row
        let status = try row.text("status")
        let effect = try Self.decodeEffect(row, key: key, request: .null)
        return LedgerRow(effect: effect, status: status, result: status == "done" ? try row.json("result") : nil)
    }

    /// An effect from a row that has its key, task_id, step, unit, iteration, attempt, kind and request.
    static func decodeEffect(_ statement: SQLiteStatement) throws(LoomError) -> Effect {
        let row = statement.row
        return try decodeEffect(row, key: row.text("key"), request: row.json("request"))
    }

    /// The columns every read of the ledger has; the key and the request are read (or not) by the caller.
    private static func decodeEffect(_ row: SQLiteRow, key: String, request: JSONValue) throws(LoomError) -> Effect {
        Effect(
            key: key,
            taskID: try row.text("task_id"),
            step: try row.text("step"),
            unit: try row.text("unit"),
            iteration: try row.int("iteration"),
            attempt: try row.int("attempt"),
            kind: try row.value("kind", as: Effect.Kind.self),
            request: request
        )
    }

    /// Every pending effect by key, requests left out; nil when there are more than `limit`.
    func pendingEffectsByKey(limit: Int) throws(LoomError) -> [String: Effect]? {
        let statement = try statement(
            "SELECT key, task_id, step, unit, iteration, attempt, kind FROM effects WHERE status = 'pending' LIMIT ?"
        )
        defer { statement.reset() }
        statement.bind(1, limit + 1)
        var effects: [String: Effect] = [:]
        while try statement.step() {
            let row = statement.row
            let key = try row.text("key")
            effects[key] = try Self.decodeEffect(row, key: key, request: .null)
        }
        return effects.count > limit ? nil : effects
    }

    func completeEffect(key: String, resultBytes: [UInt8], tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE effects SET status = 'done', result = ?, result_tick = ? WHERE key = ? AND status = 'pending'"
        )
        .bind(1, utf8: resultBytes).bind(2, tick).bind(3, key).run()
    }

    func pendingEffectCount(task: String, step: String, iteration: Int) throws(LoomError) -> Int {
        let statement = try statement(
            "SELECT count(*) AS count FROM effects WHERE task_id = ? AND step = ? AND iteration = ? AND status = 'pending'"
        )
        defer { statement.reset() }
        statement.bind(1, task).bind(2, step).bind(3, iteration)
        _ = try statement.step()
        return try statement.row.int("count")
    }

    func cancelPendingEffects(task: String, tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE effects SET status = 'cancelled', result_tick = ? WHERE task_id = ? AND status = 'pending'"
        )
        .bind(1, tick).bind(2, task).run()
    }

    // MARK: Step outputs and findings

    func insertOutput(
        task: String,
        step: String,
        unit: String,
        iteration: Int,
        attempt: Int,
        kind: Effect.Kind,
        valid: Bool,
        output: JSONValue,
        author: String,
        tick: Int64
    ) throws(LoomError) {
        try statement(
            "INSERT INTO step_outputs(task_id, step, unit, iteration, attempt, kind, valid, output, author, tick) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .bind(1, task).bind(2, step).bind(3, unit).bind(4, iteration).bind(5, attempt).bind(6, kind.rawValue)
        .bind(7, valid ? 1 : 0).bind(8, json: output).bind(9, author).bind(10, tick)
        .run()
    }

    /// The latest valid output of each unit of `step`, in unit order (what prompts read,
    /// and what a gate's card shows).
    public func latestOutputs(task: String, step: String) throws(LoomError) -> [(unit: String, output: JSONValue)] {
        let statement = try statement(
            """
            SELECT unit, output FROM step_outputs o WHERE task_id = ? AND step = ? AND valid = 1
              AND tick = (SELECT max(tick) FROM step_outputs p WHERE p.task_id = o.task_id AND p.step = o.step AND p.unit = o.unit AND p.valid = 1)
            ORDER BY unit
            """
        )
        defer { statement.reset() }
        statement.bind(1, task).bind(2, step)
        var rows: [(String, JSONValue)] = []
        while try statement.step() {
            rows.append((try statement.row.text("unit"), try statement.row.json("output")))
        }
        return rows
    }

    func authors(task: String) throws(LoomError) -> [String] {
        let statement = try statement("SELECT DISTINCT author FROM step_outputs WHERE task_id = ? ORDER BY author")
        defer { statement.reset() }
        statement.bind(1, task)
        var authors: [String] = []
        while try statement.step() { authors.append(try statement.row.text("author")) }
        return authors
    }

    func findingCount(task: String) throws(LoomError) -> Int {
        let statement = try statement("SELECT count(*) AS count FROM findings WHERE task_id = ?")
        defer { statement.reset() }
        statement.bind(1, task)
        _ = try statement.step()
        return try statement.row.int("count")
    }

    func insertFinding(
        id: String,
        task: String,
        step: String,
        agent: String,
        iteration: Int,
        severity: String,
        origin: String,
        summary: String,
        fingerprint: String,
        details: JSONValue,
        tick: Int64
    ) throws(LoomError) {
        try statement(
            "INSERT INTO findings(id, task_id, step, agent, iteration, severity, status, origin, summary, fingerprint, details, created_tick, updated_tick) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)"
        )
        .bind(1, id).bind(2, task).bind(3, step).bind(4, agent).bind(5, iteration).bind(6, severity).bind(7, origin)
        .bind(8, summary).bind(9, fingerprint).bind(10, json: details).bind(11, tick).bind(12, tick)
        .run()
    }

    /// Marks an agent's open findings from earlier rounds of a step as fixed: its new output
    /// replaces them. Harness findings stay open until a person accepts them.
    func supersedeFindings(task: String, step: String, agent: String, tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE findings SET status = 'fixed', updated_tick = ? WHERE task_id = ? AND step = ? AND agent = ? AND status = 'open' AND origin = 'agent'"
        )
        .bind(1, tick).bind(2, task).bind(3, step).bind(4, agent).run()
    }

    /// Closes one open agent finding of the task as dismissed; a harness finding, another
    /// task's finding or an unknown id is left as it is.
    func dismissFinding(task: String, id: String, tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE findings SET status = 'dismissed', updated_tick = ? WHERE id = ? AND task_id = ? AND status = 'open' AND origin = 'agent'"
        )
        .bind(1, tick).bind(2, id).bind(3, task).run()
    }

    /// The rounds (distinct iterations with output) `step` has run since a gate last sent the task's work back (all of them
    /// when none has): a loop's cap counts these.
    func rounds(task: String, step: String) throws(LoomError) -> Int {
        let statement = try statement(
            """
            SELECT count(DISTINCT iteration) AS count FROM step_outputs WHERE task_id = ?1 AND step = ?2
              AND tick > (SELECT coalesce(max(decided_tick), 0) FROM gates WHERE task_id = ?1 AND status = 'changes_requested')
            """
        )
        defer { statement.reset() }
        statement.bind(1, task).bind(2, step)
        _ = try statement.step()
        return try statement.row.int("count")
    }

    /// How many times a task's gates of `role` sent the work back.
    func changesRequested(task: String, role: String) throws(LoomError) -> Int {
        let statement = try statement(
            "SELECT count(*) AS count FROM gates WHERE task_id = ? AND role = ? AND status = 'changes_requested'"
        )
        defer { statement.reset() }
        statement.bind(1, task).bind(2, role)
        _ = try statement.step()
        return try statement.row.int("count")
    }

    func acceptOpenBlockers(task: String, tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE findings SET status = 'accepted_by_human', updated_tick = ? WHERE task_id = ? AND status = 'open' AND severity = 'blocking'"
        )
        .bind(1, tick).bind(2, task).run()
    }

    /// Fingerprints of open blocking findings, optionally only those a step raised.
    func openBlockers(task: String, step: String? = nil) throws(LoomError) -> [(agent: String, fingerprint: String)] {
        let statement = try statement(
            "SELECT agent, fingerprint FROM findings WHERE task_id = ?1 AND status = 'open' AND severity = 'blocking' AND (?2 IS NULL OR step = ?2) ORDER BY fingerprint, agent"
        )
        defer { statement.reset() }
        statement.bind(1, task).bind(2, step)
        var rows: [(String, String)] = []
        while try statement.step() {
            rows.append((try statement.row.text("agent"), try statement.row.text("fingerprint")))
        }
        return rows
    }

    func openFindingsJSON(task: String) throws(LoomError) -> JSONValue {
        .array(
            try rows(
                "SELECT id, agent, severity, origin, summary, details FROM findings WHERE task_id = :task AND status = 'open' ORDER BY id",
                bindings: [":task": task]
            )
            .map { row in
                guard case .object(var object) = row else { return row }
                if let text = object["details"]?.stringValue, let details = try? JSONValue.parse(text) {
                    object["details"] = details
                }
                return .object(object)
            }
        )
    }

    // MARK: Gates

    func gateCount(task: String) throws(LoomError) -> Int {
        let statement = try statement("SELECT count(*) AS count FROM gates WHERE task_id = ?")
        defer { statement.reset() }
        statement.bind(1, task)
        _ = try statement.step()
        return try statement.row.int("count")
    }

    func insertGate(_ gate: GateRecord, authors: [String], tick: Int64) throws(LoomError) {
        try statement(
            "INSERT INTO gates(event_id, task_id, step, role, policy, requires_human, reasons, authors, status, decided_by, message, opened_tick, decided_tick) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .bind(1, gate.eventID).bind(2, gate.taskID).bind(3, gate.step).bind(4, gate.role).bind(5, gate.policy.rawValue)
        .bind(6, gate.requiresHuman ? 1 : 0).bind(7, json: JSONValue.array(gate.reasons.map { .string($0) }))
        .bind(8, json: JSONValue.array(authors.map { .string($0) })).bind(9, gate.status.rawValue)
        .bind(10, gate.decidedBy?.json.canonicalText).bind(11, gate.message).bind(12, tick)
        .bind(13, gate.status == .waiting ? nil : tick)
        .run()
    }

    func waitingGate(task: String) throws(LoomError) -> GateRecord? {
        let statement = try statement(
            "SELECT event_id, step, role, policy, requires_human, reasons, opened_tick FROM gates WHERE task_id = ? AND status = 'waiting'"
        )
        defer { statement.reset() }
        statement.bind(1, task)
        guard try statement.step() else { return nil }
        let row = statement.row
        return GateRecord(
            eventID: try row.text("event_id"),
            taskID: task,
            step: try row.text("step"),
            role: try row.text("role"),
            policy: try row.value("policy", as: GatePolicy.self),
            requiresHuman: try row.bool("requires_human"),
            reasons: try row.json("reasons").arrayValue?.compactMap(\.stringValue) ?? [],
            status: .waiting,
            decidedBy: nil,
            message: "",
            openedTick: try row.int64("opened_tick")
        )
    }

    func decideGate(
        eventID: String,
        status: GateRecord.Status,
        by principal: Principal,
        message: String,
        tick: Int64
    ) throws(LoomError) {
        precondition(status != .waiting, "gate \(eventID) decided as waiting")
        try statement(
            "UPDATE gates SET status = ?, decided_by = ?, message = ?, decided_tick = ? WHERE event_id = ? AND status = 'waiting'"
        )
        .bind(1, status.rawValue).bind(2, json: principal.json).bind(3, message).bind(4, tick).bind(5, eventID)
        .run()
        // Assertion: the only legal transition is waiting → decided, exactly once; the caller
        // checked the gate waits, so anything else is a kernel bug.
        precondition(
            connection.changes == 1,
            "gate \(eventID) was not waiting when decided (\(connection.changes) rows)"
        )
    }

    func cancelWaitingGates(task: String, tick: Int64) throws(LoomError) {
        try statement(
            "UPDATE gates SET status = 'cancelled', decided_by = ?, decided_tick = ? WHERE task_id = ? AND status = 'waiting'"
        )
        .bind(1, json: Principal.system.json).bind(2, tick).bind(3, task).run()
    }
}
