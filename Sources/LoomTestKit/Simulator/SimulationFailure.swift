/// A seed the simulator found wrong: what broke, the seed, its fault mix, and one line that
/// runs that seed again.
public struct SimulationFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// A safety property broke (a result applied twice, an acknowledged input lost, a
        /// stale answer applied, an unexpected error, a replay that differs).
        case safety
        /// After the faults stopped, some task reached neither a gate nor an end in time.
        case liveness
        /// The durability contract: a database that does not open or fails integrity_check.
        case durability
    }

    public let kind: Kind
    public let seed: UInt64
    public let message: String
    public let swarm: String

    /// The one-line command that replays exactly this seed.
    public var reproduce: String { "swift run loom-bench sim --seed \(seed)" }

    public var description: String {
        "simulation \(kind.rawValue) failure, seed \(seed): \(message)\n  swarm: \(swarm)\n  reproduce: \(reproduce)"
    }
}

/// The simulator's own fault, thrown from the store's fault hook: a process crash at a
/// transaction boundary. The store turns it into `LoomError.Code.injectedFault`, by type.
public struct SimulatedCrash: Error, Sendable, CustomStringConvertible {
    public let point: String
    public var description: String { "simulated crash at \(point)" }
}
