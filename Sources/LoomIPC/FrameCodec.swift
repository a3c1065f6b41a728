import LoomSystem
import LoomValues

/// Encodes frames: a 4-byte big-endian body length followed by the body, which is
/// the value's canonical JSON (UTF-8). Decoding is `FrameDecoder`'s job because it
/// has to be incremental.
public enum FrameCodec {
    /// The header plus the canonical bytes of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        frame(body: value.canonicalBytes())
    }

    /// Wraps an already-encoded body (far below the frame limit, so far below 4 GiB).
    package static func frame(body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(IPCProtocol.headerBytes + body.count)
        LengthPrefix.append(body.count, to: &out)
        out.append(contentsOf: body)
        return out
    }
}
