import LoomEngine

/// Reads a task's journal through `log`, page by page: loomd answers at most a frame's
/// worth at a time and says `more` until the last page.
enum JournalPages {
    /// Calls `each` with every entry after `after`, in order; `call` makes one `log` request
    /// with the params given. Returns the last seq seen (`after` when there was none).
    @discardableResult
    static func read(project: String, task: String, after: Int64 = 0, call: (JSONValue) throws -> JSONValue,
                     each: (JSONValue) throws -> Void) throws -> Int64 {
        var last = after
        while true {
            let page = try call(.object(["project": .string(project), "task": .string(task), "after": .int(last)]))
            let entries = page["entries"]?.arrayValue ?? []
            for entry in entries { try each(entry) }
            let newest = entries.last?["seq"]?.intValue ?? last
            // No progress would ask for the same page for ever.
            guard page["more"]?.boolValue == true, newest > last else { return newest }
            last = newest
        }
    }
}
