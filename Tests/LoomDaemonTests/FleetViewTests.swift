import Foundation
import LoomEngine
import LoomProviders
import LoomSystem
import Testing

/// What waits for a person and every task, across projects: `loomctl gates`, `loomctl
/// tasks` and the fleet's counts, through the real loomd.
@Suite(.serialized) struct FleetViewTests {
    @Test func gatesTasksAndTheFleetCountSeeEveryProjectAndState() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let first = try daemon.makeProject("first")
        let second = try daemon.makeProject("second")
        #expect(daemon.ctl(["submit", "-C", first, "--policy", "full-supervised", "Tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: first) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["submit", "-C", second, "--policy", "full-supervised", "Winds"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: second) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["submit", "-C", second, "Clouds"]).status == 0)
        #expect(daemon.ctl(["cancel", "t2", "-C", second]).status == 0)

        let gates = daemon.ctl(["gates"])
        #expect(gates.status == 0, "\(gates.stderr)")
        let lines = gates.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(gates.stdout)")
        #expect(
            lines.first?.contains(
                "\(first)  t1  legal (t1.g1)  Clear this piece for publication? (open findings: 1 warn)"
            ) == true,
            "oldest first: \(gates.stdout)"
        )
        #expect(lines.last?.contains(second) == true)
        let gatesJSON = daemon.ctl(["gates", "--json"]).json?["gates"]?.arrayValue ?? []
        #expect(gatesJSON.count == 2 && gatesJSON[0]["card"]?["sections"]?.arrayValue?.isEmpty == false)

        let tasks = daemon.ctl(["tasks", "--json"]).json?["tasks"]?.arrayValue ?? []
        #expect(
            tasks.map { "\($0["project"]?.stringValue == first ? "first" : "second")/\($0["task"]?.stringValue ?? "")" }
                == ["second/t2", "second/t1", "first/t1"],
            "newest first: \(tasks)"
        )
        let cancelled = daemon.ctl(["tasks", "--state", "cancelled"])
        #expect(
            cancelled.stdout.contains("cancelled") && cancelled.stdout.contains("t2")
                && !cancelled.stdout.contains("parked"),
            "\(cancelled.stdout)"
        )
        let paged = daemon.ctl(["tasks", "--limit", "2"])
        #expect(paged.stdout.contains("(more: loomctl tasks --before "), "\(paged.stdout)")
        #expect(daemon.ctl(["tasks", "--state", "exploded"]).status == 2)

        let fleet = daemon.ctl(["status"]).stdout
        #expect(fleet.contains("\(second): cancelled 1, parked 1, queued 0, running 0"), "\(fleet)")

        // What an alert needs: gates open and the oldest one's age, per project, in text
        // promtool accepts; and the shipped alert rules check.
        let metrics = daemon.ctl(["metrics"]).stdout
        #expect(metrics.contains("loom_gates_open{project=\"\(first)\"} 1"), "\(metrics)")
        let prefix = "loom_gate_open_oldest_seconds{project=\"\(first)\"} "
        let line = metrics.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) } ?? ""
        let waited: Double = Double(line.dropFirst(prefix.count)) ?? -1
        #expect(waited >= 0 && waited < 60, "\(line)")
        if let promtool = Self.promtool {
            let checked = try Self.run([promtool, "check", "metrics"], input: metrics)
            #expect(checked.status == 0, "promtool check metrics: \(checked.output)")
            let rules = try Self.run(
                [promtool, "check", "rules", "\(DaemonHarness.repositoryRoot)/systemd/loom-alerts.rules.yml"],
                input: ""
            )
            #expect(rules.status == 0 && rules.output.contains("SUCCESS: 3 rules found"), "\(rules.output)")
        } else {
            Issue.record("promtool is missing: apt-get install prometheus (scripts/install-deps does)")
        }
    }

    static let promtool: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs `argv` with `input` on stdin; its exit status and merged output.
    static func run(_ argv: [String], input: String) throws -> (status: Int32, output: String) {
        let result = ChildProcess.run(
            .init(
                argv: argv,
                environment: ProcessInfo.processInfo.environment,
                input: Array(input.utf8),
                timeoutMs: 30_000,
                outputLimitBytes: 16 << 20
            )
        )
        if let spawnError = result.spawnError { throw LoomError(.internal, spawnError) }
        return (result.exitCode ?? result.signal ?? -1, String(decoding: result.output, as: UTF8.self))
    }
}
