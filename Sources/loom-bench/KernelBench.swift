import CSQLite
import Foundation
import LoomEngine
import LoomPolicy
import LoomTestKit

/// Durable kernel ticks against the raw-SQLite baseline that writes the same rows.
struct KernelBench {
    let ticks: Int
    let rounds: Int
    let bundlePath: String
    let directory: String?

    func run() throws {
        let bundle = try BundleLoader.load(directory: bundlePath)
        let base = directory ?? NSTemporaryDirectory() + "loom-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: base) } }

        var figures: [String: Double] = [:]
        if let part = ProcessInfo.processInfo.environment["LOOM_BENCH_PROFILE"] {
            // For a profiler: only the kernel's own ticks (NORMAL durability), or only replay.
            print(try kernelTicks(bundle: bundle, path: "\(base)/profile.db", durability: .normal))
            if part == "replay" { print(try replay(bundle: bundle, path: "\(base)/profile.db")) }
            return
        }
        // Rounds alternate kernel and baseline so that drift in the disk's speed hits both;
        // the figures are the medians of the rounds.
        for durability in [Durability.full, .normal] {
            let name = durability.rawValue
            var kernelRates: [Double] = []
            var rawRates: [Double] = []
            var ratios: [Double] = []
            for round in 1...rounds {
                let kernelPath = "\(base)/kernel-\(name)-\(round).db"
                let kernelRate = try kernelTicks(bundle: bundle, path: kernelPath, durability: durability)
                let rawRate = try rawTransactions(kernelPath: kernelPath, path: "\(base)/raw-\(name)-\(round).db", durability: durability)
                kernelRates.append(kernelRate)
                rawRates.append(rawRate)
                ratios.append(kernelRate / rawRate)
                print("synchronous=\(name.uppercased()) round \(round): kernel \(Int(kernelRate)) ticks/s, raw SQLite \(Int(rawRate)) tx/s, ratio \(String(format: "%.3f", kernelRate / rawRate))")
            }
            figures["\(name)_ticks_per_s"] = median(kernelRates)
            figures["\(name)_raw_tx_per_s"] = median(rawRates)
            figures["\(name)_ratio"] = median(ratios)
        }
        let replayRate = try replay(bundle: bundle, path: "\(base)/kernel-full-1.db")
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

    /// The baseline: for every tick the kernel committed, one transaction that writes the
    /// rows that tick wrote (read back from the kernel's database by their tick columns),
    /// with prepared statements and no kernel logic: same tables, indexes, constraints,
    /// rows and commits, so the difference is the kernel's own work.
    private func rawTransactions(kernelPath: String, path: String, durability: Durability) throws -> Double {
        var options = StoreOptions()
        options.durability = durability
        _ = try Store(path: path, options: options)  // the same schema, constraints and triggers
        let source = try Store(path: kernelPath)
        let plan = try RawPlan(source: source)
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        try exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL"); PRAGMA temp_store=MEMORY")
        var statements: [String: OpaquePointer] = [:]
        defer { for statement in statements.values { sqlite3_finalize(statement) } }
        func statement(_ sql: String) throws -> OpaquePointer {
            if let cached = statements[sql] { return cached }
            var prepared: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            statements[sql] = prepared
            return prepared
        }
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        let begin = try statement("BEGIN IMMEDIATE")
        let commit = try statement("COMMIT")
        func run(_ prepared: OpaquePointer) throws {
            guard sqlite3_step(prepared) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(prepared)
        }
        let started = ContinuousClock.now
        for tick in plan.ticks {
            try run(begin)
            for write in tick {
                let prepared = try statement(write.sql)
                for (index, value) in write.values.enumerated() {
                    let position = Int32(index + 1)
                    switch value {
                    case .null: sqlite3_bind_null(prepared, position)
                    case .integer(let number): sqlite3_bind_int64(prepared, position, number)
                    case .text(let text): sqlite3_bind_text(prepared, position, text, -1, transient)
                    case .blob(let bytes): bytes.withUnsafeBytes { raw in _ = sqlite3_bind_blob(prepared, position, raw.baseAddress, Int32(raw.count), transient) }
                    }
                }
                try run(prepared)
            }
            try run(commit)
        }
        return Double(plan.ticks.count) / seconds(since: started)
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

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
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
