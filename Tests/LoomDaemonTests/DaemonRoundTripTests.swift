import Foundation
import LoomEngine
import Testing

/// The real loomd and the real loomctl: every command round trip, with and without --json.
@Suite(.serialized) struct DaemonRoundTripTests {
    @Test func submitParkApproveLogReplayMetrics() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()

        let submitted = daemon.ctl(["submit", "-C", project, "--bundle", "publishing", "Write about tides", "--json"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.json?["task"] == "t1")
        #expect(daemon.ctl(["submit", "-C", project, "plain output"]).stdout == "t2\n")

        // The fact-checker's claim finding trips the legal gate's safety floor: parked.
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let status = daemon.ctl(["status", "t1", "-C", project])
        #expect(status.status == 0)
        #expect(status.stdout.contains("waiting at gate t1.g1 (legal"))
        #expect(status.stdout.contains("safety floor claims_unchecked"))
        let statusJSON = daemon.ctl(["status", "t1", "-C", project, "--json"]).json
        #expect(statusJSON?["gate"]?["event"] == "t1.g1")
        #expect(statusJSON?["tokens"]?["in"]?.intValue == 150)
        #expect(statusJSON?["spawns"]?.intValue == 3)
        #expect(daemon.ctl(["status", "-C", project]).stdout.contains("t2 queued"))
        #expect(daemon.ctl(["status"]).stdout.contains(project))

        // A stale gate id is refused (exit 1: conflict) and audited.
        let stale = daemon.ctl(["approve", "t1", "-C", project, "--gate", "t1.g9"])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("stale"))

        let approved = daemon.ctl(["approve", "t1", "-C", project])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("approve at t1.g1"))
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")

        let log = daemon.ctl(["log", "t1", "-C", project])
        #expect(log.status == 0)
        #expect(log.stdout.contains("submitted \"Write about tides\""))
        #expect(log.stdout.contains("answered t1.g1: approve"))
        #expect(log.stdout.contains("REFUSED (stale_gate)"))
        #expect(log.stdout.contains("uid:\(getuid())"))
        let logJSON = daemon.ctl(["log", "t1", "-C", project, "--json"]).json
        #expect((logJSON?["entries"]?.arrayValue?.count ?? 0) >= 6)

        let replay = daemon.ctl(["replay", "t1", "-C", project])
        #expect(replay.status == 0, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.hasPrefix("identical"))
        // A rule written today, run against the recorded run: would it have caught it?
        let rule = "\(daemon.directory)/no_claims_at_publication.sql"
        try
            "SELECT f.id FROM findings f JOIN tasks t ON t.id = f.task_id WHERE t.id = :task AND t.status = 'done' AND json_extract(f.details, '$.category') = 'claim'"
            .write(toFile: rule, atomically: true, encoding: .utf8)
        let caught = daemon.ctl(["replay", "t1", "-C", project, "--rules", rule, "--json"])
        #expect(caught.status == 6)
        #expect(caught.json?["outcome"] == "rule_would_fire")
        #expect(caught.json?["violations"]?[0]?["rule"] == "no_claims_at_publication")

        // t2 started when t1 finished; cancel it.
        #expect(daemon.ctl(["cancel", "t2", "-C", project, "--reason", "not today"]).status == 0)
        #expect(daemon.ctl(["status", "t2", "-C", project, "--json"]).json?["status"] == "cancelled")
        #expect(daemon.ctl(["cancel", "t9", "-C", project]).status == 3)

        let metrics = daemon.ctl(["metrics"])
        #expect(metrics.status == 0)
        #expect(metrics.stdout.contains("loom_tasks{state=\"done\"} 1"))
        #expect(!metrics.stdout.contains("t1"))
        #expect(daemon.ctl(["metrics", "--json"]).json?["text"] != nil)

        #expect(daemon.ctl(["projects", "list"]).stdout.contains(project))
        let verify = daemon.ctl(["verify", "-C", project, "--bundles", "\(DaemonHarness.repositoryRoot)/bundles"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("chain intact"))
    }

    @Test func theSameIdempotencyKeyIsOneTask() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        let first = daemon.ctl(["submit", "-C", project, "--idempotency-key", "nightly-2026-11-26", "nightly"])
        let second = daemon.ctl([
            "submit", "-C", project, "--idempotency-key", "nightly-2026-11-26", "nightly", "--json",
        ])
        #expect(first.stdout == "t1\n")
        #expect(second.json?["task"] == "t1")
        #expect(second.json?["created"] == false)
    }

    @Test func withoutADaemonLoomctlSaysSoAndHow() throws {
        let daemon = try DaemonHarness()
        let result = daemon.ctl(["status"])
        #expect(result.status == 5)
        #expect(result.stderr.contains("no daemon is listening"))
        #expect(result.stderr.contains("start it with"))
    }

    @Test func usageErrorsExitTwo() throws {
        let daemon = try DaemonHarness()
        let missingReason = daemon.ctl(["reject", "t1"])
        #expect(missingReason.status == 2)
        #expect(missingReason.stderr.contains("--reason"))
        #expect(daemon.ctl(["--help"]).stdout.contains("submit"))
    }
}
