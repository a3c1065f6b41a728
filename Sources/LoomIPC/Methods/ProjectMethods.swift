import LoomValues

/// `projects.list`: the supervised projects, whether each is open, and any quarantine.
public enum ProjectsList: IPCMethod {
    public static let name = "projects.list"
    public typealias Params = NoParams
    public typealias Result = Document
}

/// `projects.add`: supervise a project (an existing directory).
public enum ProjectsAdd: IPCMethod {
    public static let name = "projects.add"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<Added>
}

/// `projects.remove`: stop supervising a project (its `.loom` stays).
public enum ProjectsRemove: IPCMethod {
    public static let name = "projects.remove"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<Removed>
}

/// `projects.clear-quarantine`: an approver lets loomd drive a quarantined project again.
public enum ProjectsClearQuarantine: IPCMethod {
    public static let name = "projects.clear-quarantine"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<Cleared>
}

/// The member that says whether a project change did anything (`added`, `removed`, `cleared`).
public protocol ProjectChangeKind: Sendable { static var member: String { get } }
public enum Added: ProjectChangeKind { public static let member = "added" }
public enum Removed: ProjectChangeKind { public static let member = "removed" }
public enum Cleared: ProjectChangeKind { public static let member = "cleared" }

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
