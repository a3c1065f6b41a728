import Foundation
import LoomCode
import LoomEngine
import LoomValues
import Testing

/// The official Python MCP client drives `loomctl mcp` over stdio and plays the agent host:
/// initialize, list the tools, and a code task from submission to its branch, with the
/// person (this test) answering the gate with loomctl.
@Suite(.serialized) struct MCPHostTests {
    static let python = "/usr/bin/env"
    static let script = "\(DaemonHarness.repositoryRoot)/Tests/Python/mcp_host.py"

    /// Whether `python3 -c 'import mcp'` works; the suite is skipped (saying why) when not.
    static let mcpImportable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["python3", "-c", "import mcp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            print(
                "MCPHostTests skipped: the Python package 'mcp' cannot be imported (python3 -m pip install mcp; scripts/install-deps does it)"
            )
        }
        return process.terminationStatus == 0
    }()

    /// loom-mcp attaches as an agent host when it starts, not at its first tool call: from
    /// then on a gate answer from its host's process tree is an agent's, refused on record.
    /// Before, the window until the first call let such an answer pass for a person's.
    @Test func theServerAttachesAsAHostBeforeAnyToolCall() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-supervised", "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")

        // This test process starts loom-mcp, so it is the host whose answers are an agent's.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "\(DaemonHarness.binaries)/loom-mcp")
        server.arguments = ["--socket", daemon.socket]
        let input = Pipe(), output = Pipe()
        server.standardInput = input
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        // Its answer to `initialize` (no tool call) means it is serving, so past attaching.
        let initialize =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
        input.fileHandleForWriting.write(Data((initialize + "\n").utf8))
        let answered = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = output.fileHandleForReading.availableData
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 20) == .success, "loom-mcp did not answer initialize")
        let answer = daemon.ctl(["approve", "t1", "-C", project, "--reason", "from the host's shell"])
        #expect(answer.status == 4, "\(answer.stdout) \(answer.stderr)")
        #expect(answer.stderr.contains("human_gate_answered_by_human"), "\(answer.stderr)")
    }

    @Test(
        .enabled(
            if: MCPHostTests.mcpImportable,
            "the Python package 'mcp' cannot be imported; scripts/install-deps installs it"
        )
    )
    func thePythonClientPlaysTheHostFromSubmissionToTheBranch() throws {
        let daemon = try DaemonHarness(script: HostExecutionTests.emptyScript)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let gateFlag = "\(daemon.directory)/gate"

        let host = Process()
        host.executableURL = URL(fileURLWithPath: Self.python)
        host.arguments = [
            "python3", Self.script, "\(DaemonHarness.binaries)/loomctl", daemon.socket, project, gateFlag,
        ]
        let output = try ChildOutput.run(host)
        defer { if host.isRunning { kill(host.processIdentifier, SIGKILL) } }

        // The person answers the gate the host reached (this process is not the host's descendant).
        let deadline = Date().addingTimeInterval(120)
        var approved = false
        while host.isRunning && Date() < deadline {
            if !approved, let gate = try? String(contentsOfFile: gateFlag, encoding: .utf8), !gate.isEmpty {
                let answer = daemon.ctl(["approve", "t1", "-C", project, "--reason", "looks right"])
                #expect(answer.status == 0, "\(answer.stderr)")
                approved = true
            }
            usleep(50_000)
        }
        if host.isRunning { kill(host.processIdentifier, SIGKILL) }
        host.waitUntilExit()
        output.wait(seconds: 10)
        let stderr = output.stderr
        #expect(host.terminationStatus == 0, "\(stderr.suffix(3000))\n\(daemon.log())")
        let lastLine = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let report = try #require(try? JSONValue.parse(lastLine), "no report: \(stderr.suffix(3000))")

        #expect(report["server"]?.stringValue == "loom")
        #expect(
            report["tools"]?.arrayValue?.compactMap(\.stringValue) == [
                "answer_gate", "gates", "next_step", "replay", "report_step", "status", "submit",
            ]
        )
        #expect(report["roles"]?.arrayValue?.compactMap(\.stringValue).first == "implementer")
        #expect(report["roles"]?.arrayValue?.compactMap(\.stringValue).contains("adjudicator") == true)
        #expect(
            report["self_review"]?.stringValue?.contains("reviewer_is_not_implementer") == true,
            "\(report["self_review"] ?? .null)"
        )
        #expect(
            report["host_approval"]?.stringValue?.hasPrefix("forbidden") == true,
            "\(report["host_approval"] ?? .null)"
        )
        #expect(report["host_approval"]?.stringValue?.contains("human_gate_answered_by_human") == true)
        #expect(report["gates"]?["gates"]?[0]?["gate"]?["role"]?.stringValue == "final")
        #expect(
            report["gates"]?["gates"]?[0]?["card"]?["asks"]?.stringValue?.hasPrefix("Deliver this change?") == true,
            "the host sees the gate's card"
        )
        #expect(report["finished"]?["status"]?.stringValue == "done")
        #expect(report["finished"]?["branch"]?.stringValue == "loom/t1")
        #expect(report["replay"]?["outcome"]?.stringValue == "identical")
        #expect(report["sessions"]?["implementer"]?.stringValue == "host:author")
        #expect(try Git(directory: project).check(["show", "loom/t1:value.txt"], "show") == "42")
    }
}
