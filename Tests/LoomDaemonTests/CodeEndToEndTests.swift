import Foundation
import LoomCode
import LoomEngine
import LoomIPC
import Testing

/// The code bundle once through the real binaries: loomctl submits to a sample repository,
/// a person answers the gates with loomctl, the change is found on `loom/<task>`.
@Suite(.serialized) struct CodeEndToEndTests {
    static let script = """
        {"agents": {
          "classifier": [{"output": {"flow": "medium", "reason": "needs a plan"}}],
          "planner": [{"output": {"summary": "Write 42.", "steps": ["edit value.txt"]}}],
          "implementer": [{"output": {"summary": "Wrote 42."}, "edits": {"value.txt": "42\\n"}, "delayMs": 300}],
          "reviewer-logic": [{"output": {"verdict": "APPROVE", "summary": "ok", "findings": []}}],
          "reviewer-security": [{"output": {"verdict": "APPROVE", "summary": "ok", "findings": []}}],
          "reviewer-tests": [{"output": {"verdict": "WARN", "summary": "no new test", "findings": [{"severity": "warn", "category": "tests", "summary": "no test for the new value"}]}}],
          "adjudicator": [{"output": {"verdict": "accept", "summary": "fine", "dismissed": [], "findings": []}}],
          "summarizer": [{"output": {"summary": "value.txt holds 42."}}]
        }}
        """

