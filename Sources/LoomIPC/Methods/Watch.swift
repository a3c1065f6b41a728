/// `watch`: a stream of a project's (or a task's) journal entries and agents' progress as
/// they happen, the entries after `after` first; with `fleet`, a `changed` event after each
/// tick of any project. It ends only with an error (the project went away) or when the
/// client closes.
public enum Watch: IPCMethod {
    public static let name = "watch"
    public static let streams = true
    public typealias Result = Document

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var after: Int64?
        public var fleet: Bool?

        public init(project: String? = nil, task: String? = nil, after: Int64? = nil, fleet: Bool? = nil) {
            self.project = project
            self.task = task
            self.after = after
            self.fleet = fleet
        }
    }
}
