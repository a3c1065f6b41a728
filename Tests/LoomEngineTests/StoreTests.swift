import CSQLite
import Foundation
import LoomTestKit
import Testing

@testable import LoomEngine

/// Opening files safely and failing writes cleanly.
@Suite struct StoreTests {
    @Test func aNewDatabaseIsWALStrictAndVersioned() throws {
        let directory = TemporaryDirectory()
        let store = try Store(path: directory.file("state.db"))
        #expect(try store.query("PRAGMA journal_mode") == [["journal_mode": "wal"]])
        #expect(try store.query("PRAGMA synchronous") == [["synchronous": 2]])
        #expect(store.schemaVersion == Int64(Migrations.all.count))
        #expect(
            try store.query("SELECT name FROM schema_migrations ORDER BY version") == [
                ["name": "0001_kernel"], ["name": "0002_bundle_versions"], ["name": "0003_gates_by_decision"],
                ["name": "0004_chain_checkpoints"],
            ]
        )
        let strict = try store.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE '%STRICT%'")
        #expect(strict.isEmpty)
        var normal = StoreOptions()
        normal.durability = .normal
        let reopened = try Store(path: directory.file("state.db"), options: normal)
        #expect(try reopened.query("PRAGMA synchronous") == [["synchronous": 1]])
    }

    /// A row is read by column name; a NULL where the reader needs a value is an error that
    /// names the column and the statement, never an empty string or a zero.
    @Test func rowsAreReadByNameAndANullIsNamed() throws {
        let store = try Store(path: ":memory:")
        let statement = try store.connection.statement("SELECT 'a' AS word, NULL AS missing, 7 AS number")
        defer { statement.reset() }
        #expect(try statement.step())
        let row = statement.row
        #expect(try row.text("word") == "a")
        #expect(try row.int("number") == 7)
        #expect(try row.optionalText("missing") == nil)
        #expect(try row.optionalInt64("missing") == nil)
        for read in [
            { _ = try row.text("missing") }, { _ = try row.int64("missing") }, { _ = try row.json("missing") },
        ] {
            let error = #expect(throws: LoomError.self) { try read() }
            #expect(error?.code == .corrupt)
            #expect(error?.message.contains("column missing is NULL") == true)
            #expect(error?.context.contains("SELECT 'a' AS word") == true)
        }
        let unknown = #expect(throws: LoomError.self) { try row.text("absent") }
        #expect(unknown?.code == .internal)
        // Two columns of one name: the first, however the columns were read before.
        let twice = try store.connection.statement("SELECT 1 AS a, 2 AS b, 3 AS a")
        defer { twice.reset() }
        #expect(try twice.step())
        #expect(try [twice.row.int("a"), twice.row.int("b"), twice.row.int("a")] == [1, 2, 1])
    }

    @Test func aFileThatIsNotADatabaseIsRefusedUntouched() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("notes.db")
        let text = Data(String(repeating: "not a database, just notes\n", count: 200).utf8)
        try text.write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: LoomError.self) { try Store(path: path) }
        #expect(error.code == .notADatabase)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aForeignSQLiteDatabaseIsRefusedUntouched() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("other.db")
        var db: OpaquePointer?
        sqlite3_open(path, &db)
        sqlite3_exec(
            db,
            "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');",
            nil,
            nil,
            nil
        )
        sqlite3_close(db)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = try #require(throws: LoomError.self) { try Store(path: path) }
        #expect(error.code == .foreignDatabase)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func aNewerSchemaIsRefusedWithAClearError() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("state.db")
        _ = try Store(path: path)
        var db: OpaquePointer?
        sqlite3_open(path, &db)
        sqlite3_exec(db, "PRAGMA user_version = 99", nil, nil, nil)
        sqlite3_close(db)
        let error = try #require(throws: LoomError.self) { try Store(path: path) }
        #expect(error.code == .newerSchema)
        #expect(error.message.contains("99"))
    }

    @Test func aRewrittenMigrationHistoryIsRefused() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("state.db")
        _ = try Store(path: path)
        var db: OpaquePointer?
        sqlite3_open(path, &db)
        sqlite3_exec(db, "UPDATE schema_migrations SET name = '0001_something_else' WHERE version = 1", nil, nil, nil)
        sqlite3_close(db)
        #expect(throws: LoomError.self) { try Store(path: path) }
        do { _ = try Store(path: path) } catch { #expect(error.code == .schemaMismatch) }
    }

    @Test func aWriterPastTheBusyTimeoutGetsBusyAndNothingIsWritten() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("state.db")
        var options = StoreOptions()
        options.busyTimeoutMs = 50
        let engine = try Engine(
            store: Store(path: path, options: options),
            bundles: [Fixtures.publishing()],
            clock: SimulatedClock().next
        )
        var other: OpaquePointer?
        sqlite3_open(path, &other)
        #expect(sqlite3_exec(other, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        let error = try #require(throws: LoomError.self) {
            try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        }
        #expect(error.code == .busy)
        sqlite3_exec(other, "ROLLBACK", nil, nil, nil)
        sqlite3_close(other)
        #expect(try engine.store.query("SELECT count(*) AS n FROM journal") == [["n": 0]])
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        #expect(try engine.store.query("SELECT count(*) AS n FROM journal") == [["n": 1]])
    }

    @Test func aFullDatabaseFailsTheTickWholeAndStaysIntact() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "first", by: Fixtures.person)
        let pages = try engine.store.query("PRAGMA page_count")[0]["page_count"]?.intValue ?? 0
        try engine.store.setMaxPageCount(Int(pages))
        let big = String(repeating: "x", count: 200_000)
        let error = try #require(throws: LoomError.self) {
            try engine.submit(bundle: "publishing", input: big, by: Fixtures.person)
        }
        #expect(error.code == .full)
        #expect(try engine.store.query("SELECT count(*) AS n FROM tasks") == [["n": 1]])
        #expect(try engine.store.query("SELECT count(*) AS n FROM journal") == [["n": 1]])
        #expect(try engine.store.integrityCheck() == "ok")
    }

    @Test func payloadsOverTheirLimitsAreRefusedBeforeAnyWrite() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let tooLong = String(repeating: "y", count: engine.limits.inputMaxBytes + 1)
        let error = try #require(throws: LoomError.self) {
            try engine.submit(bundle: "publishing", input: tooLong, by: Fixtures.person)
        }
        #expect(error.code == .tooLarge)
        _ = try engine.submit(
            bundle: "publishing",
            input: String(repeating: "y", count: engine.limits.inputMaxBytes),
            by: Fixtures.person
        )
        let huge = AgentResult(output: String(repeating: "z", count: engine.limits.resultMaxBytes)).json
        let deliver = try #require(throws: LoomError.self) {
            try engine.deliver(key: "t1:draft:writer:0:1", result: huge)
        }
        #expect(deliver.code == .tooLarge)
        #expect(try engine.pendingEffects().count == 1)
    }

    @Test func theJournalIsAppendOnlyAndJSONColumnsAreChecked() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        defer { sqlite3_close(db) }
        #expect(sqlite3_exec(db, "UPDATE journal SET payload = '{}'", nil, nil, nil) != SQLITE_OK)
        #expect(sqlite3_exec(db, "DELETE FROM journal", nil, nil, nil) != SQLITE_OK)
        #expect(sqlite3_exec(db, "UPDATE tasks SET policy = 'not json'", nil, nil, nil) != SQLITE_OK)
        #expect(sqlite3_exec(db, "UPDATE tasks SET status = 'sideways'", nil, nil, nil) != SQLITE_OK)
    }
}
