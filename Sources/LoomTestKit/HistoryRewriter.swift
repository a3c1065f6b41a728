import CSQLite
import LoomEngine
import LoomValues

/// A hostile writer with the project's uid, for tests that prove history cannot be
/// rewritten unnoticed: it edits a journal entry straight in the file, then re-chains every
/// later entry with correct (unkeyed) hashes, fixes each tick's chain head, and puts the
/// append-only triggers back exactly as they were. After it, the hash chain alone verifies;
/// only the signed checkpoints (docs/journal.md) can tell.
public enum HistoryRewriter {
    /// Why a rewrite could not be done (the attack itself failed, so the test proves nothing).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Replaces entry `seq`'s payload with `payload` and re-chains entries `seq`… to the end.
    /// - Returns: how many entries were re-hashed.
    @discardableResult
    public static func rewrite(database path: String, seq: Int64, payload: JSONValue) throws -> Int {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            throw Failure(description: "cannot open \(path)")
        }
        defer { sqlite3_close(db) }
        try execute(db, "BEGIN IMMEDIATE")
        do {
            let triggers = try rows(
                db,
                "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'journal'"
            )
            for trigger in triggers { try execute(db, "DROP TRIGGER \(trigger[0])") }
            try run(
                db,
                "UPDATE journal SET payload = ?1 WHERE seq = ?2",
                [.text(payload.canonicalText), .integer(seq)]
            )
            let entries = try rows(
                db,
                """
                SELECT j.seq, j.tick, k.time_ms, j.task_id, j.kind, j.actor, j.payload, hex(j.prev_hash)
                FROM journal j JOIN ticks k ON k.tick = j.tick WHERE j.seq >= \(seq) ORDER BY j.seq
                """
            )
            guard let first = entries.first, var previous = hexBytes(first[7]) else {
                throw Failure(description: "no entry \(seq) to rewrite")
            }
            for entry in entries {
                let hash = JournalEntry.chainHash(
                    previous: previous,
                    seq: Int64(entry[0])!,
                    tick: Int64(entry[1])!,
                    timeMs: Int64(entry[2])!,
                    taskID: entry[3],
                    kind: entry[4],
                    actor: try JSONValue.parse(entry[5]),
                    payload: try JSONValue.parse(entry[6])
                )
                try run(
                    db,
                    "UPDATE journal SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                    [.blob(previous), .blob(hash), .integer(Int64(entry[0])!)]
                )
                previous = hash
            }
            try execute(
                db,
                "UPDATE ticks SET chain_head = (SELECT hash FROM journal WHERE seq = ticks.last_seq) WHERE last_seq >= \(seq)"
            )
            for trigger in triggers { try execute(db, trigger[1]) }
            try execute(db, "COMMIT")
            return entries.count
        } catch {
            try? execute(db, "ROLLBACK")
            throw error
        }
    }

    enum Value {
        case integer(Int64)
        case text(String)
        case blob([UInt8])
    }

    static func execute(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    static func run(_ db: OpaquePointer, _ sql: String, _ values: [Value]) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(statement, index, number)
            case .text(let text): sqlite3_bind_text(statement, index, text, -1, transient)
            case .blob(let bytes):
                _ = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transient)
                }
            }
        }
        guard sqlite3_step(statement) == SQLITE_DONE else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    /// Every row of `sql`, each column as text.
    static func rows(_ db: OpaquePointer, _ sql: String) throws -> [[String]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        var result: [[String]] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            result.append(
                (0..<sqlite3_column_count(statement)).map { column in
                    sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
                }
            )
        }
        return result
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).compactMap {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)
        }
    }
}
