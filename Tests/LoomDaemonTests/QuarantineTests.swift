import CSQLite
import Foundation
import LoomEngine
import Testing

/// A write loomd did not make quarantines the project: an outside sqlite3 connection
/// dismisses a finding while a task waits at its gate, and loomd refuses the next answer,
/// says why in status, metrics and its log, until an operator clears it. The control: the
/// same answer without the outside write goes through.
@Suite(.serialized) struct QuarantineTests {
    /// An agent with the project's uid, writing the file the way anyone could.
    private func dismissFindings(_ project: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open("\(project)/.loom/state.db", &db) == SQLITE_OK else {
            throw LoomError(.io, "cannot open the database")
        }
        defer { sqlite3_close(db) }
        guard
            sqlite3_exec(db, "UPDATE findings SET status = 'dismissed' WHERE status = 'open'", nil, nil, nil)
                == SQLITE_OK
        else {
            throw LoomError(.sqlite, String(cString: sqlite3_errmsg(db)))
        }
        #expect(sqlite3_changes(db) >= 1, "the outside write must change a row to prove anything")
    }

    /// A daemon with task t1 parked at its gate.
    private func parked() throws -> (DaemonHarness, String) {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        return (daemon, project)
    }

    private func gateAnswers(_ daemon: DaemonHarness, _ project: String) throws -> Int64 {
        try daemon.store(project).query("SELECT count(*) AS n FROM journal WHERE kind = 'gate_answered'")[0]["n"]?
            .intValue ?? -1
    }

    private func expectQuarantined(_ daemon: DaemonHarness, _ project: String) throws {
        let refused = daemon.ctl(["approve", "t1", "-C", project])
        #expect(refused.status != 0, "\(refused.stdout)")
        #expect(refused.stderr.contains("quarantined"), "\(refused.stderr)")
        #expect(try gateAnswers(daemon, project) == 0, "the refused answer must not reach the journal")

        let task = daemon.ctl(["status", "t1", "-C", project, "--json"])
        #expect(task.json?["status"] == "parked")
        #expect(task.json?["quarantined"]?["reason"]?.stringValue?.contains("did not make") == true, "\(task.stdout)")
        let fleet = daemon.ctl(["status"])
        #expect(fleet.stdout.contains("QUARANTINED"), "\(fleet.stdout)")
        #expect(fleet.stdout.contains("loomctl projects clear-quarantine -C \(project)"))
        let metrics = daemon.ctl(["metrics"]).stdout
        #expect(metrics.contains("loom_project_quarantined{project=\"\(project)\"} 1"), "\(metrics)")
        #expect(daemon.log().contains("QUARANTINED project \(project)"), "\(daemon.log())")
    }

    @Test func anOutsideWriteWhileTheProjectIsOpenQuarantinesIt() throws {
        let (daemon, project) = try parked()
        try dismissFindings(project)
        try expectQuarantined(daemon, project)
    }

    /// loomd closes a quiet project's database; a write made then shows when it reopens.
    @Test func anOutsideWriteWhileTheProjectSleepsQuarantinesIt() throws {
        let (daemon, project) = try parked()
        usleep(UInt32(2_600) * 1_000)  // past the 2 s hibernation of an idle project
        try dismissFindings(project)
        try expectQuarantined(daemon, project)
    }

    /// The quarantine survives a restart, and ends only when the operator clears it.
    @Test func theOperatorClearsItAndTheTaskGoesOn() throws {
        let (daemon, project) = try parked()
        try dismissFindings(project)
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status != 0)
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit()
        try daemon.start()
        #expect(daemon.ctl(["approve", "t1", "-C", project]).stderr.contains("quarantined"))

        let cleared = daemon.ctl(["projects", "clear-quarantine", "-C", project, "--json"])
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(cleared.json?["cleared"] == true)
        #expect(daemon.ctl(["metrics"]).stdout.contains("loom_project_quarantined{project=\"\(project)\"} 0"))
        let approved = daemon.ctl(["approve", "t1", "-C", project])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        #expect(daemon.ctl(["projects", "clear-quarantine", "-C", project, "--json"]).json?["cleared"] == false)
    }

    /// The control: the same steps without the outside write, and the answer goes through.
    @Test func withoutAnOutsideWriteTheSameAnswerProceeds() throws {
        let (daemon, project) = try parked()
        usleep(UInt32(2_600) * 1_000)
        let approved = daemon.ctl(["approve", "t1", "-C", project])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(try gateAnswers(daemon, project) == 1)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["quarantined"] == nil)
        #expect(daemon.ctl(["metrics"]).stdout.contains("loom_project_quarantined{project=\"\(project)\"} 0"))
        #expect(!daemon.log().contains("QUARANTINED"))
    }
}
