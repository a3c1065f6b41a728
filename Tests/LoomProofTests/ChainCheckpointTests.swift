import CSQLite
import Foundation
import LoomEngine
import LoomProof
import LoomTestKit
import LoomValues
import Testing

/// Signed chain heads: a history rewritten with correct unkeyed hashes passes the hash
/// chain but fails the signatures; a tail written after the last checkpoint is reported as
/// unsigned, not as tampering; and only the trusted key makes a signature mean anything.
@Suite struct ChainCheckpointTests {
    /// Signs the head every `every` entries and at the end, as loomd does as it goes.
    private func sign(
        _ project: RecordedProject,
        with key: OperatorKey,
        every: Int64,
        through last: Int64? = nil
    ) throws {
        let end = try last ?? project.engine.chainPosition().seq
        var seqs = Array(stride(from: every, through: end, by: Int(every)))
        if seqs.last != end { seqs.append(end) }
        let hashes = try project.engine.store.journalHashes(at: seqs)
        for seq in seqs {
            try project.engine.store.appendCheckpoint(
                ChainCheckpoint.signed(ChainPosition(seq: seq, head: hashes[seq]!), with: key)
            )
        }
    }

    private func entries(_ project: RecordedProject) throws -> Int64 {
        guard case .intact(let entries, _) = try ChainVerifier.verify(project.readOnlyStore()) else {
            Issue.record("the chain does not verify")
            return 0
        }
        return entries
    }

    private func checkpoints(_ project: RecordedProject, trusting key: OperatorKey?) throws -> CheckpointReport {
        try CheckpointVerifier.verify(
            project.readOnlyStore(),
            entries: entries(project),
            trustedKey: key.map { ($0.publicKey, "the test key") }
        )
    }

    /// The attacker's edit: entry `seq` (a gate answer) now says something else.
    private func rewriteGateAnswer(_ project: RecordedProject) throws -> Int64 {
        let row = try project.engine.store.query(
            "SELECT seq, payload FROM journal WHERE kind = 'gate_answered' ORDER BY seq LIMIT 1"
        )[0]
        let seq = row["seq"]!.intValue!
        guard case .object(var payload) = try JSONValue.parse(row["payload"]!.stringValue!) else {
            throw HistoryRewriter.Failure(description: "payload")
        }
        payload["message"] = "approved after a careful read"
        let rehashed = try HistoryRewriter.rewrite(database: project.databasePath, seq: seq, payload: .object(payload))
        #expect(rehashed >= 2, "the rewrite re-chained \(rehashed) entries")
        return seq
    }

    @Test func theEngineReportsTheHeadItCommitted() throws {
        let project = try RecordedProject(tasks: 1, seed: 4)
        let stored = try project.engine.store.query(
            "SELECT seq, lower(hex(hash)) AS h FROM journal ORDER BY seq DESC LIMIT 1"
        )[0]
        let position = try project.engine.chainPosition()
        #expect(position.seq == stored["seq"]?.intValue)
        #expect(position.head.hexString == stored["h"]?.stringValue)
        #expect(try project.engine.store.storedChainPosition() == position)
    }

