import CSQLite
import LoomValues

/// The kernel's one error type: a closed code, a human message, and what was being done.
///
/// Callers switch on `code`; people read `description`. Nothing the kernel writes fails
/// silently: every failed write surfaces as one of these after its transaction rolled back.
public struct LoomError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The file is not an SQLite database at all.
        case notADatabase = "not_a_database"
        /// An SQLite database that loom did not create; it is left untouched.
        case foreignDatabase = "foreign_database"
        /// Written by a newer loom (schema version above what this build knows).
        case newerSchema = "newer_schema"
        /// A migration recorded in the file does not match this build's migration of that number.
        case schemaMismatch = "schema_mismatch"
        case corrupt
        /// Another writer held the lock past the busy timeout.
        case busy
        /// The disk or the database's page limit is full.
        case full
        case io
        case readOnly = "read_only"
        case tooLarge = "too_large"
        case invalidJSON = "invalid_json"
        case invalidInput = "invalid_input"
        case notFound = "not_found"
        /// A gate answer named a gate event id that is not the one waiting.
        case staleGate = "stale_gate"
        case forbidden
        /// A commit-time rule found violating rows; the tick was rolled back.
        case invariantViolation = "invariant_violation"
        case conflict
        /// Another connection wrote to a database this store is the sole writer of (or the
        /// host fenced the store): it refuses every write from then on.
        case foreignWrite = "foreign_write"
        case bundle
        case sqlite
        case `internal`
        /// A fault a test or the simulator injected (a simulated crash at a transaction
        /// boundary): never raised in production. Typed, so a simulator recognises its own
        /// faults by code, not by matching a message.
        case injectedFault = "injected_fault"
    }

    public let code: Code
    public let message: String
    /// What the kernel was doing ("opening /p/.loom/state.db", "delivering t1:draft:writer:0:1").
    public let context: String
    /// For `invariantViolation`: every rule that fired, with its rows.
    public let violations: [RuleViolation]
    /// The raw SQLite result code, when the error came from SQLite.
    public let sqliteCode: Int32?

    public init(
        _ code: Code,
        _ message: String,
        context: String = "",
        violations: [RuleViolation] = [],
        sqliteCode: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.context = context
        self.violations = violations
        self.sqliteCode = sqliteCode
    }

    /// Maps an SQLite result code to the kernel's codes.
    init(sqliteCode rc: Int32, message: String, context: String) {
        let code: Code
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_FULL: code = .full
        case SQLITE_NOTADB: code = .notADatabase
        case SQLITE_CORRUPT: code = .corrupt
        case SQLITE_IOERR, SQLITE_CANTOPEN: code = .io
        case SQLITE_READONLY: code = .readOnly
        case SQLITE_TOOBIG: code = .tooLarge
        case SQLITE_CONSTRAINT: code = .conflict
        default: code = .sqlite
        }
        self.init(code, message, context: context, sqliteCode: rc)
    }

    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if !context.isEmpty { text += " (while \(context))" }
        for violation in violations {
            text += "\n  rule \(violation.rule): \(violation.message) — \(violation.rows.count) row(s)"
        }
        return text
    }
}

/// One commit-time rule that found violating rows.
public struct RuleViolation: Sendable, Equatable {
    public let rule: String
    public let message: String
    /// The offending rows, each an object keyed by column name.
    public let rows: [JSONValue]

    public init(rule: String, message: String, rows: [JSONValue]) {
        self.rule = rule
        self.message = message
        self.rows = rows
    }

    public var json: JSONValue {
        .object(["rule": .string(rule), "message": .string(message), "rows": .array(rows)])
    }
}
