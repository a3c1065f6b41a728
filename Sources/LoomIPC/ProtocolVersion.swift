/// The control-plane protocol version a client and loomd exchange in `hello`.
/// (The framing, client and server arrive with the daemon.)
public enum ProtocolVersion {
    public static let current = 1
}
