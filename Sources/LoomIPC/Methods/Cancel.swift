/// `cancel`: ends a task as cancelled, with a reason for the journal.
public enum Cancel: IPCMethod {
    public static let name = "cancel"

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var reason: String?

        public init(project: String?, task: String?, reason: String? = nil) {
            self.project = project
            self.task = task
            self.reason = reason
        }
    }

    public struct Result: IPCMessage, Codable, Equatable {
        public var task: String
        public var status: String

        public init(task: String, status: String) {
            self.task = task
            self.status = status
        }
    }
}
