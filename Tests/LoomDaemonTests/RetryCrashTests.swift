import Foundation
import LoomEngine
import Testing

/// A retry's counters live in the journal, not in loomd's memory: loomd killed while a retry
/// waits out its backoff resumes it at its attempt and due time. Nothing is journaled twice
/// and the task's spawn count ends as a crash-free run's does.
@Suite(.serialized) struct RetryCrashTests {
    /// The writer fails `failures` times (transient), then answers.
    static func script(failures: Int) -> String {
        """
        {"agents": {
          "writer": [{"error": "transient", "message": "upstream 503", "times": \(failures), "then": {"output": {"title": "T", "text": "W"}}}],
          "editor": [{"output": {"findings": []}}],
          "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]
        }}
        """
    }

    static let config = #"{"retryBaseMs": 300, "retryCapMs": 300, "retryAttemptsMax": 20}"#

    struct Record: Equatable {
        var retries: [String]
        var spawnCount: Int
        var results: Int
    }

    static func record(_ daemon: DaemonHarness, _ project: String) throws -> Record {
        let store = try daemon.store(project)
        let retries = try store.query(
            """
            SELECT json_extract(payload, '$.key') || '#' || json_extract(payload, '$.attempt') || ' ' || json_extract(payload, '$.errorClass') || ' ' || json_extract(payload, '$.delayMs') AS entry
            FROM journal WHERE kind = 'effect_retry' ORDER BY seq
            """
        ).compactMap { $0["entry"]?.stringValue }
        let spawnCount = Int(
            try store.query("SELECT spawn_count FROM tasks WHERE id = 't1'").first?["spawn_count"]?.intValue ?? -1
        )
        let results = Int(
            try store.query("SELECT count(*) AS n FROM journal WHERE kind = 'effect_result'").first?["n"]?.intValue
                ?? -1
        )
        return Record(retries: retries, spawnCount: spawnCount, results: results)
    }

