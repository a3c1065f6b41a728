import CSQLite
import Foundation
import LoomEngine
import LoomTestKit
import LoomValues
import Testing

/// `loomctl verify` on the file, without the daemon: intact, a broken chain, a replay
/// that diverges, a history rewritten without loomd's key — each with its own exit status.
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
        tamper(
            project,
            "UPDATE journal SET payload = json_set(payload, '$.message', 'fine') WHERE kind = 'gate_answered'"
        )
        let broken = daemon.ctl(["verify", "-C", project, "--all"])
        #expect(broken.status == 6, "\(broken.stdout)")
        #expect(broken.stdout.contains("chain broken at entry 5"))
    }

    /// loomd signs its chain heads; someone with write access to state.db who rewrites an
    /// entry and re-chains everything after it passes the hash chain, not the signatures.
    @Test func aHistoryRewrittenWithoutLoomdsKeyFailsVerify() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "x"])
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        // Parked at a gate: the head is signed already, while loomd runs.
        let parked = daemon.ctl(["verify", "-C", project, "--json"])
        #expect(parked.status == 0, "\(parked.stdout) \(parked.stderr)")
        #expect(parked.json?["signatures"]?["unsigned_tail"] == nil, "\(parked.stdout)")
        #expect(parked.json?["signatures"]?["signer_trusted"] == true)
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit()

        // The key: 0600, in a 0700 directory of the state directory.
        let keyDirectory = try FileManager.default.attributesOfItem(atPath: "\(daemon.state)/keys")
        let key = try FileManager.default.attributesOfItem(atPath: "\(daemon.state)/keys/chain.key")
        #expect((keyDirectory[.posixPermissions] as? Int) == 0o700)
        #expect((key[.posixPermissions] as? Int) == 0o600)

        let intact = daemon.ctl(["verify", "-C", project, "--json"])
        #expect(intact.status == 0, "\(intact.stdout) \(intact.stderr)")
        let entries = try daemon.store(project).query("SELECT max(seq) AS n FROM journal")[0]["n"]?.intValue
        #expect(
            intact.json?["signatures"]?["covered_through"]?.intValue == entries,
            "a clean stop signs the last head: \(intact.stdout)"
        )
        #expect((intact.json?["signatures"]?["checkpoints"]?.intValue ?? 0) >= 2)

        // A proof carries the signed head; verify checks it against loomd's key.
        let proof = "\(daemon.directory)/t1.loomproof"
        let exported = daemon.ctl(["export", "t1", "-o", proof, "-C", project, "--json"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.json?["checkpoint"]?["seq"]?.intValue == entries)
        let checked = daemon.ctl(["verify", proof, "--json"])
        #expect(checked.status == 0, "\(checked.stdout) \(checked.stderr)")
        #expect(checked.json?["checkpoints"]?["signer_trusted"] == true, "\(checked.stdout)")

        let answer = try daemon.store(project).query(
            "SELECT seq, payload FROM journal WHERE kind = 'gate_answered' ORDER BY seq LIMIT 1"
        )[0]
        guard case .object(var payload) = try JSONValue.parse(answer["payload"]?.stringValue ?? "") else {
            Issue.record("no gate answer")
            return
        }
        payload["answer"] = "abandon"
        try HistoryRewriter.rewrite(
            database: "\(project)/.loom/state.db",
            seq: answer["seq"]?.intValue ?? 0,
            payload: .object(payload)
        )

        let rewritten = daemon.ctl(["verify", "-C", project, "--all"])
        #expect(rewritten.status == 8, "\(rewritten.stdout) \(rewritten.stderr)")
        #expect(
            rewritten.stdout.contains("chain intact"),
            "the rewrite must pass the hash chain to prove anything: \(rewritten.stdout)"
        )
        #expect(rewritten.stdout.contains("are not covered by a valid signature"), "\(rewritten.stdout)")
        #expect(rewritten.stdout.contains("rewritten without the key"))
    }

    /// Deleting the checkpoints after a rewrite would make it read as an unsigned tail;
    /// loomd's note of the last head it signed, in its state directory, says otherwise.
    @Test func checkpointsDeletedAfterARewriteAreCaughtByLoomdsNote() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "x"])
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit()

        let answer = try daemon.store(project).query(
            "SELECT seq, payload FROM journal WHERE kind = 'gate_answered' ORDER BY seq LIMIT 1"
        )[0]
        let seq = answer["seq"]?.intValue ?? 0
        guard case .object(var payload) = try JSONValue.parse(answer["payload"]?.stringValue ?? "") else {
            Issue.record("no gate answer")
            return
        }
        payload["answer"] = "abandon"
        try HistoryRewriter.rewrite(database: "\(project)/.loom/state.db", seq: seq, payload: .object(payload))
        tamper(project, "DROP TRIGGER chain_checkpoints_no_delete; DELETE FROM chain_checkpoints WHERE seq >= \(seq)")

        // Without loomd's note (another machine, say) the signatures read the rewrite as an
        // unsigned tail, not as tampering (only the replay, here, still shows the state disagrees).
        let elsewhere = daemon.ctl(["verify", "-C", project, "--state-dir", "\(daemon.directory)/no-state"])
        #expect(elsewhere.status == 7, "\(elsewhere.stdout) \(elsewhere.stderr)")
        #expect(elsewhere.stdout.contains("unsigned tail: entries \(seq)–"), "\(elsewhere.stdout)")

        let here = daemon.ctl(["verify", "-C", project])
        #expect(here.status == 8, "\(here.stdout) \(here.stderr)")
        #expect(here.stdout.contains("checkpoints or entries were deleted"), "\(here.stdout)")
    }
}
