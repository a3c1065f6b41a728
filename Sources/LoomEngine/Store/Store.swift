import CSQLite
import LoomValues

/// How hard a commit waits for the disk.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous=FULL`: a commit is on disk when it returns (one fsync of the WAL per tick).
    case full
    /// `synchronous=NORMAL`: a power cut may lose the last commits, never corrupt the file.
    case normal
}

/// Options for opening a project database. Every limit has a name and a default.
public struct StoreOptions: Sendable {
    /// Reading a database another process writes (verify, export, graphs, a dashboard).
    public static var readOnlyAccess: StoreOptions {
        var options = StoreOptions()
        options.readOnly = true
        return options
    }

    public var durability: Durability = .full
    /// How long a write waits for another writer before failing with `busy`.
    public var busyTimeoutMs: Int = 5_000
    /// The largest journal entry (canonical JSON of actor and payload) accepted.
    public var journalEntryMaxBytes: Int = 1 << 20
    /// Open without writing anything (for `verify`): no migration, no WAL switch.
    public var readOnly: Bool = false
    /// This connection is the file's only writer (a host that holds the project lock).
    /// A commit by any other connection is then noticed (`PRAGMA data_version`) before the
    /// next write, which is refused (`foreignWrite`), as is every write after it.
    public var soleWriter: Bool = false
    /// The SQLite VFS to open the file through, by its registered name; nil: SQLite's
    /// default. The simulator registers a shim that injects storage faults and power cuts.
    public var vfsName: String?

    public init() {}
}

/// Points at which a test may stop the store as if the process died there.
public enum FaultPoint: Sendable, Equatable {
    /// Inside the transaction, after all writes and rules, before `COMMIT`.
    case beforeCommit
    /// After `COMMIT` returned, before the caller learns of it.
    case afterCommit
}

/// One project's SQLite file: opening it safely, migrating it, and closure-scoped writes.
///
/// `write { }` is the only way to change the file: `BEGIN IMMEDIATE` (so the write lock is
/// taken up front and contention shows as `busy`, never as a deadlock mid-transaction),
/// the body, then `COMMIT`; any throw rolls back.
public final class Store {
    let connection: SQLiteConnection
    public let path: String
    public let options: StoreOptions
    /// Called at each `FaultPoint`; throwing from it aborts like a crash would. Tests only.
    public var faultHook: ((FaultPoint) throws -> Void)?
    /// Why writes are refused, once they are (`fence(because:)`); nil while they are not.
    public private(set) var fencedBecause: String?
    /// Called once, when the store fences itself or is fenced: the host's chance to say so.
    public var onFence: ((String) -> Void)?
    /// `PRAGMA data_version` as this connection last saw it (`soleWriter` only). It changes
    /// only when another connection commits, never for this one's own commits.
    private var dataVersion: Int64?

    /// Opens (and creates or migrates) a loom database.
    ///
    /// A file that is not a loom database is refused before anything is written to it:
    /// the checks below only read, and the first write (`journal_mode=WAL`) comes after.
    public init(path: String, options: StoreOptions = StoreOptions()) throws(LoomError) {
        self.path = path
        self.options = options
        let connection = try SQLiteConnection(
            path: path,
            create: !options.readOnly,
            readOnly: options.readOnly,
            vfs: options.vfsName
        )
        self.connection = connection
        sqlite3_busy_timeout(connection.handle, Int32(clamping: options.busyTimeoutMs))

        let applicationID: Int64
        let version: Int64
        let objectCount: Int64
        do {
            applicationID = try connection.scalarInt("PRAGMA application_id") ?? 0
            version = try connection.scalarInt("PRAGMA user_version") ?? 0
            objectCount = try connection.scalarInt("SELECT count(*) FROM sqlite_schema") ?? 0
        } catch {
            throw LoomError(
                error.code == .sqlite ? .notADatabase : error.code,
                "\(path) is not a loom database: \(error.message)",
                context: "opening \(path)"
            )
        }
        let isEmpty = applicationID == 0 && version == 0 && objectCount == 0
        if !isEmpty && applicationID != Migrations.applicationID {
            throw LoomError(
                .foreignDatabase,
                "\(path) is an SQLite database that loom did not create (application_id \(applicationID)); it was left untouched",
                context: "opening \(path)"
            )
        }
        if version > Migrations.latestVersion {
            throw LoomError(
                .newerSchema,
                "\(path) has schema version \(version) but this loom knows up to \(Migrations.latestVersion); upgrade loom to open it",
                context: "opening \(path)"
            )
        }
        if options.readOnly {
            if isEmpty {
                throw LoomError(.notFound, "\(path) holds no loom database", context: "opening \(path) read-only")
            }
            try checkMigrationNames(upTo: version)
            return
        }
        try connection.execute("PRAGMA journal_mode=WAL", context: "enabling WAL on \(path)")
        try connection.execute("PRAGMA synchronous=\(options.durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA foreign_keys=ON")
        // Statement journals (for statements that may abort halfway) stay in memory rather
        // than in temporary files: they never need to survive a crash, and a file costs a
        // write per statement.
        try connection.execute("PRAGMA temp_store=MEMORY")
        try migrate(from: version)
        if options.soleWriter { dataVersion = try connection.scalarInt("PRAGMA data_version") }
    }

