import Foundation
import LoomEngine
import LoomTestKit

/// `loom-bench sim`: the whole-system simulator on fresh random seeds until the time runs
/// out (TigerBeetle's VOPR in its long mode), or on one seed to reproduce a failure. Prints
/// seeds/s, the faults injected by kind, and every failure with its one-line reproduction.
struct SimBench {
    let seconds: Double
    let seed: UInt64?
    let bundlePath: String
    var trace = false

    /// Returns the number of failing seeds.
    func run() throws -> Int {
        let bundle = try BundleLoader.load(directory: bundlePath)
        let scratchRoot = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var total = SimulationStats()
        var failures: [SimulationFailure] = []
        let started = Date()
        var seeds: [UInt64] = seed.map { [$0] } ?? []
        var generator = SystemRandomNumberGenerator()
        while true {
            let next: UInt64
            if seed != nil {
                guard let first = seeds.popLast() else { break }
                next = first
            } else {
                guard Date().timeIntervalSince(started) < seconds else { break }
                next = generator.next()
            }
            let directory = "\(scratchRoot)/loom-sim-\(getpid())-\(next)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var configuration = SystemSimulator.Configuration(seed: next, directory: directory, bundle: bundle)
            configuration.trace = trace
            let simulator = SystemSimulator(configuration: configuration)
            if seed != nil { print("seed \(next): \(simulator.swarm)") }
            do {
                total.add(try simulator.run())
            } catch {
                total.seeds += 1
                failures.append(error)
                print("FAILED \(error)")
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(total.seeds) / max(elapsed, 0.001)
        print(
            "sim: \(total.seeds) seeds in \(String(format: "%.1f", elapsed)) s, \(String(format: "%.1f", rate)) seeds/s, \(failures.count) failed"
        )
        print("sim: \(total)")
        for failure in failures { print("failed seed \(failure.seed): \(failure.reproduce)") }
        let summary: [String: Any] = [
            "bench": "sim", "seeds": total.seeds, "seconds": elapsed, "seedsPerSecond": rate,
            "failures": failures.map(\.seed),
            "crashes": total.crashes, "powerLosses": total.powerLosses, "ioErrors": total.ioErrors,
            "ticks": total.ticks,
        ]
        if let data = try? JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
        return failures.count
    }
}
