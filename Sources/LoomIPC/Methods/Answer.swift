import LoomValues

/// `answer`: a person's answer to the gate a task waits at (`gate` names the event, so a
/// stale answer never applies to a later gate).
public enum Answer: IPCMethod {
    public static let name = "answer"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "gate", "answer", "message"]
        public var project: String?
        public var task: String?
        public var gate: String?
        /// `approve`, `request_changes` or `abandon`.
        public var answer: String?
        public var message: String?

        public init(project: String?, task: String?, gate: String? = nil, answer: String, message: String? = nil) {
            self.project = project
            self.task = task
            self.gate = gate
            self.answer = answer
            self.message = message
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            gate = try fields.string("gate")
            answer = try fields.string("answer")
            message = try fields.string("message")
        }

        public var json: JSONValue {
            .members([
                "project": project.map(JSONValue.string), "task": task.map(JSONValue.string),
                "gate": gate.map(JSONValue.string), "answer": answer.map(JSONValue.string),
                "message": message.map(JSONValue.string),
            ])
        }
    }

    public struct Result: IPCMessage, Equatable {
        public var task: String
        public var gate: String
        public var answer: String

        public init(task: String, gate: String, answer: String) {
            self.task = task
            self.gate = gate
            self.answer = answer
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            task = try fields.required("task", fields.string)
            gate = try fields.required("gate", fields.string)
            answer = try fields.required("answer", fields.string)
        }

        public var json: JSONValue { .object(["task": .string(task), "gate": .string(gate), "answer": .string(answer)]) }
    }
}
