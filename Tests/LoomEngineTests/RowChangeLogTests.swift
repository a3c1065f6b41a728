import CSQLite
import Foundation
import LoomTestKit
import Testing

@testable import LoomEngine

/// The row-change log reports what SQLite wrote, per committed transaction: the benchmark's
/// baseline commits exactly those rows, so they must be the rows and nothing else.
@Suite struct RowChangeLogTests {
    @Test func replayingTheLoggedRowsRebuildsEveryTable() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let log = engine.store.recordRowChanges()
        var queue = try engine.submit(bundle: "publishing", input: "a piece", by: Fixtures.person).newEffects
        let responder = PublishingWorld.responder(odds: PublishingWorld.Odds())
        var ticks = 1
        while ticks < 60 {
            if queue.isEmpty {
                guard
                    let parked = try engine.store.query("SELECT id FROM tasks WHERE status = 'parked'").first?["id"]?
                        .stringValue,
                    let gate = try engine.waitingGate(task: parked)
                else { break }
                queue = try engine.answerGate(task: parked, gate: gate.eventID, answer: .approve, by: Fixtures.person)
            } else {
                let effect = queue.removeFirst()
                if case .applied(let more) = try engine.deliver(
                    key: effect.key,
                    result: responder.execute(effect, seed: 7)
                ) {
                    queue += more
                }
            }
            ticks += 1
        }
        log.stop()
        let committedTicks = try #require(
            try engine.store.query("SELECT count(*) AS n FROM ticks").first?["n"]?.intValue
        )
        #expect(log.transactions.count == Int(committedTicks))

        // Apply the logged rows to an empty database of the same schema, by rowid.
        let copy = try Store(path: directory.file("copy.db"))
        try copy.write { tx throws(LoomError) in
            for transaction in log.transactions {
                for change in transaction {
                    let names = try tx.rows(
                        "SELECT name FROM pragma_table_info('\(change.table)') ORDER BY cid",
                        limit: 100
                    ).compactMap { $0["name"]?.stringValue }
                    // An update that changed nothing (a row saved twice in one tick) has no statement.
                    guard let (sql, values) = change.statement(columnNames: names) else { continue }
                    let statement = try tx.statement(sql)
                    for (offset, value) in values.enumerated() {
                        let index = Int32(offset + 1)
                        switch value {
                        case .null: statement.bind(index, nil as Int64?)
                        case .integer(let number): statement.bind(index, number)
                        case .real(let number): sqlite3_bind_double(statement.handle, index, number)
                        case .text(let bytes): statement.bind(index, utf8: bytes)
                        case .blob(let bytes): statement.bind(index, blob: bytes)
                        }
                    }
                    try statement.run()
                }
            }
        }
        #expect(try TableDump.firstDifference(engine.store, copy) == nil)
    }

    @Test func anUpdateKeepsOnlyTheColumnsItChangedAndARollbackLeavesNothing() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let effects = try engine.submit(bundle: "publishing", input: "a piece", by: Fixtures.person).newEffects
        let log = engine.store.recordRowChanges()
        _ = try engine.deliver(
            key: effects[0].key,
            result: PublishingWorld.responder(odds: PublishingWorld.Odds()).execute(effects[0], seed: 1)
        )
        #expect(throws: LoomError.self) { try engine.deliver(key: "no-such-key", result: .null) }
        log.stop()
        #expect(log.transactions.count == 1)
        let effectUpdate = try #require(log.transactions[0].first { $0.table == "effects" && $0.operation == .update })
        let names = try engine.store.query("SELECT name FROM pragma_table_info('effects') ORDER BY cid", limit: 100)
            .compactMap { $0["name"]?.stringValue }
        #expect(Set(effectUpdate.columns.map { names[$0.index] }) == ["status", "result", "result_tick"])
    }
}
