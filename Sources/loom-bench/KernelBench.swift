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
            // For a profiler: only the kernel's own ticks (NORMAL durability, or FULL when asked),
            // only the baseline ("raw", "raw-full"), or only replay.
            let durability: Durability = part.hasSuffix("full") ? .full : .normal
            if part.hasPrefix("raw") {
                let recording = try record(bundle: bundle, path: "\(base)/recorded.db")
                let writer = try RawWriter(plan: recording.plan, path: "\(base)/profile-raw.db", durability: durability)
                let started = ContinuousClock.now
                while !writer.isDone { try writer.commitNext() }
                print(Double(writer.next) / seconds(since: started))
                return
            }
            var options = StoreOptions()
            options.durability = durability
            print(try drive(bundle: bundle, store: Store(path: "\(base)/profile.db", options: options)).ticksPerSecond)
            if part == "replay" { print(try replay(bundle: bundle, path: "\(base)/profile.db")) }
            return
        }
        // The baseline's rows: an untimed run of the same ticks with SQLite reporting every row
        // it writes (recording costs a callback per row, so the timed runs record nothing).
        let recording = try record(bundle: bundle, path: "\(base)/recorded.db")
        // Each round interleaves the two: kernel tick i, then the baseline's transaction i on
        // its own database, each timed apart. A disk that speeds up or slows down during the
        // run then weighs on both alike; the figures are the medians of the rounds.
        for durability in [Durability.full, .normal] {
            let name = durability.rawValue
            var kernelRates: [Double] = []
            var rawRates: [Double] = []
            var ratios: [Double] = []
            for round in 1...rounds {
                let kernelPath = "\(base)/kernel-\(name)-\(round).db"
                let writer = try RawWriter(
                    plan: recording.plan,
                    path: "\(base)/raw-\(name)-\(round).db",
                    durability: durability
                )
                var options = StoreOptions()
                options.durability = durability
                var rawSeconds = 0.0
                let kernel = try drive(bundle: bundle, store: Store(path: kernelPath, options: options)) {
                    let started = ContinuousClock.now
                    if !writer.isDone { try writer.commitNext() }
                    rawSeconds += seconds(since: started)
                }
                // The ticks are deterministic (simulated clock, seeded answers); the chain head
                // proves this run journaled what the recorded run did, so the baseline's rows are its rows.
                guard try chainHead(Store(path: kernelPath)) == recording.chainHead, writer.isDone else {
                    throw BenchError("the timed run journaled other ticks than the recorded run")
                }
                let kernelRate = kernel.ticksPerSecond
                let rawRate = Double(writer.next) / rawSeconds
                kernelRates.append(kernelRate)
                rawRates.append(rawRate)
                ratios.append(kernelRate / rawRate)
                print(
                    "synchronous=\(name.uppercased()) round \(round): kernel \(Int(kernelRate)) ticks/s, raw SQLite \(Int(rawRate)) tx/s, ratio \(String(format: "%.3f", kernelRate / rawRate))"
                )
            }
            figures["\(name)_ticks_per_s"] = median(kernelRates)
            figures["\(name)_raw_tx_per_s"] = median(rawRates)
            figures["\(name)_ratio"] = median(ratios)
        }
        let replayRate = try replay(bundle: bundle, path: "\(base)/kernel-full-1.db")
        figures["replay_ticks_per_s"] = replayRate
        print(
            "replay: \(Int(replayRate)) ticks/s (in memory, every row compared; "
                + "no rule added since the record, so none run)"
        )
        // The most a replay that rebuilds the rows in SQLite could reach: the same rows written
        // raw into a scratch database in one transaction, with no kernel, rule or comparison.
        var ceilings: [Double] = []
        for round in 1...3 {
            let writer = try RawWriter(
                plan: recording.plan,
                path: "\(base)/raw-scratch-\(round).db",
                durability: .normal,
                scratch: true
            )
            let started = ContinuousClock.now
            try writer.commitRest()
            ceilings.append(Double(writer.next) / seconds(since: started))
        }
        print(
            "replay ceiling: \(Int(median(ceilings))) ticks/s (the recorded rows written raw into a scratch database in one transaction: rebuilding them in SQLite alone)"
        )
        let messages = try journalMessages(Store(path: "\(base)/kernel-full-1.db"))
        let hashing = HashComparison(messages: messages, rounds: 9).run()
        figures["hash_kernel_mb_per_s"] = hashing.kernel
        figures["hash_crypto_mb_per_s"] = hashing.crypto
        print(
            "hash: SHA-256 of \(messages.count) journal entries, the kernel's \(Int(hashing.kernel)) MB/s, "
                + "swift-crypto called directly \(Int(hashing.crypto)) MB/s"
        )
        let keys = [
            "full_ticks_per_s", "full_raw_tx_per_s", "full_ratio",
            "normal_ticks_per_s", "normal_raw_tx_per_s", "normal_ratio", "replay_ticks_per_s",
            "hash_kernel_mb_per_s", "hash_crypto_mb_per_s",
        ]
        print(
            "{"
                + keys.map { key in
                    let value = figures[key] ?? 0
                    return "\"\(key)\":"
                        + (key.hasSuffix("ratio") ? String(format: "%.3f", value) : String(Int(value.rounded())))
                }.joined(separator: ",") + "}"
        )
    }

    /// The same ticks, untimed, with every row they write recorded; the baseline commits those rows.
    private func record(bundle: LoomBundle, path: String) throws -> (plan: RawPlan, chainHead: String) {
        var options = StoreOptions()
        options.durability = .normal
        let store = try Store(path: path, options: options)
        let log = store.recordRowChanges()
        _ = try drive(bundle: bundle, store: store)
        log.stop()
        guard !log.overflowed else { throw BenchError("too many ticks to record") }
        let columns = try Store(path: "\(path)-schema.db")
        let plan = try RawPlan(log: log) { table in
            try columns.query("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid", limit: .max).compactMap {
                $0["name"]?.stringValue
            }
        }
        return (plan, try chainHead(store))
    }

    /// Each journal entry about as the chain hashes it: the link before it, then its content.
    private func journalMessages(_ store: Store) throws -> [[UInt8]] {
        try store.query("SELECT actor || payload AS content FROM journal ORDER BY seq", limit: .max).map { row in
            JournalEntry.genesisHash + Array((row["content"]?.stringValue ?? "").utf8)
        }
    }

    private func chainHead(_ store: Store) throws -> String {
        try store.query("SELECT hex(chain_head) AS head FROM ticks ORDER BY tick DESC LIMIT 1").first?["head"]?
            .stringValue ?? ""
    }

    /// Drives real tasks through the engine until `ticks` ticks have committed. The host
    /// loop does what the daemon does: it executes the effects each tick hands back.
    /// `afterTick` runs after each committed tick, outside the kernel's timer.
    private func drive(
        bundle: LoomBundle,
        store: Store,
        afterTick: () throws -> Void = {}
    ) throws -> (ticks: Int, seconds: Double, ticksPerSecond: Double) {
        let clock = SimulatedClock()
        let engine = try Engine(store: store, bundles: [bundle], clock: clock.next)
        var odds = PublishingWorld.Odds()
        odds.claim = 0
        let responder = PublishingWorld.responder(odds: odds)
        let person = Caller(principal: .human(uid: 1000), uid: 1000)
        var queue: [Effect] = []
        var committed = 0
        var submitted = 0
        var elapsed = 0.0
        // One task at a time: a new one is submitted only when the last has finished, so the
        // task with no effects left is either waiting at a gate or done.
        var current: String?
        while committed < ticks {
            // The simulated agent answers before the timer starts: its work stands for the
            // outside world (a model, a command), not for the kernel.
            let answer = queue.first.map { responder.execute($0, seed: 42) }
            // Likewise the person reads which gate waits (the dashboard's view) before answering it.
            let waiting = queue.isEmpty ? try current.flatMap { task in try engine.waitingGate(task: task) } : nil
            let started = ContinuousClock.now
            if queue.isEmpty {
                if let task = current, let gate = waiting {
                    queue += try engine.answerGate(task: task, gate: gate.eventID, answer: .approve, by: person)
                } else {
                    submitted += 1
                    let receipt = try engine.submit(
                        bundle: bundle.name,
                        input: "bench \(submitted)",
                        policy: PolicyPreset.fullAutonomous.policy,
                        by: person
                    )
                    current = receipt.taskID
                    queue += receipt.newEffects
                }
            } else {
                let effect = queue.removeFirst()
                if case .applied(let more) = try engine.deliver(key: effect.key, result: answer ?? .null) {
                    queue += more
                }
            }
            committed += 1
            elapsed += seconds(since: started)
            try afterTick()
        }
        return (committed, elapsed, Double(committed) / elapsed)
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

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
