/// The params of a method about one task of one project: the project (the only one when
/// loomd supervises one) and the task's id.
public struct TaskParams: IPCCodableParams {
    public var project: String?
    public var task: String?

    public init(project: String?, task: String?) {
        self.project = project
        self.task = task
    }
}
