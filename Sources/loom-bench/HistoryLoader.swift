import CSQLite
import LoomEngine

/// Writes a long history into a project database in bulk (raw SQL, one transaction): done
/// tasks with five journal entries and ticks each. It stands for months of finished work;
/// the rows are shaped like the kernel's but their hashes are not a valid chain (recovery
/// does not read them, which is the point of the measurement).
enum HistoryLoader {
    static func load(path: String, finishedTasks: Int, bundle: LoomBundle) throws {
        guard finishedTasks > 0 else { return }
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw BenchError(String(cString: sqlite3_errmsg(db)))
            }
        }
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw BenchError(String(cString: sqlite3_errmsg(db)))
            }
            return statement
        }
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        try exec("PRAGMA synchronous=OFF; BEGIN")
        let task = try prepare(
            """
            INSERT INTO tasks VALUES (?, ?, 'publishing', ?, 'standard', 'history', '{"roles":{}}', NULL, 'done', 4, 'publish', 0, 3, 40, '', '[]', 0, '{}', 'finished', ?, ?)
            """
        )
        let journal = try prepare(
            "INSERT INTO journal VALUES (?, ?, ?, 'effect_result', '{}', '{}', zeroblob(32), zeroblob(32))"
        )
        let tick = try prepare("INSERT INTO ticks VALUES (?, ?, ?, ?, ?, zeroblob(32))")
        var seq: Int64 = 0
        for index in 1...finishedTasks {
            let id = "t\(index)"
            let first = seq + 1
            for _ in 0..<5 {
                seq += 1
                sqlite3_bind_int64(journal, 1, seq)
                sqlite3_bind_int64(journal, 2, seq)
                sqlite3_bind_text(journal, 3, id, -1, transient)
                guard sqlite3_step(journal) == SQLITE_DONE else {
                    throw BenchError(String(cString: sqlite3_errmsg(db)))
                }
                sqlite3_reset(journal)
                sqlite3_bind_int64(tick, 1, seq)
                sqlite3_bind_int64(tick, 2, 1_700_000_000_000 + seq)
                sqlite3_bind_text(tick, 3, id, -1, transient)
                sqlite3_bind_int64(tick, 4, seq)
                sqlite3_bind_int64(tick, 5, seq)
                guard sqlite3_step(tick) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
                sqlite3_reset(tick)
            }
            sqlite3_bind_text(task, 1, id, -1, transient)
            sqlite3_bind_int64(task, 2, Int64(index))
            sqlite3_bind_text(task, 3, bundle.digest, -1, transient)
            sqlite3_bind_int64(task, 4, first)
            sqlite3_bind_int64(task, 5, seq)
            guard sqlite3_step(task) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(task)
        }
        sqlite3_finalize(task)
        sqlite3_finalize(journal)
        sqlite3_finalize(tick)
        try exec("COMMIT")
    }
}
