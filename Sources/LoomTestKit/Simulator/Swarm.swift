import LoomEngine

/// The fault mix and the world's shape for one seed. Swarm testing: each seed switches
/// whole kinds of fault on or off and draws its own rates, so a bug that only one rare
/// combination shows (a crash while a duplicate delivery waits, with a pool of one) is
/// found by some seed rather than averaged away by a fixed mix.
public struct Swarm: Sendable, CustomStringConvertible {
    public var projectCount: Int
    public var tasksPerProject: Int
    /// The fleet-wide effect pool's size (loomd's `effectsMax`).
    public var poolLimit: Int
    /// Per project: synchronous=FULL or NORMAL.
    public var durabilities: [Durability]
    /// Chance of a process crash at each transaction boundary (before and after COMMIT).
    public var crashRate: Double
    /// Chance that one attempt of an agent fails transiently, or is rate limited.
    public var transientRate: Double
    public var rateLimitRate: Double
    /// Chance that an applied result is delivered again later (a host that retries).
    public var duplicateRate: Double
    /// Chance that a person answers with an old gate event id first (a stale page).
    public var staleAnswerRate: Double
    /// Chance that a person cancels a task at a gate instead of, or racing, an answer.
    public var cancelRaceRate: Double
    /// Chance that a client sends an acknowledged submission again (a cron retry).
    public var resubmitRate: Double
    /// Storage faults through the VFS shim (rates per file operation; 0 when off).
    public var storage: StorageFaultRates
    /// How long an execution takes, at most (so fan-out results arrive in any order).
    public var executionMsMax: Int
    /// How often the simulated person looks at the gates.
    public var personPeriodMs: Int

    /// Draws a swarm from `seed`: each fault kind is on for about half the seeds.
    public static func draw(seed: UInt64) -> Swarm {
        var chance = SplitMix64(seed: seed ^ 0x5157_A2A3_0000_0001)
        func rate(_ high: Double) -> Double {
            chance.chance(0.5) ? Double(chance.below(1_000) + 1) / 1_000 * high : 0
        }
        let projects = 1 + chance.below(3)
        var swarm = Swarm(
            projectCount: projects,
            tasksPerProject: 1 + chance.below(3),
            poolLimit: 1 + chance.below(4),
            durabilities: (0..<projects).map { _ in chance.chance(0.5) ? .full : .normal },
            crashRate: rate(0.08),
            transientRate: rate(0.25),
            rateLimitRate: rate(0.15),
            duplicateRate: rate(0.5),
            staleAnswerRate: rate(0.5),
            cancelRaceRate: rate(0.15),
            resubmitRate: rate(0.3),
            storage: StorageFaultRates(),
            executionMsMax: [50, 500, 5_000][chance.below(3)],
            personPeriodMs: [100, 1_000, 4_000][chance.below(3)]
        )
        swarm.storage = StorageFaultRates.draw(&chance)
        return swarm
    }

    public var description: String {
        func percent(_ value: Double) -> String { value == 0 ? "off" : "\((value * 1_000).rounded() / 10)%" }
        return
            "projects \(projectCount) × \(tasksPerProject) tasks, pool \(poolLimit), durability \(durabilities.map(\.rawValue).joined(separator: "/")), "
            + "crash \(percent(crashRate)), transient \(percent(transientRate)), rate limit \(percent(rateLimitRate)), duplicate \(percent(duplicateRate)), "
            + "stale \(percent(staleAnswerRate)), cancel race \(percent(cancelRaceRate)), resubmit \(percent(resubmitRate)), storage \(storage), "
            + "execution ≤\(executionMsMax) ms, person every \(personPeriodMs) ms"
    }
}

/// Rates of storage faults injected by the simulator's VFS shim, per file operation.
public struct StorageFaultRates: Sendable, CustomStringConvertible, Equatable {
    /// A read, write or sync fails with an I/O error (EIO).
    public var ioErrorRate: Double = 0
    /// A write fails as the disk being full (ENOSPC).
    public var diskFullRate: Double = 0
    /// A write is short: only part of it reaches the file, and the write reports an error.
    public var shortWriteRate: Double = 0
    /// Chance of a power cut at each sync (and at each crash): unsynced writes are dropped.
    public var powerLossRate: Double = 0
    /// A power cut tears pages (keeps a random prefix of an unsynced write) instead of
    /// dropping whole writes.
    public var tornPages = false

    public init() {}

    public var isOff: Bool { ioErrorRate == 0 && diskFullRate == 0 && shortWriteRate == 0 && powerLossRate == 0 }

    static func draw(_ chance: inout SplitMix64) -> StorageFaultRates {
        var rates = StorageFaultRates()
        guard chance.chance(0.6) else { return rates }
        func rate(_ high: Double) -> Double {
            chance.chance(0.5) ? Double(chance.below(1_000) + 1) / 1_000 * high : 0
        }
        rates.ioErrorRate = rate(0.01)
        rates.diskFullRate = rate(0.01)
        rates.shortWriteRate = rate(0.01)
        rates.powerLossRate = rate(0.05)
        rates.tornPages = chance.chance(0.5)
        return rates
    }

    public var description: String {
        guard !isOff else { return "off" }
        func percent(_ value: Double) -> String { value == 0 ? "off" : "\((value * 10_000).rounded() / 100)%" }
        return
            "[eio \(percent(ioErrorRate)), enospc \(percent(diskFullRate)), short \(percent(shortWriteRate)), power \(percent(powerLossRate))\(tornPages ? " torn" : "")]"
    }
}
