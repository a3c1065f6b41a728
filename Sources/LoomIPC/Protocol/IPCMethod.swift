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
        guard let empty = try? Self(json: .object([:])) else { preconditionFailure("\(Self.self): a member is not optional") }
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

/// A method that takes no params.
public struct NoParams: IPCParams, Equatable {
    public static let fields: [String] = []
    public init() {}
    public init(json: JSONValue) throws(IPCError) { _ = try IPCCoding.members(of: json, "params") }
    public var json: JSONValue { .object([:]) }
}

/// A result that is a document (a status, a journal entry): its schema is in
/// docs/ipc-protocol.md, clients print it as it is or read the members they need.
public protocol IPCDocument: IPCMessage {
    init(document: JSONValue)
}

extension IPCDocument {
    public init(json: JSONValue) throws(IPCError) {
        guard case .object = json else { throw IPCError(.internal, "the answer must be an object, not \(json.typeName)") }
        self.init(document: json)
    }

    /// A member of the document.
    public subscript(key: String) -> JSONValue? { json[key] }
}

/// Every method loomd answers, in the order docs/ipc-protocol.md lists them.
public enum IPCMethods {
    public static let all: [any IPCMethod.Type] = [
        Submit.self, Status.self, Gates.self, Tasks.self, Log.self, Answer.self, Cancel.self, Replay.self,
        Metrics.self, Watch.self, Bundles.self, Graph.self,
        ProjectsList.self, ProjectsAdd.self, ProjectsRemove.self, ProjectsClearQuarantine.self,
        HostsAttach.self, EffectsPending.self, EffectsDeliver.self,
    ]
}
