import Glibc
import Testing

@testable import LoomDaemon

/// SystemdNotifier against a fake notify socket: a Unix datagram socket this process binds
/// and points NOTIFY_SOCKET at, so the exact bytes libsystemd sends can be checked.
///
/// Serialized, and every test restores the variables it touches: the environment is
/// process-wide, and sd_notify reads NOTIFY_SOCKET on each call.
@Suite("Systemd", .serialized)
struct SystemdTests {
    @Test func notificationsArriveAsExactDatagrams() throws {
        let socket = try FakeNotifySocket()
        defer { socket.close() }
        try Self.withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            let notifier = SystemdNotifier()

            #expect(notifier.ready())
            #expect(socket.next() == "READY=1")

            #expect(notifier.ready(status: "serving 2 projects"))
            #expect(socket.next() == "READY=1\nSTATUS=serving 2 projects")

            #expect(notifier.status("line one\nline two\r\nthree"))
            #expect(socket.next() == "STATUS=line one line two three")

            #expect(notifier.stopping())
            #expect(socket.next() == "STOPPING=1")

            #expect(notifier.watchdog())
            #expect(socket.next() == "WATCHDOG=1")

            #expect(notifier.extendTimeout(usec: 90_000_000))
            #expect(socket.next() == "EXTEND_TIMEOUT_USEC=90000000")

            #expect(notifier.send("FDSTORE=0"))
            #expect(socket.next() == "FDSTORE=0")

            #expect(notifier.reloading())
            let now = Self.monotonicUsec()
            let reloading = try #require(socket.next())
            let lines = reloading.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2)
            #expect(lines.first == "RELOADING=1")
            let prefix = "MONOTONIC_USEC="
            let last = try #require(lines.last)
            #expect(last.hasPrefix(prefix))
            let sent = try #require(UInt64(last.dropFirst(prefix.count)))
            // Same clock, a moment apart: a wrong clock (realtime) or unit (ms, ns) is off by
            // far more than a second.
            let distance = sent > now ? sent - now : now - sent
            #expect(distance < 1_000_000, "MONOTONIC_USEC=\(sent), CLOCK_MONOTONIC now \(now) µs")

            // A second reload 50 ms later must be about 50 000 µs on: catches a value in
            // milliseconds or nanoseconds that the one-second check above lets through.
            usleep(50_000)
            #expect(notifier.reloading())
            let again = try #require(socket.next()?.split(separator: "=").last.flatMap { UInt64($0) })
            #expect(again >= sent + 50_000 && again < sent + 1_000_000, "\(sent) then \(again) µs")
        }
    }

    @Test func statusIsCappedAt256BytesOnACharacterBoundary() throws {
        let socket = try FakeNotifySocket()
        defer { socket.close() }
        try Self.withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            #expect(SystemdNotifier().status(String(repeating: "a", count: 300)))
            #expect(socket.next() == "STATUS=" + String(repeating: "a", count: 256))
            // "é" is two bytes: 300 of them are 600 bytes, cut to 128 (256 bytes).
            #expect(SystemdNotifier().status(String(repeating: "é", count: 300)))
            #expect(socket.next() == "STATUS=" + String(repeating: "é", count: 128))
            // "€" is three bytes: 85 fit in 256 (255 bytes), the 86th would split.
            #expect(SystemdNotifier().status(String(repeating: "€", count: 100)))
            #expect(socket.next() == "STATUS=" + String(repeating: "€", count: 85))
        }
    }

    @Test func statusTextBecomesOneLine() {
        #expect(NotifyMessage.oneLine("a\nb\rc\r\nd\u{2028}e\0f") == "a b c d e f")
        #expect(NotifyMessage.oneLine("") == "")
        #expect(NotifyMessage.ready(status: nil) == "READY=1")
        #expect(NotifyMessage.ready(status: "x\ny") == "READY=1\nSTATUS=x y")
        #expect(NotifyMessage.reloading(monotonicUsec: 42) == "RELOADING=1\nMONOTONIC_USEC=42")
    }

    @Test func everyCallIsANoOpWithoutNotifySocket() throws {
        try Self.withEnvironment(["NOTIFY_SOCKET": nil]) {
            let notifier = SystemdNotifier()
            #expect(!notifier.ready(status: "x"))
            #expect(!notifier.status("x"))
            #expect(!notifier.stopping())
            #expect(!notifier.reloading())
            #expect(!notifier.watchdog())
            #expect(!notifier.extendTimeout(usec: 1))
            #expect(!notifier.send("READY=1"))
        }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() throws {
        try Self.withEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "\(getpid())"]) {
            #expect(SystemdNotifier.watchdogPingIntervalUsec() == 1_000_000)
            // Asking leaves the variables in place, so asking again gives the same answer.
            #expect(SystemdNotifier.watchdogPingIntervalUsec() == 1_000_000)
        }
        try Self.withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
            #expect(SystemdNotifier.watchdogPingIntervalUsec() == nil)
        }
        // The watchdog of another process (a parent's variables inherited) is not ours.
        try Self.withEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "\(getpid() &+ 1)"]) {
            #expect(SystemdNotifier.watchdogPingIntervalUsec() == nil)
        }
    }

    @Test func noListenFDsWithoutSocketActivation() throws {
        try Self.withEnvironment(["LISTEN_FDS": nil, "LISTEN_PID": nil, "LISTEN_FDNAMES": nil]) {
            #expect(SystemdNotifier.listenFDs() == [])
        }
        // Sockets passed to another process are not taken, and the variables are cleared so
        // the commands loomd runs do not inherit them.
        try Self.withEnvironment(["LISTEN_FDS": "1", "LISTEN_PID": "\(getpid() &+ 1)", "LISTEN_FDNAMES": nil]) {
            #expect(SystemdNotifier.listenFDs() == [])
            #expect(getenv("LISTEN_FDS") == nil)
            #expect(getenv("LISTEN_PID") == nil)
        }
    }

    // MARK: - Helpers

    /// Sets (or, for nil, unsets) each variable for the duration of `body`, then puts every
    /// one back as it was.
    static func withEnvironment(_ values: [String: String?], _ body: () throws -> Void) throws {
        var saved: [String: String?] = [:]
        for name in values.keys { saved[name] = getenv(name).map { String(cString: $0) } }
        defer {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
        }
        for (name, value) in values {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        try body()
    }

    static func monotonicUsec() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// The receiving end of NOTIFY_SOCKET: a Unix datagram socket bound in a fresh directory
/// under /tmp (sun_path holds 108 bytes, so not under a long $TMPDIR).
private final class FakeNotifySocket {
    /// Longest datagram read; sd_notify messages here are far shorter.
    static let datagramByteLimit = 4096
    /// How long `next()` waits: a datagram to a local socket arrives at once, so this only
    /// bounds a failing test.
    static let receiveTimeoutSeconds = 2

    let directory: String
    let path: String
    private var fd: Int32

    init() throws {
        var template = Array("/tmp/loom-nt-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FakeSocketError.failed("mkdtemp", errno) }
        directory = String(cString: made)
        path = directory + "/notify"

        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FakeSocketError.failed("socket", errno) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw FakeSocketError.failed("path too long for sun_path", ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw FakeSocketError.failed("bind", errno) }

        var timeout = timeval(tv_sec: Self.receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram as text, or nil when none arrives in time.
    func next() -> String? {
        var buffer = [UInt8](repeating: 0, count: Self.datagramByteLimit)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
        unlink(path)
        rmdir(directory)
    }

    deinit { close() }
}

private enum FakeSocketError: Error {
    case failed(String, Int32)
}
