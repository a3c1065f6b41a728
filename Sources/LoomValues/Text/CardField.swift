/// One field a card section shows: a dot path into a step's output (`summary`,
/// `details.checks`), and for a list of objects the members to show of each element
/// (`details.checks:name,status`), so a card names what matters without Swift code
/// that knows the bundle.
public struct CardField: Equatable, Sendable {
    public let path: [String]
    public let members: [String]

    public init(path text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        path = (parts.first ?? "").split(separator: ".").map(String.init)
        members = parts.count > 1 ? parts[1].split(separator: ",").map { String($0.filter { $0 != " " }) } : []
    }

    public var label: String { path.last ?? "" }

    /// The field of `output` as lines; `labelled` prefixes scalars with the field's name
    /// (a section with several fields). A missing field shows nothing.
    public static func lines(_ field: CardField, in output: JSONValue, labelled: Bool) -> [String] {
        var value: JSONValue? = output
        for name in field.path { value = value?[name] }
        guard let value, value != .null else { return [] }
        let prefix = labelled ? "\(field.label): " : ""
        switch value {
        case .array(let items):
            if items.isEmpty { return ["\(prefix)none"] }
            let head = labelled ? ["\(field.label):"] : []
            return head + items.map { "- " + oneLine($0, members: field.members) }
        case .object(let members):
            let keys = field.members.isEmpty ? members.keys.sorted() : field.members
            return keys.compactMap { key in members[key].flatMap(scalar).map { "\(key): \($0)" } }
        default:
            let text = scalar(value) ?? ""
            let split = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard split.count > 1 else { return ["\(prefix)\(text)"] }
            return labelled ? ["\(field.label):"] + split.map { "  " + $0 } : split
        }
    }

    /// A list element on one line: a scalar as it is, an object as `key: value` pairs of
    /// `members` (all its scalar members, sorted, when none are named).
    public static func oneLine(_ value: JSONValue, members: [String]) -> String {
        guard case .object(let object) = value else { return scalar(value) ?? value.canonicalText }
        let keys = members.isEmpty ? object.keys.sorted() : members
        return keys.compactMap { key in object[key].flatMap(scalar).map { members.count == 1 ? $0 : "\(key): \($0)" } }
            .joined(separator: ", ")
    }

    public static func scalar(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .bool(let flag): return flag ? "yes" : "no"
        case .null, .array, .object: return nil
        }
    }
}
