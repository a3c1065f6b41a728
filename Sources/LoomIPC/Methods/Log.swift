import LoomValues

/// `log`: a task's journal entries after `after` (a seq), a frame's worth at a time.
public enum Log: IPCMethod {
    public static let name = "log"

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "after"]
        public var project: String?
        public var task: String?
        public var after: Int64?

        public init(project: String?, task: String?, after: Int64? = nil) {
            self.project = project
            self.task = task
            self.after = after
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            after = try fields.int("after")
        }

        public var json: JSONValue {
            .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string), "after": after.map(JSONValue.int)])
        }
    }

    public struct Result: IPCMessage, Equatable {
        /// Journal entries as documents (`seq`, `kind`, `payload`, …), oldest first.
        public var entries: [JSONValue]
        /// More entries follow: ask again after the last one's seq.
        public var more: Bool

        public init(entries: [JSONValue], more: Bool) {
            self.entries = entries
            self.more = more
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            entries = try fields.required("entries", fields.array)
            more = try fields.bool("more") ?? false
        }

        public var json: JSONValue { .object(["entries": .array(entries), "more": .bool(more)]) }

        /// The `after` of the next page, or nil when this was the last.
        public func next(after: Int64) -> Int64? {
            guard more, let last = entries.last?["seq"]?.intValue, last > after else { return nil }
            return last
        }
    }
}
