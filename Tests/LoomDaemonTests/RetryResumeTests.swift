import LoomEngine
import Testing

@testable import LoomDaemon
@testable import LoomHost

/// Where a retry resumes after a restart, from the journal's records alone.
struct RetryResumeTests {
    @Test func nothingRetriedStartsAFirstAttemptNow() {
        #expect(RetryResume.from([], nowMs: 5_000) == nil)
    }

    @Test func aTransientRetryResumesAtTheNextAttemptWithWhatIsLeftOfItsDelay() {
        let records = [
            RetryRecord(attempt: 1, errorClass: "transient", delayMs: 1_000, timeMs: 10_000),
            RetryRecord(attempt: 2, errorClass: "transient", delayMs: 2_000, timeMs: 12_000),
        ]
        #expect(RetryResume.from(records, nowMs: 12_500) == RetryResume(attempt: 3, waits: 0, calls: 3, delayMs: 1_500))
        // Past due: now.
        #expect(RetryResume.from(records, nowMs: 20_000)?.delayMs == 0)
        // A clock set back does not stretch the wait past the one journaled.
        #expect(RetryResume.from(records, nowMs: 1_000)?.delayMs == 2_000)
    }

    @Test func aRateLimitWaitKeepsItsAttemptAndCountsItsWaits() {
        let records = [
            RetryRecord(attempt: 1, errorClass: "transient", delayMs: 1_000, timeMs: 10_000),
            RetryRecord(attempt: 2, errorClass: "rate_limited", delayMs: 500, wait: 1, timeMs: 11_000),
            RetryRecord(attempt: 2, errorClass: "rate_limited", delayMs: 500, wait: 2, timeMs: 11_600),
        ]
        #expect(RetryResume.from(records, nowMs: 11_600) == RetryResume(attempt: 2, waits: 2, calls: 4, delayMs: 500))
        // Entries from before waits were numbered: counted.
        let old = records.map { record -> RetryRecord in
            var copy = record
            copy.wait = nil
            return copy
        }
        #expect(RetryResume.from(old, nowMs: 11_600)?.waits == 2)
    }
}
