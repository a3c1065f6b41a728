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
    /// How many times the simulated person sends the work back at one gate of a task
    /// (below every bundle's send-back cap in this repository).
    public var sendBacksMax = 2

    public init(
        engine: Engine,
        responder: Responder,
        seed: UInt64,
        person: Caller = Caller(principal: .human(uid: 1000), uid: 1000, gid: 1000, pid: 4242)
    ) {
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
        if let parked = try engine.store.query("SELECT id FROM tasks WHERE status = 'parked' ORDER BY seq LIMIT 1")
            .first?["id"]?.stringValue,
            let gate = try engine.waitingGate(task: parked)
        {
            if var (answer, message) = responder.gate(gate, SplitMix64.hash(seed: seed, gate.eventID)) {
                // A person who has sent the work back at this gate as often as they will approves
                // it instead (the kernel refuses send-backs past the bundle's cap).
                if answer == .requestChanges, try sendBacks(task: parked, role: gate.role) >= sendBacksMax {
                    (answer, message) = (.approve, "")
                }
                try engine.answerGate(task: parked, gate: gate.eventID, answer: answer, message: message, by: person)
            } else {
                try engine.cancel(task: parked, reason: "cancelled by the simulated person", by: person)
            }
            return true
        }
        return false
    }

    private func sendBacks(task: String, role: String) throws(LoomError) -> Int {
        let rows = try engine.store.query(
            "SELECT count(*) AS n FROM gates WHERE task_id = :task AND role = :role AND status = 'changes_requested'",
            bindings: [":task": task, ":role": role]
        )
        return Int(rows.first?["n"]?.intValue ?? 0)
    }

    /// Steps until there is nothing left to do; returns the number of steps.
    @discardableResult
    public func runUntilQuiet() throws(LoomError) -> Int {
        var steps = 0
        while try step() {
            steps += 1
            guard steps < stepsMax else {
                throw LoomError(.internal, "the driver did not reach quiet in \(stepsMax) steps", context: "driving")
            }
        }
        return steps
    }
}
