import LoomValues

/// `submit`: a new task in a project (created when new). Acknowledged once committed.
public enum Submit: IPCMethod {
    public static let name = "submit"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "input", "bundle", "flow", "policy", "executor", "idempotencyKey"]
        public var project: String?
        public var input: String?
        public var bundle: String?
        public var flow: String?
        /// A policy preset's name (`full-supervised`, …).
        public var policy: String?
        /// `loomd` (the default) or `host`: who runs the task's agent steps.
        public var executor: String?
        /// Submitting again with the same key returns the same task.
        public var idempotencyKey: String?

        public init(project: String?, input: String, bundle: String? = nil, flow: String? = nil, policy: String? = nil,
                    executor: String? = nil, idempotencyKey: String? = nil) {
            self.project = project
            self.input = input
            self.bundle = bundle
            self.flow = flow
            self.policy = policy
            self.executor = executor
            self.idempotencyKey = idempotencyKey
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            input = try fields.string("input")
            bundle = try fields.string("bundle")
            flow = try fields.string("flow")
            policy = try fields.string("policy")
            executor = try fields.string("executor")
            idempotencyKey = try fields.string("idempotencyKey")
        }

        public var json: JSONValue {
            .members([
                "project": project.map(JSONValue.string), "input": input.map(JSONValue.string),
                "bundle": bundle.map(JSONValue.string), "flow": flow.map(JSONValue.string),
                "policy": policy.map(JSONValue.string), "executor": executor.map(JSONValue.string),
                "idempotencyKey": idempotencyKey.map(JSONValue.string),
            ])
        }
    }

    public struct Result: IPCMessage, Equatable {
        public var task: String
        /// False when an earlier submission with the same idempotency key made the task.
        public var created: Bool
        public var project: String

        public init(task: String, created: Bool, project: String) {
            self.task = task
            self.created = created
            self.project = project
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            task = try fields.required("task", fields.string)
            created = try fields.required("created", fields.bool)
            project = try fields.required("project", fields.string)
        }

        public var json: JSONValue { .object(["task": .string(task), "created": .bool(created), "project": .string(project)]) }
    }
}
