/// An ordered list of steps a task walks through. A flow always ends with
/// exactly one `.finalize` step (the loader guarantees it).
public struct Flow: Sendable, Equatable {
    public let name: String
    public let steps: [Step]

    public init(name: String, steps: [Step]) {
        self.name = name
        self.steps = steps
    }

    /// Position of the step called `stepName`, or nil. Step names are unique
    /// within a flow, so the answer is unambiguous.
    public func index(of stepName: String) -> Int? {
        steps.firstIndex { $0.name == stepName }
    }

    /// The step called `named`, or nil.
    public func step(named: String) -> Step? {
        index(of: named).map { steps[$0] }
    }
}
