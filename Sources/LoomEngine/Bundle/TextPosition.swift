/// Line and column of a byte offset in a text, both 1-based, for messages
/// people can act on. Columns count Unicode scalars, so a multi-byte
/// character is one column (editors disagree about combining marks; scalars
/// are at least well defined).
struct TextPosition: Sendable, Equatable, CustomStringConvertible {
    let line: Int
    let column: Int

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Position of `offset` (clamped to the text) in `bytes`.
    init(utf8 bytes: some Collection<UInt8>, offset: Int) {
        var line = 1
        var column = 1
        var index = 0
        for byte in bytes {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                // Continuation bytes do not start a new scalar.
                column += 1
            }
            index += 1
        }
        self.init(line: line, column: column)
    }

    init(text: String, offset: Int) {
        self.init(utf8: text.utf8, offset: offset)
    }

    var description: String { "line \(line), column \(column)" }
}
