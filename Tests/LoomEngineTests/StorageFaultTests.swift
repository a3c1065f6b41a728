import Foundation
import LoomTestKit
import Testing

@testable import LoomEngine

/// Storage faults aimed at one point through the VFS shim.
@Suite struct StorageFaultTests {
    /// A full disk halfway through a commit is not another writer: the sole-writer store must not fence
    /// itself (and loomd must not quarantine the project) because SQLite's pager, leaving
    /// its error state, bumps `data_version` as a foreign commit would. Found as seeds 34
    /// and 134 of the system simulation.
    @Test(arguments: 1...6)
    func aDiskErrorIsNotAForeignWrite(nth: Int) throws {
        let directory = TemporaryDirectory("loom-enospc")
        let shim = try #require(
            StorageShim(name: "loom-enospc-\(nth)-\(ProcessInfo.processInfo.processIdentifier)", seed: 1)
        )
        var options = StoreOptions()
        options.soleWriter = true
        options.vfsName = shim.name
        let store = try Store(path: directory.file("state.db"), options: options)
        let clock = SimulatedClock()
        let engine = try Engine(store: store, bundles: [try Fixtures.publishing()], clock: clock.next)
        _ = try engine.submit(bundle: "publishing", input: "one", by: Fixtures.person)
        // The commit's second write fails: the first WAL frame is in, the pager is left in
        // its error state (a failure at the first write leaves nothing to reset).
        shim.fail(.write, nth: nth, with: .diskFull)
        do {
            _ = try engine.submit(bundle: "publishing", input: "two", by: Fixtures.person)
            // Fewer writes than `nth`: the fault waits for the next submission.
        } catch {
            #expect(error.code == .full, "\(error)")
        }
        _ = try engine.submit(bundle: "publishing", input: "three", by: Fixtures.person)
        _ = try engine.submit(bundle: "publishing", input: "four", by: Fixtures.person)
        #expect(store.fencedBecause == nil, "write \(nth) failing")
        #expect(shim.counts.diskFull == 1)
    }

    /// An I/O error makes SQLite roll back the whole transaction, and SQLite then runs any
    /// further statement in autocommit mode, committing it on its own. A body that swallowed
    /// the error (the kernel once did, in an assertion) must not go on writing: the next
    /// statement is refused with the failure's own code, and nothing of the body is on file.
    @Test func aStatementAfterSQLiteRolledTheWriteBackIsRefused() throws {
        let directory = TemporaryDirectory("loom-lost-tx")
        let shim = try #require(StorageShim(name: "loom-lost-tx-\(ProcessInfo.processInfo.processIdentifier)", seed: 1))
        var options = StoreOptions()
        options.vfsName = shim.name
        let path = directory.file("state.db")
        do {
            let store = try Store(path: path, options: options)
            try store.write { tx throws(LoomError) in
                try tx.connection.execute("CREATE TABLE probe(x INTEGER)")
                for value in 0..<200 { try tx.statement("INSERT INTO probe VALUES (?)").bind(1, value).run() }
            }
        }
        // A fresh connection has none of probe's pages cached: reading them goes to the file.
        let store = try Store(path: path, options: options)
        var swallowed = false
        var outcome: LoomError?
        do {
            try store.write { tx throws(LoomError) in
                shim.fail(.read, nth: 1, with: .ioError)
                swallowed = (try? tx.rows("SELECT x FROM probe")) == nil
                try tx.statement("INSERT INTO probe VALUES (?)").bind(1, 1_000).run()
                try tx.statement("INSERT INTO probe VALUES (?)").bind(1, 1_001).run()
            }
        } catch {
            outcome = error
        }
        #expect(swallowed, "the planned read error did not reach the body")
        #expect(shim.counts.ioErrors == 1)
        let error = try #require(outcome, "the write went through after SQLite had rolled it back")
        #expect(error.code == .io, "\(error)")
        #expect(error.message.contains("rolled the transaction back"), "\(error)")
        #expect(try store.query("SELECT count(*) AS n FROM probe WHERE x >= 1000").first?["n"]?.intValue == 0)
        // The store is usable again: the next write opens a transaction of its own.
        try store.write { tx throws(LoomError) in try tx.statement("INSERT INTO probe VALUES (?)").bind(1, 2_000).run()
        }
        #expect(try store.query("SELECT count(*) AS n FROM probe").first?["n"]?.intValue == 201)
    }

    /// Under FULL a power cut loses no commit that returned: every acknowledged submission is
    /// still there after the shim drops everything unsynced, and the file is whole.
    @Test(arguments: [false, true])
    func fullLosesNothingAcknowledgedToAPowerCut(torn: Bool) throws {
        let directory = TemporaryDirectory("loom-power")
        let shim = try #require(
            StorageShim(name: "loom-power-\(torn)-\(ProcessInfo.processInfo.processIdentifier)", seed: 7)
        )
        var options = StoreOptions()
        options.vfsName = shim.name
        let path = directory.file("state.db")
        var acknowledged: [String] = []
        do {
            let store = try Store(path: path, options: options)
            let engine = try Engine(store: store, bundles: [try Fixtures.publishing()], clock: SimulatedClock().next)
            for index in 0..<20 {
                acknowledged.append(
                    try engine.submit(
                        bundle: "publishing",
                        input: "task \(index)",
                        idempotencyKey: "k\(index)",
                        by: Fixtures.person
                    ).taskID
                )
            }
            shim.powerCut(torn: torn)
        }
        shim.revive()
        let reopened = try Store(path: path, options: options)
        #expect(try reopened.integrityCheck() == "ok")
        let rows = try reopened.query("SELECT count(*) AS n FROM tasks")
        #expect(rows.first?["n"]?.intValue == Int64(acknowledged.count))
        #expect(shim.counts.powerCuts == 1)
    }
}
