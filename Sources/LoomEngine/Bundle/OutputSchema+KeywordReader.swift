import LoomValues

extension OutputSchema {
    /// Reads one schema object's keywords, one function per keyword group, recording every
    /// problem instead of stopping at the first: `OutputSchema(parsing:)` calls them in a
    /// fixed order, so problems come out in the same order on every load.
    struct KeywordReader {
        /// Which declared types each type-specific keyword can constrain; on any other type
        /// it would be a dead letter.
        static let applicableTypes: [String: Set<ValueType>] = [
            "properties": [.object], "required": [.object], "additionalProperties": [.object],
            "items": [.array], "minItems": [.array], "maxItems": [.array],
            "minLength": [.string], "maxLength": [.string],
            "minimum": [.integer, .number], "maximum": [.integer, .number],
            "enum": [.string, .integer, .number],
        ]

        let fields: [String: JSONValue]
        /// Where the schema object sits, rooted at `$`.
        let path: String
        /// Problems of this object and of the schemas nested in it, in the order found.
        private(set) var problems: [OutputSchemaError.Problem] = []

        init(fields: [String: JSONValue], path: String) {
            self.fields = fields
            self.path = path
        }

        mutating func problem(_ at: String, _ message: String) {
            problems.append(.init(path: at, message: message))
        }

        private var sortedKeys: [String] { fields.keys.sorted(by: BundleNames.utf8Less) }

        private func at(_ key: String) -> String { PathText.member(path, key) }

        mutating func refuseUnknownKeywords() {
            for key in sortedKeys where !OutputSchema.keywords.contains(key) {
                let hint = BundleNames.hint(for: key, among: OutputSchema.keywords)
                problem(at(key), "unsupported schema keyword \"\(key)\"" + hint)
            }
        }

        mutating func type() -> ValueType? {
            guard let raw = fields["type"] else { return nil }
            if let name = raw.stringValue, let parsed = ValueType(rawValue: name) { return parsed }
            if let name = raw.stringValue {
                let names = ValueType.allCases.map(\.rawValue).joined(separator: ", ")
                problem(at("type"), "unknown type \"\(name)\"; expected one of \(names)")
            } else {
                problem(at("type"), "expected a single type name (a string), found \(raw.typeName)")
            }
            return nil
        }

        mutating func refuseInapplicableKeywords(to type: ValueType?) {
            guard let type else { return }
            for key in sortedKeys {
                if let allowed = Self.applicableTypes[key], !allowed.contains(type) {
                    problem(at(key), "\"\(key)\" does not apply to type \(type.rawValue)")
                }
            }
        }

        mutating func properties() -> [String: OutputSchema] {
            guard let raw = fields["properties"] else { return [:] }
            guard let members = raw.objectValue else {
                problem(at("properties"), "expected an object of schemas, found \(raw.typeName)")
                return [:]
            }
            var properties: [String: OutputSchema] = [:]
            for name in members.keys.sorted(by: BundleNames.utf8Less) {
                let memberAt = PathText.member(at("properties"), name)
                properties[name] = OutputSchema(parsing: members[name]!, path: memberAt, problems: &problems)
            }
            return properties
        }

        mutating func additionalProperties() -> Bool {
            guard let raw = fields["additionalProperties"] else { return true }
            if let flag = raw.boolValue { return flag }
            problem(
                at("additionalProperties"),
                "expected a boolean (schema-valued additionalProperties is not supported), found \(raw.typeName)"
            )
            return true
        }

