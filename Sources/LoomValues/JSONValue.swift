// JSONValue: the JSON value type used throughout the kernel (journal payloads,
// effect requests/results, agent outputs, bundle manifests).
//
// Parsing lives in JSONValue+Parsing.swift, the canonical encoding (what the
// journal hash chain hashes) in JSONValue+Canonical.swift. See
// docs/canonical-json.md for the normative encoding spec.

/// A JSON value.
///
/// Integers that fit in `Int64` are `.int`; every other number is `.double`.
/// Equality/hashing is the synthesized structural one: `.int(1) != .double(1.0)`
/// (even though both encode canonically as `1`), and `.string` uses Swift `String`
/// equality (Unicode canonical equivalence). When byte-exact identity matters
/// (hashing, signing), compare `canonicalBytes()` instead.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

/// Resource limits applied while parsing untrusted JSON.
public struct JSONLimits: Sendable, Hashable {
    /// Maximum input size in bytes (checked before parsing starts).
    public var maxBytes: Int
    /// Maximum container nesting depth. A scalar is depth 0, `[]` is depth 1,
    /// `[[]]` is depth 2, and so on.
    public var maxDepth: Int

    public static let `default` = JSONLimits(maxBytes: 1 << 20, maxDepth: 64)

    public init(maxBytes: Int, maxDepth: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key`, or nil unless this is an object containing `key`.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index`, or nil unless this is an array and `index` is in range.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) {
            return elements[index]
        }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer value of an `.int`, or of a `.double` holding an exactly
    /// integral value representable as `Int64`.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            // Manual Int64(exactly:) (which would pull in libm's trunc).
            guard d >= -9_223_372_036_854_775_808.0 && d < 9_223_372_036_854_775_808.0 else { return nil }
            let i = Int64(d)
            return Double(i) == d ? i : nil
        default: return nil
        }
    }

    /// The numeric value of an `.int` (possibly rounded) or `.double`.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// "null", "boolean", "integer", "number", "string", "array" or "object".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Like a Swift dictionary literal, duplicate keys are a programmer error (trap).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The canonical text.
    public var description: String { canonicalText }
}
