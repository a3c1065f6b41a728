/// One thing wrong with a bundle, precise enough to fix without guessing:
/// the file, where in it, and what is wrong.
public struct BundleProblem: Sendable, Equatable, CustomStringConvertible {
    /// Bundle-relative path of the file the problem is in ("(bundle)" for
    /// problems of the bundle as a whole, such as its total size).
    public let file: String
    /// A JSON path into the manifest (`flows.standard.steps[2].agent`), or a
    /// text position (`line 3, column 7`) in a template or SQL file; empty
    /// when the problem concerns the whole file.
    public let location: String
    public let message: String

    public init(file: String, location: String, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        location.isEmpty ? "\(file): \(message)" : "\(file): \(location): \(message)"
    }
}
