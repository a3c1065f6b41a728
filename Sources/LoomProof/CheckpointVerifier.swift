import LoomEngine
import LoomValues

/// Checks a project's signed chain heads (`chain_checkpoints`, docs/journal.md): every
/// checkpoint's head must be the journal's hash at its seq and its signature must verify,
/// by the trusted key when there is one. Read-only, without the daemon.
///
/// Run it after `ChainVerifier` says the chain is intact: then every stored hash is the
/// recomputed one, and a checkpoint whose head differs from the stored hash at its seq
/// proves the history up to it was rewritten by someone without the key.
public enum CheckpointVerifier {
    /// - Parameters:
    ///   - entries: the number of journal entries (from `ChainVerifier`).
    ///   - trustedKey: the key every checkpoint must be signed by, and where it came from
    ///     (for messages); nil checks each signature against the key its row names.
    ///   - signedThrough: the signer's own note, kept outside the project, of the last head it
    ///     signed, and where it came from: valid checkpoints must reach it, so checkpoints (or
    ///     entries) deleted after a rewrite do not pass for an unsigned tail.
    public static func verify(
        _ store: Store,
        entries: Int64,
        trustedKey: (key: PublicOperatorKey, source: String)? = nil,
        signedThrough: (position: ChainPosition, source: String)? = nil
    ) throws(LoomError) -> CheckpointReport {
        var report = CheckpointReport(entries: entries, trustedKey: trustedKey.map { ($0.key.hex, $0.source) })
        var afterSeq: Int64 = 0
        while true {
            let batch = try store.checkpoints(afterSeq: afterSeq)
            if batch.isEmpty { break }
            let hashes = try store.journalHashes(at: batch.map(\.seq))
            for checkpoint in batch {
                report.record(
                    checkpoint,
                    problem: problem(with: checkpoint, storedHash: hashes[checkpoint.seq], trustedKey: trustedKey)
                )
            }
            afterSeq = batch[batch.count - 1].seq
        }
        if let signedThrough, report.isValid {
            let noted = signedThrough.position
            let stored = try store.journalHashes(at: [noted.seq])[noted.seq]
            if report.coveredThrough < noted.seq {
                report.fail(
                    firstSeq: report.coveredThrough + 1,
                    lastSeq: noted.seq,
                    reason:
                        "\(signedThrough.source) says entry \(noted.seq) was signed, but valid checkpoints reach only entry \(report.coveredThrough): checkpoints or entries were deleted"
                )
            } else if stored != noted.head {
                report.fail(
                    firstSeq: 1,
                    lastSeq: noted.seq,
                    reason:
                        "\(signedThrough.source) says entry \(noted.seq) was signed with head \(noted.head.hexString), but this database's entry \(noted.seq) has \(stored?.hexString ?? "no hash"): it is another history"
                )
            }
        }
        return report
    }

    /// Checks a proof file's checkpoints against its entries (already checked to be 1, 2, 3, …
    /// with hashes that recompute).
    public static func verify(
        _ checkpoints: [ChainCheckpoint],
        entries: [JournalEntry],
        trustedKey: (key: PublicOperatorKey, source: String)? = nil
    ) -> CheckpointReport {
        var report = CheckpointReport(
            entries: Int64(entries.count),
            trustedKey: trustedKey.map { ($0.key.hex, $0.source) }
        )
        for checkpoint in checkpoints {
            let stored =
                checkpoint.seq >= 1 && checkpoint.seq <= Int64(entries.count)
                ? entries[Int(checkpoint.seq) - 1].hash : nil
            report.record(checkpoint, problem: problem(with: checkpoint, storedHash: stored, trustedKey: trustedKey))
        }
        return report
    }

    /// What is wrong with one checkpoint, or nil when it vouches for the entries up to it.
    static func problem(
        with checkpoint: ChainCheckpoint,
        storedHash: [UInt8]?,
        trustedKey: (key: PublicOperatorKey, source: String)?
    ) -> String? {
        let at = "the checkpoint at entry \(checkpoint.seq)"
        guard let storedHash else {
            return "\(at) names an entry the journal does not have: entries were deleted"
        }
        if let trustedKey, checkpoint.publicKey != trustedKey.key.raw {
            return
                "\(at) is signed by key \(checkpoint.publicKey.hexString), not by \(trustedKey.source) \(trustedKey.key.hex)"
        }
        guard checkpoint.hasValidSignature else {
            return "\(at) has a signature that does not verify: the checkpoint was forged or edited"
        }
        guard checkpoint.head == storedHash else {
            return
                "\(at) signed head \(checkpoint.head.hexString), but the entry's recomputed hash is \(storedHash.hexString): the history up to it was rewritten without the key"
        }
        return nil
    }
}

