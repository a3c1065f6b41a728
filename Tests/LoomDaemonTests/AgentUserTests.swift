import Foundation
import LoomCode
import LoomEngine
import LoomProviders
import LoomValues
import Testing

/// Agents with a user of their own (`--agent-user`, the system service's `loom-agent`):
/// every task process runs as that uid, owns the worktree only while it runs, and that uid
/// is never an approver. Needs root (to switch users); `nobody` stands in for loom-agent.
@Suite(.serialized) struct AgentUserTests {
    static var skipReason: String? {
        guard getuid() == 0 else { return "switching task processes to another user needs root" }
        guard AgentIdentity.lookUp("nobody") != nil else { return "there is no user nobody" }
        return nil
    }

    @Test func taskProcessesRunAsTheAgentUserAndTheTaskStillDelivers() throws {
        if let reason = Self.skipReason {
            print("SKIPPED agent-user test: \(reason)")
            return
        }
        let nobody = try #require(AgentIdentity.lookUp("nobody"))
        let daemon = try DaemonHarness()
        if let index = daemon.arguments.firstIndex(of: "--provider-script") {
            daemon.arguments.removeSubrange(index...(index + 1))
        }
        daemon.arguments += ["--agent-user", "nobody"]
        let agent = "\(daemon.directory)/agent.sh"
        try """
        #!/bin/sh
        cat >/dev/null
        echo 42 > value.txt
        echo "{\\"summary\\": \\"uid $(id -u) groups $(id -G)\\"}"
        """.write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        try FileManager.default.createDirectory(atPath: daemon.state, withIntermediateDirectories: true)
        try #"{"version": 1, "default": ["command:\#(agent)"]}"#.write(
            toFile: "\(daemon.state)/models.json",
            atomically: true,
            encoding: .utf8
        )
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        #expect(
            daemon.ctl([
                "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
                "Make value.txt hold 42",
            ]).status == 0
        )
        #expect(
            daemon.waitFor(task: "t1", project: project, seconds: 60) { ["done", "failed", "parked"].contains($0) }
                == "done",
            "\(daemon.log())"
        )
        #expect(try Git(directory: project).check(["show", "loom/t1:value.txt"], "show") == "42")

        let store = try daemon.store(project)
        let spawn = try JSONValue.parse(
            try store.query("SELECT result FROM effects WHERE unit = 'implementer'").first?["result"]?.stringValue
                ?? "{}"
        )
        let summary = spawn["output"]?.stringValue.flatMap { try? JSONValue.parse($0) }?["summary"]?.stringValue ?? ""
        #expect(
            summary == "uid \(nobody.uid) groups \(nobody.gid)",
            "the agent ran as nobody, with no other group: \(summary)"
        )
        #expect(spawn["confinement"]?["uid"]?.intValue == Int64(nobody.uid))
        let checks = try JSONValue.parse(
            try store.query("SELECT output FROM step_outputs WHERE step = 'checks'").first?["output"]?.stringValue
                ?? "{}"
        )
        #expect(
            checks["details"]?["checks"]?[0]?["confinement"]?["uid"]?.intValue == Int64(nobody.uid),
            "checks run as the agent too"
        )
    }

    @Test func anAgentUserOnTheApproversListIsRefusedAtStart() throws {
        if let reason = Self.skipReason {
            print("SKIPPED agent-user test: \(reason)")
            return
        }
        let nobody = try #require(AgentIdentity.lookUp("nobody"))
        let daemon = try DaemonHarness(config: "{\"approvers\": [0, \(nobody.uid)]}")
        daemon.arguments += ["--agent-user", "nobody"]
        #expect(throws: LoomError.self) { try daemon.start() }
        #expect(daemon.log().contains("agentUser nobody (uid \(nobody.uid)) is listed in approvers"), "\(daemon.log())")
        // The same daemon without the agent's uid on the list starts.
        let fine = try DaemonHarness(config: "{\"approvers\": [0]}")
        fine.arguments += ["--agent-user", "nobody"]
        try fine.start()
    }
}
