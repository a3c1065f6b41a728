import CSQLite

/// Every row the store's committed transactions inserted, updated or deleted, as SQLite
/// itself reports them (its pre-update hook): per transaction, the table, the rowid and the
/// column values written. An update keeps only the columns whose value changed.
///
/// The kernel never uses it. It lets a benchmark commit exactly the rows a tick wrote,
/// with no kernel logic, and lets a test ask what a tick wrote. Recording costs a callback
/// per row, so it is off unless asked for; `stop()` ends it.
public final class RowChangeLog {
    public enum Value: Equatable, Sendable {
        case null
        case integer(Int64)
        case real(Double)
        case text([UInt8])
        case blob([UInt8])
    }

    public enum Operation: Sendable { case insert, update, delete }

    public struct Change: Sendable {
        public let operation: Operation
        public let table: String
        public let rowid: Int64
        /// (column index in table order, value written); empty for a delete.
        public let columns: [(index: Int, value: Value)]

        /// The statement that writes this change again into a database of the same schema, by
        /// rowid, with its values in order; nil for an update that changed nothing.
        /// - Parameter columnNames: the table's column names in table order.
        public func statement(columnNames: [String]) -> (sql: String, values: [Value])? {
            switch operation {
            case .insert:
                let list = ["rowid"] + columns.map { columnNames[$0.index] }
                return (
                    "INSERT INTO \(table)(\(list.joined(separator: ", "))) VALUES (\(list.map { _ in "?" }.joined(separator: ", ")))",
                    [.integer(rowid)] + columns.map(\.value)
                )
            case .update:
                guard !columns.isEmpty else { return nil }
                return (
                    "UPDATE \(table) SET \(columns.map { "\(columnNames[$0.index]) = ?" }.joined(separator: ", ")) WHERE rowid = ?",
                    columns.map(\.value) + [.integer(rowid)]
                )
            case .delete:
                return ("DELETE FROM \(table) WHERE rowid = ?", [.integer(rowid)])
            }
        }
    }

    /// One entry per committed transaction, in commit order.
    public private(set) var transactions: [[Change]] = []
    /// A bound on recorded transactions; past it, recording stops (`overflowed` says so).
    public let transactionsMax: Int
    public private(set) var overflowed = false
    private var pending: [Change] = []
    private let connection: SQLiteConnection
    private var context: UnsafeMutableRawPointer?

    init(connection: SQLiteConnection, transactionsMax: Int) {
        self.connection = connection
        self.transactionsMax = transactionsMax
        let context = Unmanaged.passUnretained(self).toOpaque()
        self.context = context
        sqlite3_preupdate_hook(
            connection.handle,
            { context, db, operation, _, table, _, newRowid in
                guard let context, let db, let table else { return }
                Unmanaged<RowChangeLog>.fromOpaque(context).takeUnretainedValue()
                    .record(db: db, operation: operation, table: String(cString: table), rowid: newRowid)
            },
            context
        )
        sqlite3_commit_hook(
            connection.handle,
            { context in
                guard let context else { return 0 }
                Unmanaged<RowChangeLog>.fromOpaque(context).takeUnretainedValue().committed()
                return 0  // 0 lets the commit go ahead
            },
            context
        )
        sqlite3_rollback_hook(
            connection.handle,
            { context in
                guard let context else { return }
                Unmanaged<RowChangeLog>.fromOpaque(context).takeUnretainedValue().pending = []
            },
            context
        )
    }

    deinit { stop() }

    /// Removes the hooks; what was recorded stays readable.
    public func stop() {
        guard context != nil else { return }
        sqlite3_preupdate_hook(connection.handle, nil, nil)
        sqlite3_commit_hook(connection.handle, nil, nil)
        sqlite3_rollback_hook(connection.handle, nil, nil)
        context = nil
    }

    private func committed() {
        guard !pending.isEmpty else { return }
        if transactions.count >= transactionsMax {
            overflowed = true
        } else {
            transactions.append(pending)
        }
        pending = []
    }

    private func record(db: OpaquePointer, operation: Int32, table: String, rowid: Int64) {
        guard !overflowed else { return }
        let count = Int(sqlite3_preupdate_count(db))
        switch operation {
        case SQLITE_INSERT:
            var columns: [(Int, Value)] = []
            for index in 0..<count {
                var value: OpaquePointer?
                sqlite3_preupdate_new(db, Int32(index), &value)
                columns.append((index, Self.value(value)))
            }
            pending.append(Change(operation: .insert, table: table, rowid: rowid, columns: columns))
        case SQLITE_UPDATE:
            var columns: [(Int, Value)] = []
            for index in 0..<count {
                var old: OpaquePointer?
                var new: OpaquePointer?
                sqlite3_preupdate_old(db, Int32(index), &old)
                sqlite3_preupdate_new(db, Int32(index), &new)
                let newValue = Self.value(new)
                if newValue != Self.value(old) { columns.append((index, newValue)) }
            }
            pending.append(Change(operation: .update, table: table, rowid: rowid, columns: columns))
        default:
            pending.append(Change(operation: .delete, table: table, rowid: rowid, columns: []))
        }
    }

    private static func value(_ value: OpaquePointer?) -> Value {
        guard let value else { return .null }
        switch sqlite3_value_type(value) {
        case SQLITE_INTEGER: return .integer(sqlite3_value_int64(value))
        case SQLITE_FLOAT: return .real(sqlite3_value_double(value))
        case SQLITE_TEXT:
            let count = Int(sqlite3_value_bytes(value))
            guard count > 0, let bytes = sqlite3_value_text(value) else { return .text([]) }
            return .text(Array(UnsafeBufferPointer(start: bytes, count: count)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_value_bytes(value))
            guard count > 0, let bytes = sqlite3_value_blob(value) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }
}

extension Store {
    /// Starts recording the rows every committed transaction writes (see `RowChangeLog`).
    public func recordRowChanges(transactionsMax: Int = 1_000_000) -> RowChangeLog {
        RowChangeLog(connection: connection, transactionsMax: transactionsMax)
    }
}
