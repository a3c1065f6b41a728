/// An agent's output as a person reads it, for `loomctl log` and the dashboard's timeline:
/// an object's members as `name: value` lines (lists as `- item` lines), in name order;
/// anything else as its own lines. Never escaped JSON.
public enum OutputText {
    public static let linesMax = 24
    /// Longest line shown, in characters; a longer one is cut with an ellipsis.
    public static let lineMaxCharacters = 400

    public static func lines(_ text: String, limit: Int = linesMax) -> [String] {
        var lines: [String]
        if let parsed = try? JSONValue.parse(text), case .object(let members) = parsed {
            lines = members.keys.sorted().flatMap { key in
                let field = CardField(path: key)
                let rendered = CardField.lines(field, in: parsed, labelled: true)
                // A nested object or a list of objects renders as its members; say whose.
                return rendered.isEmpty ? ["\(key): \(members[key]?.canonicalText ?? "")"] : rendered
            }
        } else {
            lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            while lines.last?.isEmpty == true { lines.removeLast() }
        }
        guard lines.count > limit else { return lines.map(clip) }
        return lines.prefix(limit).map(clip) + ["… \(lines.count - limit) more line(s)"]
    }

    /// A line cut to `lineMaxCharacters`.
    public static func clip(_ line: String) -> String {
        line.count > lineMaxCharacters ? String(line.prefix(lineMaxCharacters)) + "…" : line
    }
}