    @Test func aSignedHistoryVerifiesByTheTrustedKey() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 8)
        let report = try checkpoints(project, trusting: key)
        #expect(report.isValid, "\(report.summary)")
        #expect(report.coveredThrough == (try entries(project)))
        #expect(report.unsignedTail == nil)
        #expect(report.signers == [key.publicKey.hex])
        #expect(report.json["signer_trusted"] == true)
    }

    @Test func aRewrittenHistoryPassesTheHashChainButNotTheSignatures() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 8)
        let edited = try rewriteGateAnswer(project)

        // The unkeyed chain cannot tell: every hash and tick head recomputes.
        guard case .intact = try ChainVerifier.verify(project.readOnlyStore()) else {
            Issue.record("the rewrite broke the chain; it proves nothing")
            return
        }
        #expect(
            try project.readOnlyStore().query("SELECT payload FROM journal WHERE seq = \(edited)")[0]["payload"]?
                .stringValue?.contains("careful read") == true
        )

        let report = try checkpoints(project, trusting: key)
        let coveredBefore = (edited - 1) / 8 * 8
        let firstBroken = min((edited + 7) / 8 * 8, try entries(project))
        #expect(report.problem?.firstSeq == coveredBefore + 1, "\(report.summary)")
        #expect(report.problem?.lastSeq == firstBroken)
        #expect(report.problem?.reason.contains("rewritten without the key") == true)
        #expect(
            report.summary[0].hasPrefix(
                "chain signatures: entries \(coveredBefore + 1)–\(firstBroken) are not covered by a valid signature"
            )
        )
        #expect(report.coveredThrough == coveredBefore)
        #expect(!report.isValid)
    }

    /// The control: the same rewrite of a journal nobody signed leaves nothing to catch it.
    @Test func withoutSignaturesTheSameRewriteGoesUnnoticed() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        _ = try rewriteGateAnswer(project)
        guard case .intact(let entries, _) = try ChainVerifier.verify(project.readOnlyStore()) else {
            Issue.record("the rewrite broke the chain")
            return
        }
        let report = try checkpoints(project, trusting: nil)
        #expect(report.isValid)
        #expect(report.checkpoints == 0)
        #expect(report.unsignedTail == 1...entries)
        #expect(
            report.summary == [
                "chain signatures: none; entries 1–\(entries) are not covered by a signed checkpoint (written before loom signed its chain, or by a one-shot run)"
            ]
        )
    }

    @Test func entriesAfterTheLastCheckpointAreAnUnsignedTailNotTampering() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        let key = OperatorKey.generate()
        let total = try entries(project)
        try sign(project, with: key, every: 8, through: total - 3)
        let report = try checkpoints(project, trusting: key)
        #expect(report.isValid)
        #expect(report.unsignedTail == (total - 2)...total)
        #expect(report.summary.last?.hasPrefix("unsigned tail: entries \(total - 2)–\(total)") == true)
    }

    /// Re-signing with a key of one's own works only against a verifier that trusts any key.
    @Test func anAttackersOwnKeyIsRefusedByTheTrustedOne() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        let loomd = OperatorKey.generate()
        let attacker = OperatorKey.generate()
        try sign(project, with: loomd, every: 8)
        _ = try rewriteGateAnswer(project)
        try execute(project, "DROP TRIGGER chain_checkpoints_no_delete; DELETE FROM chain_checkpoints")
        try sign(project, with: attacker, every: 8)

        let trusted = try checkpoints(project, trusting: loomd)
        #expect(trusted.problem?.firstSeq == 1)
        #expect(trusted.problem?.reason.contains("not by the test key") == true, "\(trusted.summary)")
        let untrusted = try checkpoints(project, trusting: nil)
        #expect(untrusted.isValid)
        #expect(untrusted.signers == [attacker.publicKey.hex])
        #expect(untrusted.summary[0].contains("not checked against a trusted key"))
    }

    @Test func anEditedSignatureDoesNotVerify() throws {
        let project = try RecordedProject(tasks: 2, seed: 3)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 4)
        let signed = try project.engine.store.checkpoints()
        #expect(signed.count >= 3)
        let target = signed[1]
        try execute(
            project,
            "DROP TRIGGER chain_checkpoints_no_update; UPDATE chain_checkpoints SET signature = zeroblob(64) WHERE seq = \(target.seq)"
        )
        let report = try checkpoints(project, trusting: key)
        #expect(
            report.problem
                == CheckpointProblem(
                    firstSeq: signed[0].seq + 1,
                    lastSeq: target.seq,
                    reason:
                        "the checkpoint at entry \(target.seq) has a signature that does not verify: the checkpoint was forged or edited"
                )
        )
        #expect(report.badCheckpoints == 1)
        #expect(!report.isValid)
    }

    @Test func theStoreRefusesToRecordAHeadTheJournalDoesNotHave() throws {
        let project = try RecordedProject(tasks: 1, seed: 3)
        let key = OperatorKey.generate()
        let position = try project.engine.chainPosition()
        let wrong = ChainPosition(seq: position.seq, head: [UInt8](repeating: 7, count: 32))
        #expect(throws: LoomError.self) {
            try project.engine.store.appendCheckpoint(ChainCheckpoint.signed(wrong, with: key))
        }
        let beyond = ChainPosition(seq: position.seq + 1, head: position.head)
        #expect(throws: LoomError.self) {
            try project.engine.store.appendCheckpoint(ChainCheckpoint.signed(beyond, with: key))
        }
        try project.engine.store.appendCheckpoint(ChainCheckpoint.signed(position, with: key))
        // One checkpoint per entry; the table is append-only.
        #expect(throws: LoomError.self) {
            try project.engine.store.appendCheckpoint(ChainCheckpoint.signed(position, with: key))
        }
        #expect(try project.engine.store.checkpoints().count == 1)
    }

    /// Checkpoints are not state: a replay, which has none, still matches the record.
    @Test func checkpointsAreNotPartOfWhatReplayCompares() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        try sign(project, with: OperatorKey.generate(), every: 8)
        let report = try Replayer(source: project.readOnlyStore(), bundles: [RecordedProject.publishing()]).run(
            task: nil
        )
        guard case .identical = report else {
            Issue.record("\(report)")
            return
        }
    }

    // MARK: Proof files

    private func exported(_ project: RecordedProject, task: String, chainKey: OperatorKey? = nil) throws -> ProofFile {
        try ProofExporter.export(
            store: project.readOnlyStore(),
            task: task,
            bundles: [RecordedProject.publishing()],
            trustedChainKey: chainKey.map { ($0.publicKey, "the test key") }
        )
    }

    @Test func aProofCarriesTheLatestSignedHeadWithinIt() throws {
        let project = try RecordedProject(tasks: 3, seed: 7)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 8)
        let proof = try exported(project, task: "t2", chainKey: key)
        let last = proof.entries.last!.seq
        let total = try entries(project)
        #expect(last >= 8 && last < total, "t2 ends past the first checkpoint and before the last entry")
        #expect(
            proof.checkpoints.map(\.seq) == [last / 8 * 8],
            "the latest checkpoint at or before entry \(last), none after it"
        )
        #expect(proof.header["version"] == .int(ProofFile.versionWithCheckpoints))
        #expect(proof.header["checkpoints"] == 1)
        let (decoded, verification) = try ProofVerifier.verify(
            bytes: proof.encoded(),
            trustedChainKey: (key.publicKey, "the test key")
        )
        #expect(decoded.checkpoints == proof.checkpoints)
        #expect(verification.checkpoints?.isValid == true)
        #expect(verification.checkpoints?.coveredThrough == proof.checkpoints[0].seq)
        #expect(verification.json["checkpoints"]?["signer_trusted"] == true)
        // Another key than loomd's is refused when loomd's is known.
        #expect(throws: ProofError.self) {
            try ProofVerifier.verify(
                bytes: proof.encoded(),
                trustedChainKey: (OperatorKey.generate().publicKey, "another key")
            )
        }
    }

    /// A project loomd never signed exports the format earlier looms wrote and read.
    @Test func aProofWithoutCheckpointsIsStillVersionOne() throws {
        let project = try RecordedProject(tasks: 1, seed: 7)
        let proof = try exported(project, task: "t1")
        #expect(proof.checkpoints.isEmpty)
        #expect(proof.header["version"] == 1)
        #expect(proof.header["checkpoints"] == nil)
        let (_, verification) = try ProofVerifier.verify(bytes: proof.encoded())
        #expect(verification.checkpoints == nil)
    }

    @Test func everyChangedByteOfACheckpointLineIsFound() throws {
        let project = try RecordedProject(tasks: 1, seed: 7)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 4)
        let bytes = try exported(project, task: "t1").encoded()
        _ = try ProofVerifier.verify(bytes: bytes)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard
            let index = lines.firstIndex(where: {
                String(decoding: $0, as: UTF8.self).contains(#""type":"checkpoint""#)
            })
        else {
            Issue.record("no checkpoint line")
            return
        }
        let start = lines[..<index].reduce(0) { $0 + $1.count + 1 }
        var undetected: [Int] = []
        for position in start..<(start + lines[index].count) {
            var copy = bytes
            copy[position] ^= 0x01
            do {
                _ = try ProofVerifier.verify(bytes: copy)
                undetected.append(position - start)
            } catch {}
        }
        #expect(undetected.isEmpty, "changes at offsets \(undetected.prefix(10)) of the checkpoint line went unnoticed")
    }

    @Test func exportRefusesAProjectWhoseSignedHeadsDoNotVerify() throws {
        let project = try RecordedProject(tasks: 2, seed: 7)
        let key = OperatorKey.generate()
        try sign(project, with: key, every: 8)
        _ = try rewriteGateAnswer(project)
        #expect { try exported(project, task: "t2", chainKey: key) } throws: {
            ($0 as? ProofError)?.code == .badSignature
        }
    }

    private func execute(_ project: RecordedProject, _ sql: String) throws {
        var db: OpaquePointer?
        sqlite3_open(project.databasePath, &db)
        defer { sqlite3_close(db) }
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw HistoryRewriter.Failure(description: String(cString: sqlite3_errmsg(db)))
        }
    }
}
