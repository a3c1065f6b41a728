/// Static checks on a rule's SQL text, done at load time so a broken rule is
/// refused before any task runs rather than discovered at the first commit.
///
/// This is a lexical scan, not a parser: it knows string literals, quoted
/// identifiers, comments and parameters, which is enough to require one
/// read-only SELECT/WITH statement whose only parameters are `:task` and
/// `:tick`. SQLite
/// itself still has the last word when the engine prepares the statement
/// (and the engine should also refuse a statement SQLite does not report as
/// read-only).
enum SQLRuleText {
    struct Issue: Equatable {
        /// Byte offset into the SQL text.
        let offset: Int
        let message: String
    }

    struct Result {
        /// The statement without the trailing semicolon and surrounding whitespace.
        let sql: String
        let issues: [Issue]
    }

    /// The parameters the engine binds: the task id, and the tick being committed.
    static let boundParameters: Set<String> = ["task", "tick"]

    private static let writeWords: Set<String> = ["INSERT", "UPDATE", "DELETE"]

    static func check(_ text: String) -> Result {
        let bytes = Array(text.utf8)
        let n = bytes.count
        var issues: [Issue] = []
        var firstWord: String?
        var sawToken = false
        var statementEnd: Int?      // offset of the first ';'
        var reportedSecondStatement = false
        var previousWord = ""
        var lastTokenEnd = 0        // offset just past the last token before any ';'
        var i = 0

        func isWordStart(_ b: UInt8) -> Bool { BundleNames.isLetter(b) || b == UInt8(ascii: "_") || b >= 0x80 }
        func isWordChar(_ b: UInt8) -> Bool { isWordStart(b) || BundleNames.isNumeral(b) || b == UInt8(ascii: "$") }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B }

        // Called for every token that is not whitespace or a comment.
        func noteToken(at offset: Int) {
            sawToken = true
            if statementEnd != nil, !reportedSecondStatement {
                reportedSecondStatement = true
                issues.append(Issue(offset: offset, message: "a rule must be a single statement; found more after \";\""))
            }
        }

        while i < n {
            let b = bytes[i]
            if isSpace(b) { i += 1; continue }
            // -- comment to end of line
            if b == UInt8(ascii: "-"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "-") {
                while i < n, bytes[i] != 0x0A { i += 1 }
                continue
            }
            // /* block comment */
            if b == UInt8(ascii: "/"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "*") {
                let start = i
                i += 2
                while i + 1 < n, !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                if i + 1 >= n {
                    issues.append(Issue(offset: start, message: "unterminated /* comment"))
                    i = n
                } else {
                    i += 2
                }
                continue
            }
            noteToken(at: i)
            defer { if statementEnd == nil, b != UInt8(ascii: ";") { lastTokenEnd = i } }
            switch b {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                // String literal or quoted identifier; a doubled quote escapes itself.
                let start = i
                i += 1
                var closed = false
                while i < n {
                    if bytes[i] == b {
                        if i + 1 < n, bytes[i + 1] == b { i += 2; continue }
                        i += 1
                        closed = true
                        break
                    }
                    i += 1
                }
                if !closed {
                    issues.append(Issue(offset: start, message: b == UInt8(ascii: "'") ? "unterminated string literal" : "unterminated quoted identifier"))
                }
                previousWord = ""
                if firstWord == nil { firstWord = "" }
            case UInt8(ascii: "["):
                let start = i
                while i < n, bytes[i] != UInt8(ascii: "]") { i += 1 }
                if i >= n { issues.append(Issue(offset: start, message: "unterminated [identifier]")) } else { i += 1 }
                previousWord = ""
                if firstWord == nil { firstWord = "" }
            case UInt8(ascii: ";"):
                if statementEnd == nil { statementEnd = i }
                i += 1
            case UInt8(ascii: "?"):
                let start = i
                i += 1
                while i < n, BundleNames.isNumeral(bytes[i]) { i += 1 }
                issues.append(Issue(offset: start, message: "positional parameter \"\(String(decoding: bytes[start..<i], as: UTF8.self))\" is not supported; use :task or :tick"))
                if firstWord == nil { firstWord = "" }
            case UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                let start = i
                i += 1
                while i < n, isWordChar(bytes[i]) { i += 1 }
                let name = String(decoding: bytes[(start + 1)..<i], as: UTF8.self)
                if !(b == UInt8(ascii: ":") && boundParameters.contains(name)) {
                    issues.append(Issue(offset: start, message: "parameter \"\(String(decoding: bytes[start..<i], as: UTF8.self))\" is not bound by the engine; use :task or :tick"))
                }
                if firstWord == nil { firstWord = "" }
            default:
                if isWordStart(b) {
                    let start = i
                    while i < n, isWordChar(bytes[i]) { i += 1 }
                    let word = String(decoding: bytes[start..<i], as: UTF8.self).uppercased()
                    if firstWord == nil { firstWord = word }
                    if writeWords.contains(word) || (previousWord == "REPLACE" && word == "INTO") {
                        issues.append(Issue(offset: start, message: "rules must be read-only; found \(word)"))
                    }
                    previousWord = word
                } else if BundleNames.isNumeral(b) || b == UInt8(ascii: ".") {
                    // Numbers (including 1e5, 0x1F): consume as one token.
                    while i < n, isWordChar(bytes[i]) || bytes[i] == UInt8(ascii: ".") { i += 1 }
                    previousWord = ""
                    if firstWord == nil { firstWord = "" }
                } else {
                    i += 1
                    previousWord = ""
                    if firstWord == nil { firstWord = "" }
                }
            }
        }

        if !sawToken {
            return Result(sql: "", issues: [Issue(offset: 0, message: "the rule's SQL is empty")])
        }
        if let firstWord, firstWord != "SELECT", firstWord != "WITH" {
            // Report it first: it is the most fundamental problem.
            issues.insert(Issue(offset: firstTokenOffset(bytes), message: "a rule must be a SELECT or WITH query"), at: 0)
        }
        if let end = statementEnd, firstTokenOffset(bytes) == end {
            issues.append(Issue(offset: end, message: "the rule's SQL is empty before \";\""))
        }
        // Cut after the last real token so a trailing comment cannot swallow
        // whatever the engine appends when it embeds the statement.
        let body = bytes[0..<lastTokenEnd]
        let sql = trimmed(String(decoding: body, as: UTF8.self))
        return Result(sql: sql, issues: issues)
    }

    private static func firstTokenOffset(_ bytes: [UInt8]) -> Int {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B { i += 1; continue }
            if b == UInt8(ascii: "-"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "-") {
                while i < n, bytes[i] != 0x0A { i += 1 }
                continue
            }
            if b == UInt8(ascii: "/"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < n, !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i = min(n, i + 2)
                continue
            }
            return i
        }
        return n
    }

    private static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
