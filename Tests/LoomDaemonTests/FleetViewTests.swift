import Foundation
import LoomEngine
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
        #expect(lines.first?.contains("\(first)  t1  legal (t1.g1)  Clear this piece for publication? (open findings: 1 warn)") == true, "oldest first: \(gates.stdout)")
        #expect(lines.last?.contains(second) == true)
        let gatesJSON = daemon.ctl(["gates", "--json"]).json?["gates"]?.arrayValue ?? []
        #expect(gatesJSON.count == 2 && gatesJSON[0]["card"]?["sections"]?.arrayValue?.isEmpty == false)

        let tasks = daemon.ctl(["tasks", "--json"]).json?["tasks"]?.arrayValue ?? []
        #expect(tasks.map { "\($0["project"]?.stringValue == first ? "first" : "second")/\($0["task"]?.stringValue ?? "")" } == ["second/t2", "second/t1", "first/t1"],
                "newest first: \(tasks)")
        let cancelled = daemon.ctl(["tasks", "--state", "cancelled"])
        #expect(cancelled.stdout.contains("cancelled") && cancelled.stdout.contains("t2") && !cancelled.stdout.contains("parked"), "\(cancelled.stdout)")
        let paged = daemon.ctl(["tasks", "--limit", "2"])
        #expect(paged.stdout.contains("(more: loomctl tasks --before "), "\(paged.stdout)")
        #expect(daemon.ctl(["tasks", "--state", "exploded"]).status == 2)

        let fleet = daemon.ctl(["status"]).stdout
        #expect(fleet.contains("\(second): cancelled 1, parked 1, queued 0, running 0"), "\(fleet)")
    }
}
