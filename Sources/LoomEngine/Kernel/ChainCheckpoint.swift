/// A signed chain head, as stored in `chain_checkpoints` (docs/journal.md, "Checkpoints").
///
/// The kernel keeps these as opaque bytes: it never holds a key and never checks a
/// signature (it stays free of any crypto package). The host that drives the engine signs;
/// a verifier with the public key checks.
public struct ChainCheckpoint: Sendable, Equatable {
    public let seq: Int64
    /// The journal entry's hash at `seq`, as the signer saw it.
    public let head: [UInt8]
    /// The signer's public key (32 bytes, Ed25519 by convention of the host).
    public let publicKey: [UInt8]
    /// The signature over the signed message the host's format defines (64 bytes).
    public let signature: [UInt8]

    public init(seq: Int64, head: [UInt8], publicKey: [UInt8], signature: [UInt8]) {
        self.seq = seq
        self.head = head
        self.publicKey = publicKey
        self.signature = signature
    }

    public var position: ChainPosition { ChainPosition(seq: seq, head: head) }
}
