/// Every limit the kernel enforces on its inputs, each with a name and a default.
public struct KernelLimits: Sendable {
    /// A task's input text (the request a person submitted).
    public var inputMaxBytes = 256 * 1024
    /// A rendered prompt (templates plus the variables put into them).
    public var promptMaxBytes = 1 << 20
    /// A gate answer's message.
    public var messageMaxBytes = 16 * 1024
    /// An idempotency key.
    public var idempotencyKeyMaxBytes = 200
    /// An agent's output text, as parsed for its schema. (A whole result is bounded by the
    /// store's journal-entry limit, since it is journaled.)
    public var resultMaxBytes = 1 << 20
    /// Findings taken from one agent output; more is invalid output.
    public var findingsPerOutputMax = 200
    /// Attempts for one agent output that fails its schema: the first and one retry.
    public var outputAttemptsMax = 2
    /// The kernel's ceiling on a task's iterations (walk-backs), whatever a bundle says.
    public static let iterationCeiling = 10
    /// Rows kept in a violation report per rule.
    public var violationRowsMax = 50

    public init() {}
}
