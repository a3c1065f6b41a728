import CSQLite
import Foundation
import Testing
import LoomEngine

/// `loomctl verify` on the file, without the daemon: intact, a broken chain, a replay
/// that diverges — each with its own exit status.
@Suite(.serialized) struct VerifyCommandTests {
    private func tamper(_ project: String, _ sql: String) {
        var db: OpaquePointer?
        sqlite3_open("\(project)/.loom/state.db", &db)
        let rc = sqlite3_exec(db, "DROP TRIGGER IF EXISTS journal_no_update; \(sql)", nil, nil, nil)
        precondition(rc == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
        sqlite3_close(db)
    }

    @Test func verifyTellsAnIntactRunFromEditedOnes() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "x"])
        _ = daemon.waitFor(task: "t1", project: project) { $0 == "parked" }
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit()
        let bundles = "\(DaemonHarness.repositoryRoot)/bundles"

        let intact = daemon.ctl(["verify", "-C", project, "--bundles", bundles, "--json"])
        #expect(intact.status == 0, "\(intact.stdout) \(intact.stderr)")
        #expect(intact.json?["ok"] == true)

        // State edited behind the journal's back: the chain holds, replay diverges.
        tamper(project, "UPDATE gates SET message = 'approved by nobody'")
        let diverged = daemon.ctl(["verify", "-C", project, "--bundles", bundles])
        #expect(diverged.status == 7, "\(diverged.stdout)")
        #expect(diverged.stdout.contains("diverged at table gates"))

        // The journal edited: the chain breaks at that entry.
        tamper(project, "UPDATE journal SET payload = json_set(payload, '$.message', 'fine') WHERE kind = 'gate_answered'")
        let broken = daemon.ctl(["verify", "-C", project, "--all"])
        #expect(broken.status == 6, "\(broken.stdout)")
        #expect(broken.stdout.contains("chain broken at entry 5"))
    }
}
