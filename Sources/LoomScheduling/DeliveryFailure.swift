import LoomEngine

/// What the host does when the store would not take an effect's result: loomd's policy as a
/// pure function, so the simulator exercises the same answers under injected storage faults.
public enum DeliveryFailure: Sendable, Equatable {
    /// Try the same delivery again after `delayMs` (a store that cannot take it for now).
    case retry(delayMs: Int)
    /// Deliver this replacement instead (the journal refused the result as too large).
    case standIn
    /// Give up for this run: the effect stays pending, and the host re-issues it later.
    case leavePending
    /// The project is quarantined: write nothing more, not even a cancel.
    case quarantined
    /// End the task on record, for a person to look at (a pending effect nobody runs would
    /// hold the project's queue for ever).
    case cancelTask(reason: String)

    /// How often a delivery the store cannot take for now (busy, full, an I/O error) is tried
    /// again, and the first delay, doubled each time: about a minute in all.
    public static let retriesMax = 6
    public static let retryBaseMs = 1_000

    /// - Parameters:
    ///   - retry: tries so far after a store failure.
    ///   - standInPossible: a replacement exists and this result is not one already.
    public static func decide(_ error: LoomError, key: String, retry: Int, standInPossible: Bool) -> DeliveryFailure {
        switch error.code {
        case .invariantViolation:
            // The violation is journaled; running the step again would only get the same result.
            return .cancelTask(
                reason:
                    "the result of \(key) was refused by rule \(error.violations.map(\.rule).joined(separator: ", "))"
            )
        case .tooLarge where standInPossible:
            return .standIn
        case .foreignWrite:
            return .quarantined
        case .busy, .full, .io, .readOnly:
            guard retry < retriesMax else { return .leavePending }
            return .retry(delayMs: retryBaseMs << retry)
        default:
            return .cancelTask(reason: "the result of \(key) could not be recorded: \(error.message)")
        }
    }
}
