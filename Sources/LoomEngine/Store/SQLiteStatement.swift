import CSQLite
import LoomValues

/// `SQLITE_TRANSIENT` is a macro casting -1 to a destructor pointer; Swift does not import it.
private let transientDestructor = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A prepared statement. Binding indexes are 1-based, column indexes 0-based, as in SQLite.
final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    let sql: String
    /// Column indexes by name, read from SQLite the first time a row is read by name: once
    /// per prepared statement, which the connection's cache keeps for the next tick.
    private var columnIndexes: [String: Int32]?
    /// The column after the one last read by name (the first after the last). Decoders read
    /// columns in the order of their SELECT list, so this is usually the one asked for next,
    /// found by comparing one short name instead of hashing it. Empty names when two columns
    /// share a name: a guess could then pick the second, where the dictionary picks the first.
    private var columnNames: [String] = []
    private var nextColumn = 0

    init(connection: SQLiteConnection, sql: String) throws(LoomError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw LoomError(sqliteCode: rc, message: connection.errorMessage(), context: "preparing \(sql.prefix(120))")
        }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int64?) -> SQLiteStatement {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int) -> SQLiteStatement {
        sqlite3_bind_int64(handle, index, Int64(value))
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: String?) -> SQLiteStatement {
        if let value {
            sqlite3_bind_text(handle, index, value, -1, transientDestructor)
        } else {
            sqlite3_bind_null(handle, index)
        }
        return self
    }

    /// Binds UTF-8 bytes as TEXT without building a String first.
    @discardableResult
    func bind(_ index: Int32, utf8 bytes: [UInt8]) -> SQLiteStatement {
        bytes.withUnsafeBytes { raw in
            _ = sqlite3_bind_text(
                handle,
                index,
                raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(raw.count),
                transientDestructor
            )
        }
        return self
    }

    /// Binds a JSON value's canonical encoding as TEXT (the bytes go to SQLite without a String).
    @discardableResult
    func bind(_ index: Int32, json value: JSONValue) -> SQLiteStatement {
        bind(index, utf8: value.canonicalBytes())
    }

    @discardableResult
    func bind(_ index: Int32, blob: [UInt8]) -> SQLiteStatement {
        blob.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), transientDestructor)
        }
        return self
    }

    /// Binds a named parameter (`:task`) if the statement has it; returns whether it did.
    @discardableResult
    func bindIfPresent(_ name: String, _ value: String) -> Bool {
        let index = sqlite3_bind_parameter_index(handle, name)
        guard index > 0 else { return false }
        bind(index, value)
        return true
    }

    @discardableResult
    func bindIfPresent(_ name: String, _ value: Int64) -> Bool {
        let index = sqlite3_bind_parameter_index(handle, name)
        guard index > 0 else { return false }
        bind(index, value)
        return true
    }

    var parameterCount: Int32 { sqlite3_bind_parameter_count(handle) }

    func parameterName(_ index: Int32) -> String? {
        sqlite3_bind_parameter_name(handle, index).map { String(cString: $0) }
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws(LoomError) -> Bool {
        // A statement inside `Store.write`/`read` whose transaction SQLite has already rolled
        // back (after an error someone swallowed) would run, and commit, on its own.
        if connection.transactionRequired, sqlite3_get_autocommit(connection.handle) != 0 {
            throw connection.lostTransaction(running: sql)
        }
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = connection.errorMessage()
            connection.lastFailure = (rc, message, sql)
            sqlite3_reset(handle)
            throw LoomError(sqliteCode: rc, message: message, context: "running \(sql.prefix(120))")
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(LoomError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    /// The current row, read by column name.
    var row: SQLiteRow { SQLiteRow(statement: self) }

    /// The index of the result column named `name` (its alias when it has one).
    func columnIndex(_ name: String) throws(LoomError) -> Int32 {
        if !columnNames.isEmpty {
            let guess = nextColumn < columnNames.count ? nextColumn : 0
            if columnNames[guess] == name {
                nextColumn = guess + 1
                return Int32(guess)
            }
        }
        if columnIndexes == nil {
            let names = (0..<columnCount).map(columnName)
            var indexes: [String: Int32] = [:]
            // The first of two columns with one name wins, as a reader by name would expect.
            for index in names.indices.reversed() { indexes[names[index]] = Int32(index) }
            columnIndexes = indexes
            if indexes.count == names.count { columnNames = names }
        }
        guard let index = columnIndexes?[name] else {
            throw LoomError(
                .internal,
                "the statement has no column named \(name)",
                context: "reading \(sql.prefix(120))"
            )
        }
        nextColumn = Int(index) + 1
        return index
    }

    var columnCount: Int32 { sqlite3_column_count(handle) }
    func columnName(_ index: Int32) -> String { String(cString: sqlite3_column_name(handle, index)) }
    func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }
    func columnType(_ index: Int32) -> Int32 { sqlite3_column_type(handle, index) }
    func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }
    func int(_ index: Int32) -> Int { Int(sqlite3_column_int64(handle, index)) }
    func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }

    func text(_ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        return String(cString: pointer)
    }

    func blob(_ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, index))
        guard count > 0, let pointer = sqlite3_column_blob(handle, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Whether the current rows of two statements hold the same values, type for type and
    /// byte for byte, without building them as values.
    func sameRow(as other: SQLiteStatement) -> Bool {
        let count = columnCount
        guard count == other.columnCount else { return false }
        for index in 0..<count {
            let type = sqlite3_column_type(handle, index)
            guard type == sqlite3_column_type(other.handle, index) else { return false }
            switch type {
            case SQLITE_NULL: continue
            case SQLITE_INTEGER: if int64(index) != other.int64(index) { return false }
            case SQLITE_FLOAT: if double(index).bitPattern != other.double(index).bitPattern { return false }
            default:
                // TEXT or BLOB: the same bytes (the pointers are read after the lengths, as SQLite asks).
                let left =
                    type == SQLITE_BLOB
                    ? sqlite3_column_blob(handle, index) : UnsafeRawPointer(sqlite3_column_text(handle, index))
                let right =
                    type == SQLITE_BLOB
                    ? sqlite3_column_blob(other.handle, index)
                    : UnsafeRawPointer(sqlite3_column_text(other.handle, index))
                let length = sqlite3_column_bytes(handle, index)
                guard length == sqlite3_column_bytes(other.handle, index) else { return false }
                if length > 0,
                    !UnsafeRawBufferPointer(start: left, count: Int(length)).elementsEqual(
                        UnsafeRawBufferPointer(start: right, count: Int(length))
                    )
                {
                    return false
                }
            }
        }
        return true
    }

    /// The column as a JSON value for row comparison and violation reports (blobs as hex).
    func jsonValue(_ index: Int32) -> JSONValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(int64(index))
        case SQLITE_FLOAT: return .double(double(index))
        case SQLITE_BLOB: return .string(blob(index).hexString)
        default: return .string(text(index) ?? "")
        }
    }

    /// The current row as an object keyed by column name.
    func rowObject() -> JSONValue {
        var object: [String: JSONValue] = [:]
        for index in 0..<columnCount {
            object[columnName(index)] = jsonValue(index)
        }
        return .object(object)
    }
}
