import Foundation
import LoomEngine
import Testing

/// Small things an operator relies on: a project removed by its path, errors a script can
/// read under --json, and no socket file left behind by a clean stop.
@Suite(.serialized) struct OperatorBasicsTests {
    @Test func aProjectIsRemovedByItsPathAndErrorsAreJSONUnderJSON() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject("p")
        #expect(daemon.ctl(["projects", "add", "-C", project]).status == 0)
        let removed = daemon.ctl(["projects", "remove", project])
        #expect(removed.status == 0 && removed.stdout.contains("\(project): removed"), "\(removed.stderr)")
        #expect(daemon.ctl(["projects", "list"]).stdout == "no projects\n")
        #expect(daemon.ctl(["projects", "remove", project, "-C", project]).status == 2, "the project is given once")

        let missing = daemon.ctl(["status", "t9", "-C", project, "--json"])
        #expect(missing.status == 3)
        let error = try #require(missing.json?["error"], "stdout: \(missing.stdout)")
        #expect(
            error["code"] == "not_found" && error["status"]?.intValue == 3
                && error["message"]?.stringValue?.isEmpty == false
        )
        #expect(missing.stderr.contains("loomctl: "), "people still read it on stderr")
    }

    /// At info, an operator reads the story in loomd's log: what was submitted, each effect,
    /// each gate opened and answered and by whom, with the project, task and key as
    /// metadata; at debug, every request too.
    @Test func theLogTellsTheStoryAtInfoAndRequestsAtDebug() throws {
        let daemon = try DaemonHarness()
        daemon.arguments += ["--log-level", "debug"]
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-supervised", "Tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        let log = daemon.log()
        for expected in [
            "loomd: info: submitted bundle=publishing by=uid:\(getuid()) project=\(project) task=t1",
            "loomd: info: effect started effect=t1:draft:writer:0:1 kind=spawn project=\(project) task=t1",
            "loomd: info: effect finished effect=t1:draft:writer:0:1 kind=spawn model=scripted:",
            "loomd: info: gate opened gate=t1.g1 policy=human project=\(project) role=legal task=t1",
            "loomd: info: gate answered answer=approve by=uid:", "loomd: debug: request method=status",
        ] {
            #expect(log.contains(expected), "missing \(expected) in:\n\(log)")
        }
        #expect(!log.contains("\u{1B}"), "no terminal escapes in the log")
    }

    @Test func aCleanStopRemovesTheSocketFile() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        #expect(FileManager.default.fileExists(atPath: daemon.socket))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit()?.status == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket), "loomd left its socket behind")
    }
}
