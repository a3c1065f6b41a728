/// What one or many seeds did: faults injected by kind, inputs, ticks. Summed over seeds by
/// `loom-bench sim` and the test suite for the closing figures.
public struct SimulationStats: Sendable, CustomStringConvertible {
    public var seeds = 0
    public var crashes = 0
    public var restarts = 0
    public var transientFailures = 0
    public var rateLimits = 0
    public var duplicateDeliveries = 0
    public var discardedDeliveries = 0
    public var staleAnswersRefused = 0
    public var cancelRaces = 0
    public var resubmissions = 0
    public var deliveryRetries = 0
    public var leftPending = 0
    public var ioErrors = 0
    public var diskFull = 0
    public var shortWrites = 0
    public var powerLosses = 0
    public var tornWrites = 0
    public var lostTail = 0
    public var ticks = 0
    public var tasks = 0
    public var events = 0

    public init() {}

    public mutating func add(_ other: SimulationStats) {
        seeds += other.seeds
        crashes += other.crashes
        restarts += other.restarts
        transientFailures += other.transientFailures
        rateLimits += other.rateLimits
        duplicateDeliveries += other.duplicateDeliveries
        discardedDeliveries += other.discardedDeliveries
        staleAnswersRefused += other.staleAnswersRefused
        cancelRaces += other.cancelRaces
        resubmissions += other.resubmissions
        deliveryRetries += other.deliveryRetries
        leftPending += other.leftPending
        ioErrors += other.ioErrors
        diskFull += other.diskFull
        shortWrites += other.shortWrites
        powerLosses += other.powerLosses
        tornWrites += other.tornWrites
        lostTail += other.lostTail
        ticks += other.ticks
        tasks += other.tasks
        events += other.events
    }

    public var description: String {
        "seeds \(seeds), tasks \(tasks), ticks \(ticks), events \(events); faults: crashes \(crashes), transient \(transientFailures), "
            + "rate limits \(rateLimits), duplicate deliveries \(duplicateDeliveries), discarded \(discardedDeliveries), stale answers refused \(staleAnswersRefused), "
            + "cancel races \(cancelRaces), resubmissions \(resubmissions), delivery retries \(deliveryRetries), left pending \(leftPending), "
            + "EIO \(ioErrors), ENOSPC \(diskFull), short writes \(shortWrites), power losses \(powerLosses) (torn \(tornWrites)), "
            + "acknowledged NORMAL inputs lost to power \(lostTail)"
    }
}
