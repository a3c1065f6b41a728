/// `tasks`: every task across the supervised projects (or one), newest first, a page at a
/// time (`more`, `nextBeforeMs`).
public enum Tasks: IPCMethod {
    public static let name = "tasks"
    public typealias Result = Document

    public struct Params: IPCCodableParams {
        public var project: String?
        public var states: [String]?
        public var bundle: String?
        public var sinceMs: Int64?
        public var beforeMs: Int64?
        public var limit: Int64?

        public init(
            project: String? = nil,
            states: [String]? = nil,
            bundle: String? = nil,
            sinceMs: Int64? = nil,
            beforeMs: Int64? = nil,
            limit: Int64? = nil
        ) {
            self.project = project
            self.states = states
            self.bundle = bundle
            self.sinceMs = sinceMs
            self.beforeMs = beforeMs
            self.limit = limit
        }
    }
}
