/// Where a project's journal stands: its last entry and that entry's hash (the chain head).
///
/// What a host signs: the head commits to every entry up to `seq`, so one signature over
/// (seq, head) vouches for the whole history before it.
public struct ChainPosition: Sendable, Equatable {
    /// The last entry's sequence number (0 for an empty journal).
    public let seq: Int64
    /// The last entry's hash (the genesis hash for an empty journal).
    public let head: [UInt8]

    public init(seq: Int64, head: [UInt8]) {
        self.seq = seq
        self.head = head
    }
}
