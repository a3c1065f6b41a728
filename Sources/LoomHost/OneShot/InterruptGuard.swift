import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Ends a run's children when the person presses Ctrl-C: each child leads its own process
/// group (so a timeout can kill what it started), which also means the terminal's SIGINT
/// does not reach it. The handler kills every recorded group, then exits 130; what was in
/// flight is re-issued by `--resume`.
///
/// The pids live in a fixed array the signal handler can read without allocating or locking.
public enum InterruptGuard {
    package static let capacity = 64
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Int32> = {
        let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        return pointer
    }()
    private static let lock = Lock()

    /// Installs the handler for SIGINT and SIGTERM.
    public static func install() {
        _ = slots
        // A parent may have started us with these blocked (a blocked mask survives exec):
        // Ctrl-C must work whoever launched the run.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for number in [SIGINT, SIGTERM] {
            signal(number) { _ in
                for index in 0..<InterruptGuard.capacity where InterruptGuard.slots[index] > 0 {
                    kill(-InterruptGuard.slots[index], SIGKILL)
                }
                let message = Array("\ninterrupted; continue with: loomctl run --resume\n".utf8)
                _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                _exit(130)
            }
        }
    }

    package static func add(_ pid: Int32) {
        lock.withLock {
            if let free = (0..<capacity).first(where: { slots[$0] == 0 }) { slots[free] = pid }
        }
    }

    package static func remove(_ pid: Int32) {
        lock.withLock {
            if let used = (0..<capacity).first(where: { slots[$0] == pid }) { slots[used] = 0 }
        }
    }
}