/// What `CheckpointVerifier` found.
public struct CheckpointReport: Sendable {
    /// Entries the journal holds.
    public let entries: Int64
    /// The key checkpoints had to be signed by (hex) and where it came from.
    public let trustedKey: (hex: String, source: String)?
    public private(set) var checkpoints = 0
    /// Every entry up to here is covered by a valid checkpoint (0: none is).
    public private(set) var coveredThrough: Int64 = 0
    /// The keys that made valid checkpoints (hex), in the order first seen.
    public private(set) var signers: [String] = []
    /// The first stretch of entries not covered by a valid signature, and why.
    public private(set) var problem: CheckpointProblem?
    /// Checkpoints that do not verify (the first is in `problem`).
    public private(set) var badCheckpoints = 0

    init(entries: Int64, trustedKey: (hex: String, source: String)?) {
        self.entries = entries
        self.trustedKey = trustedKey
    }

    mutating func record(_ checkpoint: ChainCheckpoint, problem reason: String?) {
        checkpoints += 1
        guard let reason else {
            // A valid head commits to every entry before it, so it covers them all.
            coveredThrough = max(coveredThrough, checkpoint.seq)
            let signer = checkpoint.publicKey.hexString
            if !signers.contains(signer) { signers.append(signer) }
            return
        }
        badCheckpoints += 1
        if problem == nil {
            problem = CheckpointProblem(firstSeq: coveredThrough + 1, lastSeq: checkpoint.seq, reason: reason)
        }
    }

    mutating func fail(firstSeq: Int64, lastSeq: Int64, reason: String) {
        if problem == nil { problem = CheckpointProblem(firstSeq: firstSeq, lastSeq: lastSeq, reason: reason) }
    }

    public var isValid: Bool { problem == nil }

    /// Entries after the last valid checkpoint: written after loomd last signed (a crash, a
    /// one-shot run, or the daemon is still running). Not evidence of tampering by itself.
    public var unsignedTail: ClosedRange<Int64>? {
        guard isValid, coveredThrough < entries else { return nil }
        return (coveredThrough + 1)...entries
    }

    /// One line per finding, for people.
    public var summary: [String] {
        if let problem {
            return [
                "chain signatures: \(problem)"
                    + (badCheckpoints > 1 ? " (\(badCheckpoints) checkpoints do not verify)" : "")
            ]
        }
        if checkpoints == 0 {
            return entries == 0
                ? ["chain signatures: no entries"]
                : [
                    "chain signatures: none; entries 1–\(entries) are not covered by a signed checkpoint (written before loom signed its chain, or by a one-shot run)"
                ]
        }
        let who: String
        if let trustedKey {
            who = "by \(trustedKey.source) \(trustedKey.hex)"
        } else {
            who =
                "by key\(signers.count == 1 ? "" : "s") \(signers.joined(separator: ", ")) (not checked against a trusted key: loomd's chain.key.pub was neither given nor found)"
        }
        var lines = [
            "chain signatures: \(checkpoints) checkpoint\(checkpoints == 1 ? "" : "s") \(who); entries 1–\(coveredThrough) covered"
        ]
        if let tail = unsignedTail {
            lines.append(
                "unsigned tail: entries \(tail.lowerBound)–\(tail.upperBound) were written after the last checkpoint (loomd is running, crashed, or a one-shot run wrote them); not tampering by itself"
            )
        }
        return lines
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "checkpoints": .int(Int64(checkpoints)), "covered_through": .int(coveredThrough),
            "signers": .array(signers.map { .string($0) }),
            "signer_trusted": .bool(trustedKey != nil && checkpoints > 0 && isValid),
            "ok": .bool(isValid),
        ]
        if let trustedKey {
            object["trusted_key"] = .object(["key": .string(trustedKey.hex), "source": .string(trustedKey.source)])
        }
        if let tail = unsignedTail {
            object["unsigned_tail"] = .object(["from": .int(tail.lowerBound), "to": .int(tail.upperBound)])
        }
        if let problem {
            object["problem"] = .object([
                "from": .int(problem.firstSeq), "to": .int(problem.lastSeq), "reason": .string(problem.reason),
                "bad_checkpoints": .int(Int64(badCheckpoints)),
            ])
        }
        return .object(object)
    }
}

/// A stretch of entries no valid signature covers.
public struct CheckpointProblem: Sendable, Equatable, CustomStringConvertible {
    public let firstSeq: Int64
    public let lastSeq: Int64
    public let reason: String

    public init(firstSeq: Int64, lastSeq: Int64, reason: String) {
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.reason = reason
    }

    public var description: String {
        "entries \(firstSeq)–\(lastSeq) are not covered by a valid signature: \(reason)"
    }
}
