import Foundation
import LoomEngine
import LoomTestKit
import Testing

/// loomd kills itself (SIGKILL) at a named point; a restarted loomd recovers from the
/// ledger and the task finishes with every effect applied once and nothing lost.
@Suite(.serialized) struct DaemonCrashTests {
    @Test(arguments: ["after-intent", "after-execute", "after-delivery", "parked", "recovery"])
    func aKilledDaemonRecoversAndFinishes(point: String) throws {
        let daemon = try DaemonHarness()
        let project = try daemon.makeProject()
        // Recovery can only crash once there is something to recover.
        try daemon.start(extraEnvironment: point == "recovery" ? [:] : ["LOOMD_CRASH_AT": point])
        let submitted = daemon.ctl(["submit", "-C", project, "--idempotency-key", "crash", "crash me at \(point)"])
        // The submission may race the crash; it is acknowledged or it is not, never half.
        let acknowledged = submitted.status == 0
        if point == "recovery" {
            // Recovery only crashes when there is something to recover: stop here, restart.
            daemon.signal(SIGKILL)
        }
        let exited = daemon.waitForExit(seconds: 20)
        #expect(exited?.signaled == true, "loomd did not die at \(point): \(daemon.log())")
        // Restart (the crash point fires once per state directory) and drive to the end.
        try daemon.start(extraEnvironment: ["LOOMD_CRASH_AT": point], waitForSocket: point != "recovery")
        if point == "recovery" {
            #expect(daemon.waitForExit(seconds: 20)?.signaled == true, "loomd did not die during recovery")
            try daemon.start()
        }
        if !acknowledged {
            #expect(
                daemon.ctl(["submit", "-C", project, "--idempotency-key", "crash", "crash me at \(point)"]).status == 0
            )
        }
        var status = daemon.waitFor(task: "t1", project: project) { $0 == "parked" || $0 == "done" }
        if status == "parked" {
            #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
            status = daemon.waitFor(task: "t1", project: project) { $0 == "done" }
        }
        #expect(status == "done", "at \(point): \(daemon.log())")
        let store = try daemon.store(project)
        #expect(try store.integrityCheck() == "ok")
        let twice = try store.query(
            "SELECT json_extract(payload, '$.key') AS key, count(*) AS n FROM journal WHERE kind = 'effect_result' GROUP BY 1 HAVING n > 1"
        )
        #expect(twice.isEmpty, "applied twice at \(point): \(twice)")
        #expect(try store.query("SELECT count(*) AS n FROM effects WHERE status = 'pending'") == [["n": 0]])
        #expect(try store.query("SELECT count(*) AS n FROM tasks") == [["n": 1]])
        #expect(try ChainVerifier.verify(store).description.hasPrefix("chain intact"))
    }

    @Test func randomKillsDuringAWorkloadLoseNothing() throws {
        let daemon = try DaemonHarness()
        let project = try daemon.makeProject()
        try daemon.start()
        var generator = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
        var chance = SplitMix64(seed: seed)
        var acknowledged: [String: String] = [:]
        let tasks = 50
        for index in 0..<tasks {
            let key = "job-\(index)"
            let result = daemon.ctl([
                "submit", "-C", project, "--policy", "full-supervised", "--idempotency-key", key, "job \(index)",
                "--json",
            ])
            if result.status == 0, let task = result.json?["task"]?.stringValue { acknowledged[key] = task }
            if chance.below(8) == 0 {
                daemon.signal(SIGKILL)
                _ = daemon.waitForExit()
                try daemon.start()
            }
        }
        // Resubmit what was not acknowledged (the same keys), then drive everything to the end.
        for index in 0..<tasks where acknowledged["job-\(index)"] == nil {
            let result = daemon.ctl([
                "submit", "-C", project, "--policy", "full-supervised", "--idempotency-key", "job-\(index)",
                "job \(index)", "--json",
            ])
            if let task = result.json?["task"]?.stringValue { acknowledged["job-\(index)"] = task }
        }
        #expect(acknowledged.count == tasks, "seed \(seed)")
        var rounds = 0
        while rounds < tasks * 6 {
            rounds += 1
            let fleet = daemon.ctl(["status", "-C", project, "--json"]).json
            let active = fleet?["active"]?.arrayValue ?? []
            if active.isEmpty { break }
            if let parked = active.first(where: { $0["status"] == "parked" })?["task"]?.stringValue {
                _ = daemon.ctl(["approve", parked, "-C", project])
            } else {
                usleep(30_000)
            }
            if chance.below(10) == 0 {
                daemon.signal(SIGKILL)
                _ = daemon.waitForExit()
                try daemon.start()
            }
        }
        let store = try daemon.store(project)
        #expect(
            try store.query("SELECT count(*) AS n FROM tasks WHERE status = 'done'") == [["n": .int(Int64(tasks))]],
            "seed \(seed): \(daemon.log().suffix(2000))"
        )
        #expect(try store.integrityCheck() == "ok", "seed \(seed)")
        let twice = try store.query(
            "SELECT json_extract(payload, '$.key') AS key, count(*) AS n FROM journal WHERE kind = 'effect_result' GROUP BY 1 HAVING n > 1"
        )
        #expect(twice.isEmpty, "seed \(seed): \(twice)")
        for (key, task) in acknowledged {
            #expect(
                try store.query("SELECT id FROM tasks WHERE idempotency_key = :key", bindings: [":key": key]) == [
                    ["id": .string(task)]
                ],
                "seed \(seed)"
            )
        }
    }
}
