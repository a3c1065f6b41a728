import LoomEngine

/// Drives an engine to quiet: issues pending effects through a `Responder`, answers parked
/// gates as `person`, until nothing is left to do. The test suite and the benchmark use it;
/// the daemon does the same work with real providers and real people.
public struct Driver {
    public let engine: Engine
    public let responder: Responder
    public let seed: UInt64
    public let person: Caller
    /// A bound on the work one call does, so a bug cannot loop forever.
    public var stepsMax = 100_000

    public init(engine: Engine, responder: Responder, seed: UInt64, person: Caller = Caller(principal: .human(uid: 1000), uid: 1000, gid: 1000, pid: 4242)) {
        self.engine = engine
        self.responder = responder
        self.seed = seed
        self.person = person
    }

    /// Does one unit of work; false when there is none.
    @discardableResult
    public func step() throws(LoomError) -> Bool {
        if let effect = try engine.pendingEffects(limit: 1).first {
            _ = try engine.deliver(key: effect.key, result: responder.execute(effect, seed: seed))
            return true
        }
        if let parked = try engine.store.query("SELECT id FROM tasks WHERE status = 'parked' ORDER BY seq LIMIT 1").first?["id"]?.stringValue,
           let gate = try engine.waitingGate(task: parked) {
            if let (answer, message) = responder.gate(gate, SplitMix64.hash(seed: seed, gate.eventID)) {
                try engine.answerGate(task: parked, gate: gate.eventID, answer: answer, message: message, by: person)
            } else {
                try engine.cancel(task: parked, reason: "cancelled by the simulated person", by: person)
            }
            return true
        }
        return false
    }

    /// Steps until there is nothing left to do; returns the number of steps.
    @discardableResult
    public func runUntilQuiet() throws(LoomError) -> Int {
        var steps = 0
        while try step() {
            steps += 1
            guard steps < stepsMax else { throw LoomError(.internal, "the driver did not reach quiet in \(stepsMax) steps", context: "driving") }
        }
        return steps
    }
}
