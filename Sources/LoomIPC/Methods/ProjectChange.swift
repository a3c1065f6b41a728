import LoomValues

/// The member that says whether a project change did anything (`added`, `removed`, `cleared`).
public protocol ProjectChangeKind: Sendable { static var member: String { get } }
public enum ProjectAdded: ProjectChangeKind { public static let member = "added" }
public enum ProjectRemoved: ProjectChangeKind { public static let member = "removed" }
public enum QuarantineCleared: ProjectChangeKind { public static let member = "cleared" }

/// The project a change was made to, and whether it changed anything (false: it was
/// already so).
public struct ProjectChange<Kind: ProjectChangeKind>: IPCMessage, Equatable {
    public var path: String
    public var changed: Bool

    public init(path: String, changed: Bool) {
        self.path = path
        self.changed = changed
    }

    public init(json: JSONValue) throws(IPCError) {
        let members = try IPCCoding.members(of: json, "result")
        guard let path = members["path"]?.stringValue, let changed = members[Kind.member]?.boolValue else {
            throw IPCError(.internal, "result needs a string path and a boolean \(Kind.member)")
        }
        self.init(path: path, changed: changed)
    }

    public var json: JSONValue { .object(["path": .string(path), Kind.member: .bool(changed)]) }
}
