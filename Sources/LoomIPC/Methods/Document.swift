import LoomValues

/// A result that is a document: loomd's status of the fleet, a project or a task; a page of
/// gates or tasks; a replay's report. Its members are listed in docs/ipc-protocol.md;
/// clients print it as it is or read the members they need.
public struct Document: IPCMessage, Equatable {
    public let json: JSONValue

    public init(document: JSONValue) { json = document }

    public init(json: JSONValue) throws(IPCError) {
        _ = try IPCCoding.members(of: json, "result")
        self.init(document: json)
    }

    /// A member of the document.
    public subscript(key: String) -> JSONValue? { json[key] }
}
