import Foundation
import LoomEngine
import LoomIPC
import LoomValues
import Testing

/// What operators rely on: retries on record, leftovers of a crash ended, metrics a real
/// Prometheus parser accepts, a live log, a hostile client.
@Suite(.serialized) struct DaemonOperationsTests {
    @Test func transientFailuresAreRetriedWithBackoffAndJournaled() throws {
        let script = """
            {"agents": {
              "writer": [{"error": "transient", "message": "upstream 503", "times": 2, "then": {"output": {"title": "T", "text": "W"}}}],
              "editor": [{"output": {"findings": []}}],
              "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]
            }}
            """
        let daemon = try DaemonHarness(script: script, config: "{\"retryBaseMs\": 20, \"retryCapMs\": 100}")
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done", "\(daemon.log())")
        let log = daemon.ctl(["log", "t1", "-C", project]).stdout
        #expect(log.components(separatedBy: "retry t1:draft:writer:0:1 after attempt").count - 1 == 2, "\(log)")
        #expect(log.contains("(transient)"))
        #expect(log.contains("upstream 503"))
        #expect(daemon.ctl(["metrics"]).stdout.contains("loom_effect_retries_total{reason=\"transient\"} 2"))
    }

    /// A retry whose journal entry ends the task (a spawn cap of 1, reached by the first
    /// attempt) is never attempted, however short its delay: the delay starts only once the
    /// retry is on record. Before, a 1 ms timer ran the writer again while the entry was
    /// still being written.
    @Test func aRetryThatEndsItsTaskIsNotAttempted() throws {
        let script = """
            {"agents": {"writer": [{"error": "transient", "message": "upstream 503", "times": 10, "then": {"output": {"title": "T", "text": "W"}}}]}}
            """
        let daemon = try DaemonHarness(script: script, config: "{\"retryBaseMs\": 1, \"retryCapMs\": 1}")
        let bundles = "\(daemon.directory)/bundles"
        try FileManager.default.createDirectory(atPath: bundles, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "\(DaemonHarness.repositoryRoot)/bundles/publishing",
            toPath: "\(bundles)/publishing"
        )
        let manifest = "\(bundles)/publishing/bundle.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"spawnCap\": 40", with: "\"spawnCap\": 1").write(
            toFile: manifest,
            atomically: true,
            encoding: .utf8
        )
        let at = try #require(daemon.arguments.firstIndex(of: "--bundles"))
        daemon.arguments[at + 1] = bundles
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "failed" } == "failed", "\(daemon.log())")
        // Time for a stray attempt to run and be counted.
        Thread.sleep(forTimeInterval: 0.5)
        let metrics = daemon.ctl(["metrics"]).stdout
        let spawns = metrics.split(separator: "\n").filter { $0.hasPrefix("loom_spawns_total{") }
        #expect(spawns == ["loom_spawns_total{outcome=\"transient\"} 1"], "\(metrics)")
        #expect(
            daemon.ctl(["status", "t1", "-C", project, "--json"]).stdout.contains(
                "spawn cap of 1 reached retrying writer"
            )
        )
    }

    /// Effect keys are per project (every project has a t1): two projects running the same
    /// key at once both get their agent. Before, the second was taken for a duplicate of the
    /// first and never started.
    @Test func twoProjectsRunTheSameEffectKeyAtOnce() throws {
        let daemon = try DaemonHarness(script: DaemonHarness.slowWriterScript(writerDelayMs: 1500))
        try daemon.start()
        let first = try daemon.makeProject("a"), second = try daemon.makeProject("b")
        #expect(daemon.ctl(["submit", "-C", first, "x"]).status == 0)
        #expect(daemon.ctl(["submit", "-C", second, "y"]).status == 0)
        for project in [first, second] {
            #expect(
                daemon.waitFor(task: "t1", project: project, seconds: 10) { $0 == "parked" || $0 == "done" }
                    != "running",
                "\(project): \(daemon.log())"
            )
        }
    }

    /// Cancelling the running task starts the queued one in the same tick; its first agent
    /// must run. Before, the cancel request dropped the effects that tick asked for, and the
    /// queued task sat "running" until loomd restarted.
    @Test func cancellingTheRunningTaskRunsTheNextOne() throws {
        let daemon = try DaemonHarness(script: DaemonHarness.slowWriterScript(writerDelayMs: 800))
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "first"]).status == 0)
        #expect(daemon.ctl(["submit", "-C", project, "second"]).status == 0)
        #expect(daemon.waitFor(task: "t2", project: project) { $0 == "queued" } == "queued")
        #expect(daemon.ctl(["cancel", "t1", "-C", project]).status == 0)
        #expect(
            daemon.waitFor(task: "t2", project: project, seconds: 10) { $0 == "parked" || $0 == "done" } != "running",
            "\(daemon.log())"
        )
    }

    /// A task cancelled while a retry of its agent waits out its delay spends no more
    /// attempts: the waiting retry is dropped with the task.
    @Test func aRetryWaitingForACancelledTaskIsDropped() throws {
        let script = """
            {"agents": {"writer": [{"error": "transient", "message": "upstream 503", "times": 10, "then": {"output": {"title": "T", "text": "W"}}}]}}
            """
        let daemon = try DaemonHarness(script: script, config: "{\"retryBaseMs\": 1500, \"retryCapMs\": 1500}")
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        let deadline = Date().addingTimeInterval(10)
        while !daemon.ctl(["log", "t1", "-C", project]).stdout.contains("after attempt 1"), Date() < deadline {
            usleep(20_000)
        }
        #expect(daemon.ctl(["cancel", "t1", "-C", project]).status == 0)
        // Past the retry's delay (1.5 s and its jitter, at most 1.5 s more).
        Thread.sleep(forTimeInterval: 3.2)
        let metrics = daemon.ctl(["metrics"]).stdout
        #expect(
            metrics.split(separator: "\n").filter { $0.hasPrefix("loom_spawns_total{") } == [
                "loom_spawns_total{outcome=\"transient\"} 1"
            ],
            "\(metrics)"
        )
    }

    /// A provider that never lets up gets a bounded number of waits, each on record; then
    /// its rate-limited result is delivered and the task fails, instead of retrying for ever.
    @Test func rateLimitWaitsAreBounded() throws {
        let script = """
            {"agents": {"writer": [{"error": "rate_limited", "message": "slow down", "times": 1000, "then": {"output": {"title": "T", "text": "W"}}}]}}
            """
        let daemon = try DaemonHarness(script: script, config: "{\"rateLimitWaitMs\": 1, \"rateLimitWaitsMax\": 3}")
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "failed" } == "failed", "\(daemon.log())")
        let log = daemon.ctl(["log", "t1", "-C", project]).stdout
        #expect(log.components(separatedBy: "retry t1:draft:writer:0:1 after attempt").count - 1 == 3, "\(log)")
        let metrics = daemon.ctl(["metrics"]).stdout
        #expect(metrics.contains("loom_spawns_total{outcome=\"rate_limited\"} 4"), "\(metrics)")
    }

    /// An agent result the journal cannot take (each quote escaped twice: over its 1 MiB
    /// entry limit) fails its step on record. Before, the delivery error was only logged:
    /// the effect stayed pending, the task "running" and every task behind it queued.
    @Test func aResultTooLargeToRecordFailsItsStep() throws {
        let quotes = String(repeating: "\\\"", count: 400_000)
        let script = """
            {"agents": {"writer": [{"output": {"title": "T", "text": "\(quotes)"}}]}}
            """
        let daemon = try DaemonHarness(script: script)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "first"]).status == 0)
        #expect(daemon.ctl(["submit", "-C", project, "second"]).status == 0)
        for task in ["t1", "t2"] {
            #expect(
                daemon.waitFor(task: task, project: project) { $0 == "failed" } == "failed",
                "\(task): \(daemon.log())"
            )
        }
        let status = daemon.ctl(["status", "t1", "-C", project, "--json"]).stdout
        #expect(status.contains("could not be recorded"), "\(status)")
        #expect(status.contains("invalid_output"), "\(status)")
    }

    @Test func metricsParseWithPrometheusOwnParser() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "x"])
        _ = daemon.waitFor(task: "t1", project: project) { $0 == "parked" }
        let text = daemon.ctl(["metrics"]).stdout
        let parser = Process()
        parser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        parser.arguments = [
            "python3", "-c",
            """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            names = sorted(f.name for f in text_string_to_metric_families(sys.stdin.read()))
            print(" ".join(names))
            """,
        ]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        parser.standardInput = input
        parser.standardOutput = output
        parser.standardError = errors
        try parser.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        parser.waitUntilExit()
        let families = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(
            parser.terminationStatus == 0,
            "prometheus_client refused the exposition (install it with: python3 -m pip install prometheus_client): \(problems)"
        )
        for family in [
            "loom_build_info", "loom_tasks", "loom_queue_depth", "loom_tick_duration_seconds",
            "loom_schedule_to_start_seconds",
            "loom_gate_wait_seconds", "loom_spawns", "loom_tokens", "loom_cost_usd", "loom_effect_retries",
            "loom_invariant_violations",
            "loom_recovery_duration_seconds", "loom_recovered_effects", "loom_last_completion_timestamp_seconds",
        ] {
            #expect(
                families.split(separator: " ").contains {
                    $0.trimmingCharacters(in: .whitespacesAndNewlines) == family
                },
                "missing \(family): \(families)"
            )
        }
    }

    @Test func logFollowStreamsUntilTheTaskEnds() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        _ = daemon.ctl(["submit", "-C", project, "x"])
        _ = daemon.waitFor(task: "t1", project: project) { $0 == "parked" }
        let approver = DispatchQueue(label: "approver")
        approver.asyncAfter(deadline: .now() + 0.5) { _ = daemon.ctl(["approve", "t1", "-C", project]) }
        let followed = daemon.ctl(["log", "t1", "-C", project, "--follow"], timeout: 20)
        #expect(followed.status == 0, "\(followed.stderr)")
        #expect(followed.stdout.contains("answered t1.g1: approve"))
        #expect(followed.stdout.contains("result t1:render:command:0:1: ok exit 0"))
    }

    @Test func aHostileClientIsAnsweredAndOthersAreServed() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        // A length of 2 GiB: refused with too_large, the connection closed.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in daemon.socket.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(connected == 0)
        let header: [UInt8] = [0x80, 0, 0, 0]
        _ = header.withUnsafeBytes { send(fd, $0.baseAddress, 4, Int32(MSG_NOSIGNAL)) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4_096)
        var received: [UInt8] = []
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        let answer = received.count > 4 ? String(decoding: received[4...], as: UTF8.self) : ""
        #expect(answer.contains("too_large"), "\(answer)")
        // Everyone else is still served.
        #expect(daemon.ctl(["projects", "list"]).status == 0)
    }

    @Test func aKilledDaemonsLeftoverChildrenAreEndedOnRestart() throws {
        let daemon = try DaemonHarness()
        let bundle = "\(daemon.directory)/slow"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        // A sleep whose argument is unique to this run, so the test finds exactly its child.
        let marker = "61.\(UInt32.random(in: 100_000...999_999))"
        let manifest: JSONValue = [
            "name": "slow", "version": "1", "phases": ["work"], "defaultFlow": "main",
            "flows": [
                "main": [
                    "steps": [
                        [
                            "name": "wait", "phase": "work", "kind": "command", "argv": ["sleep", .string(marker)],
                            "timeoutMs": 120_000,
                        ],
                        ["name": "end", "phase": "work", "kind": "finalize"],
                    ]
                ]
            ],
        ]
        try manifest.canonicalText.write(toFile: "\(bundle)/bundle.json", atomically: true, encoding: .utf8)
        daemon.arguments += ["--bundles", bundle]
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--bundle", "slow", "wait"]).status == 0)
        var leftover: Int32?
        for _ in 0..<100 where leftover == nil {
            leftover = Self.pids(named: marker).first
            usleep(50_000)
        }
        let pid = try #require(leftover, "the command never started")
        daemon.signal(SIGKILL)
        _ = daemon.waitForExit()
        #expect(kill(pid, 0) == 0, "the child should outlive a SIGKILLed loomd")
        try daemon.start()
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(pid, 0) != 0 || Self.isZombie(pid)
            usleep(50_000)
        }
        #expect(gone, "the restarted loomd did not end the leftover child \(pid)")
        #expect(daemon.log().contains("left running by a previous loomd"))
        // Recovery re-issued the step; end it so the test does not wait out the sleep.
        _ = daemon.ctl(["cancel", "t1", "-C", project])
        for child in Self.pids(named: marker) { kill(child, SIGKILL) }
    }

    static func pids(named marker: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name),
                let cmdline = try? String(contentsOfFile: "/proc/\(name)/cmdline", encoding: .utf8)
            else { return nil }
            return cmdline.contains(marker) ? pid : nil
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").contains(") Z ")
    }
}