    /// Refuses every write from now on (`foreignWrite`, with `reason`). There is no unfence:
    /// a host that has checked the file opens a new store.
    public func fence(because reason: String) {
        guard fencedBecause == nil else { return }
        fencedBecause = reason
        onFence?(reason)
    }

    /// Whether another connection has committed since this store last looked (`soleWriter`
    /// only); if so the store fences itself. Returns why writes are refused, if they are.
    /// Cheap (no I/O beyond the shared WAL index): a host may call it before a read, so a
    /// write it did not make shows at once, not only at its next write.
    @discardableResult
    public func noticeOtherWriters() -> String? {
        if fencedBecause == nil, options.soleWriter, let dataVersion,
            let current = try? connection.scalarInt("PRAGMA data_version"), current != dataVersion
        {
            fence(because: "another connection wrote to \(path) (a write this store did not make)")
        }
        return fencedBecause
    }

    private func checkMigrationNames(upTo version: Int64) throws(LoomError) {
        guard version > 0 else { return }
        let statement = try connection.statement("SELECT version, name FROM schema_migrations ORDER BY version")
        defer { statement.reset() }
        var seen: Int64 = 0
        while try statement.step() {
            let number = try statement.row.int64("version")
            let name = try statement.row.text("name")
            guard number >= 1, number <= Int64(Migrations.all.count), Migrations.all[Int(number - 1)].name == name
            else {
                throw LoomError(
                    .schemaMismatch,
                    "\(path) records migration \(number) as '\(name)', which this loom does not know",
                    context: "opening \(path)"
                )
            }
            seen += 1
        }
        guard seen == version else {
            throw LoomError(
                .schemaMismatch,
                "\(path) has user_version \(version) but records \(seen) migrations",
                context: "opening \(path)"
            )
        }
    }

