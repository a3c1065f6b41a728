/// Why a JSON value is not an acceptable `OutputSchema`. Every problem found
/// is listed, each with the JSON path of the offending keyword.
public struct OutputSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One problem: `path` is rooted at `$` (the schema itself), e.g.
    /// `$.properties.findings.items.type`.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        public var description: String { "\(path): \(message)" }
    }

    public let problems: [Problem]

    public init(problems: [Problem]) {
        self.problems = problems
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
