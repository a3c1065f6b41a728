import Foundation
import LoomEngine
import LoomProof
import LoomValues
import Testing

/// A proof file, in process: it verifies with nothing but its bytes, any changed byte is
/// found and named, a signature binds it to one key, and a replay of it answers for its task.
@Suite struct ProofFileTests {
    private func exported(_ project: RecordedProject, task: String, signer: OperatorKey? = nil) throws -> ProofFile {
        try ProofExporter.export(
            store: project.readOnlyStore(),
            task: task,
            bundles: [RecordedProject.publishing()],
            signer: signer
        )
    }

    @Test func anExportVerifiesFromItsBytesAlone() throws {
        let project = try RecordedProject(tasks: 3, seed: 5)
        let proof = try exported(project, task: "t2")
        let (decoded, verification) = try ProofVerifier.verify(bytes: proof.encoded())
        // The prefix up to t2's last entry: all of t1, all of t2, none of t3.
        let lastSeq = try project.engine.store.query("SELECT max(seq) AS s FROM journal WHERE task_id = 't2'")[0]["s"]?
            .intValue
        #expect(Int64(verification.entries) == lastSeq)
        #expect(decoded.entries.allSatisfy { $0.taskID != "t3" })
        let head = try project.engine.store.query("SELECT hex(hash) AS h FROM journal WHERE seq = \(lastSeq ?? 0)")[0][
            "h"
        ]?.stringValue?.lowercased()
        #expect(verification.head == head)
        #expect(verification.bundles.map(\.name) == ["publishing"])
        #expect(verification.taskBundle?.digest == (try RecordedProject.publishing()).digest)
        #expect(Set(verification.providers.map(\.provider)) == ["scripted"])
        #expect(verification.providers.allSatisfy { !$0.model.isEmpty && $0.results > 0 }, "\(verification.providers)")
        #expect(verification.providers.flatMap(\.units).contains("draft:writer"))
        #expect(verification.signer == nil)
        // Encoding is deterministic: the same run exports the same bytes.
        #expect(try exported(project, task: "t2").encoded() == proof.encoded())
    }

