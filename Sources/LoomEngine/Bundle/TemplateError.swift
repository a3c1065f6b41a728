/// Why a prompt template could not be parsed or rendered.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `{{` with no `}}` before the end of its line.
    case unterminatedPlaceholder(line: Int, column: Int)
    /// `{{ ... }}` whose content is not a single name `[A-Za-z_][A-Za-z0-9_]*`.
    case invalidPlaceholder(text: String, line: Int, column: Int)
    /// `render` was not given a value for a placeholder.
    case missingValue(name: String)
    /// The rendered prompt would exceed the byte limit.
    case outputTooLarge(bytes: Int, limit: Int)

    /// Where a parse error was found (nil for render errors).
    public var line: Int? {
        switch self {
        case .unterminatedPlaceholder(let line, _), .invalidPlaceholder(_, let line, _): return line
        case .missingValue, .outputTooLarge: return nil
        }
    }

    public var column: Int? {
        switch self {
        case .unterminatedPlaceholder(_, let column), .invalidPlaceholder(_, _, let column): return column
        case .missingValue, .outputTooLarge: return nil
        }
    }

    /// The message without the position (the loader reports the position separately).
    public var message: String {
        switch self {
        case .unterminatedPlaceholder:
            return "unterminated placeholder: \"{{\" without \"}}\" on the same line"
        case .invalidPlaceholder(let text, _, _):
            return "invalid placeholder \"{{\(text)}}\": expected one name matching [A-Za-z_][A-Za-z0-9_]*"
        case .missingValue(let name):
            return "no value for template variable \"\(name)\""
        case .outputTooLarge(let bytes, let limit):
            return "rendered prompt is \(bytes) bytes, over the limit of \(limit)"
        }
    }

    public var description: String {
        if let line, let column { return "line \(line), column \(column): \(message)" }
        return message
    }
}
