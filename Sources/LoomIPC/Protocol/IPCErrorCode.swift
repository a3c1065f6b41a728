/// The closed set of error codes that can appear on the wire.
///
/// Closed on purpose: clients switch on these, so adding one is a protocol change.
/// The message that accompanies a code is for humans and may change freely.
public enum IPCErrorCode: String, Sendable, CaseIterable {
    /// The byte stream is not a valid frame sequence (e.g. a zero length). Connection closed.
    case badFrame = "bad_frame"
    /// A frame announced a body over the frame limit. Connection closed.
    case tooLarge = "too_large"
    /// A frame body is not valid JSON. Connection closed.
    case badJSON = "bad_json"
    /// The server has no method by that name.
    case unknownMethod = "unknown_method"
    /// The envelope or the method's params are wrong (also: `hello` missing or mismatched).
    case invalidParams = "invalid_params"
    /// The thing the request names does not exist.
    case notFound = "not_found"
    /// The peer is not allowed to do this.
    case forbidden
    /// The request conflicts with current state (e.g. already running, already listening).
    case conflict
    /// A limit was hit (e.g. too many requests in flight); retrying later may work.
    case busy
    /// The service (or the daemon itself) is not reachable or not ready.
    case unavailable
    /// A bug or an unexpected system failure on the answering side.
    case `internal`
}
