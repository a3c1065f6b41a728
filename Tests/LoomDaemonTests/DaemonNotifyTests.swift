import Foundation
import LoomEngine
import Testing

/// A fake NOTIFY_SOCKET receiver checks what loomd tells systemd, and when.
@Suite(.serialized) struct DaemonNotifyTests {
    /// A Unix datagram socket collecting what loomd sends.
    final class Receiver: @unchecked Sendable {
        let path: String
        let fd: Int32

        init(path: String) {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Messages received until `seconds` pass or `until` is satisfied by the list so far.
        func collect(seconds: Double, until: ([String]) -> Bool = { _ in false }) -> [(at: Date, text: String)] {
            var messages: [(Date, String)] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while Date() < deadline {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 { messages.append((Date(), String(decoding: buffer[0..<count], as: UTF8.self))) }
                if until(messages.map(\.1)) { break }
            }
            return messages
        }
    }

    @Test func readyWatchdogStoppingAndReload() throws {
        let daemon = try DaemonHarness(config: "{\"effectsMax\": 2}")
        let receiver = Receiver(path: "\(daemon.directory)/notify.sock")
        try daemon.start(
            extraEnvironment: ["NOTIFY_SOCKET": receiver.path, "WATCHDOG_USEC": "400000"],
            waitForSocket: false
        )
        // WATCHDOG_PID must name loomd itself; set after the fact is impossible, so loomd
        // accepts WATCHDOG_USEC without WATCHDOG_PID as sd_watchdog_enabled does.
        let early = receiver.collect(seconds: 10) { $0.contains { $0.contains("READY=1") } }
        #expect(early.contains { $0.text.contains("READY=1") }, "\(early.map(\.text)) \(daemon.log())")
        let readyIndex = early.firstIndex { $0.text.contains("READY=1") } ?? 0
        // EXTEND_TIMEOUT and the recovery status come before READY.
        #expect(early[..<readyIndex].contains { $0.text.contains("EXTEND_TIMEOUT_USEC=") })
        #expect(early[readyIndex].text.contains("STATUS="))

        // Watchdog pings at about half of WATCHDOG_USEC (200 ms): 3–12 of them in 1.2 s.
        let pings = receiver.collect(seconds: 1.2).filter { $0.text.contains("WATCHDOG=1") }
        #expect((3...12).contains(pings.count), "\(pings.count) pings")

        daemon.signal(SIGHUP)
        let reload = receiver.collect(seconds: 5) { messages in
            messages.contains { $0.contains("RELOADING=1") } && messages.last { $0.contains("READY=1") } != nil
                && messages.firstIndex { $0.contains("RELOADING=1") }! < messages.lastIndex { $0.contains("READY=1") }!
        }
        let reloading = try #require(reload.first { $0.text.contains("RELOADING=1") })
        #expect(reloading.text.contains("MONOTONIC_USEC="))
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let monotonic =
            Int64(reloading.text.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }?.dropFirst(15) ?? "0")
            ?? 0
        let nowUsec = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
        #expect(abs(nowUsec - monotonic) < 5_000_000)
        #expect(reload.contains { $0.text.contains("READY=1") })

        daemon.signal(SIGTERM)
        let stopping = receiver.collect(seconds: 5) { $0.contains { $0.contains("STOPPING=1") } }
        #expect(stopping.contains { $0.text.contains("STOPPING=1") })
        let exit = daemon.waitForExit()
        #expect(exit?.status == 0 && exit?.signaled == false)
    }

    @Test func parkedTasksCostNoWakeUps() throws {
        let daemon = try DaemonHarness()
        let receiver = Receiver(path: "\(daemon.directory)/notify.sock")
        try daemon.start(extraEnvironment: ["NOTIFY_SOCKET": receiver.path])
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "park me"])
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        // Settle: an idle project closes its connection once, 2 s after its last use.
        _ = receiver.collect(seconds: 3.2)
        // Without a watchdog, a parked daemon sends nothing at all: it is not polling.
        let idle = receiver.collect(seconds: 1.0)
        #expect(idle.isEmpty, "\(idle.map(\.text))")
        guard let pid = daemon.process?.pid else { return }
        let before = Self.contextSwitches(pid)
        usleep(1_000_000)
        let after = Self.contextSwitches(pid)
        #expect(after - before <= 2, "loomd woke \(after - before) times in a second while parked")
    }

    /// Voluntary plus involuntary context switches of every thread of `pid`.
    static func contextSwitches(_ pid: Int32) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, thread in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)) ?? ""
            return total
                + status.split(separator: "\n").filter { $0.contains("ctxt_switches") }
                .compactMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") }.reduce(
                    0,
                    +
                )
        }
    }
}
