import LoomValues

/// `watch`: a stream of a project's (or a task's) journal entries and agents' progress as
/// they happen, the entries after `after` first; with `fleet`, a `changed` event after each
/// tick of any project. It ends only with an error (the project went away) or when the
/// client closes.
public enum Watch: IPCMethod {
    public static let name = "watch"
    public static let streams = true
    public typealias Result = Document

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "after", "fleet"]
        public var project: String?
        public var task: String?
        public var after: Int64?
        public var fleet: Bool

        public init(project: String? = nil, task: String? = nil, after: Int64? = nil, fleet: Bool = false) {
            self.project = project
            self.task = task
            self.after = after
            self.fleet = fleet
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            after = try fields.int("after")
            fleet = try fields.bool("fleet") ?? false
        }

        public var json: JSONValue {
            .members([
                "project": project.map(JSONValue.string), "task": task.map(JSONValue.string),
                "after": after.map(JSONValue.int), "fleet": fleet ? .bool(true) : nil,
            ])
        }
    }
}