    @Test func everyChangedByteIsFound() throws {
        let project = try RecordedProject(tasks: 2, seed: 9)
        let key = OperatorKey.generate()
        let bytes = try exported(project, task: "t2", signer: key).encoded()
        _ = try ProofVerifier.verify(bytes: bytes, trustedKey: key.publicKey)
        // Every line's first and last byte, and every 23rd byte in between.
        var positions = Set(stride(from: 0, to: bytes.count, by: 23))
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            positions.formUnion([start, max(start, index - 1), index])
            start = index + 1
        }
        var undetected: [Int] = []
        for position in positions.sorted() {
            var copy = bytes
            copy[position] ^= 0x01
            do {
                _ = try ProofVerifier.verify(bytes: copy, trustedKey: key.publicKey)
                undetected.append(position)
            } catch {}
        }
        #expect(undetected.isEmpty, "changes at \(undetected.prefix(10)) went unnoticed")
        #expect(positions.count > 500)
    }

    @Test func aChangeNamesWhatFailed() throws {
        let project = try RecordedProject(tasks: 2, seed: 9)
        let proof = try exported(project, task: "t2")
        let text = String(decoding: proof.encoded(), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

        // An edited gate answer (the approver's uid) in entry 5: its own hash fails.
        let gateIndex = try #require(lines.firstIndex { $0.contains(#""kind":"gate_answered""#) })
        var edited = lines
        edited[gateIndex] = edited[gateIndex].replacingOccurrences(of: #""uid":1000"#, with: #""uid":1001"#)
        let entryError = try #require(throws: ProofError.self) {
            try ProofVerifier.verify(bytes: Array(edited.joined(separator: "\n").utf8))
        }
        #expect(entryError.code == .chainBroken)
        #expect(entryError.location == "line \(gateIndex + 1) (entry \(gateIndex))")
        #expect(entryError.message.contains("gate_answered for t"))

        // A bundle file edited: its digest no longer matches.
        let bundleIndex = try #require(
            lines.firstIndex { $0.hasPrefix(#"{"digest":"#) && $0.contains(#""type":"bundle""#) }
        )
        edited = lines
        edited[bundleIndex] = edited[bundleIndex].replacingOccurrences(of: "checked_claims", with: "checked_claimz")
        let bundleError = try #require(throws: ProofError.self) {
            try ProofVerifier.verify(bytes: Array(edited.joined(separator: "\n").utf8))
        }
        #expect(bundleError.code == .bundleMismatch)
        #expect(bundleError.location == "line \(bundleIndex + 1) (bundle publishing)")

        // Two entries swapped.
        lines.swapAt(3, 4)
        let swapped = try #require(throws: ProofError.self) {
            try ProofVerifier.verify(bytes: Array(lines.joined(separator: "\n").utf8))
        }
        #expect(swapped.code == .chainBroken)
        #expect(swapped.location == "line 4 (entry 4)")
    }

    @Test func aRewrittenChainIsRefusedByTheSignature() throws {
        let project = try RecordedProject(tasks: 1, seed: 2)
        let operatorKey = OperatorKey.generate()
        let other = OperatorKey.generate()
        var proof = try exported(project, task: "t1", signer: operatorKey)
        let signed = try ProofVerifier.verify(proof, trustedKey: operatorKey.publicKey)
        #expect(signed.signerTrusted)
        // Without a trusted key the signature is still checked, but not trusted.
        #expect(try ProofVerifier.verify(proof).signerTrusted == false)

        // A signature by another key is refused.
        let wrongKey = try #require(throws: ProofError.self) {
            try ProofVerifier.verify(proof, trustedKey: other.publicKey)
        }
        #expect(wrongKey.code == .badSignature)
        #expect(wrongKey.exitStatus == 8)

        // A forger who edits an entry and recomputes every hash after it has a chain that
        // holds; the head moved, so the operator's signature no longer verifies.
        var entries = proof.entries
        let index = try #require(entries.firstIndex { $0.kind == .gateAnswered })
        var previous = index == 0 ? JournalEntry.genesisHash : entries[index - 1].hash
        for position in index..<entries.count {
            let entry = entries[position]
            let actor: JSONValue =
                position == index ? ["principal": ["kind": "human", "id": "uid:0"], "uid": 0] : entry.actor
            let hash = JournalEntry.chainHash(
                previous: previous,
                seq: entry.seq,
                tick: entry.tick,
                timeMs: entry.timeMs,
                taskID: entry.taskID,
                kind: entry.kind.rawValue,
                actor: actor,
                payload: entry.payload
            )
            entries[position] = JournalEntry(
                seq: entry.seq,
                tick: entry.tick,
                timeMs: entry.timeMs,
                taskID: entry.taskID,
                kind: entry.kind,
                actor: actor,
                payload: entry.payload,
                previousHash: previous,
                hash: hash
            )
            previous = hash
        }
        proof.entries = entries
        let forged = try #require(throws: ProofError.self) {
            try ProofVerifier.verify(bytes: proof.encoded(), trustedKey: operatorKey.publicKey)
        }
        #expect(forged.code == .badSignature)
        // Re-signed by the forger's own key it verifies, but only as the forger's.
        try proof.sign(with: other)
        #expect(try ProofVerifier.verify(proof).signer == other.publicKey.hex)
        #expect(throws: ProofError.self) { try ProofVerifier.verify(proof, trustedKey: operatorKey.publicKey) }
        // And an unsigned proof is refused when a key is required.
        proof.signature = nil
        #expect(throws: ProofError.self) { try ProofVerifier.verify(proof, trustedKey: operatorKey.publicKey) }
    }

    @Test func aProofReplaysAndReportsWhereANewRuleWouldHaveStoppedItsTask() throws {
        let project = try RecordedProject(tasks: 4, seed: 21)
        let expected = try project.expectedCatches()
        let caughtTask = try #require(expected.keys.sorted().last, "the seed should finish a task with an open warning")
        let proof = try exported(project, task: caughtTask)
        let clean = try ProofReplay.run(proof, extraRules: [])
        #expect(clean.problem == nil)
        #expect(clean.catches.isEmpty)
        #expect(clean.ticks == Int64(proof.entries.count))
        let report = try ProofReplay.run(proof, extraRules: [RecordedProject.openWarningRule])
        #expect(report.problem == nil)
        let caught = try #require(report.catches[caughtTask])
        #expect(caught.tick == expected[caughtTask])
        #expect(caught.violations.first?.rule == "no_open_warnings")
        #expect(caught.violations.first?.rows.first?["summary"] == "the figure in paragraph 2 has no source")
        // Only the proof's task is reported, even where earlier tasks would have been caught too.
        #expect(report.catches.keys.sorted() == [caughtTask])
    }

    @Test func aDecodedProofRefusesWhatIsNotCanonical() throws {
        let project = try RecordedProject(tasks: 1, seed: 2)
        let bytes = try exported(project, task: "t1").encoded()
        var spaced = bytes
        spaced.insert(0x20, at: 1)
        #expect(throws: ProofError.self) { try ProofFile.decode(spaced) }
        #expect(throws: ProofError.self) { try ProofFile.decode(Array(bytes.dropLast())) }
        var limits = ProofLimits()
        limits.fileMaxBytes = bytes.count - 1
        let tooLarge = try #require(throws: ProofError.self) { try ProofFile.decode(bytes, limits: limits) }
        #expect(tooLarge.code == .tooLarge)
        limits = ProofLimits()
        limits.entriesMax = 3
        #expect(throws: ProofError.self) { try ProofFile.decode(bytes, limits: limits) }
    }
}
