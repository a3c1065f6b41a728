import LoomEngine

/// What loomd's `status` does not list: a project's recent tasks, finished ones included
/// (a finished task is what a person ships). Read from the project's database opened
/// read-only, as `loomctl graph` and `loomctl verify` do; never written.
public enum ProjectDatabase {
    public struct TaskRow: Sendable {
        public var id: String
        public var status: String
        public var step: String
        public var flow: String
        public var input: String
    }

    public static func recentTasks(project: String, limit: Int) -> [TaskRow] {
        guard let store = try? Store(path: "\(project)/.loom/state.db", options: .readOnlyAccess),
              let rows = try? store.query("SELECT id, status, step, flow, input FROM tasks ORDER BY seq DESC LIMIT \(max(1, limit))") else { return [] }
        return rows.map {
            TaskRow(id: $0["id"]?.stringValue ?? "?", status: $0["status"]?.stringValue ?? "?", step: $0["step"]?.stringValue ?? "",
                    flow: $0["flow"]?.stringValue ?? "", input: String(($0["input"]?.stringValue ?? "").prefix(160)))
        }
    }
}
