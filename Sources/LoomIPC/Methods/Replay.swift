import LoomValues

/// `replay`: re-runs a task's ticks from its journal and compares, optionally with extra
/// rules (`rules`) to see whether they would have fired.
public enum Replay: IPCMethod {
    public static let name = "replay"
    /// `outcome` (`identical`, `diverged`, `rule_would_fire`, `failed`), `report`, and the
    /// members that outcome has (`ticks`, `tick`, `table`, `violations`, `input`, `error`).
    public typealias Result = Document

    /// An operator's rule to try against the recorded history.
    public struct Rule: Sendable, Equatable {
        public var name: String?
        public var sql: String
        public var message: String?
        public var file: String?

        public init(name: String?, sql: String, message: String? = nil, file: String? = nil) {
            self.name = name
            self.sql = sql
            self.message = message
            self.file = file
        }

        var json: JSONValue {
            .members(["name": name.map(JSONValue.string), "sql": .string(sql), "message": message.map(JSONValue.string),
                      "file": file.map(JSONValue.string)])
        }
    }

    public struct Params: IPCParams, Equatable {
        public static let fields = ["project", "task", "rules"]
        public var project: String?
        public var task: String?
        public var rules: [Rule] = []

        public init(project: String?, task: String?, rules: [Rule] = []) {
            self.project = project
            self.task = task
            self.rules = rules
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "params")
            project = try fields.string("project")
            task = try fields.string("task")
            for (index, item) in (try fields.array("rules") ?? []).enumerated() {
                let rule = try IPCFields(item, "params.rules[\(index)]")
                guard let sql = try rule.string("sql") else { throw IPCError(.invalidParams, "params.rules[\(index)] needs sql") }
                rules.append(Rule(name: try rule.string("name"), sql: sql, message: try rule.string("message"), file: try rule.string("file")))
            }
        }

        public var json: JSONValue {
            .members(["project": project.map(JSONValue.string), "task": task.map(JSONValue.string),
                      "rules": rules.isEmpty ? nil : .array(rules.map(\.json))])
        }
    }
}
