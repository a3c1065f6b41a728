import CSQLite

/// Checks a rule's SQL at bundle load by asking SQLite, so a broken rule is refused before
/// any task runs rather than at the first commit.
///
/// The statement is prepared (never run) on a connection that holds the kernel's schema, and
/// SQLite answers every question a hand-written lexer used to guess at: where the statement
/// ends (the prepare tail), whether it is a query (its authorizer calls and result columns),
/// whether it writes (`sqlite3_stmt_readonly`), and which parameters it has
/// (`sqlite3_bind_parameter_name`). Where a problem needs a position, SQLite's own tokenizer
/// (`sqlite3_complete`) tells which offsets lie outside strings and comments.
struct RuleSQLCheck {
    struct Issue: Equatable {
        /// Byte offset into the SQL text.
        let offset: Int
        let message: String
    }

    /// The statement to store: without leading and trailing spaces, comments and semicolons,
    /// so that the engine can embed it in a larger statement (`EXISTS (…)`).
    private(set) var sql = ""
    private(set) var issues: [Issue] = []

    /// The parameters the engine binds: the task id, and the tick being committed.
    static let boundParameters: Set<String> = [":task", ":tick"]

    private let bytes: [UInt8]
    private let connection: SQLiteConnection

    /// Checks `text` against `schema`, a connection holding the kernel's tables.
    init(_ text: String, schema: SQLiteConnection) {
        bytes = Array(text.utf8)
        connection = schema
        if let nul = bytes.firstIndex(of: 0) {
            // SQLite reads a statement up to its first NUL; what follows would go unchecked.
            issues.append(Issue(offset: nul, message: "the rule's SQL contains a NUL character"))
            return
        }
        let start = firstToken(from: 0)
        if let semicolon = firstSemicolon(in: 0..<start) {
            issues.append(Issue(offset: semicolon, message: "the rule's SQL is empty before \";\""))
            return
        }
        guard start < bytes.count else {
            issues.append(Issue(offset: 0, message: "the rule's SQL is empty"))
            return
        }
        check(from: start)
    }

    private mutating func check(from start: Int) {
        let log = AuthorizerLog()
        var statement: OpaquePointer?
        var end = start
        let rc = bytes.withUnsafeBufferPointer { buffer in
            let text = UnsafeRawPointer(buffer.baseAddress! + start).assumingMemoryBound(to: CChar.self)
            var tail: UnsafePointer<CChar>?
            let rc = log.recording(on: connection) {
                sqlite3_prepare_v3(connection.handle, text, Int32(bytes.count - start), 0, &statement, &tail)
            }
            if let tail { end = start + (tail - text) }
            return rc
        }
        defer { sqlite3_finalize(statement) }
        guard rc == SQLITE_OK, let statement else {
            compileIssue(start: start)
            return
        }
        // More after the first statement: another one, or an empty one (a second ";").
        let more = firstToken(from: end)
        if let offset = firstSemicolon(in: end..<more) ?? (more < bytes.count ? more : nil) {
            issues.append(Issue(offset: offset, message: "a rule must be a single statement; found more after \";\""))
        }
        if let comment = unterminatedComment() {
            issues.append(Issue(offset: comment, message: "unterminated /* comment"))
        }
        if sqlite3_stmt_readonly(statement) == 0 {
            let what = log.firstAction.map { "; this one would \($0.description)" } ?? ""
            issues.append(Issue(offset: start, message: "a rule must be a read-only SELECT or WITH query\(what)"))
        } else if sqlite3_stmt_isexplain(statement) != 0 {
            issues.append(Issue(offset: start, message: "a rule must be a SELECT or WITH query; found EXPLAIN"))
        } else if log.firstAction?.code != SQLITE_SELECT || sqlite3_column_count(statement) == 0 {
            let what = log.firstAction.map { "; found \($0.description)" } ?? "; this statement returns no rows"
            issues.append(Issue(offset: start, message: "a rule must be a SELECT or WITH query\(what)"))
        }
        checkParameters(of: statement, start: start, end: end)
        sql = String(decoding: bytes[start..<lastTokenEnd(from: start, to: end)], as: UTF8.self)
    }

