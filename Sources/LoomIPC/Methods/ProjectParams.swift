/// The params of a method about one project.
public struct ProjectParams: IPCCodableParams {
    public var project: String?

    public init(project: String?) { self.project = project }
}
