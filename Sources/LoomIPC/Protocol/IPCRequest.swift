import LoomValues

/// One request envelope: `{"v":1,"id":<int>,"method":"<name>","params":{…}}`.
///
/// Parsing is strict about the fields the server routes on (so a handler never sees
/// a half-formed request) and ignores unknown top-level keys (so a newer client can
/// add envelope fields without breaking an older daemon).
public struct IPCRequest: Sendable, Equatable {
    /// Longest accepted method name, in UTF-8 bytes. Names are short identifiers;
    /// the cap keeps logs and error messages bounded.
    public static let maxMethodBytes = 64

    /// Chosen by the client, echoed on every answer. Must be positive: id 0 is
    /// what the server uses for errors it cannot attribute to a request.
    public let id: Int64
    public let method: String
    /// Always an object (a missing `params` reads as `{}`).
    public let params: JSONValue

    public init(id: Int64, method: String, params: JSONValue = .object([:])) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var json: JSONValue {
        .object([
            "v": .int(Int64(IPCProtocol.version)),
            "id": .int(id),
            "method": .string(method),
            "params": params,
        ])
    }

    /// Validates an envelope; every failure is `invalid_params` naming the field.
    public init(json: JSONValue) throws(IPCError) {
        guard case .object(let fields) = json else {
            throw IPCError(.invalidParams, "a request must be a JSON object, not \(json.typeName)")
        }
        guard let v = fields["v"] else { throw IPCError(.invalidParams, "the request has no \"v\"") }
        guard v.intValue == Int64(IPCProtocol.version) else {
            throw IPCError(
                .invalidParams,
                "envelope version \(v) is not supported (this side speaks \(IPCProtocol.version))"
            )
        }
        guard let id = fields["id"]?.intValue else {
            throw IPCError(.invalidParams, "the request needs an integer \"id\"")
        }
        guard id > 0 else { throw IPCError(.invalidParams, "the request id must be positive, got \(id)") }
        guard let method = fields["method"]?.stringValue else {
            throw IPCError(.invalidParams, "the request needs a string \"method\"")
        }
        guard !method.isEmpty, method.utf8.count <= Self.maxMethodBytes else {
            throw IPCError(.invalidParams, "the method name must be 1 to \(Self.maxMethodBytes) bytes long")
        }
        let params = fields["params"] ?? .object([:])
        guard case .object = params else {
            throw IPCError(.invalidParams, "\"params\" must be an object, not \(params.typeName)")
        }
        self.init(id: id, method: method, params: params)
    }
}
