import CSQLite

/// One SQLite connection with a statement cache.
///
/// Not thread-safe by design: a connection belongs to one store, which belongs to one
/// serial owner (the engine's caller). Statements are cached by their SQL text because
/// every tick runs the same dozen statements; preparing them once is most of the speed.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String
    private var cache: [String: SQLiteStatement] = [:]
    /// Set by `Store.write` and `Store.read` while the transaction they opened must be the
    /// one every statement runs in. SQLite ends a transaction on its own after some errors
    /// (an I/O error, a full disk, out of memory: the whole transaction is rolled back) and
    /// then runs further statements in autocommit mode, each committed at once. A caller
    /// that swallowed such an error would go on writing half a tick straight to the file;
    /// with this set, the next statement is refused instead (`SQLiteStatement.step`).
    var transactionRequired = false
    /// The last statement that failed on this connection: what a lost transaction is blamed on.
    var lastFailure: (rc: Int32, message: String, sql: String)?
    private var byAddress: [TextAddress: SQLiteStatement] = [:]
    /// A bound on cached statements: the kernel's own are a few dozen, but reports and
    /// tools run ad-hoc SQL through the same path, and a long-running daemon must not keep
    /// every text it ever prepared. Past the bound the cache starts over.
    static let statementCacheMax = 256

    /// Opens `path`. `create` decides whether a missing file may be created.
    /// `vfs`: an SQLite VFS registered by name (a test's fault-injecting shim); nil: the default.
    init(path: String, create: Bool, readOnly: Bool = false, vfs: String? = nil) throws(LoomError) {
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE
        if readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if create { flags |= SQLITE_OPEN_CREATE }
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, vfs)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw LoomError(sqliteCode: rc, message: message, context: "opening \(path)")
        }
        sqlite3_extended_result_codes(db, 1)
        self.handle = db
        self.path = path
    }

    deinit {
        cache.removeAll()
        byAddress.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows the caller needs.
    func execute(_ sql: String, context: @autoclosure () -> String = "") throws(LoomError) {
        // The same guard as `SQLiteStatement.step` (migrations run through here inside a write).
        if transactionRequired, sqlite3_get_autocommit(handle) != 0 { throw lostTransaction(running: sql) }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            let what = context()
            throw LoomError(sqliteCode: rc, message: message, context: what.isEmpty ? String(sql.prefix(80)) : what)
        }
    }

    /// A cached prepared statement, reset and with its bindings cleared.
    ///
    /// Found first by where its text lives: the kernel passes the same literal each tick, so
    /// the address and length identify it without reading the text (a hit is still checked
    /// by comparing texts, which for the same literal is one word). Texts built at run time
    /// are then found by content, and their address noted for next time.
    func statement(_ sql: String) throws(LoomError) -> SQLiteStatement {
        let address = TextAddress(sql)
        if let address, let cached = byAddress[address], cached.sql == sql {
            cached.reset()
            return cached
        }
        if let cached = cache[sql] {
            if let address { note(address, cached) }
            cached.reset()
            return cached
        }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        if cache.count >= Self.statementCacheMax {
            cache.removeAll(keepingCapacity: true)
            byAddress.removeAll(keepingCapacity: true)
        }
        cache[sql] = statement
        if let address { note(address, statement) }
        return statement
    }

    private func note(_ address: TextAddress, _ statement: SQLiteStatement) {
        if byAddress.count >= 4 * Self.statementCacheMax { byAddress.removeAll(keepingCapacity: true) }
        byAddress[address] = statement
    }

    /// A statement that is not cached (for one-off SQL such as operator-supplied rules).
    func prepareUncached(_ sql: String) throws(LoomError) -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    func errorMessage() -> String { String(cString: sqlite3_errmsg(handle)) }

    /// The error for a statement about to run after SQLite ended the caller's transaction:
    /// the code of the failure that ended it (an I/O error stays an I/O error for the host's
    /// retry policy), and both statements in the message.
    func lostTransaction(running sql: String) -> LoomError {
        let context = "running \(sql.prefix(120))"
        guard let lastFailure else {
            return LoomError(
                .internal,
                "the transaction ended before this statement, and no failed statement explains it; nothing more was run",
                context: context
            )
        }
        return LoomError(
            sqliteCode: lastFailure.rc,
            message:
                "SQLite rolled the transaction back after '\(lastFailure.message)' (while running \(lastFailure.sql.prefix(120))), an error the caller did not pass on; nothing more was run",
            context: context
        )
    }

    /// Reads a single integer pragma or scalar query.
    func scalarInt(_ sql: String) throws(LoomError) -> Int64? {
        let statement = try self.statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    func scalarText(_ sql: String) throws(LoomError) -> String? {
        let statement = try self.statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.text(0)
    }
}

/// Where a statement's UTF-8 text is stored, and its length: two words to hash instead of
/// the whole text. Only for texts stored out of line (a short text may live inside the
/// String value itself, at no stable address).
private struct TextAddress: Hashable {
    let start: UInt
    let count: Int

    init?(_ text: String) {
        guard text.utf8.count > 15,
            let start = text.utf8.withContiguousStorageIfAvailable({ UInt(bitPattern: $0.baseAddress) })
        else { return nil }
        self.start = start
        count = text.utf8.count
    }
}
