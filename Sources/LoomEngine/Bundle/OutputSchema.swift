import LoomValues

/// The shape an agent's output must have: a small JSON-Schema subset.
///
/// Supported keywords: `type` (object, array, string, integer, number,
/// boolean, null), `properties`, `required`, `additionalProperties` (boolean
/// only), `items`, `enum` (strings or numbers), `minLength`/`maxLength`
/// (counted in Characters), `minItems`/`maxItems`, `minimum`/`maximum`.
/// Any other keyword is refused at load time: a schema that *looks* like it
/// constrains something it does not would let bad output through silently.
/// For the same reason a keyword that cannot apply to the declared `type`
/// (say `items` on a string) is refused.
///
/// Without `type`, a node accepts any value and applies the keywords that fit
/// the value's actual type, as JSON Schema does.
public struct OutputSchema: Sendable, Equatable {
    /// The JSON types a schema node may require.
    public enum ValueType: String, Sendable, Equatable, CaseIterable {
        case object, array, string, integer, number, boolean, null
    }

    /// Most errors `validate` returns; past this point more detail rarely
    /// helps the agent that has to fix its output, and it keeps retries small.
    public static let maxErrors = 20

    static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "enum",
        "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum",
    ]

    /// The schema exactly as written (useful to show a model what is expected).
    public let json: JSONValue
    public let type: ValueType?
    public let properties: [String: OutputSchema]
    /// Required property names, in declared order.
    public let required: [String]
    /// JSON Schema's default: extra properties are allowed unless this is false.
    public let additionalProperties: Bool
    public let enumValues: [JSONValue]?
    public let minLength: Int?
    public let maxLength: Int?
    public let minItems: Int?
    public let maxItems: Int?
    /// `.int` or `.double`.
    public let minimum: JSONValue?
    public let maximum: JSONValue?
    // Zero or one element: a struct cannot hold an Optional of itself.
    private let itemsStorage: [OutputSchema]

    /// The schema of array elements, if constrained.
    public var items: OutputSchema? { itemsStorage.first }

    public init(_ json: JSONValue) throws(OutputSchemaError) {
        var problems: [OutputSchemaError.Problem] = []
        let schema = OutputSchema(parsing: json, path: "$", problems: &problems)
        if !problems.isEmpty { throw OutputSchemaError(problems: problems) }
        self = schema
    }

    // Parses leniently and records every problem, so one pass reports all of
    // them; the result is only used when no problem was recorded. A value that
    // is not an object reads as an empty one, which every keyword's default fits.
    init(parsing json: JSONValue, path: String, problems: inout [OutputSchemaError.Problem]) {
        var reader = KeywordReader(fields: json.objectValue ?? [:], path: path)
        if json.objectValue == nil {
            reader.problem(path, "a schema must be an object, found \(json.typeName)")
        }
        self.json = json
        reader.refuseUnknownKeywords()
        type = reader.type()
        reader.refuseInapplicableKeywords(to: type)
        properties = reader.properties()
        additionalProperties = reader.additionalProperties()
        required = reader.required(declared: properties, additionalProperties: additionalProperties)
        itemsStorage = reader.items()
        enumValues = reader.enumValues(of: type)
        minLength = reader.count("minLength")
        maxLength = reader.count("maxLength")
        minItems = reader.count("minItems")
        maxItems = reader.count("maxItems")
        reader.refuseCrossedCounts("minLength", minLength, "maxLength", maxLength)
        reader.refuseCrossedCounts("minItems", minItems, "maxItems", maxItems)
        minimum = reader.bound("minimum")
        maximum = reader.bound("maximum")
        reader.refuseCrossedBounds(minimum, maximum)
        problems += reader.problems
    }

    // MARK: - Validation

    /// Checks `value` against the schema. Returns human-readable errors, each
    /// prefixed with the JSON path of the offending value (`$.findings[2].severity:
    /// expected one of blocking, warn, info`), in a deterministic order
    /// (object members by byte order of their names), at most `maxErrors`.
    /// An empty array means the value is valid.
    public func validate(_ value: JSONValue) -> [String] {
        var errors: [String] = []
        check(value, path: "$", errors: &errors)
        return errors
    }

    private func check(_ value: JSONValue, path: String, errors: inout [String]) {
        func report(_ at: String, _ message: String) {
            if errors.count < Self.maxErrors { errors.append("\(at): \(message)") }
        }
        if errors.count >= Self.maxErrors { return }

        if let type, !Self.matches(value, type) {
            report(path, "expected \(Self.article(type.rawValue)), found \(value.typeName)")
            return
        }
        if let enumValues, !enumValues.contains(where: { Self.sameEnumValue($0, value) }) {
            let listed = enumValues.map { $0.stringValue ?? $0.canonicalText }.joined(separator: ", ")
            report(path, "expected one of \(listed)")
            return
        }
        switch value {
        case .string(let text):
            // Counting Characters only when a bound exists keeps the common case cheap.
            if minLength != nil || maxLength != nil {
                let length = text.count
                if let minLength, length < minLength {
                    report(path, "expected at least \(minLength) characters, found \(length)")
                }
                if let maxLength, length > maxLength {
                    report(path, "expected at most \(maxLength) characters, found \(length)")
                }
            }
        case .int, .double:
            if let minimum, Self.compare(value, minimum) < 0 {
                report(path, "expected a number >= \(minimum.canonicalText), found \(value.canonicalText)")
            }
            if let maximum, Self.compare(value, maximum) > 0 {
                report(path, "expected a number <= \(maximum.canonicalText), found \(value.canonicalText)")
            }
        case .array(let elements):
            if let minItems, elements.count < minItems {
                report(path, "expected at least \(minItems) items, found \(elements.count)")
            }
            if let maxItems, elements.count > maxItems {
                report(path, "expected at most \(maxItems) items, found \(elements.count)")
            }
            if let items {
                for (index, element) in elements.enumerated() {
                    if errors.count >= Self.maxErrors { return }
                    items.check(element, path: PathText.index(path, index), errors: &errors)
                }
            }
        case .object(let members):
            for name in required where members[name] == nil {
                report(PathText.member(path, name), "missing required property")
            }
            for name in members.keys.sorted(by: BundleNames.utf8Less) {
                if errors.count >= Self.maxErrors { return }
                if let schema = properties[name] {
                    schema.check(members[name]!, path: PathText.member(path, name), errors: &errors)
                } else if !additionalProperties {
                    report(PathText.member(path, name), "unexpected property (the schema does not declare it)")
                }
            }
        case .null, .bool:
            break
        }
    }

    // MARK: - Helpers

    private static func article(_ word: String) -> String {
        let vowels: Set<Character> = ["a", "e", "i", "o", "u"]
        if word == "null" { return "null" }
        return (vowels.contains(word.first ?? "x") ? "an " : "a ") + word
    }

    static func isIntegral(_ value: JSONValue) -> Bool {
        switch value {
        case .int: return true
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d
        default: return false
        }
    }

    static func matches(_ value: JSONValue, _ type: ValueType) -> Bool {
        switch (type, value) {
        case (.object, .object), (.array, .array), (.string, .string), (.boolean, .bool), (.null, .null):
            return true
        case (.number, .int), (.number, .double):
            return true
        case (.integer, _):
            // JSON Schema counts 1.0 as an integer.
            return isIntegral(value)
        default:
            return false
        }
    }

    /// Enum membership: strings by equality, numbers by value (1 == 1.0).
    static func sameEnumValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double): return compare(a, b) == 0
        default: return false
        }
    }

    /// Numeric three-way comparison; exact for two integers, by Double otherwise.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int {
        if case .int(let x) = a, case .int(let y) = b {
            return x < y ? -1 : (x > y ? 1 : 0)
        }
        let x = a.doubleValue ?? 0
        let y = b.doubleValue ?? 0
        return x < y ? -1 : (x > y ? 1 : 0)
    }
}