    /// Runs the task to the end without a crash: the figures a crashed run must match.
    static func crashFree(failures: Int, config: String = RetryCrashTests.config) throws -> Record {
        let daemon = try DaemonHarness(script: script(failures: failures), config: config)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project, seconds: 60) { $0 == "done" } == "done", "\(daemon.log())")
        daemon.stop()
        return try record(daemon, project)
    }

    @Test func aKillDuringABackoffResumesTheRetry() throws {
        let expected = try Self.crashFree(failures: 3)
        #expect(expected.retries.count == 3)
        let daemon = try DaemonHarness(script: Self.script(failures: 3), config: Self.config)
        try daemon.start(extraEnvironment: ["LOOMD_CRASH_AT": "during-backoff"])
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(
            daemon.waitForExit(seconds: 20)?.signaled == true,
            "loomd did not die during the backoff: \(daemon.log())"
        )
        // Killed right after journaling the first retry, inside its delay.
        #expect(try Self.record(daemon, project).retries.count == 1)
        try daemon.start()
        #expect(daemon.waitFor(task: "t1", project: project, seconds: 60) { $0 == "done" } == "done", "\(daemon.log())")
        let got = try Self.record(daemon, project)
        #expect(got == expected, "crash-free \(expected), crashed \(got)")
        // And status reports the count the cap is checked against.
        #expect(
            daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["spawns"]?.intValue
                == Int64(expected.spawnCount)
        )
    }

    /// Backoffs of 1 to 1.25 s (base 1,000 ms plus the derived jitter), so a kill has a whole
    /// second to land in each one even on a loaded machine; 300 ms ones were missed there.
    static let slowBackoffConfig = #"{"retryBaseMs": 1000, "retryCapMs": 1000, "retryAttemptsMax": 20}"#
    /// The kills the proof demands, each inside a backoff.
    static let killsRequired = 10
    /// Retries beyond the kills: a kill the test made too late (its process starved past the
    /// backoff's due time) is not counted, and the next backoff takes its place.
    static let spareRetries = 3
    /// How long one kill may wait for the next backoff to be journaled: bounded per kill,
    /// not one budget for the loop, so slow restarts on a loaded machine do not add up.
    static let backoffWaitSeconds = 60.0

    /// A retry journaled and the moment its backoff ends (loomd's wall clock, the clock the
    /// test reads too), for the last `effect_retry` entry.
    static func lastBackoff(_ daemon: DaemonHarness, _ project: String) throws -> (count: Int, dueMs: Int64)? {
        let store = try daemon.store(project)
        let rows = try store.query(
            """
            SELECT (SELECT count(*) FROM journal WHERE kind = 'effect_retry') AS n,
                   t.time_ms + json_extract(j.payload, '$.delayMs') AS due
            FROM journal j JOIN ticks t ON t.tick = j.tick
            WHERE j.kind = 'effect_retry' ORDER BY j.seq DESC LIMIT 1
            """
        )
        guard let row = rows.first, let count = row["n"]?.intValue, let due = row["due"]?.intValue else { return nil }
        return (Int(count), due)
    }

    /// A process's state letter and parent from /proc/PID/stat; nil once it is gone.
    static func processState(_ pid: Int32) -> (state: Substring, parent: Int32)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command's closing parenthesis: state, then the parent's id.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return nil }
        return (fields[0], parent)
    }

    /// The process ids whose parent is `pid`: loomd's helper children.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { processState($0)?.parent == pid }
    }

    /// Running: a zombie waiting for its new parent to reap it runs nothing.
    static func running(_ pid: Int32) -> Bool {
        guard let state = processState(pid)?.state else { return false }
        return state != "Z" && state != "X"
    }

    /// The issue's proof: kill -9 inside the backoffs of a task whose writer keeps failing,
    /// ten kills each landing before its backoff's due time; every restart recovers, and the
    /// record equals a crash-free run's. Each kill waits (bounded) for its backoff to be
    /// journaled, so the test does not race the clock.
    @Test func tenKillsDuringBackoffsLeaveTheCrashFreeRecord() throws {
        let failures = Self.killsRequired + Self.spareRetries
        let expected = try Self.crashFree(failures: failures, config: Self.slowBackoffConfig)
        #expect(expected.retries.count == failures)
        let daemon = try DaemonHarness(script: Self.script(failures: failures), config: Self.slowBackoffConfig)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        var kills = 0
        var late = 0
        var seen = 0
        var restartsMs: [Int] = []
        var helpersEnded = 0
        while kills < Self.killsRequired && seen < failures {
            // Wait (bounded) for a backoff newer than the last one killed in.
            let waitEnds = Date().addingTimeInterval(Self.backoffWaitSeconds)
            var backoff: (count: Int, dueMs: Int64)?
            while Date() < waitEnds {
                if let last = try? Self.lastBackoff(daemon, project), last.count > seen {
                    backoff = last
                    break
                }
                usleep(10_000)
            }
            guard let backoff, let pid = daemon.process?.pid else {
                Issue.record(
                    "no backoff journaled within \(Self.backoffWaitSeconds) s after \(kills) kills: \(daemon.log())"
                )
                break
            }
            seen = backoff.count
            let helpers = Self.children(of: pid)
            let killedAtMs = Int64(Date().timeIntervalSince1970 * 1_000)
            daemon.signal(SIGKILL)
            #expect(daemon.waitForExit(seconds: 10)?.signaled == true)
            // In the backoff: before its due time, and nothing journaled after the retry.
            if killedAtMs < backoff.dueMs, (try? Self.lastBackoff(daemon, project))?.count == seen {
                kills += 1
            } else {
                late += 1
            }
            // No helper child outlives the loomd that started it.
            for helper in helpers {
                var gone = false
                for _ in 0..<200 where !gone {
                    gone = !Self.running(helper)
                    if !gone { usleep(10_000) }
                }
                #expect(gone, "helper \(helper) outlived the killed loomd")
                helpersEnded += 1
            }
            let started = Date()
            try daemon.start()
            restartsMs.append(Int(Date().timeIntervalSince(started) * 1_000))
        }
        #expect(kills == Self.killsRequired, "\(kills) kills in a backoff, \(late) late; \(daemon.log())")
        #expect(daemon.waitFor(task: "t1", project: project, seconds: 60) { $0 == "done" } == "done", "\(daemon.log())")
        let got = try Self.record(daemon, project)
        #expect(got == expected, "crash-free \(expected), after \(kills + late) kills \(got)")
        let store = try daemon.store(project)
        #expect(try ChainVerifier.verify(store).description.hasPrefix("chain intact"))
        print(
            "retry-crash proof: \(kills) kills in a backoff (\(late) late, not counted), \(got.retries.count) retries journaled (crash-free \(expected.retries.count)), spawn_count \(got.spawnCount) (crash-free \(expected.spawnCount)), \(helpersEnded) helper(s) ended with loomd, restart to socket p50 \(restartsMs.sorted()[restartsMs.count / 2]) ms max \(restartsMs.max() ?? 0) ms"
        )
    }
}
