import CSQLite
import LoomEngine

/// The baseline's writer: one connection to a database with the kernel's schema that commits
/// a `RawPlan`'s ticks one transaction each, with prepared statements and no kernel logic.
final class RawWriter {
    private let db: OpaquePointer
    private let plan: RawPlan
    private var statements: [String: OpaquePointer] = [:]
    private var begin: OpaquePointer!
    private var commit: OpaquePointer!
    private(set) var next = 0
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(plan: RawPlan, path: String, durability: Durability) throws {
        var options = StoreOptions()
        options.durability = durability
        _ = try Store(path: path, options: options)  // the same schema, constraints and triggers
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw BenchError("cannot open \(path)") }
        db = handle
        self.plan = plan
        // The pragmas the kernel's store sets on its own connection.
        guard sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL"); PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY", nil, nil, nil) == SQLITE_OK else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
        begin = try statement("BEGIN IMMEDIATE")
        commit = try statement("COMMIT")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    var isDone: Bool { next >= plan.ticks.count }

    /// Commits the plan's next tick as one transaction.
    func commitNext() throws {
        try run(begin)
        for write in plan.ticks[next] {
            let prepared = try statement(write.sql)
            for (index, value) in write.values.enumerated() {
                let position = Int32(index + 1)
                switch value {
                case .null: sqlite3_bind_null(prepared, position)
                case .integer(let number): sqlite3_bind_int64(prepared, position, number)
                case .real(let number): sqlite3_bind_double(prepared, position, number)
                case .text(let bytes):
                    bytes.withUnsafeBytes { raw in _ = sqlite3_bind_text(prepared, position, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), Self.transient) }
                case .blob(let bytes):
                    bytes.withUnsafeBytes { raw in _ = sqlite3_bind_blob(prepared, position, raw.baseAddress, Int32(raw.count), Self.transient) }
                }
            }
            try run(prepared)
        }
        try run(commit)
        next += 1
    }

    private func statement(_ sql: String) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        statements[sql] = prepared
        return prepared
    }

    private func run(_ prepared: OpaquePointer) throws {
        guard sqlite3_step(prepared) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(prepared)
    }
}
