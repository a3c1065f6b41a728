/// Recomputes the journal's hash chain and checks every tick's recorded chain head.
///
/// Read-only: it works on a file opened with `readOnly`, without the daemon. An edited
/// entry fails its own hash; a deleted or inserted one breaks the sequence or the link of
/// the entry after it; either way the report names the first entry that does not check.
public enum ChainVerifier {
    public static func verify(_ store: Store, batchSize: Int = 5_000) throws(LoomError) -> ChainReport {
        var previous = JournalEntry.genesisHash
        var expectedSeq: Int64 = 1
        var afterSeq: Int64 = 0
        while true {
            let batch = try store.read { tx throws(LoomError) in
                try tx.journalEntries(after: afterSeq, upToTick: .max, limit: batchSize)
            }
            if batch.isEmpty { break }
            for entry in batch {
                guard entry.seq == expectedSeq else {
                    return .broken(
                        seq: expectedSeq,
                        reason: "entry \(expectedSeq) is missing (the next entry is \(entry.seq)): rows were deleted"
                    )
                }
                guard entry.previousHash == previous else {
                    return .broken(
                        seq: entry.seq,
                        reason:
                            "entry \(entry.seq) does not link to entry \(entry.seq - 1): an entry was inserted, deleted or edited before it"
                    )
                }
                let hash = JournalEntry.chainHash(
                    previous: previous,
                    seq: entry.seq,
                    tick: entry.tick,
                    timeMs: entry.timeMs,
                    taskID: entry.taskID,
                    kind: entry.kind.rawValue,
                    actor: entry.actor,
                    payload: entry.payload
                )
                guard hash == entry.hash else {
                    return .broken(
                        seq: entry.seq,
                        reason:
                            "entry \(entry.seq) (\(entry.kind.rawValue) for \(entry.taskID)) does not match its hash: it was edited"
                    )
                }
                previous = hash
                expectedSeq += 1
            }
            afterSeq = batch[batch.count - 1].seq
        }
        // Entries without a tick row are invisible to the join above; count them directly.
        let counts = try store.query(
            "SELECT (SELECT count(*) FROM journal) AS entries, (SELECT count(*) FROM journal j WHERE NOT EXISTS (SELECT 1 FROM ticks k WHERE k.tick = j.tick)) AS orphans"
        )
        if let orphans = counts.first?["orphans"]?.intValue, orphans > 0 {
            return .broken(
                seq: expectedSeq,
                reason: "\(orphans) journal entr\(orphans == 1 ? "y has" : "ies have") no tick row"
            )
        }
        let heads = try store.query(
            """
            SELECT k.tick FROM ticks k LEFT JOIN journal j ON j.seq = k.last_seq
            WHERE j.hash IS NOT k.chain_head OR k.first_seq > k.last_seq ORDER BY k.tick LIMIT 1
            """
        )
        if let tick = heads.first?["tick"]?.intValue {
            return .brokenTick(
                tick: tick,
                reason: "tick \(tick)'s recorded chain head is not the hash of its last entry"
            )
        }
        return .intact(entries: expectedSeq - 1, head: previous.hexString)
    }
}

/// What `ChainVerifier` found.
public enum ChainReport: Sendable, Equatable, CustomStringConvertible {
    case intact(entries: Int64, head: String)
    /// The first journal entry that does not check.
    case broken(seq: Int64, reason: String)
    /// A tick row whose recorded chain head is wrong.
    case brokenTick(tick: Int64, reason: String)

    public var description: String {
        switch self {
        case .intact(let entries, let head): return "chain intact: \(entries) entries, head \(head)"
        case .broken(let seq, let reason): return "chain broken at entry \(seq): \(reason)"
        case .brokenTick(let tick, let reason): return "chain broken at tick \(tick): \(reason)"
        }
    }
}
