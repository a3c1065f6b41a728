import Foundation
import LoomEngine
import LoomIPC
import LoomProviders
import LoomSystem
import Testing

/// What a client sees at the edges: long journals, refused answers, paths, unknown tasks,
/// output into a pipe, waiting behind a parked task, and a reload's honesty.
@Suite(.serialized) struct DaemonClientFacingTests {
    /// A journal longer than a frame is read page by page, and a payload too long to show
    /// is shown by its size. Before, `log` answered too_large and printed nothing; a refused
    /// answer also journaled whatever else its request carried.
    @Test func aLongJournalIsReadPageByPage() throws {
        let script = """
            {"agents": {
              "writer": [{"output": {"title": "T", "text": "\(String(repeating: "a", count: 20_000))"}}],
              "editor": [{"output": {"findings": []}}],
              "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]
            }}
            """
        // A 64 KiB frame (a page is half of it; a shown payload a quarter); nobody may answer.
        let daemon = try DaemonHarness(
            script: script,
            config: "{\"maxFrameBytes\": 65536, \"approvers\": [4000000000]}"
        )
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-supervised", "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let reason = String(repeating: "r", count: 10_000)
        for _ in 0..<20 { #expect(daemon.ctl(["approve", "t1", "-C", project, "--reason", reason]).status == 4) }

        let log = daemon.ctl(["log", "t1", "-C", project])
        #expect(log.status == 0, "\(log.stderr)")
        #expect(
            log.stdout.components(separatedBy: "\n").filter { $0.contains("REFUSED") }.count == 20,
            "\(log.stdout.prefix(2_000))"
        )
        let json = try #require(daemon.ctl(["log", "t1", "-C", project, "--json"]).json)
        let entries = try #require(json["entries"]?.arrayValue)
        let store = try daemon.store(project)
        let journaled = try store.query("SELECT count(*) AS n FROM journal WHERE task_id = 't1'").first?["n"]?.intValue
        #expect(Int64(entries.count) == journaled)
        #expect(entries.map { $0["seq"]?.intValue ?? 0 } == entries.map { $0["seq"]?.intValue ?? 0 }.sorted())
        // The writer's 20 KB result is over a quarter of the frame: shown by its size.
        #expect(
            entries.contains { $0["payload"]?["omitted"] == true && ($0["payload"]?["bytes"]?.intValue ?? 0) > 20_000 }
        )
        // A refusal keeps what was tried, cut to 4 KiB, and nothing else.
        let refused = try #require(entries.first { $0["kind"] == "refused" })
        let tried = try #require(refused["payload"]?["input"]?["payload"])
        #expect(tried["message"]?.stringValue?.utf8.count == 4_096)
        #expect(Set(tried.objectValue?.keys.map { $0 } ?? []) == ["task", "gate", "answer", "message"])
    }

    /// A rejected answer shows why in the log, and the second one the harness finding it became.
    @Test func theLogShowsARejectedOutputsErrorAndItsFinding() throws {
        let script = """
            {"agents": {
              "writer": [{"output": {"title": "T", "text": "words"}}],
              "editor": [{"output": "Looks fine to me."}, {"output": {"verdict": "ok"}}],
              "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]
            }}
            """
        let daemon = try DaemonHarness(script: script)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let log = daemon.ctl(["log", "t1", "-C", project])
        #expect(log.status == 0, "\(log.stderr)")
        let rejected = log.stdout.components(separatedBy: "\n").filter { $0.contains("REJECTED: ") }
        // The harness blocker walks the task back, and the script's last answer repeats: each
        // round's two rejections are shown.
        #expect(rejected.count >= 2 && rejected.count % 2 == 0, "\(log.stdout)")
        #expect(rejected.first?.contains("output is not JSON") == true, "\(rejected)")
        #expect(rejected.last?.contains("findings") == true, "the schema's complaint: \(rejected)")
        #expect(log.stdout.contains("(asked again with the error in the prompt)"))
        #expect(
            log.stdout.contains("became finding t1.f1 (blocking, harness): output of editor failed its schema twice"),
            "\(log.stdout)"
        )
        // Valid answers carry no rejection.
        let json = try #require(daemon.ctl(["log", "t1", "-C", project, "--json"]).json)
        #expect(json["entries"]?.arrayValue?.filter { $0["rejected"] != nil }.count == rejected.count)
    }

    /// `watch` of a task that does not exist says so instead of never answering.
    @Test func watchingAnUnknownTaskIsNotFound() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        let client = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 10_000)
        do {
            _ = try client.stream("watch", .object(["project": .string(project), "task": "t999"])) { _ in true }
            Issue.record("a watch of t999 was served")
        } catch {
            #expect(error.code == .notFound, "\(error)")
        }
    }

    /// A project is an existing directory with one spelling: adding a missing one creates
    /// nothing, and `..` is refused rather than registered as a second name.
    @Test func projectPathsAreCheckedBeforeAnythingIsCreated() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let missing = "\(daemon.directory)/nothing/here"
        let added = daemon.ctl(["projects", "add", "-C", missing])
        #expect(added.status == 3, "\(added.stdout) \(added.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(daemon.directory)/nothing"))
        let project = try daemon.makeProject()
        let client = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 10_000)
        do {
            _ = try client.call("projects.add", .object(["project": .string("\(project)/../p")]))
            Issue.record("a path with .. was registered")
        } catch {
            #expect(error.code == .invalidParams, "\(error)")
        }
        #expect(
            try client.call("projects.add", .object(["project": .string("\(daemon.directory)//p/")]))["path"]?
                .stringValue == project
        )
    }

    /// `log --follow` into a file prints entries as they come. Before, stdout held them in
    /// its buffer until the task ended (or lost them to Ctrl-C).
    @Test func followingIntoAFilePrintsAtOnce() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "x"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let file = "\(daemon.directory)/follow.out"
        FileManager.default.createFile(atPath: file, contents: nil)
        let environment = ProcessInfo.processInfo.environment.merging(["LOOM_SOCKET": daemon.socket]) { $1 }
        let argv = ["\(DaemonHarness.binaries)/loomctl", "log", "t1", "--follow", "-C", project]
        let process = try BackgroundChild(argv: argv, environment: environment, outputPath: file)
        defer { process.kill(waitingMs: 10_000) }
        let deadline = Date().addingTimeInterval(10)
        var text = ""
        while Date() < deadline {
            text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            if text.contains("submitted") { break }
            usleep(50_000)
        }
        #expect(text.contains("submitted"), "nothing reached the file while the task is parked")
        #expect(process.termination == nil)
    }

    /// `submit --wait` of a task queued behind one parked at a gate returns, saying what it
    /// waits for. Before, it waited for ever.
    @Test func waitingBehindAParkedTaskReturns() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "first"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let waited = daemon.ctl(["submit", "-C", project, "--wait", "second"], timeout: 15)
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.stderr.contains("t2 is queued behind t1"), "\(waited.stderr)")
    }

    /// Flags beat the config file, and a reload names the settings that wait for a restart
    /// instead of saying everything was reloaded.
    @Test func flagsBeatTheConfigAndAReloadSaysWhatWaits() throws {
        let daemon = try DaemonHarness(config: "{\"defaultBundle\": \"nope\", \"effectsMax\": 4}")
        try daemon.start()
        let project = try daemon.makeProject()
        // --default-bundle publishing (the harness's flag) wins over the file's "nope".
        let submitted = daemon.ctl(["submit", "-C", project, "x"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        try "{\"defaultBundle\": \"nope\", \"effectsMax\": 1}".write(
            toFile: "\(daemon.directory)/config.json",
            atomically: true,
            encoding: .utf8
        )
        daemon.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while !daemon.log().contains("reloaded:"), Date() < deadline { usleep(20_000) }
        #expect(daemon.log().contains("take effect at the next start: effectsMax (4 → 1)"), "\(daemon.log())")
        let status = try #require(daemon.ctl(["status", "--json"]).json)
        #expect(status["effects"]?["limit"]?.intValue == 4)
    }
}
