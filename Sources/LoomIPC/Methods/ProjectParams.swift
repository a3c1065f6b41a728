/// The params of a method about one project.
public struct ProjectParams: IPCCodableParams {
    public typealias Field = CodingKeys
    public enum CodingKeys: String, CodingKey, CaseIterable { case project }

    public var project: String?

    public init(project: String?) { self.project = project }
}
