extension JSONValue {
    /// Indented JSON with sorted keys, for files a person edits (models.json): canonical
    /// text would be one long line.
    public var prettyText: String {
        var text = ""
        appendPretty(to: &text, indent: "")
        return text
    }

    private func appendPretty(to text: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let items) where !items.isEmpty:
            // Short lists of scalars (a fallback chain) stay on one line.
            if items.allSatisfy({ $0.arrayValue == nil && $0.objectValue == nil }) && canonicalText.count <= 100 {
                text += canonicalText
                return
            }
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += inner
                item.appendPretty(to: &text, indent: inner)
                text += index == items.count - 1 ? "\n" : ",\n"
            }
            text += indent + "]"
        case .object(let members) where !members.isEmpty:
            text += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                text += inner + JSONValue.string(key).canonicalText + ": "
                members[key]!.appendPretty(to: &text, indent: inner)
                text += index == keys.count - 1 ? "\n" : ",\n"
            }
            text += indent + "}"
        default:
            text += canonicalText
        }
    }
}
