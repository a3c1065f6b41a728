import LoomValues

/// The params of a method about one project.
public struct ProjectParams: IPCParams, Equatable {
    public static let fields = ["project"]
    public var project: String?

    public init(project: String?) { self.project = project }

    public init(json: JSONValue) throws(IPCError) {
        project = try IPCFields(json, "params").string("project")
    }

    public var json: JSONValue { .members(["project": project.map(JSONValue.string)]) }
}
