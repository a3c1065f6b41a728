import LoomValues

/// A result that is a document: loomd's status of the fleet, a project or a task; a page of
/// gates or tasks. Its members are listed in docs/ipc-protocol.md.
public struct Document: IPCDocument, Equatable {
    public let json: JSONValue
    public init(document: JSONValue) { json = document }
}
