import LoomValues

/// `log`: a task's journal entries after `after` (a seq), a frame's worth at a time.
public enum Log: IPCMethod {
    public static let name = "log"

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var after: Int64?

        public init(project: String?, task: String?, after: Int64? = nil) {
            self.project = project
            self.task = task
            self.after = after
        }
    }

    /// Mapped by hand: the entries are journal documents, passed through as they are.
    public struct Result: IPCMessage, Equatable {
        /// Journal entries (`seq`, `kind`, `payload`, …), oldest first.
        public var entries: [JSONValue]
        /// More entries follow: ask again after the last one's seq.
        public var more: Bool

        public init(entries: [JSONValue], more: Bool) {
            self.entries = entries
            self.more = more
        }

        public init(json: JSONValue) throws(IPCError) {
            let members = try IPCCoding.members(of: json, "result")
            guard let entries = members["entries"]?.arrayValue else {
                throw IPCError(.internal, "result.entries must be an array")
            }
            self.init(entries: entries, more: members["more"]?.boolValue ?? false)
        }

        public var json: JSONValue { .object(["entries": .array(entries), "more": .bool(more)]) }

        /// The `after` of the next page, or nil when this was the last. A page that moved
        /// nothing forward ends the reading: asking again would get the same page for ever.
        public func next(after: Int64) -> Int64? {
            guard more, let last = entries.last?["seq"]?.intValue, last > after else { return nil }
            return last
        }
    }
}
