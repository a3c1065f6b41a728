/// The 4-byte big-endian length that starts a frame, in both of loom's framings: the control
/// socket's (length, JSON body) and the HTTP helper's pipe (type byte, length, payload).
public enum LengthPrefix {
    public static let bytes = 4

    /// Appends `length`. Traps above 4 GiB: the prefix cannot say it, and every caller
    /// bounds its frames far below that.
    public static func append(_ length: Int, to out: inout [UInt8]) {
        precondition(
            length >= 0 && length <= Int(UInt32.max),
            "a frame of \(length) bytes does not fit a 32-bit length"
        )
        out.append(UInt8(truncatingIfNeeded: length >> 24))
        out.append(UInt8(truncatingIfNeeded: length >> 16))
        out.append(UInt8(truncatingIfNeeded: length >> 8))
        out.append(UInt8(truncatingIfNeeded: length))
    }

    /// The length written at `offset` (which must have `bytes` bytes after it).
    public static func read(_ buffer: [UInt8], at offset: Int) -> Int {
        var length = 0
        for index in offset..<(offset + bytes) { length = length << 8 | Int(buffer[index]) }
        return length
    }
}
