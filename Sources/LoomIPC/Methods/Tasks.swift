import LoomValues

/// `tasks`: every task across the supervised projects (or one), newest first, a page at a
/// time (`more`, `nextBeforeMs`).
public enum Tasks: IPCMethod {
    public static let name = "tasks"
    public typealias Result = Document

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "states", "bundle", "sinceMs", "beforeMs", "limit"]
        public var project: String?
        public var states: [String] = []
        public var bundle: String?
        public var sinceMs: Int64?
        public var beforeMs: Int64?
        public var limit: Int64?

        public init(project: String? = nil, states: [String] = [], bundle: String? = nil, sinceMs: Int64? = nil,
                    beforeMs: Int64? = nil, limit: Int64? = nil) {
            self.project = project
            self.states = states
            self.bundle = bundle
            self.sinceMs = sinceMs
            self.beforeMs = beforeMs
            self.limit = limit
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            states = try fields.strings("states") ?? []
            bundle = try fields.string("bundle")
            sinceMs = try fields.int("sinceMs")
            beforeMs = try fields.int("beforeMs")
            limit = try fields.int("limit")
        }

        public var json: JSONValue {
            .members([
                "project": project.map(JSONValue.string), "states": states.isEmpty ? nil : .array(states.map(JSONValue.string)),
                "bundle": bundle.map(JSONValue.string), "sinceMs": sinceMs.map(JSONValue.int),
                "beforeMs": beforeMs.map(JSONValue.int), "limit": limit.map(JSONValue.int),
            ])
        }
    }
}
