import Foundation
import LoomEngine
import LoomSystem
import LoomValues
import Testing

@testable import LoomDaemon
@testable import LoomHost

/// A spawn whose executor (loomd or an agent host) cannot be read from the task's submission
/// must not wait for the next start of loomd: loomd's own scheduling looks again, on record,
/// and runs it. In process, because the fault hook is a closure on the project.
@Suite(.serialized) struct ExecutorLookupTests {
    /// A daemon on a temporary state directory with the publishing bundle and its scripted agents.
    private static func makeDaemon(in directory: String) throws -> Daemon {
        try DaemonHarness.publishingScript.write(
            toFile: "\(directory)/script.json",
            atomically: true,
            encoding: .utf8
        )
        var configuration = DaemonConfiguration(stateDirectory: "\(directory)/state", socketPath: "\(directory)/d.sock")
        configuration.bundleDirectories = ["\(DaemonHarness.repositoryRoot)/bundles"]
        configuration.providerScript = "\(directory)/script.json"
        return try Daemon(configuration: configuration)
    }

    @Test func aSpawnWhoseExecutorCannotBeReadRunsAfterALookupRetriedOnRecord() throws {
        let directory = "/tmp/loom-lookup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: "\(directory)/p", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try Self.makeDaemon(in: directory)
        let project = try daemon.openProject("\(directory)/p")
        // The first two lookups fail as a store that cannot be read would; later ones succeed.
        let failures = Lock()
        var failed = 0
        project.queue.sync {
            project.executorLookupFault = { _ in
                failures.withLock {
                    guard failed < 2 else { return nil }
                    failed += 1
                    return LoomError(.io, "disk I/O error (injected)", context: "reading the submission")
                }
            }
        }
        let person = Caller(principal: .human(uid: 1000), uid: 1000, gid: 1000, pid: 4242)
        let receipt = try project.queue.sync { () throws(LoomError) -> SubmitReceipt in
            let receipt = try project.engine.submit(bundle: "publishing", input: "x", by: person)
            daemon.schedule(receipt.newEffects, in: project)
            return receipt
        }
        let writer = try #require(receipt.newEffects.first { $0.kind == .spawn })

        // Without a retry the writer stays pending until loomd starts again: bounded wait.
        let deadline = Date().addingTimeInterval(20)
        var stillPending = true
        while Date() < deadline, stillPending {
            usleep(50_000)
            stillPending = try project.queue.sync { () throws(LoomError) -> Bool in
                try project.engine.pendingEffects().contains { $0.key == writer.key }
            }
        }
        #expect(!stillPending, "the writer's spawn stalled after its executor lookup failed")
        #expect(failures.withLock { failed } == 2)
        let retries = try project.queue.sync { () throws(LoomError) -> [RetryRecord] in
            try project.engine.retries(key: writer.key)
        }
        #expect(retries.map(\.errorClass) == ["executor_lookup", "executor_lookup"], "each lookup retry is on record")
        #expect(retries.map(\.wait) == [1, 2])
        #expect(retries.map(\.attempt) == [writer.attempt, writer.attempt], "a lookup retry spends no attempt")
        let status = try project.queue.sync { try project.engine.task(receipt.taskID)?.status }
        #expect(status != .cancelled, "a lookup that recovers does not end the task")
    }

    @Test func lookupRetriesOnRecordAreNeitherAttemptsNorCalls() {
        let lookups = [
            RetryRecord(attempt: 1, errorClass: "executor_lookup", delayMs: 500, wait: 1, timeMs: 10_000),
            RetryRecord(attempt: 1, errorClass: "executor_lookup", delayMs: 1_000, wait: 2, timeMs: 10_500),
        ]
        // The spawn then runs as a first attempt, its first call.
        #expect(RetryResume.from(lookups, nowMs: 11_500) == nil)
        let transient = RetryRecord(attempt: 1, errorClass: "transient", delayMs: 1_000, timeMs: 12_000)
        #expect(
            RetryResume.from(lookups + [transient], nowMs: 12_000)
                == RetryResume(attempt: 2, waits: 0, calls: 2, delayMs: 1_000)
        )
    }
}
