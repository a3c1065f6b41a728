/// A command step: either an argv the host executes, or the name of a step
/// handler the host registered in Swift. Exactly one of the two is set.
///
/// The kernel only records the request and the result; executing it is the
/// host's job, within the limits given here.
public struct CommandSpec: Sendable, Equatable {
    /// Program and arguments, executed without a shell unless argv says so.
    public let argv: [String]?
    /// Name of a host-registered handler.
    public let handler: String?
    /// Wall-clock limit the host enforces (1...86_400_000 ms, default 600_000).
    public let timeoutMs: Int
    /// Output kept from the command (1...1_048_576 bytes, default 65_536); more
    /// is truncated by the host so journals stay bounded.
    public let outputLimitBytes: Int
    /// A result other than ok or skipped ends the task as failed (a precondition the
    /// rest of the flow cannot do without), instead of being recorded for rules to weigh.
    public let required: Bool

    public static let defaultTimeoutMs = 600_000
    public static let timeoutMsRange = 1...86_400_000
    public static let defaultOutputLimitBytes = 65_536
    public static let outputLimitBytesRange = 1...1_048_576

    public init(
        argv: [String]?,
        handler: String?,
        timeoutMs: Int = CommandSpec.defaultTimeoutMs,
        outputLimitBytes: Int = CommandSpec.defaultOutputLimitBytes,
        required: Bool = false
    ) {
        precondition((argv == nil) != (handler == nil), "CommandSpec takes exactly one of argv and handler")
        self.argv = argv
        self.handler = handler
        self.timeoutMs = timeoutMs
        self.outputLimitBytes = outputLimitBytes
        self.required = required
    }
}