    private func waitForNoWorktree(_ project: String) -> Bool {
        for _ in 0..<100 {
            if (try? Git(directory: project).check(["worktree", "list"], "listing"))?.contains(".loom/worktrees")
                == false
            {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    @Test func submitAnswerTheGatesWithLoomctlAndFindTheChangeOnTheBranch() throws {
        let daemon = try DaemonHarness(script: Self.script)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let head = try Git(directory: project).check(["rev-parse", "HEAD"], "head")

        let submitted = daemon.ctl([
            "submit", "-C", project, "--bundle", "code", "--policy", "full-supervised", "Make value.txt hold 42",
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["step"]?.stringValue == "plan_gate")
        // The plan gate's card: the question and the plan itself, not a pointer to JSON.
        let planCard = daemon.ctl(["status", "t1", "-C", project]).stdout
        #expect(
            planCard.contains("Approve this plan?") && planCard.contains("summary: Write 42.")
                && planCard.contains("- edit value.txt"),
            "\(planCard)"
        )
        #expect(daemon.ctl(["approve", "t1", "-C", project, "--reason", "plan is fine"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["step"]?.stringValue == "final")
        // What the person looks at before approving.
        #expect(
            daemon.ctl(["status", "t1", "-C", project]).stdout.contains("change: 1 file(s), +1 −1 (loomctl diff t1)")
        )
        let finalCard = daemon.ctl(["status", "t1", "-C", project]).stdout
        #expect(
            finalCard.contains("Deliver this change?") && finalCard.contains("reviewer-tests: WARN — no new test")
                && finalCard.contains("[warn] no test for the new value (reviewer-tests)"),
            "\(finalCard)"
        )
        let diff = daemon.ctl(["diff", "t1", "-C", project])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.contains("-41") && diff.stdout.contains("+42"))
        #expect(daemon.ctl(["diff", "t1", "-C", project, "--stat"]).stdout.contains("value.txt | 2"))
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done", "\(daemon.log())")

        let git = Git(directory: project)
        #expect(try git.check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(try git.check(["rev-parse", "HEAD"], "head") == head, "the person's branch did not move")
        #expect(try git.check(["status", "--porcelain"], "status") == "", "the person's tree is clean")
        #expect(waitForNoWorktree(project), "the ended task's worktree is removed")
        #expect(
            daemon.ctl(["diff", "t1", "-C", project]).stdout.contains("+42"),
            "the branch, once the worktree is gone"
        )
        #expect(daemon.ctl(["diff", "t7", "-C", project]).status == 3)
        let log = daemon.ctl(["log", "t1", "-C", project]).stdout
        #expect(log.contains("gate_answered") || log.contains("approve"))
        // Agents' outputs read as text, not escaped JSON.
        #expect(log.contains("\n    steps:\n    - edit value.txt\n    summary: Write 42."), "\(log)")
        #expect(!log.contains("\\\""), "no escaped JSON in the log: \(log)")
    }

    /// A task whose implementer changed nothing ends done, and says it delivered nothing.
    @Test func aTaskThatDeliveredNothingSaysSo() throws {
        let daemon = try DaemonHarness(
            script: Self.script.replacingOccurrences(of: #", "edits": {"value.txt": "42\n"}"#, with: "")
        )
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        #expect(
            daemon.ctl([
                "submit", "-C", project, "--bundle", "code", "--policy", "full-supervised", "Make value.txt hold 42",
            ]).status == 0
        )
        for _ in 0..<2 {
            #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
            #expect(daemon.ctl(["approve", "t1", "-C", project, "--reason", "fine"]).status == 0)
        }
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done", "\(daemon.log())")
        let status = daemon.ctl(["status", "t1", "-C", project])
        #expect(status.stdout.contains("outcome: finished: nothing was delivered (empty change)"), "\(status.stdout)")
        let json = daemon.ctl(["status", "t1", "-C", project, "--json"]).json
        #expect(
            json?["delivered"] == .bool(false) && json?["outcome"]?.stringValue == "finished",
            "the kernel's outcome is as journaled"
        )
        // Open findings are listed with their text.
        #expect(status.stdout.contains("t1.f1 [warn] no test for the new value (reviewer-tests)"), "\(status.stdout)")
        #expect(json?["findings"]?[0]?["summary"]?.stringValue == "no test for the new value")
    }

    @Test func aKilledDaemonContinuesTheTaskInItsWorktreeWithoutADuplicateCommit() throws {
        let daemon = try DaemonHarness(
            script: Self.script.replacingOccurrences(of: "\"delayMs\": 300", with: "\"delayMs\": 1500")
        )
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        #expect(
            daemon.ctl([
                "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
                "Make value.txt hold 42",
            ]).status == 0
        )
        // Kill loomd while the implementer runs (its scripted answer takes 1.5 s).
        var step = ""
        for _ in 0..<100 {
            step = daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["step"]?.stringValue ?? ""
            if step == "implement" { break }
            usleep(50_000)
        }
        #expect(step == "implement")
        daemon.stop()
        try daemon.start()
        #expect(
            daemon.waitFor(task: "t1", project: project) { ["done", "failed"].contains($0) } == "done",
            "\(daemon.log())"
        )
        let git = Git(directory: project)
        #expect(try git.check(["rev-list", "--count", "main..loom/t1"], "count") == "1")
        #expect(try git.check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(waitForNoWorktree(project))
    }

    @Test func loomctlShipPushesAndMergesAFinishedBranch() throws {
        let daemon = try DaemonHarness(script: Self.script)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let git = Git(directory: project)
        _ = try git.check(["init", "-q", "--bare", "\(daemon.directory)/remote.git"], "bare remote")
        _ = try git.check(["remote", "add", "origin", "\(daemon.directory)/remote.git"], "remote")
        #expect(
            daemon.ctl([
                "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
                "Make value.txt hold 42",
            ]).status == 0
        )
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done", "\(daemon.log())")

        let pushed = daemon.ctl(["ship", "t1", "-C", project, "--push", "origin"])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(pushed.stdout.contains("pushed loom/t1 to origin"))
        #expect(
            try Git(directory: "\(daemon.directory)/remote.git").check(["rev-parse", "loom/t1"], "remote")
                == git.check(["rev-parse", "loom/t1"], "local")
        )

        let merged = daemon.ctl(["ship", "t1", "-C", project, "--merge", "main"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(try git.check(["rev-parse", "main"], "main") == git.check(["rev-parse", "loom/t1"], "branch"))
        // Each ship is a task of its own in the audit trail, approved by the OS user.
        #expect(daemon.ctl(["log", "t2", "-C", project]).stdout.contains("answered t2.g1: approve"))

        #expect(
            daemon.ctl(["metrics"]).stdout.contains(#"loom_tasks_by_flow{bundle="code",flow="ship",state="done"} 2"#)
        )

        let usage = daemon.ctl(["ship", "t1", "-C", project, "--push", "origin", "--merge", "main"])
        #expect(usage.status == 2)
        let missing = daemon.ctl(["ship", "t9", "-C", project, "--push", "origin"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("only a task that ended done can be shipped"))
    }

    /// loomd without a scripted provider: `agent` (a shell script's text) is written as a
    /// program and `models` (given the program's path) as the state directory's models.json,
    /// so every spawn goes through the model router. Not started: a test may add more files.
    private func routedDaemon(
        agent: String,
        models: (String) -> String = { #"{"version": 1, "default": ["command:\#($0)"]}"# }
    ) throws -> DaemonHarness {
        let daemon = try DaemonHarness(script: Self.script)
        if let index = daemon.arguments.firstIndex(of: "--provider-script") {
            daemon.arguments.removeSubrange(index...(index + 1))
        }
        let program = "\(daemon.directory)/agent.sh"
        try agent.write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        try FileManager.default.createDirectory(atPath: daemon.state, withIntermediateDirectories: true)
        try models(program).write(toFile: "\(daemon.state)/models.json", atomically: true, encoding: .utf8)
        return daemon
    }

    @Test func withoutAScriptSpawnsGoThroughTheModelRouterAndRunInTheWorktree() throws {
        // No scripted provider: models.json in the state directory names the agent program.
        let daemon = try routedDaemon(
            agent: """
                #!/bin/sh
                prompt=$(cat)
                case "$prompt" in
                  *"You decide how much process"*) echo '{"flow": "trivial", "reason": "one line"}' ;;
                  *"You implement a change"*) echo 42 > value.txt; echo '{"summary": "wrote 42 in '"$(pwd)"'"}' ;;
                  *) echo '{"verdict": "APPROVE", "summary": "ok", "findings": []}' ;;
                esac
                """
        )
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        #expect(
            daemon.ctl([
                "submit", "-C", project, "--bundle", "code", "--policy", "full-autonomous", "Make value.txt hold 42",
            ]).status == 0
        )
        #expect(
            daemon.waitFor(task: "t1", project: project) { ["done", "failed"].contains($0) } == "done",
            "\(daemon.log())"
        )
        let git = Git(directory: project)
        #expect(try git.check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(
            try String(contentsOfFile: "\(project)/value.txt", encoding: .utf8) == "41\n",
            "the program ran in the worktree, not the checkout"
        )
        let store = try daemon.store(project)
        let spawn = try store.query(
            "SELECT json_extract(result, '$.provider') AS p, json_extract(result, '$.output') AS o FROM effects WHERE unit = 'implementer'"
        )
        #expect(spawn.first?["p"]?.stringValue == "command")
        #expect(spawn.first?["o"]?.stringValue?.contains(".loom/worktrees/t1") == true)
    }

    @Test func aSecretAnAgentEchoesNeverReachesTheDatabaseTheLogsOrTheOutput() throws {
        let secret = "sk-live-\(UInt64.random(in: 1_000_000_000...9_999_999_999))"
        // A careless agent: prints its key in its answer and on stderr.
        let daemon = try routedDaemon(
            agent: """
                #!/bin/sh
                prompt=$(cat)
                echo "debug: using key $LEAKY_TOKEN" >&2
                case "$prompt" in
                  *"You implement a change"*) echo 42 > value.txt; echo '{"summary": "wrote 42 with key '"$LEAKY_TOKEN"'"}' ;;
                  *) echo '{"verdict": "APPROVE", "summary": "key '"$LEAKY_TOKEN"'", "findings": []}' ;;
                esac
                """,
            models: {
                #"{"version": 1, "default": ["leaky:echo"], "providers": {"leaky": {"kind": "command", "executable": "\#($0)", "secretEnvironment": ["LEAKY_TOKEN"]}}}"#
            }
        )
        try #"{"version": 1, "secrets": {"LEAKY_TOKEN": "\#(secret)"}}"#.write(
            toFile: "\(daemon.state)/secrets.json",
            atomically: true,
            encoding: .utf8
        )
        chmod("\(daemon.state)/secrets.json", 0o600)
        // Every line loomd can log, requests included, is checked for the key below.
        daemon.arguments += ["--log-level", "debug"]
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let submitted = daemon.ctl([
            "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
            "Make value.txt hold 42", "--wait",
        ])
        #expect(
            daemon.waitFor(task: "t1", project: project) { ["done", "failed"].contains($0) } == "done",
            "\(daemon.log())"
        )
        let log = daemon.ctl(["log", "t1", "-C", project, "--json"])
        let status = daemon.ctl(["status", "t1", "-C", project, "--json"])
        daemon.stop()
        // Every artefact of the run: the database and its WAL, loomd's log, loomctl's output.
        var artefacts = [daemon.log(), submitted.stdout, submitted.stderr, log.stdout, status.stdout]
        for file in ["state.db", "state.db-wal"] {
            if let data = FileManager.default.contents(atPath: "\(project)/.loom/\(file)") {
                artefacts.append(String(decoding: data, as: UTF8.self))
            }
        }
        for (index, text) in artefacts.enumerated() {
            #expect(!text.contains(secret), "artefact \(index) holds the secret")
        }
        #expect(log.stdout.contains("[redacted]"), "the agent's words are kept, its key is not")
    }

    /// loomd with an implementer program whose answer arrives in two pieces, two seconds
    /// apart (after a second in which a test attaches its watch), and a trivial task
    /// submitted to it.
    private func slowAgentDaemon(wait: Bool = false) throws -> (DaemonHarness, String, DaemonHarness.Output) {
        let daemon = try routedDaemon(
            agent: """
                #!/bin/sh
                prompt=$(cat)
                case "$prompt" in
                  *"You implement a change"*) echo 42 > value.txt; sleep 1; printf '{"summary": '; sleep 2; printf '"wrote 42"}' ;;
                  *) echo '{"verdict": "APPROVE", "summary": "ok", "findings": []}' ;;
                esac
                """
        )
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let submitted = daemon.ctl(
            [
                "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
                "Make value.txt hold 42",
            ] + (wait ? ["--wait"] : [])
        )
        return (daemon, project, submitted)
    }

    @Test func watchersSeeAnAgentsOutputAsItStreamsBeforeItsResultIsJournaled() throws {
        let (daemon, project, submitted) = try slowAgentDaemon()
        #expect(submitted.status == 0)

        let client = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 30_000)
        defer { client.close() }
        var kinds: [String] = []
        var streamed = ""
        _ = try client.stream("watch", .object(["project": .string(project), "task": "t1", "after": 0])) { event in
            let kind = event["kind"]?.stringValue ?? ""
            if kind == "progress", event["unit"]?.stringValue == "implementer" {
                streamed += event["text"]?.stringValue ?? ""
                kinds.append("progress")
            }
            if kind == "effect_result", event["payload"]?["key"]?.stringValue?.contains(":implement:") == true {
                kinds.append("result")
                return false
            }
            return true
        }
        #expect(kinds == ["progress", "progress", "result"], "both pieces arrived before the result: \(kinds)")
        #expect(kinds.last == "result")
        #expect(streamed == #"{"summary": "wrote 42"}"#)
        // Progress is for watchers only: the journal holds the result, not the chunks.
        #expect(!daemon.ctl(["log", "t1", "-C", project, "--json"]).stdout.contains(#""kind":"progress""#))
    }

    /// A watcher that attaches after an agent began printing gets what it printed so far
    /// first, then the rest as it comes.
    @Test func aLateWatcherSeesTheOutputSoFar() throws {
        let (daemon, project, submitted) = try slowAgentDaemon()
        #expect(submitted.status == 0)
        // A first watcher waits for the first piece (printed a second in) and goes away; the
        // second piece comes two seconds after it, so the next watcher attaches in between.
        let early = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 30_000)
        _ = try early.stream("watch", .object(["project": .string(project), "task": "t1"])) { event in
            !(event["kind"]?.stringValue == "progress" && event["unit"]?.stringValue == "implementer")
        }
        early.close()
        let client = try IPCClient(socketPath: daemon.socket, clientName: "test", timeoutMs: 30_000)
        defer { client.close() }
        var pieces: [String] = []
        _ = try client.stream("watch", .object(["project": .string(project), "task": "t1"])) { event in
            if event["kind"]?.stringValue == "progress", event["unit"]?.stringValue == "implementer" {
                pieces.append(event["text"]?.stringValue ?? "")
            }
            return
                !(event["kind"]?.stringValue == "effect_result"
                && event["payload"]?["key"]?.stringValue?.contains(":implement:") == true)
        }
        #expect(pieces.first == #"{"summary": "#, "the output so far came first: \(pieces)")
        #expect(pieces.joined() == #"{"summary": "wrote 42"}"#, "\(pieces)")
    }

    @Test func submitWaitShowsTheAgentsOutputAsItStreams() throws {
        let (daemon, project, submitted) = try slowAgentDaemon(wait: true)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdout.contains("  ┌ implementer (t1:implement:implementer:0:1):"), "\(submitted.stdout)")
        #expect(submitted.stdout.contains(#"  │ {"summary": "wrote 42"}"#))
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "done" } == "done")
    }
}
