import Foundation
import LoomCode
import LoomDaemon
import LoomEngine
import LoomProviders
import LoomSystem
import Testing

@testable import LoomHost

/// `loomctl run`: one task from a terminal, in-process, with the same audit trail as loomd.
@Suite(.serialized) struct RunCommandTests {
    typealias Output = DaemonHarness.Output

    /// Runs loomctl with `input` on stdin (no terminal), bounded.
    private func loomctl(_ arguments: [String], input: String = "", in directory: String) throws -> Output {
        let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory, "LANG": "C.UTF-8"]
        let argv = ["\(DaemonHarness.binaries)/loomctl"] + arguments
        let result = ChildProcess.run(
            .init(
                argv: argv,
                environment: environment,
                input: Array(input.utf8),
                timeoutMs: 60_000,
                outputLimitBytes: DaemonHarness.ctlOutputLimitBytes,
                separateStandardError: true
            )
        )
        if let spawnError = result.spawnError { throw LoomError(.internal, spawnError) }
        return Output(result)
    }

    /// A committed repository whose check passes when value.txt holds 42, and the script.
    private func setUp() throws -> (directory: String, project: String, script: String) {
        let directory = "/tmp/loom-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let project = "\(directory)/repo"
        try SampleRepository.make(at: project)
        let script = "\(directory)/script.json"
        try CodeEndToEndTests.script.write(toFile: script, atomically: true, encoding: .utf8)
        return (directory, project, script)
    }

    @Test func aRunDrivesATaskToItsBranchWithTheSameAuditTrailAsLoomd() throws {
        let (directory, project, script) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bundles = "\(DaemonHarness.repositoryRoot)/bundles"
        let run = try loomctl(
            [
                "run", "Make value.txt hold 42", "-C", project, "--flow", "trivial", "--auto", "--provider-script",
                script, "--bundles", bundles,
            ],
            in: directory
        )
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("implement implementer: ok, scripted:premium"))
        #expect(run.stdout.contains("checks: test ok"))
        #expect(run.stdout.contains("t1 done"))
        let git = Git(directory: project)
        #expect(try git.check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(!(try git.check(["worktree", "list"], "list")).contains(".loom/worktrees"))
        // The journal verifies and replays like a daemon run's.
        let verify = try loomctl(["verify", "-C", project, "--bundles", bundles], in: directory)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("identical"))
    }

    @Test func withoutATerminalAGateParksTheRunAndResumeContinuesIt() throws {
        let (directory, project, script) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bundles = "\(DaemonHarness.repositoryRoot)/bundles"
        // Piped "a" is not a person at a terminal: the run stops at the first human gate.
        let parked = try loomctl(
            [
                "run", "Make value.txt hold 42", "-C", project, "--supervised", "--provider-script", script,
                "--bundles", bundles,
            ],
            input: "a\n",
            in: directory
        )
        #expect(parked.status == 9, "\(parked.stdout)\n\(parked.stderr)")
        #expect(parked.stdout.contains("t1 waits at gate t1.g1 (plan)"))
        #expect(parked.stdout.contains("loomctl run --resume"))

        // A person at a terminal (a pseudo-terminal from script(1)) answers both gates.
        let command = [
            "\(DaemonHarness.binaries)/loomctl", "run", "--resume", "-C", project, "--provider-script", script,
            "--bundles", bundles,
        ]
        .map { "'\($0)'" }.joined(separator: " ")
        let resumed = try loomctl(["__script__"], in: directory, scriptCommand: command, input: "a\n")
        #expect(resumed.stdout.contains("[a]pprove"), "\(resumed.stdout)")
        #expect(try Git(directory: project).check(["show", "loom/t1:value.txt"], "show") == "42", "\(resumed.stdout)")
        let store = try Store(
            path: "\(project)/.loom/state.db",
            options: {
                var options = StoreOptions()
                options.readOnly = true
                return options
            }()
        )
        let deciders = try store.query(
            "SELECT json_extract(decided_by, '$.kind') AS k FROM gates WHERE task_id = 't1' ORDER BY opened_tick"
        )
        #expect(deciders.map { $0["k"]?.stringValue } == ["human", "human"])
    }

    @Test func ctrlCLeavesAStateThatResumeContinues() throws {
        let (directory, project, _) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bundles = "\(DaemonHarness.repositoryRoot)/bundles"
        // The implementer takes 3 s: long enough to be interrupted in the middle.
        let slow = "\(directory)/slow.json"
        try CodeEndToEndTests.script.replacingOccurrences(of: "\"delayMs\": 300", with: "\"delayMs\": 3000").write(
            toFile: slow,
            atomically: true,
            encoding: .utf8
        )
        let outputFile = "\(directory)/run.out"
        let argv = [
            "\(DaemonHarness.binaries)/loomctl", "run", "Make value.txt hold 42", "-C", project,
            "--flow", "trivial", "--auto", "--provider-script", slow, "--bundles", bundles,
        ]
        let process = try BackgroundChild(
            argv: argv,
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory],
            outputPath: outputFile
        )
        // Wait until the implementer is running (its worktree exists), then press Ctrl-C.
        let worktree = TaskWorkspace(projectDirectory: project, taskID: "t1").directory
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: worktree) { usleep(20_000) }
        usleep(500_000)
        process.signal(SIGINT)
        let ending = process.wait(timeoutMs: 30_000)
        let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        #expect(ending?.exitCode == 130, "\(text)")
        #expect(text.contains("continue with: loomctl run --resume"))

        let resumed = try loomctl(
            ["run", "--resume", "-C", project, "--provider-script", "\(directory)/script.json", "--bundles", bundles],
            in: directory
        )
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(try Git(directory: project).check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(try Git(directory: project).check(["rev-list", "--count", "main..loom/t1"], "count") == "1")
    }

    @Test func aRunStartedByAnAgentTakesNoGateAnswerEvenAtATerminal() throws {
        let (directory, project, script) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bundles = "\(DaemonHarness.repositoryRoot)/bundles"
        // Every process loom starts for a task carries LOOM_AGENT; one that runs loomctl run
        // under a pseudo-terminal and types "a" is still not a person.
        let command = [
            "env", "LOOM_AGENT=1", "\(DaemonHarness.binaries)/loomctl", "run", "Make value.txt hold 42", "-C", project,
            "--supervised",
            "--provider-script", script, "--bundles", bundles,
        ].map { "'\($0)'" }.joined(separator: " ")
        let run = try loomctl(["__script__"], in: directory, scriptCommand: command, input: "a\n")
        #expect(run.stdout.contains("does not take gate answers"), "\(run.stdout)")
        #expect(!run.stdout.contains("[a]pprove"))
        let store = try Store(
            path: "\(project)/.loom/state.db",
            options: {
                var options = StoreOptions()
                options.readOnly = true
                return options
            }()
        )
        #expect(
            try store.query("SELECT status FROM gates WHERE task_id = 't1'").map { $0["status"]?.stringValue } == [
                "waiting"
            ]
        )
    }

    @Test func aProjectLoomdDrivesIsRefused() throws {
        let (directory, project, script) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = try ProjectLock(projectRoot: project)
        defer { withExtendedLifetime(lock) {} }
        let run = try loomctl(
            [
                "run", "x", "-C", project, "--provider-script", script, "--bundles",
                "\(DaemonHarness.repositoryRoot)/bundles",
            ],
            in: directory
        )
        #expect(run.status == 1)
        #expect(run.stderr.contains("driven by loomd or another run"))
    }
}

extension RunCommandTests {
    /// Runs `command` under script(1), which gives it a pseudo-terminal fed from `input`,
    /// answering every prompt with the same line until it ends.
    fileprivate func loomctl(
        _ marker: [String],
        in directory: String,
        scriptCommand command: String,
        input: String
    ) throws -> Output {
        let answers = String(repeating: input, count: 8)
        return Output(try TerminalRun.run(command, feed: "(sleep 1; printf '\(answers)'; sleep 5)", home: directory))
    }
}
