/// `answer`: a person's answer to the gate a task waits at (`gate` names the event, so a
/// stale answer never applies to a later gate).
public enum Answer: IPCMethod {
    public static let name = "answer"

    public struct Params: IPCCodableParams {
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
    }

    public struct Result: IPCMessage, Codable, Equatable {
        public var task: String
        public var gate: String
        public var answer: String

        public init(task: String, gate: String, answer: String) {
            self.task = task
            self.gate = gate
            self.answer = answer
        }
    }
}
