/// `replay`: re-runs a task's ticks from its journal and compares, optionally with extra
/// rules (`rules`) to see whether they would have fired.
public enum Replay: IPCMethod {
    public static let name = "replay"
    /// `outcome` (`identical`, `diverged`, `rule_would_fire`, `failed`, `other_semantics`), `report`, and the
    /// members that outcome has (`ticks`, `tick`, `table`, `violations`, `input`, `error`).
    public typealias Result = Document

    /// An operator's rule to try against the recorded history.
    public struct Rule: Codable, Sendable, Equatable {
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
    }

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var rules: [Rule]?

        public init(project: String?, task: String?, rules: [Rule]? = nil) {
            self.project = project
            self.task = task
            self.rules = rules
        }
    }
}