    private func migrate(from version: Int64) throws(LoomError) {
        try checkMigrationNames(upTo: version)
        guard version < Migrations.latestVersion else { return }
        try write { tx throws(LoomError) in
            for index in Int(version)..<Migrations.all.count {
                let migration = Migrations.all[index]
                try tx.connection.execute(migration.sql, context: "applying migration \(migration.name)")
                try tx.connection.statement("INSERT INTO schema_migrations(version, name) VALUES (?, ?)")
                    .bind(1, index + 1).bind(2, migration.name).run()
            }
            try tx.connection.execute("PRAGMA application_id=\(Migrations.applicationID)")
            try tx.connection.execute("PRAGMA user_version=\(Migrations.latestVersion)")
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction. A throw rolls everything back.
    public func write<T>(_ body: (Transaction) throws(LoomError) -> T) throws(LoomError) -> T {
        guard !options.readOnly else {
            throw LoomError(.readOnly, "the store was opened read-only", context: "writing \(path)")
        }
        precondition(!connection.isInTransaction, "Store.write is not reentrant")
        if let fencedBecause { throw LoomError(.foreignWrite, fencedBecause, context: "writing \(path)") }
        try connection.statement("BEGIN IMMEDIATE").run()
        let transaction = Transaction(connection: connection)
        // From here to COMMIT every statement must run in this transaction; one that SQLite
        // rolled back after an error the body swallowed refuses the rest (and the COMMIT).
        connection.transactionRequired = true
        do throws(LoomError) {
            // Inside the transaction: the write lock is held, so no other commit can land
            // between this check and ours.
            if let reason = noticeOtherWriters() { throw LoomError(.foreignWrite, reason, context: "writing \(path)") }
            let value = try body(transaction)
            try fault(.beforeCommit)
            try connection.statement("COMMIT").run()
            connection.transactionRequired = false
            try fault(.afterCommit)
            return value
        } catch {
            connection.transactionRequired = false
            if connection.isInTransaction { try? connection.statement("ROLLBACK").run() }
            // A failed write or sync puts SQLite's pager in its error state, and leaving it
            // resets the cache and bumps `data_version` exactly as another writer's commit
            // would: a disk error would pass for a write loomd did not make and quarantine the
            // project (found by the simulator's storage faults). Take the new value now,
            // right after our own failure, so only later commits by others count.
            if options.soleWriter, fencedBecause == nil, error.code == .io || error.code == .full {
                dataVersion = (try? connection.scalarInt("PRAGMA data_version")) ?? dataVersion
            }
            throw error
        }
    }

    /// Runs `body` against a consistent snapshot (a deferred read transaction).
    public func read<T>(_ body: (Transaction) throws(LoomError) -> T) throws(LoomError) -> T {
        let nested = connection.isInTransaction
        if !nested {
            try connection.statement("BEGIN DEFERRED").run()
            // A read that lost its snapshot to an error must not go on reading outside it.
            connection.transactionRequired = true
        }
        defer {
            if !nested {
                connection.transactionRequired = false
                if connection.isInTransaction { try? connection.statement("COMMIT").run() }
            }
        }
        return try body(Transaction(connection: connection))
    }

    private func fault(_ point: FaultPoint) throws(LoomError) {
        guard let faultHook else { return }
        do { try faultHook(point) } catch let error as LoomError { throw error } catch {
            throw LoomError(.injectedFault, "simulated crash at \(point): \(error)", context: "committing \(path)")
        }
    }

    /// `PRAGMA integrity_check`: "ok" or the problems SQLite found.
    public func integrityCheck() throws(LoomError) -> String {
        let statement = try connection.prepareUncached("PRAGMA integrity_check")
        var lines: [String] = []
        while try statement.step() { lines.append(statement.text(0) ?? "") }
        return lines.joined(separator: "\n")
    }

    /// Caps the file at `pages` pages (tests use it to simulate a full disk).
    public func setMaxPageCount(_ pages: Int) throws(LoomError) {
        try connection.execute("PRAGMA max_page_count=\(pages)")
    }

    public var schemaVersion: Int64 { (try? connection.scalarInt("PRAGMA user_version")) ?? 0 }
}

/// The handle a write or read closure receives. It exists so that SQL runs only inside a
/// transaction the store opened.
public struct Transaction {
    let connection: SQLiteConnection

    func statement(_ sql: String) throws(LoomError) -> SQLiteStatement {
        try connection.statement(sql)
    }

    /// Every row of `sql` as JSON objects (for reports, comparisons and rules).
    public func rows(
        _ sql: String,
        bindings: [String: String] = [:],
        limit: Int = 10_000
    ) throws(LoomError) -> [JSONValue] {
        let statement = try connection.statement(sql)
        defer { statement.reset() }
        for (name, value) in bindings { statement.bindIfPresent(name, value) }
        var result: [JSONValue] = []
        while try statement.step() {
            result.append(statement.rowObject())
            if result.count >= limit { break }
        }
        return result
    }
}

extension Store {
    /// The time token of the latest committed tick, if any.
    public func lastTimeToken() throws(LoomError) -> Int64? {
        try read { tx throws(LoomError) in
            try tx.connection.scalarInt("SELECT time_ms FROM ticks ORDER BY tick DESC LIMIT 1")
        }
    }

    /// For a replay's scratch database only (in memory, or a temporary file for a long history).
    /// - CHECK constraints are not checked (json_valid would parse every JSON column again on
    ///   each write): the rows a replay writes are the kernel's own canonical encodings,
    ///   checked when the recorded run wrote them, and a replay that wrote other rows is
    ///   reported by the row comparison that ends it.
    /// - Nothing is synced and there is no rollback journal (saving each page before its
    ///   first change cost a tenth of replay's time). A tick that fails may leave its writes
    ///   half rolled back, but every replay stops at the first tick that fails and never
    ///   reads the scratch again; a scratch file that a crash damaged is thrown away too.
    func makeScratch() throws(LoomError) {
        try connection.execute(
            "PRAGMA ignore_check_constraints = ON; PRAGMA synchronous = OFF; PRAGMA journal_mode = OFF"
        )
    }

    /// Whether the schema has `table` (a read-only store may predate a migration).
    public func hasTable(_ table: String) throws(LoomError) -> Bool {
        !(try query(
            "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = :name",
            bindings: [":name": table]
        )).isEmpty
    }

    /// Runs a read-only query and returns its rows as JSON objects (reports, tests, tools).
    public func query(
        _ sql: String,
        bindings: [String: String] = [:],
        limit: Int = 10_000
    ) throws(LoomError) -> [JSONValue] {
        try read { tx throws(LoomError) in try tx.rows(sql, bindings: bindings, limit: limit) }
    }
}
