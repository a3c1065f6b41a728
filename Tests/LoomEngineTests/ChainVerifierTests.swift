import CSQLite
import LoomTestKit
import LoomValues
import Testing

@testable import LoomEngine

/// The hash chain catches edits, deletions and insertions made to the file by hand.
@Suite struct ChainVerifierTests {
    private func recorded(_ directory: TemporaryDirectory) throws -> Engine {
        let engine = try Fixtures.engine(in: directory)
        for index in 0..<3 { _ = try engine.submit(bundle: "publishing", input: "piece \(index)", by: Fixtures.person) }
        try Driver(engine: engine, responder: PublishingWorld.responder(), seed: 3).runUntilQuiet()
        return engine
    }

    /// Tampers with the file the way someone with write access could: triggers off first.
    private func tamper(_ directory: TemporaryDirectory, _ sql: String) {
        var db: OpaquePointer?
        sqlite3_open(directory.file("state.db"), &db)
        let rc = sqlite3_exec(
            db,
            "DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete; \(sql)",
            nil,
            nil,
            nil
        )
        precondition(rc == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
        sqlite3_close(db)
    }

    private func readOnly(_ directory: TemporaryDirectory) throws -> Store {
        var options = StoreOptions()
        options.readOnly = true
        return try Store(path: directory.file("state.db"), options: options)
    }

    @Test func anUntouchedJournalVerifies() throws {
        let directory = TemporaryDirectory()
        let engine = try recorded(directory)
        let entries = try engine.store.query("SELECT count(*) AS n FROM journal")[0]["n"]?.intValue ?? 0
        guard case .intact(let count, _) = try ChainVerifier.verify(readOnly(directory)) else {
            Issue.record("not intact")
            return
        }
        #expect(count == entries)
    }

    @Test func anEditedEntryIsNamed() throws {
        let directory = TemporaryDirectory()
        _ = try recorded(directory)
        tamper(directory, "UPDATE journal SET payload = json_set(payload, '$.message', 'looks fine') WHERE seq = 7")
        #expect(
            try ChainVerifier.verify(readOnly(directory))
                == .broken(seq: 7, reason: ChainReport.editedReason(7, try readOnly(directory)))
        )
    }

    @Test func aDeletedEntryIsNamed() throws {
        let directory = TemporaryDirectory()
        _ = try recorded(directory)
        tamper(directory, "DELETE FROM journal WHERE seq = 5")
        guard case .broken(let seq, let reason) = try ChainVerifier.verify(readOnly(directory)) else {
            Issue.record("not broken")
            return
        }
        #expect(seq == 5)
        #expect(reason.contains("deleted"))
    }

    @Test func aRewrittenTailWithFreshHashesStillBreaksAtTheTickHeads() throws {
        let directory = TemporaryDirectory()
        _ = try recorded(directory)
        // Editing an entry and recomputing its own hash is not enough: the next link breaks.
        tamper(directory, "UPDATE journal SET hash = zeroblob(32) WHERE seq = 4")
        guard case .broken(let seq, _) = try ChainVerifier.verify(readOnly(directory)) else {
            Issue.record("not broken")
            return
        }
        #expect(seq == 4)
    }

    /// The kernel writes the link's bytes directly (docs/journal.md); they must stay exactly
    /// the previous hash followed by the canonical JSON of the entry's seven keys, or every
    /// recorded journal would stop verifying.
    @Test func theChainLinkIsTheHashOfTheCanonicalEntry() {
        let callers = [
            Caller.system, Fixtures.person, Fixtures.agentProcess,
            Caller(
                principal: Principal(kind: .human, id: "uid:7 \"quoted\" é\n"),
                uid: 0,
                pid: -1,
                executable: "/opt/a b/\u{1F}"
            ),
        ]
        let previous = (0..<32).map { UInt8($0 * 7 % 256) }
        for (index, caller) in callers.enumerated() {
            #expect(caller.canonicalBytes == caller.json.canonicalBytes(), "\(caller)")
            let payload: JSONValue = .object([
                "key": .string("t1:draft:writer:0:\(index)"),
                "result": .object(["text": "line\none \"two\"", "n": .int(-3)]),
            ])
            let entry: JSONValue = .object([
                "actor": caller.json, "kind": "effect_result", "payload": payload, "seq": .int(Int64(index) + 1),
                "task": "t1", "tick": .int(Int64(index) * 1_000_003), "time": .int(1_764_000_000_000 + Int64(index)),
            ])
            let expected = SHA256.hash(previous + entry.canonicalBytes())
            let link = JournalEntry.chainHash(
                previous: previous,
                seq: Int64(index) + 1,
                tick: Int64(index) * 1_000_003,
                timeMs: 1_764_000_000_000 + Int64(index),
                taskID: "t1",
                kind: "effect_result",
                actorBytes: caller.canonicalBytes,
                payloadBytes: payload.canonicalBytes()
            )
            #expect(link == expected)
        }
    }

    @Test func readOnlyOpeningWritesNothing() throws {
        let directory = TemporaryDirectory()
        _ = try recorded(directory)
        let store = try readOnly(directory)
        let error = try #require(throws: LoomError.self) { try store.write { _ throws(LoomError) in } }
        #expect(error.code == .readOnly)
    }
}

extension ChainReport {
    static func editedReason(_ seq: Int64, _ store: Store) throws -> String {
        let row = try store.query("SELECT kind, task_id FROM journal WHERE seq = \(seq)")[0]
        return
            "entry \(seq) (\(row["kind"]?.stringValue ?? "") for \(row["task_id"]?.stringValue ?? "")) does not match its hash: it was edited"
    }
}
