/// Where the JSON is in an agent's answer. Models often wrap the object a schema asks for
/// in a Markdown fence or a sentence; the kernel reads the object out of such an answer
/// rather than spend the one retry on it. Deterministic, so replay reads the same object.
///
/// Tried in order: the whole text; the first fenced block (```json … ``` or ``` … ```);
/// the span from the first `{` to the last `}`. Nothing else is guessed: anything that is
/// still not JSON is refused with the parser's error for the whole text.
enum AgentOutputText {
    static func candidates(_ text: String) -> [Substring] {
        var found: [Substring] = [Substring(text)]
        if let open = fence(in: text[...]) {
            var start = open.upperBound
            // Skip an info string ("json") up to the end of the fence's line.
            if let newline = text[start...].firstIndex(of: "\n") { start = text.index(after: newline) }
            if let close = fence(in: text[start...]) { found.append(text[start..<close.lowerBound]) }
        }
        if let first = text.firstIndex(of: "{"), let last = text.lastIndex(of: "}"), first < last {
            found.append(text[first...last])
        }
        return found
    }

    /// The first "```" in `text`.
    private static func fence(in text: Substring) -> Range<String.Index>? {
        var index = text.startIndex
        while let tick = text[index...].firstIndex(of: "`") {
            let end = text.index(tick, offsetBy: 3, limitedBy: text.endIndex) ?? text.endIndex
            if text[tick..<end] == "```" { return tick..<end }
            index = text.index(after: tick)
        }
        return nil
    }
}
