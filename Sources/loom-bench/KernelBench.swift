import CSQLite
import Foundation
import LoomEngine
import LoomPolicy
import LoomTestKit

/// Durable kernel ticks against the raw-SQLite baseline that writes the same rows.
struct KernelBench {
    let ticks: Int
    let bundlePath: String
    let directory: String?

    func run() throws {
        let bundle = try BundleLoader.load(directory: bundlePath)
        let base = directory ?? NSTemporaryDirectory() + "loom-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: base) } }

        var figures: [String: Double] = [:]
        for durability in [Durability.full, .normal] {
            let name = durability.rawValue
            let kernelPath = "\(base)/kernel-\(name).db"
            let kernelRate = try kernelTicks(bundle: bundle, path: kernelPath, durability: durability)
            let rawRate = try rawTransactions(path: "\(base)/raw-\(name).db", durability: durability)
            figures["\(name)_ticks_per_s"] = kernelRate
            figures["\(name)_raw_tx_per_s"] = rawRate
            figures["\(name)_ratio"] = kernelRate / rawRate
            print("synchronous=\(name.uppercased()): kernel \(Int(kernelRate)) ticks/s, raw SQLite \(Int(rawRate)) tx/s, ratio \(String(format: "%.3f", kernelRate / rawRate))")
        }
        let replayRate = try replay(bundle: bundle, path: "\(base)/kernel-full.db")
        figures["replay_ticks_per_s"] = replayRate
        print("replay: \(Int(replayRate)) ticks/s (in memory, every rule checked, every row compared)")
        let keys = ["full_ticks_per_s", "full_raw_tx_per_s", "full_ratio", "normal_ticks_per_s", "normal_raw_tx_per_s", "normal_ratio", "replay_ticks_per_s"]
        print("{" + keys.map { key in
            let value = figures[key] ?? 0
            return "\"\(key)\":" + (key.hasSuffix("ratio") ? String(format: "%.3f", value) : String(Int(value.rounded())))
        }.joined(separator: ",") + "}")
    }

    /// Drives real tasks through the engine until `ticks` ticks have committed. The host
    /// loop does what the daemon does: it executes the effects each tick hands back.
    private func kernelTicks(bundle: LoomBundle, path: String, durability: Durability) throws -> Double {
        var options = StoreOptions()
        options.durability = durability
        let store = try Store(path: path, options: options)
        let clock = SimulatedClock()
        let engine = try Engine(store: store, bundles: [bundle], clock: clock.next)
        var odds = PublishingWorld.Odds()
        odds.claim = 0
        let responder = PublishingWorld.responder(odds: odds)
        let person = Caller(principal: .human(uid: 1000), uid: 1000)
        var queue: [Effect] = []
        var committed = 0
        var submitted = 0
        let started = ContinuousClock.now
        while committed < ticks {
            if queue.isEmpty {
                if let parked = try store.query("SELECT id FROM tasks WHERE status = 'parked' LIMIT 1").first?["id"]?.stringValue,
                   let gate = try engine.waitingGate(task: parked) {
                    queue += try engine.answerGate(task: parked, gate: gate.eventID, answer: .approve, by: person)
                } else {
                    submitted += 1
                    queue += try engine.submit(bundle: bundle.name, input: "bench \(submitted)", policy: PolicyPreset.fullAutonomous.policy, by: person).newEffects
                }
                committed += 1
                continue
            }
            let effect = queue.removeFirst()
            if case .applied(let more) = try engine.deliver(key: effect.key, result: responder.execute(effect, seed: 42)) {
                queue += more
            }
            committed += 1
        }
        return Double(committed) / seconds(since: started)
    }

