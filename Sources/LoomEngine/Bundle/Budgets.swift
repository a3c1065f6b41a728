/// Spending limits a bundle sets for one task. The kernel enforces them; the
/// ranges below are hard ceilings so a bundle cannot opt out of being bounded.
public struct Budgets: Sendable, Equatable {
    /// Most agent spawns one task may make over its whole life (1...1000).
    public let spawnCap: Int
    /// Most times a loop (loopTo / request-changes) may walk back (1...10).
    public let iterationCap: Int
    /// Most spawns in flight at once, which also bounds a fan-out's width (1...64).
    public let maxConcurrentSpawns: Int

    public static let spawnCapRange = 1...1000
    /// The kernel ceiling is 10: a loop that has not converged by then is
    /// better handed to a person than paid for again.
    public static let iterationCapRange = 1...10
    public static let maxConcurrentSpawnsRange = 1...64

    public static let `default` = Budgets(spawnCap: 40, iterationCap: 3, maxConcurrentSpawns: 8)

    public init(spawnCap: Int, iterationCap: Int, maxConcurrentSpawns: Int) {
        self.spawnCap = spawnCap
        self.iterationCap = iterationCap
        self.maxConcurrentSpawns = maxConcurrentSpawns
    }
}
