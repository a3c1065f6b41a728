/// A named read-only SQL query over the kernel tables. As an invariant, every
/// row it returns is a violation; as a safety-floor rule, any row means a
/// person must answer the gate. The query may use the parameters `:task`
/// (the current task id) and `:tick` (the tick being committed), which the
/// engine binds, and no other.
public struct SQLRule: Sendable, Equatable {
    public let name: String
    /// One statement, without a trailing semicolon.
    public let sql: String
    /// What a violation means, for people.
    public let message: String
    /// The bundle file it was declared in (the SQL file, or the manifest for
    /// inline SQL), for error messages.
    public let file: String

    public init(name: String, sql: String, message: String, file: String) {
        self.name = name
        self.sql = sql
        self.message = message
        self.file = file
    }
}
