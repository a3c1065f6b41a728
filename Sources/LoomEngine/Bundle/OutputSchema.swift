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
    // them; the result is only used when no problem was recorded.
    private init(parsing json: JSONValue, path: String, problems: inout [OutputSchemaError.Problem]) {
        func problem(_ at: String, _ message: String) {
            problems.append(.init(path: at, message: message))
        }
        self.json = json
        guard let fields = json.objectValue else {
            problem(path, "a schema must be an object, found \(json.typeName)")
            self.type = nil
            self.properties = [:]
            self.required = []
            self.additionalProperties = true
            self.enumValues = nil
            self.minLength = nil
            self.maxLength = nil
            self.minItems = nil
            self.maxItems = nil
            self.minimum = nil
            self.maximum = nil
            self.itemsStorage = []
            return
        }
        let keys = fields.keys.sorted(by: BundleNames.utf8Less)
        for key in keys where !Self.keywords.contains(key) {
            problem(PathText.member(path, key), "unsupported schema keyword \"\(key)\"" + BundleNames.hint(for: key, among: Self.keywords))
        }

        // type
        var type: ValueType?
        if let raw = fields["type"] {
            if let name = raw.stringValue, let parsed = ValueType(rawValue: name) {
                type = parsed
            } else if let name = raw.stringValue {
                problem(PathText.member(path, "type"), "unknown type \"\(name)\"; expected one of \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
            } else {
                problem(PathText.member(path, "type"), "expected a single type name (a string), found \(raw.typeName)")
            }
        }
        self.type = type

        // Keywords that cannot apply to the declared type would be dead letters.
        let applicable: [String: Set<ValueType>] = [
            "properties": [.object], "required": [.object], "additionalProperties": [.object],
            "items": [.array], "minItems": [.array], "maxItems": [.array],
            "minLength": [.string], "maxLength": [.string],
            "minimum": [.integer, .number], "maximum": [.integer, .number],
            "enum": [.string, .integer, .number],
        ]
        if let type {
            for key in keys {
                if let allowed = applicable[key], !allowed.contains(type) {
                    problem(PathText.member(path, key), "\"\(key)\" does not apply to type \(type.rawValue)")
                }
            }
        }

        // properties
        var properties: [String: OutputSchema] = [:]
        if let raw = fields["properties"] {
            if let members = raw.objectValue {
                for name in members.keys.sorted(by: BundleNames.utf8Less) {
                    properties[name] = OutputSchema(parsing: members[name]!, path: PathText.member(PathText.member(path, "properties"), name), problems: &problems)
                }
            } else {
                problem(PathText.member(path, "properties"), "expected an object of schemas, found \(raw.typeName)")
            }
        }
        self.properties = properties

        // additionalProperties
        var additional = true
        if let raw = fields["additionalProperties"] {
            if let flag = raw.boolValue {
                additional = flag
            } else {
                problem(PathText.member(path, "additionalProperties"), "expected a boolean (schema-valued additionalProperties is not supported), found \(raw.typeName)")
            }
        }
        self.additionalProperties = additional

        // required
        var required: [String] = []
        if let raw = fields["required"] {
            let at = PathText.member(path, "required")
            if let list = raw.arrayValue {
                var seen = Set<String>()
                for (index, element) in list.enumerated() {
                    guard let name = element.stringValue else {
                        problem(PathText.index(at, index), "expected a property name (a string), found \(element.typeName)")
                        continue
                    }
                    if !seen.insert(name).inserted {
                        problem(PathText.index(at, index), "\"\(name)\" is listed twice")
                        continue
                    }
                    if !additional, properties[name] == nil, fields["properties"] == nil || fields["properties"]?.objectValue != nil {
                        problem(PathText.index(at, index), "\"\(name)\" is required but not declared in properties, and additionalProperties is false, so no value can satisfy it")
                    }
                    required.append(name)
                }
            } else {
                problem(at, "expected an array of property names, found \(raw.typeName)")
            }
        }
        self.required = required

        // items
        var items: [OutputSchema] = []
        if let raw = fields["items"] {
            if raw.objectValue != nil {
                items = [OutputSchema(parsing: raw, path: PathText.member(path, "items"), problems: &problems)]
            } else {
                problem(PathText.member(path, "items"), "expected a schema object (tuple-style items are not supported), found \(raw.typeName)")
            }
        }
        self.itemsStorage = items

        // enum
        var enumValues: [JSONValue]?
        if let raw = fields["enum"] {
            let at = PathText.member(path, "enum")
            if let list = raw.arrayValue, !list.isEmpty {
                var accepted: [JSONValue] = []
                for (index, element) in list.enumerated() {
                    switch element {
                    case .string:
                        if let type, type != .string {
                            problem(PathText.index(at, index), "a string value cannot match type \(type.rawValue)")
                            continue
                        }
                    case .int, .double:
                        if let type, type == .string {
                            problem(PathText.index(at, index), "a number cannot match type string")
                            continue
                        }
                        if type == .integer, !Self.isIntegral(element) {
                            problem(PathText.index(at, index), "\(element.canonicalText) is not an integer")
                            continue
                        }
                    default:
                        problem(PathText.index(at, index), "enum values must be strings or numbers, found \(element.typeName)")
                        continue
                    }
                    if accepted.contains(where: { Self.sameEnumValue($0, element) }) {
                        problem(PathText.index(at, index), "\(element.canonicalText) is listed twice")
                        continue
                    }
                    accepted.append(element)
                }
                enumValues = accepted
            } else {
                problem(at, "expected a non-empty array of strings or numbers, found \(raw.arrayValue == nil ? raw.typeName : "an empty array")")
            }
        }
        self.enumValues = enumValues

        func count(_ key: String) -> Int? {
            guard let raw = fields[key] else { return nil }
            if case .int(let value) = raw, value >= 0, value <= Int64(Int32.max) { return Int(value) }
            problem(PathText.member(path, key), "expected a non-negative integer, found \(raw.canonicalText)")
            return nil
        }
        self.minLength = count("minLength")
        self.maxLength = count("maxLength")
        self.minItems = count("minItems")
        self.maxItems = count("maxItems")
        if let low = minLength, let high = maxLength, low > high {
            problem(PathText.member(path, "minLength"), "minLength \(low) is greater than maxLength \(high)")
        }
        if let low = minItems, let high = maxItems, low > high {
            problem(PathText.member(path, "minItems"), "minItems \(low) is greater than maxItems \(high)")
        }

        func bound(_ key: String) -> JSONValue? {
            guard let raw = fields[key] else { return nil }
            switch raw {
            case .int, .double: return raw
            default:
                problem(PathText.member(path, key), "expected a number, found \(raw.typeName)")
                return nil
            }
        }
        self.minimum = bound("minimum")
        self.maximum = bound("maximum")
        if let low = minimum, let high = maximum, Self.compare(low, high) > 0 {
            problem(PathText.member(path, "minimum"), "minimum \(low.canonicalText) is greater than maximum \(high.canonicalText)")
        }
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
