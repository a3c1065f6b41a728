import Foundation
import LoomEngine
import LoomIPC
import LoomProviders
import LoomSystem
import LoomValues

/// Benchmarks of the real loomd: control-plane round trips and start-up recovery.
///
/// not-a-task-process: the benchmark starts loom's own binaries (loomd, loomctl) to time them.
struct DaemonBench {
    let binaries: String
    let repositoryRoot: String

    /// A loomd on a temporary state directory and socket.
    final class Instance {
        let directory: String
        let socket: String
        let process: Process
        let notify: NotifyReceiver
        let startedAt: Date

        init(binaries: String, directory: String, bundles: String, script: String) throws {
            self.directory = directory
            socket = "\(directory)/d.sock"
            notify = NotifyReceiver(path: "\(directory)/n.sock")
            process = Process()
            process.executableURL = URL(fileURLWithPath: "\(binaries)/loomd")
            process.arguments = [
                "--state-dir", "\(directory)/state", "--socket", socket, "--bundles", bundles, "--default-bundle",
                "publishing", "--provider-script", script,
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = notify.path
            environment["WATCHDOG_USEC"] = nil
            process.environment = environment
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            startedAt = Date()
            try process.run()
        }

        /// Seconds from spawn to READY=1. The receiver then closes, as a real systemd
        /// would keep reading; loomd's later notifications fail fast instead of blocking.
        func waitReady(seconds: Double = 60) throws -> Double {
            guard let ready = notify.waitFor("READY=1", seconds: seconds) else {
                throw BenchError("loomd sent no READY=1")
            }
            notify.close()
            return ready.timeIntervalSince(startedAt)
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func script(in directory: String) throws -> String {
        let path = "\(directory)/script.json"
        try """
        {"agents": {"writer": [{"output": {"title": "T", "text": "W"}}], "editor": [{"output": {"findings": []}}],
                    "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]}}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func temporaryDirectory(_ name: String) throws -> String {
        let path = "/tmp/loom-bench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: ipc

    func ipc(calls: Int) throws {
        let directory = try temporaryDirectory("ipc")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try Instance(
            binaries: binaries,
            directory: directory,
            bundles: "\(repositoryRoot)/bundles",
            script: try script(in: directory)
        )
        defer { daemon.stop() }
        _ = try daemon.waitReady()
        let project = "\(directory)/p"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        let client = try IPCClient(socketPath: daemon.socket, clientName: "loom-bench")
        _ = try client.call(Submit.self, Submit.Params(project: project, input: "warm up", policy: "full-supervised"))

        // Baseline: the same request and answer sizes bounced through a socketpair by a thread.
        let baseline = SocketPairEcho().roundTrips(count: calls, payloadBytes: 64)
        var status: [Double] = []
        for _ in 0..<calls {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try client.call(Status.self, TaskParams(project: project, task: "t1"))
            status.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000)
        }
        var loomctl: [Double] = []
        // posix_spawn and waitpid (Foundation's Process waits in 50 ms steps on Linux).
        for _ in 0..<min(calls, 200) {
            let start = DispatchTime.now().uptimeNanoseconds
            let argv = ["\(binaries)/loomctl", "status", "t1", "-C", project, "--json", "--socket", daemon.socket]
            let run = ChildProcess.run(.init(argv: argv, timeoutMs: 10_000, outputLimitBytes: 65_536))
            guard run.exitCode == 0 else {
                throw BenchError("loomctl status failed: \(String(decoding: run.output, as: UTF8.self))")
            }
            loomctl.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000)
        }
        // Submissions acknowledged per second: each is committed (FULL) before its answer;
        // they queue behind t1, which waits at a gate.
        let submissions = min(calls, 2_000)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<submissions {
            _ = try client.call(
                Submit.self,
                Submit.Params(project: project, input: "job \(index)", policy: "full-supervised")
            )
        }
        let submitRate = Double(submissions) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        let figures: [(String, Double)] = [
            ("status_p50_us", percentile(status, 0.5)), ("status_p99_us", percentile(status, 0.99)),
            ("socketpair_echo_p50_us", percentile(baseline, 0.5)),
            ("status_over_echo_p50", percentile(status, 0.5) / max(percentile(baseline, 0.5), 0.001)),
            ("loomctl_status_p50_us", percentile(loomctl, 0.5)), ("loomctl_status_p99_us", percentile(loomctl, 0.99)),
            ("submissions_per_s", submitRate),
        ]
        print(
            "status round trip (in-process client): p50 \(Int(percentile(status, 0.5))) µs, p99 \(Int(percentile(status, 0.99))) µs; socketpair echo p50 \(String(format: "%.1f", percentile(baseline, 0.5))) µs"
        )
        print(
            "loomctl status (a process each time): p50 \(Int(percentile(loomctl, 0.5) / 1_000)) ms, p99 \(Int(percentile(loomctl, 0.99) / 1_000)) ms"
        )
        print(
            "submissions to a parked project: \(Int(submitRate))/s (each committed with synchronous=FULL before its answer)"
        )
        printJSON(figures)
    }

    // MARK: recovery

    func recovery(history: Int, inFlight: Int, parked: Int) throws {
        let emptyDirectory = try temporaryDirectory("recovery-empty")
        let fullDirectory = try temporaryDirectory("recovery-full")
        defer {
            try? FileManager.default.removeItem(atPath: emptyDirectory)
            try? FileManager.default.removeItem(atPath: fullDirectory)
        }
        let bundles = "\(repositoryRoot)/bundles"
        // Empty: a registry with one project that has never run anything.
        let emptyScript = try script(in: emptyDirectory)
        try seedProject(directory: emptyDirectory, script: emptyScript, finished: 0, inFlight: 0)
        let emptyReady = try medianReady(directory: emptyDirectory, script: emptyScript)
        // Full: the same project with `history` finished tasks and `inFlight` unfinished effects.
        let fullScript = try script(in: fullDirectory)
        try seedProject(directory: fullDirectory, script: fullScript, finished: history, inFlight: inFlight)
        let fullReady = try medianReady(directory: fullDirectory, script: fullScript)
        print(
            "READY after start: \(Int(emptyReady * 1_000)) ms empty, \(Int(fullReady * 1_000)) ms with \(history) finished and \(inFlight) in-flight tasks"
        )

        // Idle: `parked` projects each with a task parked at a gate.
        let idleDirectory = try temporaryDirectory("recovery-idle")
        defer { try? FileManager.default.removeItem(atPath: idleDirectory) }
        let daemon = try Instance(
            binaries: binaries,
            directory: idleDirectory,
            bundles: bundles,
            script: try script(in: idleDirectory)
        )
        defer { daemon.stop() }
        _ = try daemon.waitReady()
        let client = try IPCClient(socketPath: daemon.socket, clientName: "loom-bench")
        for index in 0..<parked {
            let project = "\(idleDirectory)/p\(index)"
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            _ = try client.call(Submit.self, Submit.Params(project: project, input: "park", policy: "full-supervised"))
        }
        // Wait until every task is parked.
        for _ in 0..<600 {
            let fleet = try client.call(Status.self, TaskParams(project: nil, task: nil))
            let parkedNow = (fleet["projects"]?.arrayValue ?? []).reduce(0) {
                $0 + Int($1["tasks"]?["parked"]?.intValue ?? 0)
            }
            if parkedNow >= parked { break }
            usleep(100_000)
        }
        client.close()
        // Let the daemon settle: an idle project closes its connection 2 s after last use.
        usleep(3_500_000)
        let pid = daemon.process.processIdentifier
        let before = contextSwitches(pid)
        let seconds = 5.0
        usleep(UInt32(seconds * 1_000_000))
        let wakeups = Double(self.wakeups(before, contextSwitches(pid))) / seconds
        let rssMB = residentMegabytes(pid)
        let anonMB = residentMegabytes(pid, field: "RssAnon")
        let fileMB = residentMegabytes(pid, field: "RssFile")
        print(
            "\(parked) parked tasks: \(String(format: "%.1f", wakeups)) wake-ups/s, RSS \(String(format: "%.1f", rssMB)) MB (own \(String(format: "%.1f", anonMB)) MB, libraries \(String(format: "%.1f", fileMB)) MB)"
        )
        print(
            "resident by mapping: "
                + residentByMapping(pid).prefix(30).map { "\($0.name) \(String(format: "%.1f", $0.megabytes))" }.joined(
                    separator: ", "
                )
        )
        printJSON([
            ("ready_empty_ms", emptyReady * 1_000), ("ready_history_ms", fullReady * 1_000),
            ("ready_ratio", fullReady / max(emptyReady, 0.000_001)),
            ("history_tasks", Double(history)), ("in_flight_tasks", Double(inFlight)),
            ("parked_tasks", Double(parked)), ("idle_wakeups_per_s", wakeups), ("rss_mb", rssMB),
            ("rss_anon_mb", anonMB), ("rss_file_mb", fileMB),
        ])
    }

    private func medianReady(directory: String, script: String) throws -> Double {
        var times: [Double] = []
        for _ in 0..<3 {
            let daemon = try Instance(
                binaries: binaries,
                directory: directory,
                bundles: "\(repositoryRoot)/bundles",
                script: script
            )
            times.append(try daemon.waitReady())
            daemon.stop()
        }
        return percentile(times, 0.5)
    }

    /// A registered project whose database holds `finished` done tasks (rows written in
    /// bulk: recovery must not read them) and `inFlight` tasks with an unfinished effect.
    private func seedProject(directory: String, script: String, finished: Int, inFlight: Int) throws {
        let project = "\(directory)/project"
        try FileManager.default.createDirectory(atPath: "\(project)/.loom", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory)/state", withIntermediateDirectories: true)
        try JSONValue.object(["projects": [.string(project)]]).canonicalText.write(
            toFile: "\(directory)/state/projects.json",
            atomically: true,
            encoding: .utf8
        )
        var options = StoreOptions()
        options.durability = .normal
        let bundle = try BundleLoader.load(directory: "\(repositoryRoot)/bundles/publishing")
        _ = try Store(path: "\(project)/.loom/state.db", options: options)
        try HistoryLoader.load(path: "\(project)/.loom/state.db", finishedTasks: finished, bundle: bundle)
        let store = try Store(path: "\(project)/.loom/state.db", options: options)
        // In-flight work through the kernel itself: submissions whose effects never ran.
        var time: Int64 = 1_800_000_000_000
        let engine = try Engine(
            store: store,
            bundles: [bundle],
            clock: {
                time += 1
                return time
            }
        )
        for index in 0..<inFlight {
            _ = try engine.submit(
                bundle: "publishing",
                input: "in flight \(index)",
                by: Caller(principal: .human(uid: 0))
            )
        }
    }

    /// Context switches per thread (voluntary and involuntary).
    private func contextSwitches(_ pid: Int32) -> [String: Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var counts: [String: Int] = [:]
        for thread in tasks {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)) ?? ""
            counts[thread] = status.split(separator: "\n").filter { $0.contains("ctxt_switches") }
                .compactMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") }.reduce(
                    0,
                    +
                )
        }
        return counts
    }

    /// Wake-ups between two samples: the growth of threads present in both, plus all of a
    /// thread that appeared (a thread that exited in between took its count with it).
    private func wakeups(_ before: [String: Int], _ after: [String: Int]) -> Int {
        after.reduce(0) { total, entry in total + entry.value - (before[entry.key] ?? 0) }
    }

    /// Resident memory per mapped file (and "[anon]" for the rest), largest first, in MB:
    /// which library a regression in `rss_mb` came from.
    private func residentByMapping(_ pid: Int32) -> [(name: String, megabytes: Double)] {
        // Read to the end: a /proc file reports no size, and a sized read may stop early.
        let smaps =
            FileHandle(forReadingAtPath: "/proc/\(pid)/smaps").map {
                String(decoding: $0.readDataToEndOfFile(), as: UTF8.self)
            } ?? ""
        var totals: [String: Double] = [:]
        var current = "[anon]"
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first?.contains("-") == true, fields.count >= 5 {
                current = fields.count >= 6 ? String(fields[5].split(separator: "/").last ?? "[anon]") : "[anon]"
            } else if fields.first == "Rss:", fields.count >= 2, let kilobytes = Double(fields[1]) {
                totals[current, default: 0] += kilobytes / 1_024
            }
        }
        return totals.map { ($0.key, $0.value) }.sorted { $0.megabytes > $1.megabytes }
    }

    /// A /proc/PID/status field in MB (VmRSS; RssAnon is the process's own memory, RssFile the
    /// pages of its executable and shared libraries, which the kernel can drop and re-read).
    private func residentMegabytes(_ pid: Int32, field: String = "VmRSS") -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("\(field):") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1_024 } ?? 0
    }
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
}

func printJSON(_ figures: [(String, Double)]) {
    print(
        "{"
            + figures.map { key, value in
                "\"\(key)\":"
                    + (value == value.rounded() && abs(value) < 1e15
                        ? String(Int(value)) : String(format: "%.3f", value))
            }.joined(separator: ",") + "}"
    )
}

/// Receives sd_notify datagrams and stamps them.
final class NotifyReceiver {
    let path: String
    let fd: Int32

    init(path: String) {
        self.path = path
        unlink(path)
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
        var timeout = timeval(tv_sec: 0, tv_usec: 10_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private var closed = false

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
        unlink(path)
    }

    deinit { close() }

    func waitFor(_ text: String, seconds: Double) -> Date? {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while Date() < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0, String(decoding: buffer[0..<count], as: UTF8.self).contains(text) { return Date() }
        }
        return nil
    }
}

/// The baseline for round trips: a thread echoing fixed-size messages over a socketpair.
struct SocketPairEcho {
    func roundTrips(count: Int, payloadBytes: Int) -> [Double] {
        var fds: [Int32] = [0, 0]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        let server = fds[1]
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: payloadBytes)
            while true {
                var have = 0
                while have < payloadBytes {
                    let got = buffer.withUnsafeMutableBytes {
                        read(server, $0.baseAddress! + have, payloadBytes - have)
                    }
                    if got <= 0 { return }
                    have += got
                }
                _ = buffer.withUnsafeBytes { write(server, $0.baseAddress, payloadBytes) }
            }
        }
        thread.start()
        var samples: [Double] = []
        var buffer = [UInt8](repeating: 7, count: payloadBytes)
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = buffer.withUnsafeBytes { write(fds[0], $0.baseAddress, payloadBytes) }
            var have = 0
            while have < payloadBytes {
                let got = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress! + have, payloadBytes - have) }
                if got <= 0 { break }
                have += got
            }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000)
        }
        close(fds[0])
        close(fds[1])
        return samples
    }
}
