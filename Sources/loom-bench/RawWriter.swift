import CSQLite
import LoomEngine

/// The baseline's writer: one connection to a database with the kernel's schema that commits
/// a `RawPlan`'s ticks one transaction each, with prepared statements and no kernel logic.
final class RawWriter {
    private let db: OpaquePointer
    private let plan: RawPlan
    /// The plan's statements, prepared up front, by the plan's positions.
    private var statements: [OpaquePointer] = []
    private var begin: OpaquePointer!
    private var commit: OpaquePointer!
    private(set) var next = 0
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// - Parameter scratch: set up the file the way replay's scratch database is (no CHECK
    ///   constraints, no sync, no rollback journal, every page kept in cache)
    ///   instead of the kernel's durable WAL.
    init(plan: RawPlan, path: String, durability: Durability, scratch: Bool = false) throws {
        var options = StoreOptions()
        options.durability = durability
        _ = try Store(path: path, options: options)  // the same schema, constraints and triggers
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw BenchError("cannot open \(path)") }
        db = handle
        self.plan = plan
        // The pragmas the kernel's store sets on its own connection.
        try exec(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL"); PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY"
        )
        if scratch {
            try exec(
                "PRAGMA ignore_check_constraints = ON; PRAGMA synchronous = OFF; PRAGMA journal_mode = OFF; PRAGMA cache_size = -1048576"
            )
        }
        begin = try prepare("BEGIN IMMEDIATE")
        commit = try prepare("COMMIT")
        statements = try plan.statements.map(prepare)
    }

    deinit {
        for statement in statements + [begin, commit] { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    var isDone: Bool { next >= plan.ticks.count }

    /// Commits the plan's next tick as one transaction.
    func commitNext() throws {
        try run(begin)
        try writeNext()
        try run(commit)
    }

    /// Writes every remaining tick in a single transaction: the least SQLite work that
    /// leaves the rows in the file, what a replay that rebuilds them cannot beat.
    func commitRest() throws {
        try run(begin)
        while !isDone { try writeNext() }
        try run(commit)
    }

    private func writeNext() throws {
        for write in plan.ticks[next] {
            let prepared = statements[write.statement]
            for (index, value) in write.values.enumerated() {
                let position = Int32(index + 1)
                switch value {
                case .null: sqlite3_bind_null(prepared, position)
                case .integer(let number): sqlite3_bind_int64(prepared, position, number)
                case .real(let number): sqlite3_bind_double(prepared, position, number)
                case .text(let bytes):
                    bytes.withUnsafeBytes { raw in
                        _ = sqlite3_bind_text(
                            prepared,
                            position,
                            raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                            Int32(raw.count),
                            Self.transient
                        )
                    }
                case .blob(let bytes):
                    bytes.withUnsafeBytes { raw in
                        _ = sqlite3_bind_blob(prepared, position, raw.baseAddress, Int32(raw.count), Self.transient)
                    }
                }
            }
            try run(prepared)
        }
        next += 1
    }

    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil) == SQLITE_OK,
            let prepared
        else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
        return prepared
    }

    private func run(_ prepared: OpaquePointer) throws {
        guard sqlite3_step(prepared) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(prepared)
    }
}
