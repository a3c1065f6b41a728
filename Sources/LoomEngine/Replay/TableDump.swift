import LoomValues

/// Every row of the kernel's tables in a stable order, for comparing two databases.
public enum TableDump {
    /// The tables that make up a project's state, each with the order that makes a dump stable.
    public static let tables: [(name: String, order: String)] = [
        ("tasks", "seq"), ("effects", "key"), ("gates", "event_id"), ("findings", "id"),
        ("step_outputs", "task_id, step, unit, iteration, attempt"), ("journal", "seq"), ("ticks", "tick"),
        ("violations", "tick, rule"), ("bundle_versions", "digest"),
    ]

    /// Columns that say which tick last wrote a row; the earliest of them in a differing row
    /// is where a divergence shows.
    static let tickColumns = [
        "updated_tick", "result_tick", "decided_tick", "tick", "intent_tick", "opened_tick", "created_tick",
    ]

    /// The column that names a row's task.
    static func taskColumn(of table: String) -> String { table == "tasks" ? "id" : "task_id" }

    /// SQL for the newest of a row's tick columns (0 when all are null).
    static func newestTick(_ columns: [String]) -> String {
        "max(\(columns.map { "ifnull(\($0), 0)" }.joined(separator: ", ")), 0)"
    }

    /// The tick columns `table` has, in `tx`.
    static func tickColumns(of table: String, in tx: Transaction) throws(LoomError) -> [String] {
        try tx.rows("SELECT name FROM pragma_table_info(:table)", bindings: [":table": table], limit: 100)
            .compactMap { $0["name"]?.stringValue }.filter(tickColumns.contains)
    }

    /// A table's rows; with `task`, only that task's rows.
    public static func rows(
        of table: String,
        order: String,
        in store: Store,
        task: String? = nil
    ) throws(LoomError) -> [JSONValue] {
        try store.read { tx throws(LoomError) in
            let filter = task == nil ? "" : " WHERE \(taskColumn(of: table)) = :task"
            return try tx.rows(
                "SELECT * FROM \(table)\(filter) ORDER BY \(order)",
                bindings: task.map { [":task": $0] } ?? [:],
                limit: Int.max
            )
        }
    }

    /// The first difference between two stores' tables, or nil when they are identical.
    ///
    /// Each table is read in the same order from both stores and compared row by row as
    /// SQLite returns them, so memory stays flat however long the history; only a differing
    /// row is turned into values for the report.
    public static func firstDifference(
        _ expected: Store,
        _ actual: Store,
        task: String? = nil,
        upToTick: Int64 = .max
    ) throws(LoomError) -> RowDifference? {
        var best: RowDifference?
        for (table, order) in tables where try expected.hasTable(table) {
            var filters: [String] = []
            if task != nil { filters.append("\(taskColumn(of: table)) = :task") }
            var expectedFilters = filters
            let ticks = try expected.read { tx throws(LoomError) in try tickColumns(of: table, in: tx) }
            if upToTick != .max, !ticks.isEmpty {
                // Rows the record wrote after the last replayed tick are not expected of the replay.
                expectedFilters.append("\(newestTick(ticks)) <= :upTo")
            }
            func select(_ filters: [String]) -> String {
                "SELECT * FROM \(table)\(filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")) ORDER BY \(order)"
            }
            let difference = try expected.read { left throws(LoomError) in
                try actual.read { right throws(LoomError) -> RowDifference? in
                    let expectedRows = try left.statement(select(expectedFilters))
                    let actualRows = try right.statement(select(filters))
                    defer {
                        expectedRows.reset()
                        actualRows.reset()
                    }
                    for statement in [expectedRows, actualRows] {
                        if let task { statement.bindIfPresent(":task", task) }
                        statement.bindIfPresent(":upTo", upToTick)
                    }
                    while true {
                        let hasExpected = try expectedRows.step()
                        let hasActual = try actualRows.step()
                        if !hasExpected && !hasActual { return nil }
                        if hasExpected && hasActual && expectedRows.sameRow(as: actualRows) { continue }
                        let expectedRow = hasExpected ? expectedRows.rowObject() : nil
                        let actualRow = hasActual ? actualRows.rowObject() : nil
                        let tick = [expectedRow, actualRow].compactMap { $0 }.compactMap(lastWriteTick).min() ?? 0
                        return RowDifference(table: table, tick: tick, expected: expectedRow, actual: actualRow)
                    }
                }
            }
            if let difference, best == nil || difference.tick < best!.tick { best = difference }
        }
        return best
    }

    /// The latest tick any of `task`'s rows names, over every table (0 when it has none).
    static func lastWriteTick(task: String, in tx: Transaction) throws(LoomError) -> Int64 {
        var latest: Int64 = 0
        for (table, _) in tables {
            let ticks = try tickColumns(of: table, in: tx)
            guard !ticks.isEmpty else { continue }
            let row = try tx.rows(
                "SELECT max(\(newestTick(ticks))) AS t FROM \(table) WHERE \(taskColumn(of: table)) = :task",
                bindings: [":task": task],
                limit: 1
            )
            latest = max(latest, row.first?["t"]?.intValue ?? 0)
        }
        return latest
    }

    static func lastWriteTick(_ row: JSONValue) -> Int64? {
        tickColumns.compactMap { row[$0]?.intValue }.max()
    }
}

/// Where two databases first differ.
public struct RowDifference: Sendable, Equatable, CustomStringConvertible {
    public let table: String
    /// The tick that last wrote the differing row: where replay and the record part ways.
    public let tick: Int64
    public let expected: JSONValue?
    public let actual: JSONValue?

    public var description: String {
        "table \(table), tick \(tick): recorded \(expected?.canonicalText ?? "(no row)"), replayed \(actual?.canonicalText ?? "(no row)")"
    }
}
