/// `status`: the fleet (no params), a project (`project`), or a task (`project`, `task`).
public enum Status: IPCMethod {
    public static let name = "status"
    public typealias Params = TaskParams
    public typealias Result = Document
}
