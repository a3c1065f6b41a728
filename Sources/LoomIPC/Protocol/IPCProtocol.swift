import LoomSystem

/// Constants of loom's control-plane wire protocol (see docs/ipc-protocol.md).
///
/// The version travels in every envelope (`"v"`) and in `hello`; a peer speaking a
/// different version is refused rather than half-understood.
public enum IPCProtocol {
    /// The envelope and `hello` protocol version this build speaks.
    public static let version = 1
    /// Default hard limit on one frame's body (1 MiB). Large enough for any control
    /// message; small enough that a hostile peer cannot make the daemon buffer much.
    public static let maxFrameBytesDefault = 1 << 20
    /// Bytes in a frame header: a big-endian UInt32 body length.
    public static let headerBytes = LengthPrefix.bytes
    /// Container nesting limit applied when parsing a frame body. Control messages
    /// are shallow; deep nesting is only ever an attack on the recursive parser.
    public static let maxJSONDepthDefault = 64
}
