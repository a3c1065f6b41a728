/// `graph`: the dot text of a loaded bundle's flows (`bundle`), or of a task's path over
/// the flows of the bundle version it ran (`project`, `task`).
public enum Graph: IPCMethod {
    public static let name = "graph"

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var bundle: String?

        public init(project: String? = nil, task: String? = nil, bundle: String? = nil) {
            self.project = project
            self.task = task
            self.bundle = bundle
        }
    }

    public struct Result: IPCMessage, Codable, Equatable {
        public var dot: String

        public init(dot: String) {
            self.dot = dot
        }
    }
}
