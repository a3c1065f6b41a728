import LoomValues

/// The params of a method about one task of one project: the project (the only one when
/// loomd supervises one) and the task's id.
public struct TaskParams: IPCParams, Equatable {
    public static let fields = ["project", "task"]
    public var project: String?
    public var task: String?

    public init(project: String?, task: String?) {
        self.project = project
        self.task = task
    }

    public init(json: JSONValue) throws(IPCError) {
        let fields = try IPCFields(json, "params")
        project = try fields.string("project")
        task = try fields.string("task")
    }

    public var json: JSONValue { .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string)]) }
}
