import LoomValues

/// Reads the members of a params or result object with their types checked: a member of
/// the wrong type is an error naming it (`params.limit must be an integer`), an absent one
/// is nil. Unknown members are ignored, so a newer peer may add fields.
public struct IPCFields {
    public let members: [String: JSONValue]
    /// `params` or `result`, for messages.
    public let path: String
    /// The error code a wrong member earns: the client's mistake in params, the server's in
    /// a result.
    private let code: IPCErrorCode

    public init(_ json: JSONValue, _ path: String) throws(IPCError) {
        let code: IPCErrorCode = path.hasPrefix("params") ? .invalidParams : .internal
        guard case .object(let members) = json else { throw IPCError(code, "\(path) must be an object, not \(json.typeName)") }
        self.members = members
        self.path = path
        self.code = code
    }

    private func wrong(_ key: String, _ type: String) -> IPCError {
        IPCError(code, "\(path).\(key) must be \(type), not \(members[key]?.typeName ?? "absent")")
    }

    private func present(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    public func string(_ key: String) throws(IPCError) -> String? {
        guard let value = present(key) else { return nil }
        guard let text = value.stringValue else { throw wrong(key, "a string") }
        return text
    }

    public func int(_ key: String) throws(IPCError) -> Int64? {
        guard let value = present(key) else { return nil }
        guard let number = value.intValue else { throw wrong(key, "an integer") }
        return number
    }

    public func bool(_ key: String) throws(IPCError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let flag = value.boolValue else { throw wrong(key, "true or false") }
        return flag
    }

    public func array(_ key: String) throws(IPCError) -> [JSONValue]? {
        guard let value = present(key) else { return nil }
        guard let items = value.arrayValue else { throw wrong(key, "an array") }
        return items
    }

    public func strings(_ key: String) throws(IPCError) -> [String]? {
        guard let items = try array(key) else { return nil }
        var strings: [String] = []
        for item in items {
            guard let text = item.stringValue else { throw wrong(key, "an array of strings") }
            strings.append(text)
        }
        return strings
    }

    public func object(_ key: String) throws(IPCError) -> JSONValue? {
        guard let value = present(key) else { return nil }
        guard case .object = value else { throw wrong(key, "an object") }
        return value
    }

    /// Any JSON value (a payload passed through as it is).
    public func value(_ key: String) -> JSONValue? { present(key) }

    /// A member the message cannot do without.
    public func required<T>(_ key: String, _ read: (String) throws(IPCError) -> T?) throws(IPCError) -> T {
        guard let value = try read(key) else { throw IPCError(code, "\(path).\(key) is required") }
        return value
    }
}

extension JSONValue {
    /// An object of the members that are present (nil ones are left out), for wire forms.
    public static func members(_ pairs: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for (key, value) in pairs { if let value { object[key] = value } }
        return .object(object)
    }
}
