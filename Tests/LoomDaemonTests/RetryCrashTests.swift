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
    static func crashFree(failures: Int) throws -> Record {
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

    /// The issue's proof: kill -9 at every retry of a task whose writer fails ten times, so
    /// each kill lands inside a backoff; every restart recovers, and the record equals a
    /// crash-free run's.
    @Test func tenKillsDuringBackoffsLeaveTheCrashFreeRecord() throws {
        let failures = 10
        let expected = try Self.crashFree(failures: failures)
        let daemon = try DaemonHarness(script: Self.script(failures: failures), config: Self.config)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        var kills = 0
        var seen = 0
        var restartsMs: [Int] = []
        let deadline = Date().addingTimeInterval(120)
        while kills < failures && Date() < deadline {
            let retries = (try? Self.record(daemon, project).retries.count) ?? seen
            if retries > seen {
                seen = retries
                daemon.signal(SIGKILL)
                #expect(daemon.waitForExit(seconds: 10)?.signaled == true)
                kills += 1
                let started = Date()
                try daemon.start()
                restartsMs.append(Int(Date().timeIntervalSince(started) * 1_000))
            }
            usleep(10_000)
        }
        #expect(kills == failures, "\(kills) kills; \(daemon.log())")
        #expect(daemon.waitFor(task: "t1", project: project, seconds: 60) { $0 == "done" } == "done", "\(daemon.log())")
        let got = try Self.record(daemon, project)
        #expect(got == expected, "crash-free \(expected), after \(kills) kills \(got)")
        let store = try daemon.store(project)
        #expect(try ChainVerifier.verify(store).description.hasPrefix("chain intact"))
        print(
            "retry-crash proof: \(kills) kills, \(got.retries.count) retries journaled (crash-free \(expected.retries.count)), spawn_count \(got.spawnCount) (crash-free \(expected.spawnCount)), restart to socket p50 \(restartsMs.sorted()[restartsMs.count / 2]) ms max \(restartsMs.max() ?? 0) ms"
        )
    }
}
