#if canImport(Glibc)
import Glibc
#endif

/// The one mutex of loom's processes, for state shared between threads and dispatch queues.
///
/// The pthread mutex lives in memory of its own, never in a stored property: a mutex must not
/// move, and `&property` hands C a temporary address (nio's `NIOLock` does the same for the
/// same reason). Dispatch queues are not a substitute where an answer must be given
/// synchronously from inside a queue's own block.
public final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    @inline(__always)
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
