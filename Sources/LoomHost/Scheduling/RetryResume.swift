import LoomEngine
import LoomScheduling

/// Where an effect's retries stand, read back from the journal when loomd (re)starts it: the
/// attempt to make next, the rate-limit waits that attempt has had, which call of the effect
/// it is, and how long is left of the delay that was journaled.
///
/// Why from the journal: a retry's counters lived only in memory, so a loomd killed during a
/// backoff started the effect again at attempt 1, journaled every retry a second time and
/// counted each against the spawn cap again. The journal already holds each decision and its
/// tick's time token; resuming from them leaves the record and `spawn_count` as a crash-free
/// run leaves them.
package struct RetryResume: Equatable {
    package var attempt: Int
    package var waits: Int
    package var calls: Int
    package var delayMs: Int

    /// nil when nothing was retried yet (the effect starts as a first attempt, now).
    /// `nowMs` is in the time tokens' clock; the delay left is never more than the one
    /// journaled (a clock set back does not stretch it).
    package static func from(_ records: [RetryRecord], nowMs: Int64) -> RetryResume? {
        // An executor lookup retried before the effect first ran is a wait, not a call: it
        // neither spends an attempt nor counts as a call of the effect.
        let records = records.filter { $0.errorClass != ScheduleDecision.lookupErrorClass }
        guard let last = records.last else { return nil }
        let left = Int(max(0, min(Int64(last.delayMs), last.dueMs - nowMs)))
        if last.errorClass == ProviderErrorClass.rateLimited.rawValue {
            // Older entries carry no wait number: count the waits of that attempt.
            let waits =
                last.wait
                ?? records.reversed().prefix { $0.attempt == last.attempt && $0.errorClass == last.errorClass }.count
            return RetryResume(attempt: last.attempt, waits: waits, calls: records.count + 1, delayMs: left)
        }
        return RetryResume(attempt: last.attempt + 1, waits: 0, calls: records.count + 1, delayMs: left)
    }
}
