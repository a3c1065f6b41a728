#if canImport(Glibc)
import Glibc
#endif

/// A plain pthread mutex; the Synchronization module and Foundation's NSLock are off
/// limits for this target, and dispatch queues cannot answer synchronously from
/// inside their own blocks (which `IPCReply.event` must be able to do).
final class IPCLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
