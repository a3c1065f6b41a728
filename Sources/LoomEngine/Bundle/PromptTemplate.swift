/// A prompt template: text with `{{name}}` placeholders (inner spaces allowed,
/// `{{ name }}`), names matching `[A-Za-z_][A-Za-z0-9_]*`.
///
/// There is no escaping and no logic (no conditionals, loops or filters):
/// whatever a prompt needs to vary is computed by the engine from the journal
/// and passed in as a value, so the rendered text is a pure function of the
/// template and those values, which is what replay relies on. A placeholder
/// may not span lines; a `{{` that is not a well-formed placeholder is a
/// parse error, so a typo cannot silently reach a model as literal text.
public struct PromptTemplate: Sendable, Equatable {
    /// One occurrence of a placeholder in the source, with its position
    /// (1-based; columns count Unicode scalars), for load-time messages.
    public struct Placeholder: Sendable, Equatable {
        public let name: String
        public let line: Int
        public let column: Int
    }

    enum Segment: Sendable, Equatable {
        case text(String, byteCount: Int)
        case variable(String)
    }

    public let source: String
    /// Every distinct placeholder name.
    public let variableNames: Set<String>
    /// Every placeholder occurrence, in source order.
    public let placeholders: [Placeholder]
    let segments: [Segment]

    public init(source: String) throws(TemplateError) {
        let bytes = Array(source.utf8)
        let n = bytes.count
        let open = UInt8(ascii: "{")
        let close = UInt8(ascii: "}")
        let newline = UInt8(ascii: "\n")
        func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

        var segments: [Segment] = []
        var placeholders: [Placeholder] = []
        var line = 1
        var column = 1
        var literalStart = 0
        var i = 0
        // One forward pass; the only look-ahead is the error path, which ends
        // the parse, so the whole thing is linear in the source length.
        while i < n {
            if bytes[i] == open, i + 1 < n, bytes[i + 1] == open {
                var j = i + 2
                while j < n, isBlank(bytes[j]) { j += 1 }
                let nameStart = j
                if j < n, BundleNames.isPlaceholderStart(bytes[j]) {
                    j += 1
                    while j < n, BundleNames.isPlaceholderChar(bytes[j]) { j += 1 }
                }
                let nameEnd = j
                while j < n, isBlank(bytes[j]) { j += 1 }
                if nameEnd > nameStart, j + 1 < n, bytes[j] == close, bytes[j + 1] == close {
                    if literalStart < i {
                        segments.append(.text(text(literalStart..<i), byteCount: i - literalStart))
                    }
                    let name = text(nameStart..<nameEnd)
                    segments.append(.variable(name))
                    placeholders.append(Placeholder(name: name, line: line, column: column))
                    // Everything consumed is ASCII, so columns advance per byte.
                    column += j + 2 - i
                    i = j + 2
                    literalStart = i
                    continue
                }
                // Not well formed: tell a missing "}}" apart from bad content.
                var k = i + 2
                while k < n, bytes[k] != newline, !(bytes[k] == close && k + 1 < n && bytes[k + 1] == close) {
                    k += 1
                }
                if k >= n || bytes[k] == newline {
                    throw .unterminatedPlaceholder(line: line, column: column)
                }
                var shown = text(i + 2..<k)
                if shown.count > 40 { shown = String(shown.prefix(40)) + "…" }
                throw .invalidPlaceholder(text: shown, line: line, column: column)
            }
            if bytes[i] == newline {
                line += 1
                column = 1
            } else if bytes[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        if literalStart < n {
            segments.append(.text(text(literalStart..<n), byteCount: n - literalStart))
        }
        self.source = source
        self.segments = segments
        self.placeholders = placeholders
        self.variableNames = Set(placeholders.map(\.name))
    }

    /// The template with every placeholder replaced by its value.
    ///
    /// Values are inserted verbatim (never re-scanned for placeholders).
    /// Extra values are ignored. Throws `.missingValue` for the first
    /// placeholder, in source order, that has no value, and
    /// `.outputTooLarge` if the result would exceed `maxBytes` UTF-8 bytes
    /// (checked before anything is built).
    public func render(_ values: [String: String], maxBytes: Int = 262_144) throws(TemplateError) -> String {
        var total = 0
        for segment in segments {
            switch segment {
            case .text(_, let byteCount):
                total += byteCount
            case .variable(let name):
                guard let value = values[name] else { throw .missingValue(name: name) }
                total += value.utf8.count
            }
        }
        if total > maxBytes { throw .outputTooLarge(bytes: total, limit: maxBytes) }
        var result = ""
        result.reserveCapacity(total)
        for segment in segments {
            switch segment {
            case .text(let text, _): result += text
            case .variable(let name): result += values[name]!
            }
        }
        return result
    }

    /// Renders like `render`, and says where the values of `tracked` variables landed: for
    /// each, the UTF-8 byte ranges of its occurrences in the result, in source order. A host
    /// that must shorten the prompt cuts there, without re-rendering (see `ShrinkRule`).
    public func render(
        _ values: [String: String],
        tracking tracked: Set<String>,
        maxBytes: Int = 262_144
    ) throws(TemplateError) -> (text: String, spans: [String: [Range<Int>]]) {
        let text = try render(values, maxBytes: maxBytes)
        guard !tracked.isEmpty else { return (text, [:]) }
        var spans: [String: [Range<Int>]] = [:]
        var offset = 0
        for segment in segments {
            switch segment {
            case .text(_, let byteCount):
                offset += byteCount
            case .variable(let name):
                let length = values[name]!.utf8.count
                if tracked.contains(name) { spans[name, default: []].append(offset..<(offset + length)) }
                offset += length
            }
        }
        return (text, spans)
    }
}
