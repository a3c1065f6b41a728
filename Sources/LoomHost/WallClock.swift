import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds of the wall clock, never going backwards within this process: the time
/// tokens the kernel stamps ticks with (loomd, and a one-shot run).
package final class WallClock: @unchecked Sendable {
    private let lock = Lock()
    private var last: Int64 = 0

    package init() {}

    package func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let value = Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
        return lock.withLock {
            last = max(last, value)
            return last
        }
    }
}
