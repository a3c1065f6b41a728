/// A JSON parse failure. `offset` is the byte offset into the input where the
/// problem was detected.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case syntax
        case tooDeep = "too_deep"
        case tooLarge = "too_large"
        case invalidUTF8 = "invalid_utf8"
        case nonFiniteNumber = "non_finite_number"
    }

    public let code: Code
    public let offset: Int
    public let message: String

    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String {
        "JSON \(code.rawValue) at byte \(offset): \(message)"
    }
}
