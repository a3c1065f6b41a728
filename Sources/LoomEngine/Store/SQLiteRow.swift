import CSQLite
import LoomValues

/// The current row of a stepped statement, read by column name.
///
/// Reading by position tied each decoder to the order of a SELECT list written elsewhere,
/// and reading a NULL as `""` or `0` hid a damaged row behind a plausible value. Here a
/// column is named where it is read, and a NULL in a column the caller takes as required
/// is an error naming the column and the statement. Names are resolved to indexes once per
/// prepared statement (`SQLiteStatement.columnIndex`), and the connection caches the
/// kernel's statements, so a tick pays a dictionary look-up per column and nothing more.
///
/// Valid only until the statement steps again or is reset, like SQLite's own column values.
struct SQLiteRow {
    let statement: SQLiteStatement

    func text(_ column: String) throws(LoomError) -> String {
        let index = try statement.columnIndex(column)
        guard let pointer = sqlite3_column_text(statement.handle, index) else {
            // Not NULL and still no text: SQLite could not allocate the conversion.
            throw nullError(column, at: index)
                ?? LoomError(
                    sqliteCode: SQLITE_NOMEM,
                    message: "out of memory reading column \(column)",
                    context: context
                )
        }
        return String(cString: pointer)
    }

    /// A text column that may hold NULL (nil then).
    func optionalText(_ column: String) throws(LoomError) -> String? {
        let index = try statement.columnIndex(column)
        guard sqlite3_column_type(statement.handle, index) != SQLITE_NULL else { return nil }
        return statement.text(index)
    }

    func int64(_ column: String) throws(LoomError) -> Int64 {
        let index = try statement.columnIndex(column)
        if let error = nullError(column, at: index) { throw error }
        return sqlite3_column_int64(statement.handle, index)
    }

    /// An integer column that may hold NULL (nil then).
    func optionalInt64(_ column: String) throws(LoomError) -> Int64? {
        let index = try statement.columnIndex(column)
        guard sqlite3_column_type(statement.handle, index) != SQLITE_NULL else { return nil }
        return sqlite3_column_int64(statement.handle, index)
    }

    func int(_ column: String) throws(LoomError) -> Int { Int(try int64(column)) }

    /// A 0/1 column.
    func bool(_ column: String) throws(LoomError) -> Bool { try int64(column) != 0 }

    func blob(_ column: String) throws(LoomError) -> [UInt8] {
        let index = try statement.columnIndex(column)
        if let error = nullError(column, at: index) { throw error }
        return statement.blob(index)
    }

    /// A column of JSON the kernel stored; text that does not parse means the file was damaged.
    func json(_ column: String) throws(LoomError) -> JSONValue {
        let text = try text(column)
        do {
            return try JSONValue.parse(text)
        } catch {
            throw LoomError(
                .corrupt,
                "stored JSON in column \(column) does not parse: \(error.message)",
                context: context
            )
        }
    }

    /// A column holding one of a closed set of words (a status, a kind).
    func value<Value: RawRepresentable>(_ column: String, as type: Value.Type) throws(LoomError) -> Value
    where Value.RawValue == String {
        let raw = try text(column)
        guard let value = Value(rawValue: raw) else {
            throw LoomError(.corrupt, "column \(column) holds \"\(raw)\", not a known \(Value.self)", context: context)
        }
        return value
    }

    /// The error for a NULL where the caller declared a value; nil when the column is not NULL.
    private func nullError(_ column: String, at index: Int32) -> LoomError? {
        guard sqlite3_column_type(statement.handle, index) == SQLITE_NULL else { return nil }
        return LoomError(.corrupt, "column \(column) is NULL where a value is required", context: context)
    }

    private var context: String { "reading a row of \(statement.sql.prefix(120))" }
}
