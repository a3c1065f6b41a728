#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock, for durations and deadlines (never for time tokens, which come from
/// the wall clock and are journaled).
public enum MonotonicClock {
    /// Milliseconds since an arbitrary fixed point; never goes backwards.
    public static func milliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1_000 + Int(now.tv_nsec) / 1_000_000
    }

    /// Sleeps the calling thread, resuming after signals (never called on a queue that others
    /// wait for).
    public static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1_000, tv_nsec: (milliseconds % 1_000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) < 0 && errno == EINTR { request = remaining }
    }
}
