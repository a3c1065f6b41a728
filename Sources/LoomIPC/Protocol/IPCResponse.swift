import LoomValues

/// One answer frame from the server: a final `result` or `error`, or a stream `event`.
///
/// Internal: the server builds these and the client reads them; callers only ever
/// see the payloads (`IPCReply`, `IPCClient`).
package enum IPCResponse: Sendable, Equatable {
    case result(id: Int64, JSONValue)
    case error(id: Int64, IPCError)
    case event(id: Int64, JSONValue)

    package var json: JSONValue {
        let v = JSONValue.int(Int64(IPCProtocol.version))
        switch self {
        case .result(let id, let value): return .object(["v": v, "id": .int(id), "result": value])
        case .error(let id, let error): return .object(["v": v, "id": .int(id), "error": error.json])
        case .event(let id, let value): return .object(["v": v, "id": .int(id), "event": value])
        }
    }

    /// Reads an answer envelope; a malformed one is the server's bug, hence `internal`.
    package init(json: JSONValue) throws(IPCError) {
        guard case .object(let fields) = json, fields["v"]?.intValue == Int64(IPCProtocol.version),
            let id = fields["id"]?.intValue
        else {
            throw IPCError(.internal, "the server sent a malformed answer: \(Self.excerpt(json))")
        }
        if let result = fields["result"] {
            self = .result(id: id, result)
        } else if let event = fields["event"] {
            self = .event(id: id, event)
        } else if let error = fields["error"] {
            self = .error(
                id: id,
                IPCError(json: error)
                    ?? IPCError(.internal, "the server sent an unrecognized error: \(Self.excerpt(error))")
            )
        } else {
            throw IPCError(.internal, "the server sent an answer with no result, error or event")
        }
    }

    /// Bounds how much of a bad message lands in an error string.
    static let excerptBytes = 200

    private static func excerpt(_ value: JSONValue) -> String {
        let text = value.canonicalText
        return text.utf8.count <= excerptBytes
            ? text : String(decoding: text.utf8.prefix(excerptBytes), as: UTF8.self) + "…"
    }
}
