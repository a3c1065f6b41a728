/// Reading and appending signed chain heads (`chain_checkpoints`). Not ticks: a checkpoint
/// is no input to the machine, changes no state, and is not journaled or replayed.
extension Store {
    /// The most checkpoints one read returns.
    public static let checkpointsReadMax = 10_000

    /// Appends a checkpoint in its own transaction.
    ///
    /// Refused (`conflict`) unless the journal's entry at `seq` has exactly `head` as its
    /// hash: a host signs the head it committed, and a row that says otherwise means the
    /// file changed under it. A checkpoint at a seq already signed is a `conflict` too.
    public func appendCheckpoint(_ checkpoint: ChainCheckpoint) throws(LoomError) {
        let context = "recording the signed chain head at entry \(checkpoint.seq)"
        guard checkpoint.head.count == 32, checkpoint.publicKey.count == 32, checkpoint.signature.count == 64 else {
            throw LoomError(
                .invalidInput,
                "a checkpoint holds a 32-byte head, a 32-byte public key and a 64-byte signature",
                context: context
            )
        }
        try write { tx throws(LoomError) in
            let stored = try tx.statement("SELECT hash FROM journal WHERE seq = ?").bind(1, checkpoint.seq)
            defer { stored.reset() }
            guard try stored.step() else {
                throw LoomError(.notFound, "the journal has no entry \(checkpoint.seq)", context: context)
            }
            guard try stored.row.blob("hash") == checkpoint.head else {
                throw LoomError(
                    .conflict,
                    "entry \(checkpoint.seq)'s stored hash is not the head this engine committed: the file was changed by someone else",
                    context: context
                )
            }
            try tx.statement("INSERT INTO chain_checkpoints(seq, head, public_key, signature) VALUES (?, ?, ?, ?)")
                .bind(1, checkpoint.seq).bind(2, blob: checkpoint.head).bind(3, blob: checkpoint.publicKey).bind(
                    4,
                    blob: checkpoint.signature
                )
                .run()
        }
    }

    /// Checkpoints after `afterSeq`, in order, at most `limit` (bounded by `checkpointsReadMax`).
    /// Empty for a database from before checkpoints existed.
    public func checkpoints(
        afterSeq: Int64 = 0,
        limit: Int = Store.checkpointsReadMax
    ) throws(LoomError) -> [ChainCheckpoint] {
        guard try hasTable("chain_checkpoints") else { return [] }
        return try read { tx throws(LoomError) in
            let statement = try tx.statement(
                "SELECT seq, head, public_key, signature FROM chain_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?"
            )
            .bind(1, afterSeq).bind(2, min(limit, Self.checkpointsReadMax))
            defer { statement.reset() }
            var found: [ChainCheckpoint] = []
            while try statement.step() { found.append(try Self.decodeCheckpoint(statement.row)) }
            return found
        }
    }

    /// The latest checkpoint, if any.
    public func lastCheckpoint() throws(LoomError) -> ChainCheckpoint? {
        guard try hasTable("chain_checkpoints") else { return nil }
        return try read { tx throws(LoomError) in
            let statement = try tx.statement(
                "SELECT seq, head, public_key, signature FROM chain_checkpoints ORDER BY seq DESC LIMIT 1"
            )
            defer { statement.reset() }
            guard try statement.step() else { return nil }
            return try Self.decodeCheckpoint(statement.row)
        }
    }

    private static func decodeCheckpoint(_ row: SQLiteRow) throws(LoomError) -> ChainCheckpoint {
        ChainCheckpoint(
            seq: try row.int64("seq"),
            head: try row.blob("head"),
            publicKey: try row.blob("public_key"),
            signature: try row.blob("signature")
        )
    }

    /// The journal's position as stored: its last tick's last entry and chain head.
    public func storedChainPosition() throws(LoomError) -> ChainPosition {
        try read { tx throws(LoomError) in
            let cursor = try TickContext.readCursor(tx)
            return ChainPosition(seq: cursor.seq, head: cursor.chainHead)
        }
    }
}

extension Store {
    /// The stored hashes of the journal entries at `seqs` (missing entries are left out);
    /// at most `checkpointsReadMax` at a time.
    public func journalHashes(at seqs: [Int64]) throws(LoomError) -> [Int64: [UInt8]] {
        guard !seqs.isEmpty else { return [:] }
        guard seqs.count <= Self.checkpointsReadMax else {
            throw LoomError(
                .tooLarge,
                "\(seqs.count) entries asked for; at most \(Self.checkpointsReadMax) at a time",
                context: "reading journal hashes"
            )
        }
        return try read { tx throws(LoomError) in
            let statement = try tx.statement("SELECT hash FROM journal WHERE seq = ?")
            var hashes: [Int64: [UInt8]] = [:]
            for seq in seqs {
                statement.reset()
                _ = statement.bind(1, seq)
                if try statement.step() { hashes[seq] = try statement.row.blob("hash") }
            }
            statement.reset()
            return hashes
        }
    }
}
