/// One step of a flow: a unique name, the phase it belongs to, and what it does.
public struct Step: Sendable, Equatable {
    public let name: String
    /// One of the bundle's declared phases (used for progress and reporting).
    public let phase: String
    public let kind: StepKind

    public init(name: String, phase: String, kind: StepKind) {
        self.name = name
        self.phase = phase
        self.kind = kind
    }

    /// The flow a branch step falls back to; only called on branch steps.
    var fallbackFlow: String {
        guard case .branch(_, _, _, let fallback) = kind else { preconditionFailure("step \(name) is not a branch") }
        return fallback
    }
}
