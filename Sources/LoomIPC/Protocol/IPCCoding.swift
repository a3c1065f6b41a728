import LoomValues

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Maps the method types to and from the wire's JSON with `Codable`, turning a decoding
/// failure into the wire's error naming the member: `params.limit must be an integer, not
/// string`. In params that is the client's mistake (`invalid_params`); in a result, the
/// server's (`internal`). Unknown members are ignored, so a newer peer may add some.
public enum IPCCoding {
    public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue, _ path: String) throws(IPCError) -> T
    {
        let code: IPCErrorCode = path == "params" ? .invalidParams : .internal
        _ = try members(of: json, path)
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.canonicalBytes()))
        } catch let error as DecodingError {
            throw IPCError(code, describe(error, in: json, path))
        } catch {
            throw IPCError(code, "\(path): \(error)")
        }
    }

    public static func encode<T: Encodable>(_ value: T) -> JSONValue {
        // The method types hold strings, integers, booleans and arrays of them: encoding
        // cannot fail, and the canonical parser reads back what JSONEncoder wrote.
        guard let data = try? JSONEncoder().encode(value), let json = try? JSONValue.parse(bytes: Array(data)) else {
            preconditionFailure("IPCCoding: \(T.self) did not encode")
        }
        return json
    }

    /// The object's members; anything else is refused before decoding.
    static func members(of json: JSONValue, _ path: String) throws(IPCError) -> [String: JSONValue] {
        guard case .object(let members) = json else {
            throw IPCError(
                path == "params" ? .invalidParams : .internal,
                "\(path) must be an object, not \(json.typeName)"
            )
        }
        return members
    }

    private static func describe(_ error: DecodingError, in json: JSONValue, _ path: String) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "\(name(path, context.codingPath + [key])) is required"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let found = value(at: context.codingPath, in: json)?.typeName ?? "absent"
            return "\(name(path, context.codingPath)) must be \(describe(type)), not \(found)"
        case .dataCorrupted(let context):
            return "\(name(path, context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(path): \(error)"
        }
    }

    /// `params.rules[0].sql`.
    private static func name(_ path: String, _ codingPath: [any CodingKey]) -> String {
        codingPath.reduce(path) { name, key in key.intValue.map { "\(name)[\($0)]" } ?? "\(name).\(key.stringValue)" }
    }

    private static func value(at codingPath: [any CodingKey], in json: JSONValue) -> JSONValue? {
        var current: JSONValue? = json
        for key in codingPath { current = key.intValue.map { current?[$0] } ?? current?[key.stringValue] }
        return current
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int64.Type, is Int.Type: "an integer"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}
