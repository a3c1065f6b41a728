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
        #expect(error["code"] == "not_found" && error["status"]?.intValue == 3 && error["message"]?.stringValue?.isEmpty == false)
        #expect(missing.stderr.contains("loomctl: "), "people still read it on stderr")
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
