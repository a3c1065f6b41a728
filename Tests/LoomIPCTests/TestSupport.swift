import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A counter/flag shared with handlers running on the server's queues.
final class Tally: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var count = 0

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func add(_ n: Int = 1) {
        pthread_mutex_lock(&mutex)
        count += n
        pthread_mutex_unlock(&mutex)
    }

    var value: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return count
    }
}

/// Polls `condition` every 10 ms until it holds or `timeoutMs` passes.
func eventually(timeoutMs: Int = 5_000, _ condition: () -> Bool) -> Bool {
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
    while DispatchTime.now().uptimeNanoseconds < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

func milliseconds(since start: UInt64) -> Int {
    Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
}

/// Runs `body(i)` for i in 0..<count on that many real threads and joins them.
/// Real threads, not tasks or dispatch blocks: the clients block in poll(), and
/// blocking the cooperative pool or dispatch's workers would starve the server.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var threads: [pthread_t] = []
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setstacksize(&attributes, 1 << 20)
    for index in 0..<count {
        let job = Unmanaged.passRetained(Job { body(index) }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            &attributes,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.run()
                return nil
            },
            job
        )
        precondition(rc == 0, "pthread_create failed: \(rc)")
        threads.append(thread)
    }
    pthread_attr_destroy(&attributes)
    for thread in threads { pthread_join(thread, nil) }
}
