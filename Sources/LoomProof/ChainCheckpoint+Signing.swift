import LoomEngine
import LoomValues

/// Signing and checking chain checkpoints with an `OperatorKey` (docs/journal.md,
/// "Checkpoints"). Here, not in the kernel: the kernel stores checkpoints as opaque bytes
/// and stays free of the crypto package.
extension ChainCheckpoint {
    /// Keeps a checkpoint signature from ever being valid for anything else (a proof
    /// header is signed under `loom-proof-signature-v1`).
    static let signaturePrefix = "loom-chain-checkpoint-v1\n"

    /// The bytes the signature covers: the prefix, then the canonical JSON
    /// `{"head":"<64 hex>","seq":N}`.
    public static func signedMessage(_ position: ChainPosition) -> [UInt8] {
        Array(signaturePrefix.utf8)
            + JSONValue.object(["head": .string(position.head.hexString), "seq": .int(position.seq)]).canonicalBytes()
    }

    /// Signs `position` with `key`.
    public static func signed(_ position: ChainPosition, with key: OperatorKey) throws(ProofError) -> ChainCheckpoint {
        ChainCheckpoint(
            seq: position.seq,
            head: position.head,
            publicKey: key.publicKey.raw,
            signature: try key.sign(signedMessage(position))
        )
    }

    /// Whether the signature verifies against the key the checkpoint names (it says nothing
    /// about whether that key is one to trust: compare `publicKey` with a trusted key for that).
    public var hasValidSignature: Bool {
        guard let key = try? PublicOperatorKey(raw: publicKey, at: "checkpoint") else { return false }
        return key.isValidSignature(signature, for: Self.signedMessage(position))
    }
}
