/// `submit`: a new task in a project (created when new). Acknowledged once committed.
public enum Submit: IPCMethod {
    public static let name = "submit"

    public struct Params: IPCCodableParams {
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

        public init(
            project: String?,
            input: String,
            bundle: String? = nil,
            flow: String? = nil,
            policy: String? = nil,
            executor: String? = nil,
            idempotencyKey: String? = nil
        ) {
            self.project = project
            self.input = input
            self.bundle = bundle
            self.flow = flow
            self.policy = policy
            self.executor = executor
            self.idempotencyKey = idempotencyKey
        }
    }

    public struct Result: IPCMessage, Codable, Equatable {
        public var task: String
        /// False when an earlier submission with the same idempotency key made the task.
        public var created: Bool
        public var project: String

        public init(task: String, created: Bool, project: String) {
            self.task = task
            self.created = created
            self.project = project
        }
    }
}
