import CSQLite
import Foundation
import LoomEngine
import LoomPolicy
import LoomSystem
import LoomTestKit

/// Replay across history: one pass of `HistoryReplayer` over a real, replayable history of
/// finished tasks (built here through the kernel, so every hash and row is genuine), beside
/// two baselines read in the same run from the same file: the raw journal rows stepped with
/// SQLite alone, and the journal read and decoded as a replay reads it (the floor any replay
/// pays before it applies a single tick).
struct HistoryBench {
    let tasks: Int
    let bundlePath: String
    let directory: String?

    /// "Would a rule against publishing with an open warning have caught it?"
    static let rule = SQLRule(
        name: "no_open_warnings",
        sql: """
            SELECT f.id, f.summary FROM findings f JOIN tasks t ON t.id = f.task_id
            WHERE t.id = :task AND t.status = 'done' AND f.status = 'open' AND f.severity = 'warn'
            """,
        message: "no piece is published with an open warning",
        file: "no_open_warnings.sql"
    )

    func run() throws {
        let bundle = try BundleLoader.load(directory: bundlePath)
        let base = directory ?? NSTemporaryDirectory() + "loom-bench-history-\(getpid())"
        try FileManager.default.createDirectory(atPath: "\(base)/.loom", withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: base) } }
        let path = "\(base)/.loom/state.db"

        var started = ContinuousClock.now
        let ticks = try buildHistory(path: path, bundle: bundle)
        print(
            "history: \(tasks) finished tasks, \(ticks) ticks, built through the kernel in \(String(format: "%.1f", seconds(since: started))) s (\(path))"
        )

        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path, options: options)

        started = ContinuousClock.now
        let rawRows = try rawJournalRows(path: path)
        let rawRate = Double(rawRows) / seconds(since: started)

        started = ContinuousClock.now
        var decoded: Int64 = 0
        var after: Int64 = 0
        while true {
            let batch = try store.entries(after: after, upToTick: .max, limit: 2_000)
            if batch.isEmpty { break }
            decoded += Int64(batch.count)
            after = batch[batch.count - 1].seq
        }
        let readRate = Double(decoded) / seconds(since: started)

        let finished = Set(
            try store.query(
                "SELECT id FROM tasks WHERE status IN ('done', 'abandoned', 'cancelled', 'failed')",
                limit: Int.max
            )
            .compactMap { $0["id"]?.stringValue }
        )
        started = ContinuousClock.now
        let report = try HistoryReplayer(journal: store, bundles: [bundle], extraRules: [Self.rule]).run(
            tasks: finished
        )
        let elapsed = seconds(since: started)
        if let problem = report.problem { throw BenchError("history replay stopped: \(problem)") }
        let ticksRate = Double(report.ticks) / elapsed
        let tasksRate = Double(finished.count) / elapsed

        print("raw journal rows (SQLite step only): \(Int(rawRate)) rows/s")
        print("journal read and decoded (a replay's floor): \(Int(readRate)) entries/s")
        print(
            "history replay with one added rule: \(finished.count) tasks, \(report.ticks) ticks in \(String(format: "%.2f", elapsed)) s: \(Int(tasksRate)) tasks/s, \(Int(ticksRate)) ticks/s; \(report.catches.count) tasks caught"
        )
        print(
            "ratio replay ticks/s : decoded read entries/s = \(String(format: "%.3f", ticksRate / readRate)); : raw rows/s = \(String(format: "%.4f", ticksRate / rawRate))"
        )
        print(
            "{"
                + [
                    "\"tasks\":\(finished.count)", "\"ticks\":\(report.ticks)", "\"caught\":\(report.catches.count)",
                    "\"replay_tasks_per_s\":\(Int(tasksRate.rounded()))",
                    "\"replay_ticks_per_s\":\(Int(ticksRate.rounded()))",
                    "\"read_entries_per_s\":\(Int(readRate.rounded()))", "\"raw_rows_per_s\":\(Int(rawRate.rounded()))",
                    "\"ratio_to_read\":\(String(format: "%.3f", ticksRate / readRate))",
                    "\"ratio_to_raw\":\(String(format: "%.4f", ticksRate / rawRate))",
                ].joined(separator: ",") + "}"
        )
    }

    /// Tasks run one at a time to the end, as loomd runs a project's queue; the clock ends
    /// about now, so `loomctl replay --since 7d -C DIR` on the kept file finds every task.
    private func buildHistory(path: String, bundle: LoomBundle) throws -> Int64 {
        var options = StoreOptions()
        options.durability = .normal
        let store = try Store(path: path, options: options)
        let stepMs: Int64 = 100
        let clock = SimulatedClock(
            startMs: Int64(Date().timeIntervalSince1970 * 1_000) - Int64(tasks) * 40 * stepMs,
            stepMs: stepMs
        )
        let engine = try Engine(store: store, bundles: [bundle], clock: clock.next)
        let driver = Driver(engine: engine, responder: PublishingWorld.responder(), seed: 42)
        let person = Caller(principal: .human(uid: 1000), uid: 1000)
        for index in 0..<tasks {
            _ = try engine.submit(
                bundle: bundle.name,
                input: "history \(index)",
                policy: index % 4 == 0 ? PolicyPreset.fullSupervised.policy : TaskPolicy(),
                by: person
            )
            try driver.runUntilQuiet()
            if (index + 1) % 1_000 == 0 { StandardError.write("built \(index + 1)/\(tasks) tasks\n") }
        }
        return try store.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
    }

    private func rawJournalRows(path: String) throws -> Int64 {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let db else {
            throw BenchError("cannot open \(path)")
        }
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        guard
            sqlite3_prepare_v2(
                db,
                "SELECT j.seq, j.tick, k.time_ms, j.task_id, j.kind, j.actor, j.payload, j.prev_hash, j.hash FROM journal j JOIN ticks k ON k.tick = j.tick ORDER BY j.seq",
                -1,
                &statement,
                nil
            ) == SQLITE_OK,
            let statement
        else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        defer { sqlite3_finalize(statement) }
        var rows: Int64 = 0
        var bytes = 0
        while sqlite3_step(statement) == SQLITE_ROW {
            bytes &+= Int(sqlite3_column_bytes(statement, 6))
            rows += 1
        }
        return rows
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
