import LoomValues

/// `hosts.attach`: an agent host (an MCP client's session) says it runs steps for loomd.
public enum HostsAttach: IPCMethod {
    public static let name = "hosts.attach"
    public typealias Params = NoParams
    /// `hosts` (the attached host pids) and `principal` (who loomd takes the caller for).
    public typealias Result = Document
}

/// `effects.pending`: the agent steps waiting for a host, oldest first.
public enum EffectsPending: IPCMethod {
    public static let name = "effects.pending"
    /// `project` and `effects` (key, task, step, role, prompt, …).
    public typealias Result = Document

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "limit"]
        public var project: String?
        public var task: String?
        public var limit: Int64?

        public init(project: String? = nil, task: String? = nil, limit: Int64? = nil) {
            self.project = project
            self.task = task
            self.limit = limit
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            limit = try fields.int("limit")
        }

        public var json: JSONValue {
            .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string), "limit": limit.map(JSONValue.int)])
        }
    }
}

/// `effects.deliver`: a host's result for one pending step (its output, or why it could not
/// be done), with the session that did it.
public enum EffectsDeliver: IPCMethod {
    public static let name = "effects.deliver"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "key", "session", "output", "error", "usage", "model"]
        public var project: String?
        public var key: String?
        public var session: String?
        public var output: String?
        public var error: String?
        /// `in`, `out`, `cached` token counts as the host's model reported them.
        public var usage: JSONValue?
        public var model: String?

        public init(project: String?, key: String, session: String, output: String? = nil, error: String? = nil,
                    usage: JSONValue? = nil, model: String? = nil) {
            self.project = project
            self.key = key
            self.session = session
            self.output = output
            self.error = error
            self.usage = usage
            self.model = model
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            key = try fields.string("key")
            session = try fields.string("session")
            output = try fields.string("output")
            error = try fields.string("error")
            usage = try fields.object("usage")
            model = try fields.string("model")
        }

        public var json: JSONValue {
            .members([
                "project": project.map(JSONValue.string), "key": key.map(JSONValue.string),
                "session": session.map(JSONValue.string), "output": output.map(JSONValue.string),
                "error": error.map(JSONValue.string), "usage": usage, "model": model.map(JSONValue.string),
            ])
        }
    }

    public struct Result: IPCMessage, Equatable {
        public var key: String
        public var task: String
        /// What became of the delivery (`applied`, `duplicate`, …).
        public var outcome: String
        /// Who the journal names as the step's author (`host:<session>`).
        public var author: String

        public init(key: String, task: String, outcome: String, author: String) {
            self.key = key
            self.task = task
            self.outcome = outcome
            self.author = author
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            key = try fields.required("key", fields.string)
            task = try fields.required("task", fields.string)
            outcome = try fields.required("outcome", fields.string)
            author = try fields.required("author", fields.string)
        }

        public var json: JSONValue {
            .object(["key": .string(key), "task": .string(task), "outcome": .string(outcome), "author": .string(author)])
        }
    }
}
