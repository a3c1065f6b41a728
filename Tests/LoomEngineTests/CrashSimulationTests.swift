import LoomPolicy
import LoomTestKit
import Testing

@testable import LoomEngine

/// The seeded crash simulator: throw away all memory at transaction boundaries and between
/// an effect's execution and its delivery, reopen from disk, carry on; the result must be
/// the crash-free run's, row for row.
@Suite struct CrashSimulationTests {
    static let seeds: [UInt64] = Array(1...24)

    @Test(arguments: seeds)
    func crashesChangeNothingButTheWork(seed: UInt64) throws {
        let bundle = try Fixtures.publishing()
        var configuration = CrashSimulator.Configuration(seed: seed, taskCount: 5, bundleName: "publishing")
        configuration.policies = [TaskPolicy(), PolicyPreset.fullSupervised.policy, PolicyPreset.fullAutonomous.policy]
        let directory = TemporaryDirectory("loom-sim-\(seed)")
        let calm = CrashSimulator(
            configuration: configuration,
            bundles: [bundle],
            responder: PublishingWorld.responder(),
            path: directory.file("calm.db")
        )
        let calmOutcome = try calm.run(crashes: false)
        let stormy = CrashSimulator(
            configuration: configuration,
            bundles: [bundle],
            responder: PublishingWorld.responder(),
            path: directory.file("stormy.db")
        )
        let stormyOutcome = try stormy.run(crashes: true)
        #expect(stormyOutcome.crashes > 0, "seed \(seed): no crash was injected")

        let calmStore = try Store(path: directory.file("calm.db"))
        let stormyStore = try Store(path: directory.file("stormy.db"))
        #expect(try stormyStore.integrityCheck() == "ok", "seed \(seed)")
        // No effect result applied twice, though some effects ran more than once.
        let twice = try stormyStore.query(
            "SELECT json_extract(payload, '$.key') AS key, count(*) AS n FROM journal WHERE kind = 'effect_result' GROUP BY 1 HAVING n > 1"
        )
        #expect(twice.isEmpty, "seed \(seed): applied twice: \(twice)")
        // Nothing acknowledged was lost.
        for (key, taskID) in stormyOutcome.acknowledgedSubmissions {
            #expect(
                try stormyStore.query("SELECT id FROM tasks WHERE idempotency_key = :key", bindings: [":key": key]) == [
                    ["id": .string(taskID)]
                ],
                "seed \(seed): \(key)"
            )
        }
        for key in stormyOutcome.acknowledgedDeliveries {
            let status = try stormyStore.query("SELECT status FROM effects WHERE key = :key", bindings: [":key": key])
                .first?["status"]?.stringValue
            #expect(status == "done" || status == "cancelled", "seed \(seed): delivery \(key) lost")
        }
        for eventID in stormyOutcome.acknowledgedAnswers {
            #expect(
                try stormyStore.query(
                    "SELECT status FROM gates WHERE event_id = :id AND status <> 'waiting'",
                    bindings: [":id": eventID]
                ).count == 1,
                "seed \(seed): answer \(eventID) lost"
            )
        }
        #expect(
            try stormyStore.query("SELECT count(*) AS n FROM tasks WHERE status IN ('queued', 'running', 'parked')")
                == [["n": 0]]
        )
        // Identical to the crash-free run with the same seed.
        let difference = try TableDump.firstDifference(calmStore, stormyStore)
        #expect(difference == nil, "seed \(seed): \(difference?.description ?? "")")
        #expect(calmOutcome.crashes == 0)
        // And the crashed run's journal replays to the same rows.
        let report = try Replayer(source: stormyStore, bundles: [bundle]).run()
        guard case .identical = report else {
            Issue.record("seed \(seed): \(report)")
            return
        }
    }
}
