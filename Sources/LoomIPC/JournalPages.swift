import LoomValues

/// Reading a task's journal through `log`, page by page: loomd answers at most a frame's
/// worth at a time and says `more` until the last page. loomctl and the dashboard both page
/// with this.
public enum JournalPages {
    /// Calls `each` with every entry after `after`, in order; `call` makes one `log` request.
    /// A page that moved nothing forward ends the reading: asking again would get the same
    /// page for ever.
    public static func read(
        project: String,
        task: String,
        after: Int64 = 0,
        call: (Log.Params) throws -> Log.Result,
        each: (JSONValue) throws -> Void
    ) throws {
        var from: Int64? = after
        while let current = from {
            let page = try call(Log.Params(project: project, task: task, after: current))
            for entry in page.entries { try each(entry) }
            from = page.next(after: current)
        }
    }
}
