/// A bundle was refused. Carries every problem found, not just the first:
/// fixing a bundle should take one round trip, not one per mistake.
public struct BundleLoadError: Error, Sendable, CustomStringConvertible {
    /// In a deterministic order (the order the loader walks the bundle).
    public let problems: [BundleProblem]

    public init(problems: [BundleProblem]) {
        self.problems = problems
    }

    public var description: String {
        let header = problems.count == 1 ? "bundle has 1 problem:" : "bundle has \(problems.count) problems:"
        return ([header] + problems.map { "  " + $0.description }).joined(separator: "\n")
    }
}
