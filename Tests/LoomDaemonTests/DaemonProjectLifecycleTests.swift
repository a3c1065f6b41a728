import Foundation
import LoomEngine
import LoomIPC
import Testing

/// A project's life in loomd beyond start-up: opened late, reloaded, watched, removed.
@Suite(.serialized) struct DaemonProjectLifecycleTests {
    /// A project loomd could not open at start-up (another process held its lock) recovers
    /// when it is next asked about: its pending effect runs. Before, any later open skipped
    /// recovery and the task sat "running" until the next restart.
    @Test func aProjectLockedAtStartUpRecoversWhenNextOpened() throws {
        let daemon = try DaemonHarness(script: DaemonHarness.slowWriterScript(writerDelayMs: 1500))
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        // The writer's intent is committed with the submission; kill loomd while it runs.
        daemon.signal(SIGKILL)
        _ = daemon.waitForExit()

        let lock = open("\(project)/.loom/lock", O_RDWR)
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        try daemon.start()
        #expect(daemon.log().contains("is not served yet"), "\(daemon.log())")
        close(lock)

        #expect(
            daemon.waitFor(task: "t1", project: project, seconds: 15) { $0 == "parked" || $0 == "done" } != "running",
            "\(daemon.log())"
        )
    }

    /// SIGHUP's bundles reach projects already open: a bundle added to a bundle directory
    /// can be submitted to at once. Before, open projects kept the bundles they opened with.
    @Test func reloadedBundlesReachOpenProjects() throws {
        let daemon = try DaemonHarness()
        let bundles = "\(daemon.directory)/bundles"
        try FileManager.default.createDirectory(atPath: bundles, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "\(DaemonHarness.repositoryRoot)/bundles/publishing",
            toPath: "\(bundles)/publishing"
        )
        // SIGHUP rereads the bundle directories (here the one --bundles names) with the config.
        let at = try #require(daemon.arguments.firstIndex(of: "--bundles"))
        daemon.arguments[at + 1] = bundles
        try "{}".write(toFile: "\(daemon.directory)/config.json", atomically: true, encoding: .utf8)
        daemon.arguments += ["--config", "\(daemon.directory)/config.json"]
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["submit", "-C", project, "--bundle", "essays", "y"]).status != 0)

        try FileManager.default.copyItem(atPath: "\(bundles)/publishing", toPath: "\(bundles)/essays")
        let manifest = "\(bundles)/essays/bundle.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"name\": \"publishing\"", with: "\"name\": \"essays\"").write(
            toFile: manifest,
            atomically: true,
            encoding: .utf8
        )
        daemon.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while !daemon.log().contains("reloaded:"), Date() < deadline { usleep(20_000) }

        let submitted = daemon.ctl(["submit", "-C", project, "--bundle", "essays", "--json", "y"])
        #expect(submitted.status == 0, "\(submitted.stderr) \(daemon.log())")
        // The parked task still answers under the version it started with.
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done", "\(daemon.log())")
    }

    /// `watch` serves only supervised projects: naming any other directory creates nothing
    /// there (no .loom, no database, no lock held).
    @Test func watchingAnUnsupervisedDirectoryTouchesNothing() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let stranger = try daemon.makeProject("stranger")
        let client = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 10_000)
        do {
            _ = try client.stream("watch", .object(["project": .string(stranger)])) { _ in true }
            Issue.record("a watch on \(stranger) was served")
        } catch {
            #expect(
                error.code == .notFound && error.message.contains("not a project this daemon supervises"),
                "\(error)"
            )
        }
        #expect(!FileManager.default.fileExists(atPath: "\(stranger)/.loom"))
    }

    /// Removing a project stops serving it: its lock is released (a one-shot run may drive
    /// it), and a watch on it ends instead of hanging.
    @Test func removingAProjectReleasesItAndEndsItsWatches() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let ended = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var ending: IPCError?
        let socket = daemon.socket
        Thread.detachNewThread {
            do {
                let client = try IPCClient(socketPath: socket, clientName: "test", timeoutMs: 15_000)
                _ = try client.stream("watch", .object(["project": .string(project), "task": "t1"])) { _ in true }
            } catch {
                ending = error as? IPCError
            }
            ended.signal()
        }
        usleep(500_000)
        #expect(daemon.ctl(["projects", "remove", "-C", project]).status == 0)
        #expect(ended.wait(timeout: .now() + 10) == .success, "the watch did not end")
        #expect(
            ending?.message.contains("no longer a project this daemon supervises") == true,
            "\(String(describing: ending))"
        )

        let deadline = Date().addingTimeInterval(5)
        let lock = open("\(project)/.loom/lock", O_RDWR)
        defer { close(lock) }
        while flock(lock, LOCK_EX | LOCK_NB) != 0, Date() < deadline { usleep(20_000) }
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0, "loomd still holds \(project)/.loom/lock")
    }
}