    /// Only `:task` and `:tick`, by those names: the engine binds nothing else.
    private mutating func checkParameters(of statement: OpaquePointer, start: Int, end: Int) {
        let count = sqlite3_bind_parameter_count(statement)
        guard count > 0 else { return }
        for index in 1...count {
            // A nameless parameter is a bare "?"; "?NNN" is named after its number.
            let name = sqlite3_bind_parameter_name(statement, index).map { String(cString: $0) } ?? "?"
            let offset = self.offset(of: name, from: start, to: end) ?? start
            if name.hasPrefix("?") {
                let message = "positional parameter \"\(name)\" is not supported; use :task or :tick"
                issues.append(Issue(offset: offset, message: message))
            } else if !Self.boundParameters.contains(name) {
                let message = "parameter \"\(name)\" is not bound by the engine; use :task or :tick"
                issues.append(Issue(offset: offset, message: message))
            }
        }
    }

    /// SQLite's compile error, at the offset SQLite names. A token SQLite does not recognise
    /// that opens with a quote is one whose closing quote is missing: said so, in those words.
    private mutating func compileIssue(start: Int) {
        let message = connection.errorMessage()
        let reported = Int(sqlite3_error_offset(connection.handle))
        let offset = reported >= 0 ? start + reported : start
        if message.hasPrefix("unrecognized token"), offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: "'"):
                issues.append(Issue(offset: offset, message: "unterminated string literal"))
                return
            case UInt8(ascii: "\""), UInt8(ascii: "`"):
                issues.append(Issue(offset: offset, message: "unterminated quoted identifier"))
                return
            case UInt8(ascii: "["):
                issues.append(Issue(offset: offset, message: "unterminated [identifier]"))
                return
            default: break
            }
        }
        issues.append(Issue(offset: offset, message: "the rule does not compile: \(message)"))
    }

    // MARK: Positions, from SQLite's tokenizer

    /// Whether `offset` lies between tokens, outside any string, quoted name or comment: SQLite
    /// says a semicolon placed there would end the statement. Only the text before `offset` is
    /// shown to SQLite, so an offset between the two characters that open a comment ("--",
    /// "/*") would look like one after an operator: those two pairs are ruled out here.
    private func isBoundary(_ offset: Int) -> Bool {
        if offset > 0, offset < bytes.count {
            let pair = (bytes[offset - 1], bytes[offset])
            if pair == (UInt8(ascii: "-"), UInt8(ascii: "-")) || pair == (UInt8(ascii: "/"), UInt8(ascii: "*")) {
                return false
            }
        }
        var text = Array(bytes[0..<offset])
        text.append(UInt8(ascii: ";"))
        text.append(0)
        return text.withUnsafeBufferPointer { buffer in
            sqlite3_complete(UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self))
        } != 0
    }

    /// Whether `range`, starting at a boundary, holds only spaces, comments and semicolons:
    /// SQLite prepares nothing from it.
    private func holdsNoStatement(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return true }
        return bytes.withUnsafeBufferPointer { buffer in
            let text = UnsafeRawPointer(buffer.baseAddress! + range.lowerBound).assumingMemoryBound(to: CChar.self)
            var statement: OpaquePointer?
            let rc = sqlite3_prepare_v3(connection.handle, text, Int32(range.count), 0, &statement, nil)
            sqlite3_finalize(statement)
            return rc == SQLITE_OK && statement == nil
        }
    }

    /// The offset of the first token at or after `offset` (a boundary), or the end of the text.
    private func firstToken(from offset: Int) -> Int {
        var found = offset
        for candidate in offset...bytes.count where isBoundary(candidate) {
            guard holdsNoStatement(offset..<candidate) else { break }
            found = candidate
        }
        return found
    }

    /// Just past the statement's last token, looking back from `end` (its prepare tail).
    private func lastTokenEnd(from start: Int, to end: Int) -> Int {
        var found = end
        for candidate in stride(from: end, through: start, by: -1) where isBoundary(candidate) {
            guard holdsNoStatement(candidate..<end) else { break }
            found = candidate
        }
        return found
    }

    /// The first semicolon in `range` that is not inside a comment: one that ends an empty statement.
    private func firstSemicolon(in range: Range<Int>) -> Int? {
        range.first { bytes[$0] == UInt8(ascii: ";") && isBoundary($0) }
    }

    /// Where a block comment that runs to the end of the text opens. SQLite takes it as ending
    /// there; the old check refused it, and a reader would expect it closed.
    private func unterminatedComment() -> Int? {
        guard !isBoundary(bytes.count) else { return nil }
        guard let opening = (0..<bytes.count).reversed().first(where: isBoundary) else { return nil }
        return bytes[opening...].starts(with: "/*".utf8) ? opening : nil
    }

    /// The first place `name` appears as a whole token in `start..<end`.
    private func offset(of name: String, from start: Int, to end: Int) -> Int? {
        let token = Array(name.utf8)
        guard token.count <= end - start else { return nil }
        for offset in start...(end - token.count) where bytes[offset..<(offset + token.count)].elementsEqual(token) {
            let next = offset + token.count
            let continues =
                next < bytes.count
                && (BundleNames.isLetter(bytes[next]) || BundleNames.isNumeral(bytes[next])
                    || bytes[next] == UInt8(ascii: "_") || bytes[next] == UInt8(ascii: "$") || bytes[next] >= 0x80)
            if !continues, isBoundary(offset) { return offset }
        }
        return nil
    }
}

