import LoomValues

/// A control-plane method: its name on the wire and the types of what it takes and answers.
///
/// Each method is defined once, here in LoomIPC, and both sides use the definition: a client
/// calls `IPCClient.call(Method.self, params)` and gets `Method.Result`; loomd's dispatch
/// decodes `Method.Params` before its handler runs, and answers with `Method.Result`. A
/// malformed params object is refused as `invalid_params` naming the field, before any
/// handler sees it.
public protocol IPCMethod: Sendable {
    associatedtype Params: IPCParams
    associatedtype Result: IPCMessage
    /// The name on the wire (`projects.add`).
    static var name: String { get }
    /// True for a method that sends events before its final answer (`watch`).
    static var streams: Bool { get }
}

extension IPCMethod {
    public static var streams: Bool { false }
}

/// A value that travels as a JSON object: the params of a request or the result of one.
public protocol IPCMessage: Sendable {
    /// Reads the wire form; a member of the wrong type is `invalid_params` naming it.
    init(json: JSONValue) throws(IPCError)
    /// The wire form (absent optionals are left out).
    var json: JSONValue { get }
}

/// A request's params, which name their members, so docs/ipc-protocol.md is checked against
/// the type rather than against a copy of it.
public protocol IPCParams: IPCMessage {
    static var fields: [String] { get }
}

/// Params mapped by `Codable`, every member optional (loomd decides what a method cannot do
/// without, and says so in its own words). Their members are read off an empty instance.
public protocol IPCCodableParams: IPCParams, Codable, Equatable {}

extension IPCCodableParams {
    public static var fields: [String] {
        guard let empty = try? Self(json: .object([:])) else {
            preconditionFailure("\(Self.self): a member is not optional")
        }
        return Mirror(reflecting: empty).children.compactMap(\.label)
    }
}

/// Params and results mapped by `Codable` (synthesized): one definition of each member,
/// read and written through `IPCCoding`.
extension IPCMessage where Self: Codable {
    public init(json: JSONValue) throws(IPCError) {
        self = try IPCCoding.decode(Self.self, from: json, Self.self is any IPCParams.Type ? "params" : "result")
    }

    public var json: JSONValue { IPCCoding.encode(self) }
}
