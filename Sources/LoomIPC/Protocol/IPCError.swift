import LoomValues

/// A typed control-plane error: a wire code plus a human-readable message.
///
/// The same value is thrown locally (by the client, the decoder, `bind`) and sent
/// on the wire as `{"code":"…","message":"…"}`, so a CLI can print a daemon-side
/// error exactly as it would print a local one.
public struct IPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: IPCErrorCode
    public let message: String
    /// Where a client's connection failed, when it did (never on the wire): no daemon to
    /// connect to, or one that took the connection and did not say hello. A CLI suggests
    /// starting loomd only for the first.
    public private(set) var stage: ConnectStage?

    public enum ConnectStage: Sendable, Equatable {
        case connect
        case hello
    }

    public init(_ code: IPCErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Equal when the wire says the same: the stage is the client's own annotation.
    public static func == (a: IPCError, b: IPCError) -> Bool { a.code == b.code && a.message == b.message }

    /// The same error, marked as a connection failure at `stage`.
    public func failing(_ stage: ConnectStage) -> IPCError {
        var marked = self
        marked.stage = stage
        return marked
    }

    /// The wire form: `{"code":"<code>","message":"<text>"}`.
    public var json: JSONValue {
        .object(["code": .string(code.rawValue), "message": .string(message)])
    }

    /// Reads the wire form; nil unless `json` is an object with a known `code` string
    /// and a `message` string.
    public init?(json: JSONValue) {
        guard let raw = json["code"]?.stringValue, let code = IPCErrorCode(rawValue: raw),
            let message = json["message"]?.stringValue
        else { return nil }
        self.init(code, message)
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
