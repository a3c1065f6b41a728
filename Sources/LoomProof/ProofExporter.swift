import LoomEngine

/// Builds a task's proof from a project database (read-only is enough).
public enum ProofExporter {
    /// Entries read per batch.
    static let batchSize = 5_000

    /// - Parameters:
    ///   - bundles: the bundles available to the exporter; those the journal names by digest
    ///     are included verbatim. The exported task's own bundle must be among them.
    ///   - signer: signs the header (and the chain head) when given.
    ///   - trustedChainKey: loomd's chain key, which the project's checkpoints must be by.
    public static func export(
        store: Store,
        task: String,
        bundles: [LoomBundle],
        signer: OperatorKey? = nil,
        trustedChainKey: (key: PublicOperatorKey, source: String)? = nil
    ) throws(ProofError) -> ProofFile {
        // A proof of a tampered journal would be a proof of nothing: refuse to export one.
        let chain: ChainReport
        do { chain = try ChainVerifier.verify(store) } catch { throw ProofError(.io, "\(error)", at: store.path) }
        guard case .intact(let total, _) = chain else {
            throw ProofError(
                .chainBroken,
                "the project's journal does not verify (\(chain)); run loomctl verify",
                at: store.path
            )
        }
        let signed: CheckpointReport
        do { signed = try CheckpointVerifier.verify(store, entries: total, trustedKey: trustedChainKey) } catch {
            throw ProofError(.io, "\(error)", at: store.path)
        }
        if let problem = signed.problem {
            throw ProofError(.badSignature, "\(problem); run loomctl verify", at: store.path)
        }

        var entries: [JournalEntry] = []
        do {
            guard let lastTick = try store.lastTick(task: task) else {
                throw ProofError(.notFound, "the journal has no task '\(task)'", at: store.path)
            }
            var after: Int64 = 0
            while true {
                let batch = try store.entries(after: after, upToTick: lastTick, limit: batchSize)
                if batch.isEmpty { break }
                entries += batch
                after = batch[batch.count - 1].seq
            }
        } catch let error as ProofError {
            throw error
        } catch {
            throw ProofError(.io, "\(error)", at: store.path)
        }

        var included: [ProofBundle] = []
        var missing: [BundleReference] = []
        for reference in ProofFile.referencedBundles(entries) {
            if let bundle = bundles.first(where: { $0.name == reference.name && $0.digest == reference.digest }) {
                included.append(ProofBundle(bundle))
            } else {
                missing.append(reference)
            }
        }
        let own = entries.first { $0.kind == .submitted && $0.taskID == task }
        if let own, let name = own.payload["bundle"]?.stringValue, let digest = own.payload["digest"]?.stringValue,
            missing.contains(BundleReference(name: name, digest: digest))
        {
            throw ProofError(
                .notFound,
                "task \(task) ran bundle \(name) with digest \(digest), which is not among the bundles given (--bundles)",
                at: "exporting \(task)"
            )
        }
        var proof = ProofFile(
            task: task,
            entries: entries,
            bundles: included,
            missingBundles: missing,
            providers: ProviderIdentity.derive(from: entries, task: task),
            checkpoints: try lastCheckpoint(in: store, through: entries.last?.seq ?? 0).map { [$0] } ?? []
        )
        if let signer { try proof.sign(with: signer) }
        return proof
    }

    /// The latest checkpoint at or before `seq`: a valid head vouches for every entry before
    /// it, so one is all a proof needs (the project's were all checked above).
    static func lastCheckpoint(in store: Store, through seq: Int64) throws(ProofError) -> ChainCheckpoint? {
        var latest: ChainCheckpoint?
        var after: Int64 = 0
        do {
            while true {
                let batch = try store.checkpoints(afterSeq: after).filter { $0.seq <= seq }
                guard let last = batch.last else { return latest }
                latest = last
                after = last.seq
            }
        } catch {
            throw ProofError(.io, "\(error)", at: store.path)
        }
    }
}
