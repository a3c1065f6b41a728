import CSQLite
import LoomEngine

/// The rows each committed tick of a kernel run wrote, as SQLite reported them while the
/// kernel ran (`RowChangeLog`), turned into plain prepared INSERT, UPDATE and DELETE
/// statements by rowid: the same rows, the same row versions and the same index changes
/// per transaction, with none of the kernel's reads, rules or decisions.
struct RawPlan {
    struct Write {
        let sql: String
        let values: [RowChangeLog.Value]
    }

    let ticks: [[Write]]

    /// - Parameter columns: each table's column names in table order (from the same schema).
    init(log: RowChangeLog, columns: (String) throws -> [String]) throws {
        var names: [String: [String]] = [:]
        var ticks: [[Write]] = []
        for transaction in log.transactions {
            var writes: [Write] = []
            for change in transaction {
                if names[change.table] == nil { names[change.table] = try columns(change.table) }
                let tableColumns = names[change.table]!
                switch change.operation {
                case .insert:
                    let list = ["rowid"] + change.columns.map { tableColumns[$0.index] }
                    writes.append(Write(sql: "INSERT INTO \(change.table)(\(list.joined(separator: ", "))) VALUES (\(list.map { _ in "?" }.joined(separator: ", ")))",
                                        values: [.integer(change.rowid)] + change.columns.map(\.value)))
                case .update:
                    guard !change.columns.isEmpty else { continue }
                    let set = change.columns.map { "\(tableColumns[$0.index]) = ?" }.joined(separator: ", ")
                    writes.append(Write(sql: "UPDATE \(change.table) SET \(set) WHERE rowid = ?",
                                        values: change.columns.map(\.value) + [.integer(change.rowid)]))
                case .delete:
                    writes.append(Write(sql: "DELETE FROM \(change.table) WHERE rowid = ?", values: [.integer(change.rowid)]))
                }
            }
            ticks.append(writes)
        }
        self.ticks = ticks
    }
}
