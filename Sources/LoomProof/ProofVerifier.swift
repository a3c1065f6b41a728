import LoomEngine
import LoomValues

/// Checks a proof file with nothing but the file: recomputes every entry's hash and link
/// from genesis, the head, each bundle's digest from its files (and that it is the bundle
/// the journal's submissions name), the derived sections, and the signature.
public enum ProofVerifier {
    /// Decodes and verifies `bytes`.
    /// - Parameter trustedKey: the operator's public key; with it, the proof must be signed
    ///   by that key. Without it, a signature present must still verify (against the key
    ///   the proof names), and the result says it was not checked against a trusted key.
    /// - Parameter trustedChainKey: loomd's chain key, which the proof's checkpoints must be
    ///   signed by (and where it came from); without it each is checked against its own key.
    public static func verify(
        bytes: [UInt8],
        trustedKey: PublicOperatorKey? = nil,
        trustedChainKey: (key: PublicOperatorKey, source: String)? = nil,
        limits: ProofLimits = ProofLimits()
    ) throws(ProofError) -> (ProofFile, ProofVerification) {
        let proof = try ProofFile.decode(bytes, limits: limits)
        return (proof, try verify(proof, trustedKey: trustedKey, trustedChainKey: trustedChainKey))
    }

    public static func verify(
        _ proof: ProofFile,
        trustedKey: PublicOperatorKey? = nil,
        trustedChainKey: (key: PublicOperatorKey, source: String)? = nil
    ) throws(ProofError) -> ProofVerification {
        // Entry i is on line i + 2 (the header is line 1).
        func entryAt(_ index: Int) -> String { "line \(index + 2) (entry \(proof.entries[index].seq))" }
        var previous = JournalEntry.genesisHash
        for (index, entry) in proof.entries.enumerated() {
            guard entry.seq == Int64(index + 1) else {
                throw ProofError(
                    .chainBroken,
                    "expected entry \(index + 1), found entry \(entry.seq): entries were removed, added or reordered",
                    at: entryAt(index)
                )
            }
            guard entry.previousHash == previous else {
                throw ProofError(
                    .chainBroken,
                    "the entry does not link to entry \(entry.seq - 1) (prev \(entry.previousHash.hexString), expected \(previous.hexString))",
                    at: entryAt(index)
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
                throw ProofError(
                    .chainBroken,
                    "\(entry.kind.rawValue) for \(entry.taskID) does not match its hash: its content was changed",
                    at: entryAt(index)
                )
            }
            previous = hash
        }
        guard let last = proof.entries.last, last.taskID == proof.task else {
            throw ProofError(
                .chainBroken,
                "the last entry is not task \(proof.task)'s: the proof ends at its task's last entry",
                at: "header"
            )
        }

        // Bundles: each must hash to its digest, load, and be one the journal names.
        let referenced = ProofFile.referencedBundles(proof.entries)
        var bundleReports: [BundleReference] = []
        for (index, bundle) in proof.bundles.enumerated() {
            let location = "line \(proof.entries.count + 2 + index) (bundle \(bundle.name))"
            let computed = BundleDigest.compute(files: bundle.files)
            guard computed == bundle.digest else {
                throw ProofError(
                    .bundleMismatch,
                    "its files hash to \(computed), not to its digest \(bundle.digest): a file was changed",
                    at: location
                )
            }
            guard referenced.contains(bundle.reference) else {
                throw ProofError(.bundleMismatch, "no submission in the journal ran \(bundle.reference)", at: location)
            }
            let loaded: LoomBundle
            do { loaded = try BundleLoader.load(files: bundle.files) } catch {
                throw ProofError(.bundleMismatch, "the bundle does not load: \(error)", at: location)
            }
            guard loaded.name == bundle.name, loaded.version == bundle.version else {
                throw ProofError(
                    .bundleMismatch,
                    "the manifest names \(loaded.name) \(loaded.version), the line \(bundle.name) \(bundle.version)",
                    at: location
                )
            }
            bundleReports.append(bundle.reference)
        }
        let missing = referenced.filter { !bundleReports.contains($0) }
        guard missing == proof.missingBundles else {
            throw ProofError(
                .derivedMismatch,
                "missing_bundles says \(proof.missingBundles), but the journal names bundles the proof lacks: \(missing)",
                at: "line 1 (header)"
            )
        }
        let taskReference = referenced.first { reference in
            proof.entries.contains {
                $0.kind == .submitted && $0.taskID == proof.task
                    && $0.payload["digest"]?.stringValue == reference.digest
                    && $0.payload["bundle"]?.stringValue == reference.name
            }
        }
        let providers = ProviderIdentity.derive(from: proof.entries, task: proof.task)
        guard providers == proof.providers else {
            throw ProofError(
                .derivedMismatch,
                "the provider identities do not match the task's effect results",
                at: "line \(proof.entries.count + proof.bundles.count + 2) (providers)"
            )
        }

        // Checkpoints: loomd's signed heads must match the recomputed chain.
        let providersLine = proof.entries.count + proof.bundles.count + 2
        var checkpoints: CheckpointReport?
        if !proof.checkpoints.isEmpty {
            let report = CheckpointVerifier.verify(
                proof.checkpoints,
                entries: proof.entries,
                trustedKey: trustedChainKey
            )
            if let problem = report.problem {
                let index = proof.checkpoints.firstIndex { $0.seq == problem.lastSeq } ?? 0
                throw ProofError(
                    .badSignature,
                    problem.description,
                    at: "line \(providersLine + 1 + index) (checkpoint at entry \(problem.lastSeq))"
                )
            }
            checkpoints = report
        }

        var signer: String?
        if let signature = proof.signature {
            let location = "line \(providersLine + proof.checkpoints.count + 1) (signature)"
            let key = try PublicOperatorKey(raw: signature.publicKey, at: location)
            if let trustedKey, trustedKey != key {
                throw ProofError(
                    .badSignature,
                    "signed by key \(key.hex), not by the trusted key \(trustedKey.hex)",
                    at: location
                )
            }
            guard key.isValidSignature(signature.signature, for: proof.signedMessage) else {
                throw ProofError(
                    .badSignature,
                    "the signature does not verify: the header (and its chain head) is not what key \(key.hex) signed",
                    at: location
                )
            }
            signer = key.hex
        } else if trustedKey != nil {
            throw ProofError(.badSignature, "the proof is not signed, and a public key was given", at: "end of file")
        }

        return ProofVerification(
            task: proof.task,
            entries: proof.entries.count,
            taskEntries: proof.entries.filter { $0.taskID == proof.task }.count,
            head: proof.head.hexString,
            taskBundle: taskReference,
            bundles: bundleReports,
            missingBundles: missing,
            providers: providers,
            checkpoints: checkpoints,
            signer: signer,
            signerTrusted: signer != nil && trustedKey != nil
        )
    }
}

/// What a proof vouches for, once verified.
public struct ProofVerification: Sendable {
    public let task: String
    public let entries: Int
    public let taskEntries: Int
    public let head: String
    /// The bundle the task ran.
    public let taskBundle: BundleReference?
    public let bundles: [BundleReference]
    public let missingBundles: [BundleReference]
    public let providers: [ProviderIdentity]
    /// loomd's signed chain heads the proof carries, as checked; nil when it carries none.
    public let checkpoints: CheckpointReport?
    /// The signing key (hex), when signed.
    public let signer: String?
    /// The signer is the key the caller trusts (given with `--public-key`).
    public let signerTrusted: Bool

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "task": .string(task), "entries": .int(Int64(entries)), "task_entries": .int(Int64(taskEntries)),
            "head": .string(head), "bundles": .array(bundles.map(\.json)),
            "missing_bundles": .array(missingBundles.map(\.json)),
            "providers": .array(providers.map(\.json)), "signed": .bool(signer != nil),
            "signer_trusted": .bool(signerTrusted),
        ]
        if let signer { object["signer"] = .string(signer) }
        if let taskBundle { object["task_bundle"] = taskBundle.json }
        if let checkpoints { object["checkpoints"] = checkpoints.json }
        return .object(object)
    }

    /// Lines for people.
    public var summary: [String] {
        var lines = [
            "proof of task \(task): chain intact, \(entries) entries (\(taskEntries) of them the task's), head \(head)",
            "bundles: "
                + (bundles.isEmpty ? "none" : bundles.map { "\($0.name) digest \($0.digest)" }.joined(separator: ", "))
                + ", digests recomputed from their files",
        ]
        if !missingBundles.isEmpty {
            lines.append(
                "not included (an earlier task's bundle version): "
                    + missingBundles.map(\.description).joined(separator: ", ")
            )
        }
        lines.append(
            "providers: "
                + (providers.isEmpty
                    ? "none"
                    : providers.map {
                        "\($0.provider)/\($0.model) ×\($0.results) (\($0.units.joined(separator: ", ")))"
                    }.joined(separator: "; "))
        )
        lines +=
            checkpoints?.summary ?? [
                "chain signatures: none in the proof (its project's chain heads were not signed by loomd)"
            ]
        if let signer {
            lines.append(
                signerTrusted
                    ? "signature: valid, by the trusted key \(signer)"
                    : "signature: valid, by key \(signer) (not checked against a trusted key: pass --public-key)"
            )
        } else {
            lines.append("signature: none")
        }
        return lines
    }
}
