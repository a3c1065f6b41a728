import LoomEngine

/// Reading a task's journal through `log`, page by page: loomd answers at most a frame's
/// worth at a time and says `more` until the last page. loomctl and the dashboard both page
/// with this.
public enum JournalPages {
    /// The `log` params for the page after `after`.
    public static func params(project: String, task: String, after: Int64) -> [String: JSONValue] {
        ["project": .string(project), "task": .string(task), "after": .int(after)]
    }

    /// The `after` for the page that follows `page` (asked with `after`), or nil when it was
    /// the last. A page that moved nothing forward ends the reading: asking again would get
    /// the same page for ever.
    public static func next(after: Int64, page: JSONValue) -> Int64? {
        let newest = page["entries"]?.arrayValue?.last?["seq"]?.intValue ?? after
        return page["more"]?.boolValue == true && newest > after ? newest : nil
    }

    /// Calls `each` with every entry after `after`, in order; `call` makes one `log` request
    /// with the params given.
    public static func read(project: String, task: String, after: Int64 = 0, call: (JSONValue) throws -> JSONValue,
                            each: (JSONValue) throws -> Void) throws {
        var from: Int64? = after
        while let current = from {
            let page = try call(.object(params(project: project, task: task, after: current)))
            for entry in page["entries"]?.arrayValue ?? [] { try each(entry) }
            from = next(after: current, page: page)
        }
    }
}