/// The first thing SQLite's authorizer was asked while a statement was prepared: what the
/// statement is (a SELECT asks SQLITE_SELECT first), or what it would do.
private final class AuthorizerLog {
    struct Action: CustomStringConvertible {
        let code: Int32
        let first: String
        let second: String

        var description: String {
            switch code {
            case SQLITE_INSERT: "insert into \(first)"
            case SQLITE_UPDATE: "update \(first).\(second)"
            case SQLITE_DELETE: "delete from \(first)"
            case SQLITE_PRAGMA: "PRAGMA \(first)"
            case SQLITE_TRANSACTION: first
            case SQLITE_SAVEPOINT: "SAVEPOINT \(second)"
            case SQLITE_ATTACH: "ATTACH"
            case SQLITE_DETACH: "DETACH \(first)"
            case SQLITE_ANALYZE: "ANALYZE"
            case SQLITE_REINDEX: "REINDEX"
            case SQLITE_ALTER_TABLE: "alter table \(second)"
            case SQLITE_CREATE_INDEX...SQLITE_CREATE_VIEW, SQLITE_CREATE_VTABLE: "create \(first)"
            case SQLITE_DROP_INDEX...SQLITE_DROP_VIEW, SQLITE_DROP_VTABLE: "drop \(first)"
            case SQLITE_SELECT: "SELECT"
            case SQLITE_FUNCTION: "call \(second)"
            default: "do what SQLite's authorizer calls action \(code)"
            }
        }
    }

    private(set) var firstAction: Action?

    /// Runs `body` with this log as the connection's authorizer, which it allows everything:
    /// the statement is only prepared, never run, and the caller judges what was asked.
    func recording<Result>(on connection: SQLiteConnection, _ body: () -> Result) -> Result {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_set_authorizer(
            connection.handle,
            { context, code, first, second, _, _ in
                Unmanaged<AuthorizerLog>.fromOpaque(context!).takeUnretainedValue().note(code, first, second)
                return SQLITE_OK
            },
            context
        )
        defer { sqlite3_set_authorizer(connection.handle, nil, nil) }
        return withExtendedLifetime(self) { body() }
    }

    private func note(_ code: Int32, _ first: UnsafePointer<CChar>?, _ second: UnsafePointer<CChar>?) {
        guard firstAction == nil else { return }
        let first = first.map { String(cString: $0) } ?? ""
        // SQLite reports its own reads and writes of the schema table while it loads a
        // definition (the first use of a table-valued function such as json_each): not the rule's.
        let schemaTables: Set<String> = ["sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"]
        let onTable = code == SQLITE_READ || code == SQLITE_INSERT || code == SQLITE_UPDATE || code == SQLITE_DELETE
        if onTable, schemaTables.contains(first) { return }
        firstAction = Action(code: code, first: first, second: second.map { String(cString: $0) } ?? "")
    }
}
