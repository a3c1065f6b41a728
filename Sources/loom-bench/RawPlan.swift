import CSQLite
import LoomEngine

/// The rows each committed tick of a kernel run wrote, as SQLite reported them while the
/// kernel ran (`RowChangeLog`), turned into plain prepared INSERT, UPDATE and DELETE
/// statements by rowid: the same rows, the same row versions and the same index changes
/// per transaction, with none of the kernel's reads, rules or decisions.
struct RawPlan {
    struct Write {
        /// Index into `statements`: the writer prepares each distinct statement once and finds
        /// it by position, so the baseline spends nothing looking statements up.
        let statement: Int
        let values: [RowChangeLog.Value]
    }

    let statements: [String]
    let ticks: [[Write]]

    /// - Parameter columns: each table's column names in table order (from the same schema).
    init(log: RowChangeLog, columns: (String) throws -> [String]) throws {
        var names: [String: [String]] = [:]
        var statements: [String] = []
        var positions: [String: Int] = [:]
        var ticks: [[Write]] = []
        for transaction in log.transactions {
            var writes: [Write] = []
            for change in transaction {
                if names[change.table] == nil { names[change.table] = try columns(change.table) }
                guard let (sql, values) = change.statement(columnNames: names[change.table]!) else { continue }
                let position = positions[sql] ?? statements.count
                if position == statements.count {
                    statements.append(sql)
                    positions[sql] = position
                }
                writes.append(Write(statement: position, values: values))
            }
            ticks.append(writes)
        }
        self.statements = statements
        self.ticks = ticks
    }
}
