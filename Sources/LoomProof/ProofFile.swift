import LoomEngine
import LoomValues

/// A self-contained, portable record of one task's run: what `loomctl export` writes and
/// `loomctl verify FILE` / `loomctl replay FILE` read, on any machine, with no project.
///
/// The layout is JSON Lines, each line the canonical JSON of one object (docs/proof-file.md):
/// a header, every journal entry from the project's first up to the task's last (the chain
/// is project-wide, and replaying the task needs the state the earlier entries built), the
/// bundles those entries ran, the provider identities of the task's agent runs, loomd's
/// signed chain heads covering the entries (version 2), and an optional Ed25519 signature
/// of the header, which names the chain head.
public struct ProofFile: Sendable {
    public static let format = "loom-proof"
    /// A proof without checkpoints is written as version 1, byte for byte what earlier
    /// looms wrote and read; one with checkpoints as version 2, whose header counts them.
    public static let version: Int64 = 1
    public static let versionWithCheckpoints: Int64 = 2
    /// Prefixed to the header line before signing, so a loom proof signature can never be
    /// mistaken for (or replayed as) a signature over anything else.
    public static let signatureDomain = "loom-proof-signature-v1\n"

    /// The task the proof is about; its last entry is the proof's last entry.
    public var task: String
    /// The journal from seq 1 up to the task's last entry, with their chain links.
    public var entries: [JournalEntry]
    /// The bundles the entries' submissions name, verbatim, sorted by name then digest.
    public var bundles: [ProofBundle]
    /// Bundles the entries name that the exporter did not have (an older version of a bundle
    /// that ran an earlier task): the chain still verifies, a replay stops at their task.
    public var missingBundles: [BundleReference]
    /// Which provider and model answered the task's agent runs.
    public var providers: [ProviderIdentity]
    /// loomd's signed chain heads at entries of the proof, by seq (docs/journal.md).
    public var checkpoints: [ChainCheckpoint]
    public var signature: ProofSignature?

    public init(
        task: String,
        entries: [JournalEntry],
        bundles: [ProofBundle],
        missingBundles: [BundleReference],
        providers: [ProviderIdentity],
        checkpoints: [ChainCheckpoint] = [],
        signature: ProofSignature? = nil
    ) {
        self.task = task
        self.entries = entries
        self.bundles = bundles
        self.missingBundles = missingBundles
        self.providers = providers
        self.checkpoints = checkpoints
        self.signature = signature
    }

    /// The chain head the proof vouches for: the hash of its last entry.
    public var head: [UInt8] { entries.last?.hash ?? JournalEntry.genesisHash }

    public var header: JSONValue {
        var object: [String: JSONValue] = [
            "type": "header", "format": .string(Self.format), "version": .int(Self.version),
            "task": .string(task), "entries": .int(Int64(entries.count)), "head": .string(head.hexString),
            "missing_bundles": .array(missingBundles.map(\.json)),
        ]
        if !checkpoints.isEmpty {
            object["version"] = .int(Self.versionWithCheckpoints)
            object["checkpoints"] = .int(Int64(checkpoints.count))
        }
        return .object(object)
    }

    /// The bytes a signature covers: the domain prefix and the header line. The header
    /// names the head, which commits to every entry, and the entries commit to each
    /// bundle's digest, which the verifier recomputes from the files; so the signature
    /// covers the whole proof.
    public var signedMessage: [UInt8] { Array(Self.signatureDomain.utf8) + header.canonicalBytes() }

    /// The file's bytes: one canonical JSON object per line, each line ended by "\n".
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func line(_ value: JSONValue) {
            bytes += value.canonicalBytes()
            bytes.append(0x0A)
        }
        line(header)
        for entry in entries { line(Self.json(entry)) }
        for bundle in bundles { line(bundle.json) }
        line(.object(["type": "providers", "providers": .array(providers.map(\.json))]))
        for checkpoint in checkpoints { line(Self.json(checkpoint)) }
        if let signature { line(signature.json) }
        return bytes
    }

    static func json(_ entry: JournalEntry) -> JSONValue {
        .object([
            "type": "entry", "seq": .int(entry.seq), "tick": .int(entry.tick), "time": .int(entry.timeMs),
            "task": .string(entry.taskID), "kind": .string(entry.kind.rawValue), "actor": entry.actor,
            "payload": entry.payload,
            "prev": .string(entry.previousHash.hexString), "hash": .string(entry.hash.hexString),
        ])
    }

    static func json(_ checkpoint: ChainCheckpoint) -> JSONValue {
        .object([
            "type": "checkpoint", "seq": .int(checkpoint.seq), "head": .string(checkpoint.head.hexString),
            "public_key": .string(checkpoint.publicKey.hexString), "signature": .string(checkpoint.signature.hexString),
        ])
    }

    /// Every (bundle, digest) the entries' submissions name, sorted.
    public static func referencedBundles(_ entries: [JournalEntry]) -> [BundleReference] {
        var seen = Set<BundleReference>()
        for entry in entries where entry.kind == .submitted {
            if let name = entry.payload["bundle"]?.stringValue, let digest = entry.payload["digest"]?.stringValue {
                seen.insert(BundleReference(name: name, digest: digest))
            }
        }
        return seen.sorted()
    }
}

/// A bundle by name and digest, as a submission records it.
public struct BundleReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let name: String
    public let digest: String

    public init(name: String, digest: String) {
        self.name = name
        self.digest = digest
    }

    public static func < (lhs: BundleReference, rhs: BundleReference) -> Bool {
        // Byte order, not String order: the same everywhere, whatever the locale.
        if lhs.name != rhs.name { return Array(lhs.name.utf8).lexicographicallyPrecedes(Array(rhs.name.utf8)) }
        return Array(lhs.digest.utf8).lexicographicallyPrecedes(Array(rhs.digest.utf8))
    }

    var json: JSONValue { .object(["name": .string(name), "digest": .string(digest)]) }
    public var description: String { "\(name)@\(digest.prefix(12))" }
}
