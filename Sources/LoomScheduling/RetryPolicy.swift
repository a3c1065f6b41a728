import LoomEngine
import LoomValues

/// When a failed effect is tried again, and as which attempt: loomd's retry schedule as a
/// pure function of the effect key, the failure and the configuration.
///
/// Deterministic (the jitter is derived from the key and the attempt), so a replayed
/// schedule is the same and the simulator reproduces loomd's delays exactly.
public struct RetryPolicy: Sendable, Equatable {
    public var attemptsMax: Int
    public var baseMs: Int
    public var capMs: Int
    public var rateLimitWaitMs: Int
    public var rateLimitWaitsMax: Int

    public init(
        attemptsMax: Int = 5,
        baseMs: Int = 1_000,
        capMs: Int = 60_000,
        rateLimitWaitMs: Int = 60_000,
        rateLimitWaitsMax: Int = 30
    ) {
        self.attemptsMax = attemptsMax
        self.baseMs = baseMs
        self.capMs = capMs
        self.rateLimitWaitMs = rateLimitWaitMs
        self.rateLimitWaitsMax = rateLimitWaitsMax
    }

    /// A retry: wait `delayMs`, then run as attempt `nextAttempt` (the same attempt for a
    /// rate-limit wait, which uses none up).
    public struct Decision: Sendable, Equatable {
        public let delayMs: Int
        public let nextAttempt: Int
    }

    /// nil: deliver the failure. `waits`: rate-limit waits this attempt has had already.
    public func decision(
        key: String,
        errorClass: String,
        attempt: Int,
        waits: Int = 0,
        retryAfterMs: Int? = nil
    ) -> Decision? {
        switch errorClass {
        case ProviderErrorClass.transient.rawValue:
            guard attempt < attemptsMax else { return nil }
            let backoff = min(capMs, baseMs << min(attempt - 1, 20))
            let jitter = Int(SHA256.hash("\(key)#\(attempt)")[0]) * backoff / 1_024
            // A server that said when to come back (a 503's retry-after) is not asked sooner,
            // within the longest rate-limit wait.
            let asked = min(max(retryAfterMs ?? 0, 0), rateLimitWaitMs)
            return Decision(delayMs: max(backoff + jitter, asked), nextAttempt: attempt + 1)
        case ProviderErrorClass.rateLimited.rawValue:
            guard waits < rateLimitWaitsMax else { return nil }
            // The provider's own retry-after when it gave one, within the configured wait.
            return Decision(
                delayMs: min(max(retryAfterMs ?? rateLimitWaitMs, 0), rateLimitWaitMs),
                nextAttempt: attempt
            )
        default:
            return nil
        }
    }

    /// The decision for an effect's raw result (its `errorClass` and `retryAfterMs`).
    public func decision(key: String, result: JSONValue, attempt: Int, waits: Int) -> Decision? {
        guard let errorClass = result["errorClass"]?.stringValue else { return nil }
        return decision(
            key: key,
            errorClass: errorClass,
            attempt: attempt,
            waits: waits,
            retryAfterMs: result["retryAfterMs"]?.intValue.map { Int($0) }
        )
    }
}