        mutating func required(declared properties: [String: OutputSchema], additionalProperties: Bool) -> [String] {
            guard let raw = fields["required"] else { return [] }
            let listAt = at("required")
            guard let list = raw.arrayValue else {
                problem(listAt, "expected an array of property names, found \(raw.typeName)")
                return []
            }
            // With properties malformed nothing is declared; saying so here would repeat that problem.
            let propertiesReadable = fields["properties"] == nil || fields["properties"]?.objectValue != nil
            var required: [String] = []
            var seen = Set<String>()
            for (index, element) in list.enumerated() {
                guard let name = element.stringValue else {
                    problem(
                        PathText.index(listAt, index),
                        "expected a property name (a string), found \(element.typeName)"
                    )
                    continue
                }
                if !seen.insert(name).inserted {
                    problem(PathText.index(listAt, index), "\"\(name)\" is listed twice")
                    continue
                }
                if !additionalProperties, properties[name] == nil, propertiesReadable {
                    problem(
                        PathText.index(listAt, index),
                        "\"\(name)\" is required but not declared in properties, "
                            + "and additionalProperties is false, so no value can satisfy it"
                    )
                }
                required.append(name)
            }
            return required
        }

        /// Zero or one schema (see `itemsStorage`).
        mutating func items() -> [OutputSchema] {
            guard let raw = fields["items"] else { return [] }
            guard raw.objectValue != nil else {
                problem(
                    at("items"),
                    "expected a schema object (tuple-style items are not supported), found \(raw.typeName)"
                )
                return []
            }
            return [OutputSchema(parsing: raw, path: at("items"), problems: &problems)]
        }

        mutating func enumValues(of type: ValueType?) -> [JSONValue]? {
            guard let raw = fields["enum"] else { return nil }
            let listAt = at("enum")
            guard let list = raw.arrayValue, !list.isEmpty else {
                let found = raw.arrayValue == nil ? raw.typeName : "an empty array"
                problem(listAt, "expected a non-empty array of strings or numbers, found \(found)")
                return nil
            }
            var accepted: [JSONValue] = []
            for (index, element) in list.enumerated() {
                if let refusal = Self.enumRefusal(element, type: type) {
                    problem(PathText.index(listAt, index), refusal)
                    continue
                }
                if accepted.contains(where: { OutputSchema.sameEnumValue($0, element) }) {
                    problem(PathText.index(listAt, index), "\(element.canonicalText) is listed twice")
                    continue
                }
                accepted.append(element)
            }
            return accepted
        }

        /// Why `element` cannot be one of the enum's values under `type`; nil when it can.
        private static func enumRefusal(_ element: JSONValue, type: ValueType?) -> String? {
            switch element {
            case .string:
                if let type, type != .string { return "a string value cannot match type \(type.rawValue)" }
            case .int, .double:
                if type == .string { return "a number cannot match type string" }
                if type == .integer, !OutputSchema.isIntegral(element) {
                    return "\(element.canonicalText) is not an integer"
                }
            default:
                return "enum values must be strings or numbers, found \(element.typeName)"
            }
            return nil
        }

        mutating func count(_ key: String) -> Int? {
            guard let raw = fields[key] else { return nil }
            if case .int(let value) = raw, value >= 0, value <= Int64(Int32.max) { return Int(value) }
            problem(at(key), "expected a non-negative integer, found \(raw.canonicalText)")
            return nil
        }

        mutating func refuseCrossedCounts(_ lowKey: String, _ low: Int?, _ highKey: String, _ high: Int?) {
            if let low, let high, low > high {
                problem(at(lowKey), "\(lowKey) \(low) is greater than \(highKey) \(high)")
            }
        }

        mutating func bound(_ key: String) -> JSONValue? {
            guard let raw = fields[key] else { return nil }
            switch raw {
            case .int, .double: return raw
            default:
                problem(at(key), "expected a number, found \(raw.typeName)")
                return nil
            }
        }

        mutating func refuseCrossedBounds(_ minimum: JSONValue?, _ maximum: JSONValue?) {
            if let minimum, let maximum, OutputSchema.compare(minimum, maximum) > 0 {
                problem(
                    at("minimum"),
                    "minimum \(minimum.canonicalText) is greater than maximum \(maximum.canonicalText)"
                )
            }
        }
    }
}
