import Foundation
import LoomEngine
import Testing

/// What a person sees while fan-out agents share one model endpoint: through the real
/// binaries, `loomctl status` shows the agent that queues for the endpoint's one slot as
/// waiting for the model, not as running, and marks tokens loom counted from the text as
/// estimates.
@Suite(.serialized) struct EndpointWaitStatusTests {
    /// The publishing bundle's agents as one program: the reviewers take a while, so one
    /// holds the slot while the other waits. It reports no usage (loom estimates it).
    static let agent = """
        #!/bin/sh
        prompt=$(cat)
        case "$prompt" in
          *"You are writing a short article"*) echo '{"title": "T", "text": "Words."}' ;;
          *"You are the copy editor"*) sleep 3; echo '{"findings": []}' ;;
          *) sleep 3; echo '{"checked_claims": 0, "findings": []}' ;;
        esac
        """
    /// How long the test watches status for the wait (bounded; the reviewers take 3 s each).
    static let watchSeconds = 60.0

    @Test func aFanOutAgentQueuedForTheEndpointIsShownWaitingForTheModel() throws {
        let daemon = try DaemonHarness()
        if let index = daemon.arguments.firstIndex(of: "--provider-script") {
            daemon.arguments.removeSubrange(index...(index + 1))
        }
        let program = "\(daemon.directory)/agent.sh"
        try Self.agent.write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        try FileManager.default.createDirectory(atPath: daemon.state, withIntermediateDirectories: true)
        // One request at a time for this program: the endpoint's slot the reviewers share.
        try
            #"{"version": 1, "default": ["slow:agent"], "providers": {"slow": {"kind": "command", "executable": "\#(program)", "maxConcurrent": 1}}}"#
            .write(toFile: "\(daemon.state)/models.json", atomically: true, encoding: .utf8)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-autonomous", "x"]).status == 0)

        var waiting: String?
        let deadline = Date().addingTimeInterval(Self.watchSeconds)
        while waiting == nil && Date() < deadline {
            let status = daemon.ctl(["status", "t1", "-C", project]).stdout
            if status.contains("waiting for the model slow:agent") { waiting = status }
            usleep(100_000)
        }
        let status = try #require(waiting, "status never showed a wait for the model: \(daemon.log())")
        // One reviewer holds the slot and runs; the other waits for it, and says for what.
        let lines = status.split(separator: "\n").map(String.init)
        let waiter = lines.first { $0.contains("waiting for the model slow:agent (1 of 1 request(s)") }
        #expect(waiter != nil, "\(status)")
        #expect(
            lines.contains {
                ($0.contains("editor at edit") || $0.contains("factchecker at edit")) && $0.hasSuffix(": running")
            },
            "\(status)"
        )
        #expect(waiter?.hasSuffix(": running") == false, "the waiting agent is not shown as running: \(status)")
        // The writer's tokens came from no usage report: status marks them as estimates.
        #expect(status.contains("estimated from the text"), "\(status)")
        #expect(
            daemon.waitFor(task: "t1", project: project, seconds: 60) { !["running", "queued"].contains($0) }
                != "running",
            "\(daemon.log())"
        )
    }
}
