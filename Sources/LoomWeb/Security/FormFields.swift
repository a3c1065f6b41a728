import Foundation

/// `application/x-www-form-urlencoded` fields (a form body or a query string), decoded by
/// hand so `+` and `%XX` are treated the same way in both places. The first value of a
/// repeated name wins.
public struct FormFields: Sendable, Equatable {
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ text: String) {
        pairs = text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(pieces[0]), pieces.count > 1 ? Self.decode(pieces[1]) : "")
        }
    }

    public init(_ pairs: [(String, String)]) {
        self.pairs = pairs.map { (name: $0.0, value: $0.1) }
    }

    public subscript(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    public mutating func remove(_ name: String) {
        pairs.removeAll { $0.name == name }
    }

    public var encoded: String {
        pairs.map { "\(Self.encode($0.name))=\(Self.encode($0.value))" }.joined(separator: "&")
    }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.map(\.name) == rhs.pairs.map(\.name) && lhs.pairs.map(\.value) == rhs.pairs.map(\.value)
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986).
    public static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `/task?project=…&task=…`, for links.
    public static func link(_ path: String, _ parameters: [(String, String)]) -> String {
        parameters.isEmpty ? path : path + "?" + FormFields(parameters).encoded
    }
}