    /// The baseline: one transaction per tick writing the rows a typical tick writes (a
    /// journal entry, a tick, a task update, an effect result, the next effect's intent,
    /// a step output) with prepared statements and no kernel logic.
    private func rawTransactions(path: String, durability: Durability) throws -> Double {
        var options = StoreOptions()
        options.durability = durability
        _ = try Store(path: path, options: options)  // the same schema, constraints and triggers
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        try exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
        try exec(db, """
            INSERT INTO tasks VALUES ('t1', 1, 'publishing', 'digest', 'standard', 'bench', '{"roles":{}}', NULL, 'running', 0, 'draft', 0, 0, 40, '', '[]', 0, '{}', '', 1, 1)
            """)
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            return statement
        }
        let journal = try prepare("INSERT INTO journal(seq, tick, task_id, kind, actor, payload, prev_hash, hash) VALUES (?, ?, 't1', 'effect_result', ?, ?, ?, ?)")
        let tick = try prepare("INSERT INTO ticks(tick, time_ms, task_id, first_seq, last_seq, chain_head) VALUES (?, ?, 't1', ?, ?, ?)")
        let task = try prepare("UPDATE tasks SET step_index = ?, updated_tick = ? WHERE id = 't1'")
        let intent = try prepare("INSERT INTO effects(key, task_id, step, unit, iteration, attempt, kind, request, status, intent_tick) VALUES (?, 't1', 'draft', 'writer', 0, 1, 'spawn', ?, 'pending', ?)")
        let result = try prepare("UPDATE effects SET status = 'done', result = ?, result_tick = ? WHERE key = ?")
        let output = try prepare("INSERT INTO step_outputs(task_id, step, unit, iteration, attempt, kind, valid, output, author, tick) VALUES ('t1', 'draft', 'writer', ?, 1, 'spawn', 1, ?, 'agent:writer', ?)")
        let actor = #"{"gid":1000,"pid":4242,"principal":{"id":"uid:1000","kind":"human"},"uid":1000}"#
        let payload = #"{"key":"t1:draft:writer:0:1","result":{"costMicroUSD":1234,"durationMs":812,"model":"balanced","output":"{\"text\":\"Words 512 about the brief.\",\"title\":\"Draft 0 for t1\"}","provider":"scripted","status":"ok","usage":{"cached":12,"in":812,"out":233}}}"#
        let request = #"{"attempt":1,"iteration":0,"limits":{"idleTimeoutMs":300000,"outputMaxBytes":1048576,"timeoutMs":1800000},"prompt":"\#(String(repeating: "You are writing a short article for a general audience. ", count: 12))","role":"writer","step":"draft","task":"t1","tier":"balanced"}"#
        let hash = [UInt8](repeating: 7, count: 32)
        try exec(db, "INSERT INTO effects(key, task_id, step, unit, iteration, attempt, kind, request, status, intent_tick) VALUES ('k0', 't1', 'draft', 'writer', 0, 1, 'spawn', '{}', 'pending', 0)")

        func step(_ statement: OpaquePointer) throws {
            guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(statement)
        }
        let started = ContinuousClock.now
        for index in 1...ticks {
            let n = Int64(index)
            try exec(db, "BEGIN IMMEDIATE")
            sqlite3_bind_int64(journal, 1, n); sqlite3_bind_int64(journal, 2, n)
            sqlite3_bind_text(journal, 3, actor, -1, transient); sqlite3_bind_text(journal, 4, payload, -1, transient)
            hash.withUnsafeBytes { raw in
                _ = sqlite3_bind_blob(journal, 5, raw.baseAddress, 32, transient)
                _ = sqlite3_bind_blob(journal, 6, raw.baseAddress, 32, transient)
            }
            try step(journal)
            sqlite3_bind_text(result, 1, payload, -1, transient); sqlite3_bind_int64(result, 2, n)
            sqlite3_bind_text(result, 3, "k\(index - 1)", -1, transient)
            try step(result)
            sqlite3_bind_int64(output, 1, n); sqlite3_bind_text(output, 2, payload, -1, transient); sqlite3_bind_int64(output, 3, n)
            try step(output)
            sqlite3_bind_text(intent, 1, "k\(index)", -1, transient); sqlite3_bind_text(intent, 2, request, -1, transient)
            sqlite3_bind_int64(intent, 3, n)
            try step(intent)
            sqlite3_bind_int64(task, 1, n % 5); sqlite3_bind_int64(task, 2, n)
            try step(task)
            sqlite3_bind_int64(tick, 1, n); sqlite3_bind_int64(tick, 2, 1_700_000_000_000 + n); sqlite3_bind_int64(tick, 3, n); sqlite3_bind_int64(tick, 4, n)
            hash.withUnsafeBytes { raw in _ = sqlite3_bind_blob(tick, 5, raw.baseAddress, 32, transient) }
            try step(tick)
            try exec(db, "COMMIT")
        }
        let elapsed = seconds(since: started)
        for statement in [journal, tick, task, intent, result, output] { sqlite3_finalize(statement) }
        return Double(ticks) / elapsed
    }

    private func replay(bundle: LoomBundle, path: String) throws -> Double {
        let source = try Store(path: path)
        let count = try source.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
        let started = ContinuousClock.now
        let report = try Replayer(source: source, bundles: [bundle]).run()
        let elapsed = seconds(since: started)
        guard case .identical = report else { throw BenchError("replay did not reproduce the run: \(report)") }
        return Double(count) / elapsed
    }

    private func exec(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
