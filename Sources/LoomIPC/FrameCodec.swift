import LoomValues
import LoomValues

/// Encodes frames: a 4-byte big-endian body length followed by the body, which is
/// the value's canonical JSON (UTF-8). Decoding is `FrameDecoder`'s job because it
/// has to be incremental.
public enum FrameCodec {
    /// The header plus the canonical bytes of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        frame(body: value.canonicalBytes())
    }

    /// Wraps an already-encoded body. Traps above 4 GiB: the header cannot express
    /// that, and no caller gets near it (everything is far below the frame limit).
    package static func frame(body: [UInt8]) -> [UInt8] {
        precondition(body.count <= Int(UInt32.max), "frame body does not fit a 32-bit length")
        let n = UInt32(body.count)
        var out: [UInt8] = []
        out.reserveCapacity(IPCProtocol.headerBytes + body.count)
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(contentsOf: body)
        return out
    }
}
