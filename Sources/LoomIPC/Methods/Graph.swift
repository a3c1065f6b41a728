import LoomValues

/// `graph`: the dot text of a loaded bundle's flows (`bundle`), or of a task's path over
/// the flows of the bundle version it ran (`project`, `task`).
public enum Graph: IPCMethod {
    public static let name = "graph"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "bundle"]
        public var project: String?
        public var task: String?
        public var bundle: String?

        public init(project: String? = nil, task: String? = nil, bundle: String? = nil) {
            self.project = project
            self.task = task
            self.bundle = bundle
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            bundle = try fields.string("bundle")
        }

        public var json: JSONValue {
            .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string), "bundle": bundle.map(JSONValue.string)])
        }
    }

    public struct Result: IPCMessage, Equatable {
        public var dot: String
        public init(dot: String) { self.dot = dot }
        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            dot = try fields.required("dot", fields.string)
        }
        public var json: JSONValue { .object(["dot": .string(dot)]) }
    }
}
