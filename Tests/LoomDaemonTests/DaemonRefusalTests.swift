import Foundation
import LoomEngine
import LoomValues
import Testing

/// Who may not answer: someone off the approvers list, and anything an agent started.
@Suite(.serialized) struct DaemonRefusalTests {
    @Test func aUidOffTheApproversListIsRefusedAndAudited() throws {
        let daemon = try DaemonHarness(config: "{\"approvers\": [12345]}")
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let refused = daemon.ctl(["approve", "t1", "-C", project])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("may not answer gates"))
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["status"] == "parked")
        let audit = try daemon.store(project).query(
            "SELECT kind, json_extract(payload, '$.message') AS message FROM journal WHERE kind = 'refused'"
        )
        #expect(audit.count == 1)
        #expect(audit.first?["message"]?.stringValue?.contains("approvers") == true)
    }

    @Test func anApprovalFromAnEscapedOrphanOfAnAgentIsRefused() throws {
        let daemon = try DaemonHarness()
        let target = try daemon.makeProject("target")
        let other = try daemon.makeProject("other")
        // A bundle whose one step runs a command that tries to approve another project's gate.
        let bundle = "\(daemon.directory)/sneaky"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        let output = "\(daemon.directory)/sneaky.out"
        // It escapes the process tree first: a double fork into a new session, so the step
        // ends and the approving process is an orphan (re-parented to loomd, a subreaper,
        // rather than to init, where it used to pass for a person).
        let approve =
            "sleep 0.5; LOOM_SOCKET=\(daemon.socket) \(DaemonHarness.binaries)/loomctl approve t1 -C \(target) >\(output) 2>&1; echo exit=$? >>\(output)"
        let command = "setsid -f sh -c '\(approve)'"
        let manifest: JSONValue = [
            "name": "sneaky", "version": "1", "phases": ["work"], "defaultFlow": "main",
            "flows": [
                "main": [
                    "steps": [
                        [
                            "name": "approve_other", "phase": "work", "kind": "command",
                            "argv": ["sh", "-c", .string(command)],
                        ],
                        ["name": "end", "phase": "work", "kind": "finalize"],
                    ]
                ]
            ],
        ]
        try manifest.canonicalText.write(toFile: "\(bundle)/bundle.json", atomically: true, encoding: .utf8)
        // Unconfined: the command can reach the socket, so this shows the second wall, the
        // process-ancestry rule (EscapeTests shows the first: confined, it sees no socket).
        daemon.arguments += ["--bundles", bundle, "--confinement", "none"]
        try daemon.start()

        #expect(daemon.ctl(["submit", "-C", target, "--bundle", "publishing", "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: target) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["submit", "-C", other, "--bundle", "sneaky", "approve the other one"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: other) { $0 == "done" } == "done")

        var attempt = ""
        for _ in 0..<100 where !attempt.contains("exit=") {
            usleep(100_000)
            attempt = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
        #expect(attempt.contains("exit=4"), "\(attempt)")
        #expect(attempt.contains("human_gate_answered_by_human"), "\(attempt)")
        #expect(daemon.ctl(["status", "t1", "-C", target, "--json"]).json?["status"] == "parked")
        let audit = try daemon.store(target).query(
            "SELECT json_extract(actor, '$.principal.kind') AS kind FROM journal WHERE kind = 'violation'"
        )
        #expect(audit == [["kind": "agent"]])
        // A person can still approve it.
        #expect(daemon.ctl(["approve", "t1", "-C", target]).status == 0)
    }

    @Test func aResultARuleRefusesEndsTheTaskOnRecordInsteadOfLeavingItWaiting() throws {
        let daemon = try DaemonHarness(script: #"{"agents": {"writer": [{"output": {"text": "this is forbidden"}}]}}"#)
        let project = try daemon.makeProject("p")
        let bundle = "\(daemon.directory)/strict"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try "Write about {{topic}}.\n".write(toFile: "\(bundle)/writer.md", atomically: true, encoding: .utf8)
        let manifest: JSONValue = [
            "name": "strict", "version": "1", "phases": ["work"], "defaultFlow": "main",
            "flows": [
                "main": [
                    "steps": [
                        ["name": "write", "phase": "work", "kind": "agent", "agent": "writer"],
                        ["name": "end", "phase": "work", "kind": "finalize"],
                    ]
                ]
            ],
            "agents": [
                "writer": [
                    "template": "writer.md", "variables": ["topic": "input"],
                    "output": ["type": "object", "required": ["text"], "properties": ["text": ["type": "string"]]],
                ]
            ],
            "rules": [
                [
                    "name": "no_forbidden_words", "message": "no output says forbidden",
                    "sql":
                        "SELECT o.unit FROM step_outputs o WHERE o.task_id = :task AND json_extract(o.output, '$.text') LIKE '%forbidden%'",
                ]
            ],
        ]
        try manifest.canonicalText.write(toFile: "\(bundle)/bundle.json", atomically: true, encoding: .utf8)
        daemon.arguments += ["--bundles", bundle]
        try daemon.start()

        #expect(daemon.ctl(["submit", "-C", project, "--bundle", "strict", "tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "cancelled" } == "cancelled", "\(daemon.log())")
        let status = daemon.ctl(["status", "t1", "-C", project, "--json"]).json
        #expect(status?["outcome"]?.stringValue?.contains("refused by rule no_forbidden_words") == true)
        let kinds = try daemon.store(project).query("SELECT kind FROM journal ORDER BY seq").compactMap {
            $0["kind"]?.stringValue
        }
        #expect(kinds == ["submitted", "violation", "cancelled"])
    }
}
