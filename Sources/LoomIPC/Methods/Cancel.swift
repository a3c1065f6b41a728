import LoomValues

/// `cancel`: ends a task as cancelled, with a reason for the journal.
public enum Cancel: IPCMethod {
    public static let name = "cancel"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "reason"]
        public var project: String?
        public var task: String?
        public var reason: String?

        public init(project: String?, task: String?, reason: String? = nil) {
            self.project = project
            self.task = task
            self.reason = reason
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            reason = try fields.string("reason")
        }

        public var json: JSONValue {
            .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string), "reason": reason.map(JSONValue.string)])
        }
    }

    public struct Result: IPCMessage, Equatable {
        public var task: String
        public var status: String

        public init(task: String, status: String) {
            self.task = task
            self.status = status
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            task = try fields.required("task", fields.string)
            status = try fields.required("status", fields.string)
        }

        public var json: JSONValue { .object(["task": .string(task), "status": .string(status)]) }
    }
}
