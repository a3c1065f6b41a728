import LoomEngine

/// A seeded simulator that drives random tasks through the engine and, when asked, throws
/// away all in-memory state at transaction boundaries and between an effect's execution
/// and its delivery: it reopens the database from disk, re-issues pending effects and
/// carries on, the way a restarted daemon would.
///
/// The outside world (what was acknowledged, how often each effect ran) survives a crash,
/// because it is outside: it is what the checks compare against.
public final class CrashSimulator {
    public struct Configuration: Sendable {
        public var seed: UInt64
        public var taskCount: Int
        /// Chance of a crash at each boundary when crashes are on.
        public var crashProbability: Double = 0.15
        public var bundleName: String
        public var policies: [TaskPolicy] = [TaskPolicy()]
        public var stepsMax = 50_000

        public init(seed: UInt64, taskCount: Int, bundleName: String) {
            self.seed = seed
            self.taskCount = taskCount
            self.bundleName = bundleName
        }
    }

    /// What a run did and what it left behind.
    public struct Outcome {
        public var crashes = 0
        public var executions: [String: Int] = [:]
        public var acknowledgedSubmissions: [String: String] = [:]
        public var acknowledgedDeliveries: Set<String> = []
        public var acknowledgedAnswers: Set<String> = []
        public var rejections = 0
    }

    struct SimulatedCrash: Error {}

    public let configuration: Configuration
    public let bundles: [LoomBundle]
    public let responder: Responder
    public let path: String
    private var chance: SplitMix64
    private var crashesOn = false

    public init(configuration: Configuration, bundles: [LoomBundle], responder: Responder, path: String) {
        self.configuration = configuration
        self.bundles = bundles
        self.responder = responder
        self.path = path
        self.chance = SplitMix64(seed: configuration.seed ^ 0xC0FF_EE00_DEAD_BEEF)
    }

    private func maybeCrash() throws(LoomError) {
        if crashesOn && chance.chance(configuration.crashProbability) {
            throw LoomError(.injectedFault, "simulated crash", context: "crash simulation")
        }
    }

    private static func isCrash(_ error: LoomError) -> Bool { error.code == .injectedFault }

    /// Runs the whole workload, with or without crashes, and returns what happened.
    public func run(crashes: Bool) throws(LoomError) -> Outcome {
        crashesOn = crashes
        var outcome = Outcome()
        let clock = SimulatedClock()
        var engine: Engine?
        let person = Caller(
            principal: .human(uid: 1000),
            uid: 1000,
            gid: 1000,
            pid: 4242,
            executable: "/usr/bin/loomctl"
        )
        var steps = 0
        while steps < configuration.stepsMax {
            steps += 1
            do {
                if engine == nil {
                    let store = try Store(path: path)
                    store.faultHook = { [unowned self] _ throws(LoomError) in try self.maybeCrash() }
                    try clock.resume(after: store)
                    engine = try Engine(store: store, bundles: bundles, clock: clock.next)
                }
                guard let engine else { continue }
                if let index = (0..<configuration.taskCount).first(where: {
                    outcome.acknowledgedSubmissions["sim-\($0)"] == nil
                }) {
                    let key = "sim-\(index)"
                    let policy = configuration.policies[
                        Int(SplitMix64.hash(seed: configuration.seed, key) % UInt64(configuration.policies.count))
                    ]
                    let receipt = try engine.submit(
                        bundle: configuration.bundleName,
                        input: "simulated request \(index) (seed \(configuration.seed))",
                        policy: policy,
                        idempotencyKey: key,
                        by: person
                    )
                    outcome.acknowledgedSubmissions[key] = receipt.taskID
                    continue
                }
                if let effect = try engine.pendingEffects(limit: 1).first {
                    let result = responder.execute(effect, seed: configuration.seed)
                    outcome.executions[effect.key, default: 0] += 1
                    try maybeCrash()
                    _ = try engine.deliver(key: effect.key, result: result)
                    outcome.acknowledgedDeliveries.insert(effect.key)
                    continue
                }
                if let parked = try engine.store.query(
                    "SELECT id FROM tasks WHERE status = 'parked' ORDER BY seq LIMIT 1"
                ).first?["id"]?.stringValue,
                    let gate = try engine.waitingGate(task: parked)
                {
                    do {
                        if let (answer, message) = responder.gate(
                            gate,
                            SplitMix64.hash(seed: configuration.seed, gate.eventID)
                        ) {
                            try engine.answerGate(
                                task: parked,
                                gate: gate.eventID,
                                answer: answer,
                                message: message,
                                by: person
                            )
                        } else {
                            try engine.cancel(task: parked, reason: "simulated cancel", by: person)
                        }
                    } catch  where error.code == .invariantViolation {
                        // A rule refused the answer (and journaled that); the person abandons instead.
                        outcome.rejections += 1
                        try engine.answerGate(
                            task: parked,
                            gate: gate.eventID,
                            answer: .abandon,
                            message: "refused: \(error.violations.first?.rule ?? "")",
                            by: person
                        )
                    }
                    outcome.acknowledgedAnswers.insert(gate.eventID)
                    continue
                }
                return outcome
            } catch {
                guard Self.isCrash(error) else { throw error }
                outcome.crashes += 1
                engine = nil
            }
        }
        throw LoomError(
            .internal,
            "the simulation did not finish in \(configuration.stepsMax) steps (seed \(configuration.seed))",
            context: "simulating"
        )
    }
}
