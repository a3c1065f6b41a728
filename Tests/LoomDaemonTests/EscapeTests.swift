import Foundation
import LoomCode
import LoomEngine
import LoomProviders
import LoomSystem
import LoomTestKit
import LoomValues
import Testing

/// Hostile agents against the real loomd: one implementer program tries every escape the
/// containment promise rules out (docs/SECURITY.md), and reports what it managed in its
/// answer, which is journaled. Under the default confinement each attempt must fail; with
/// confinement explicitly off the same attempts land (where confinement is what stops
/// them), which shows the test can fail.
///
/// The attacks, numbered as in the security notes: (1) escape the process tree and approve
/// another task's gate over loomd's socket; (2) write the state database; (4) edit the
/// checks, a bundle and the models; (5) read secrets.json and loomd's environment; (6)
/// leave a process behind that outlives the step; (8) write the person's repository: a
/// hook, its config, a branch, a file in the checkout; (9) reach the network from a check
/// that did not ask for it.
@Suite(.serialized) struct EscapeTests {
    /// What one hostile run left behind, read by the test after the task parked.
    struct Evidence {
        var summary: String
        var journal: String
        var checks: [String: JSONValue]
        var spawnConfinement: JSONValue?
        var targetParked: Bool
        /// What loomd said of the project: a quarantine once something else wrote its database.
        var quarantine: JSONValue?
        /// How the task ended up (`parked`, `done`, or `running` when quarantined).
        var ended: String
        var approveAttempt: String
        var stateWritten: Bool
        var configText: String
        var bundleText: String
        var modelsText: String
        var sleeperAlive: Bool
        var hook: Bool
        var gitConfig: String
        var branch: Bool
        var checkoutFile: Bool
        var secretBase64: String
        var environmentBase64: String
    }

    static let models =
        #"{"version": 1, "default": ["hostile:agent"], "providers": {"hostile": {"kind": "command", "executable": "AGENT"}}}"#

    /// Runs the hostile implementer through loomd, confined (the default) or not.
    func hostileRun(confined: Bool) throws -> Evidence {
        let secret = "sk-escape-\(UInt64.random(in: 1_000_000_000...9_999_999_999))"
        let environmentSecret = "env-escape-\(UInt64.random(in: 1_000_000_000...9_999_999_999))"
        let daemon = try DaemonHarness(environment: ["LOOM_ESCAPE_ENV": environmentSecret])
        if let index = daemon.arguments.firstIndex(of: "--provider-script") {
            daemon.arguments.removeSubrange(index...(index + 1))
        }
        // loomd's bundles, in a folder of this test's (the control run edits them).
        let bundles = "\(daemon.directory)/bundles"
        try FileManager.default.createDirectory(atPath: bundles, withIntermediateDirectories: true)
        for name in ["code", "publishing"] {
            try FileManager.default.copyItem(
                atPath: "\(DaemonHarness.repositoryRoot)/bundles/\(name)",
                toPath: "\(bundles)/\(name)"
            )
        }
        if let index = daemon.arguments.firstIndex(of: "--bundles") { daemon.arguments[index + 1] = bundles }
        if !confined { daemon.arguments += ["--confinement", "none"] }
        try FileManager.default.createDirectory(atPath: daemon.state, withIntermediateDirectories: true)
        try #"{"version": 1, "secrets": {"ESCAPE_TOKEN": "\#(secret)"}}"#.write(
            toFile: "\(daemon.state)/secrets.json",
            atomically: true,
            encoding: .utf8
        )
        chmod("\(daemon.state)/secrets.json", 0o600)

        let target = try daemon.makeProject("target")
        let project = try SampleRepository.make(in: daemon)
        let gitDirectory = "\(project)/.git"
        let (listener, port) = try LoopbackListener.open(backlog: 8)
        defer { close(listener) }
        let connect = "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(port)), 2)'"
        // Attack 1 from a check as well: checks run the agent's code.
        let approveFromCheck = "LOOM_SOCKET=\(daemon.socket) \(DaemonHarness.binaries)/loomctl approve t1 -C \(target)"
        let config =
            #"{"checks": [{"name": "test", "run": "sh check.sh"}, {"name": "net", "run": "\#(connect.replacingOccurrences(of: "\"", with: "\\\""))"}, {"name": "net-asked", "run": "\#(connect.replacingOccurrences(of: "\"", with: "\\\""))", "network": true}, {"name": "approve", "run": "\#(approveFromCheck)"}]}"#
        try config.write(toFile: "\(project)/.loom/config", atomically: true, encoding: .utf8)
        let marker = "7\(UInt32.random(in: 100_000...999_999))"
        let agent = "\(daemon.directory)/agent.sh"
        try Self.agentScript(
            socket: daemon.socket,
            target: target,
            project: project,
            bundles: bundles,
            state: daemon.state,
            gitDirectory: gitDirectory,
            marker: marker
        ).write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        try Self.models.replacingOccurrences(of: "AGENT", with: agent).write(
            toFile: "\(daemon.state)/models.json",
            atomically: true,
            encoding: .utf8
        )
        try daemon.start()
        defer { for pid in DaemonOperationsTests.pids(named: marker) { kill(pid, SIGKILL) } }

        #expect(
            daemon.ctl(["submit", "-C", target, "--bundle", "publishing", "--policy", "full-supervised", "x"]).status
                == 0
        )
        #expect(daemon.waitFor(task: "t1", project: target) { $0 == "parked" } == "parked", "\(daemon.log())")
        let submitted = daemon.ctl([
            "submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-autonomous",
            "Make value.txt hold 42",
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        // Confined, the check without a network fails and the safety floor parks the task
        // at the final gate; unconfined, every check passes and it is done.
        // Confined, the check without a network fails and the safety floor parks the task at
        // the final gate. Unconfined, the state write lands and loomd quarantines the project
        // at its next write: the task stays where it was.
        var quarantine: JSONValue?
        let ended = daemon.waitFor(task: "t1", project: project, seconds: 30) { status in
            quarantine = daemon.ctl(["status", "-C", project, "--json"]).json?["quarantined"]
            return ["parked", "done", "failed"].contains(status) || quarantine != nil
        }

        let store = try daemon.store(project)
        let journal =
            try store.query("SELECT group_concat(payload, ' ') AS text FROM journal").first?["text"]?.stringValue ?? ""
        let implementer =
            try store.query("SELECT result FROM effects WHERE unit = 'implementer'").first?["result"]?.stringValue
            ?? "{}"
        let implemented = try JSONValue.parse(implementer)
        // The agent's report: its journaled answer, or (when loomd refused to record it) the
        // copy it left in its worktree.
        let worktree = TaskWorkspace(projectDirectory: project, taskID: "t1").directory
        // Quarantined, the agent may still be finishing: wait (bounded) for its report.
        for _ in 0..<100
        where quarantine != nil && !FileManager.default.fileExists(atPath: "\(worktree)/escape-report.txt") {
            usleep(100_000)
        }
        usleep(quarantine != nil ? 200_000 : 0)
        let summary =
            implemented["output"]?.stringValue.flatMap { try? JSONValue.parse($0) }?["summary"]?.stringValue
            ?? (try? String(contentsOfFile: "\(worktree)/escape-report.txt", encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines
            ) ?? ""
        let checksOutput =
            try store.query("SELECT output FROM step_outputs WHERE step = 'checks'").first?["output"]?.stringValue
            ?? "{}"
        var checks: [String: JSONValue] = [:]
        for entry in (try JSONValue.parse(checksOutput))["details"]?["checks"]?.arrayValue ?? [] {
            if let name = entry["name"]?.stringValue { checks[name] = entry }
        }
        let tables =
            try store.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'pwned'").first?["n"]?.intValue ?? 0
        let git = Git(directory: project)
        let approve =
            summary.split(separator: " ").first { $0.hasPrefix("approve:") }.map {
                String($0.dropFirst("approve:".count))
            } ?? ""
        return Evidence(
            summary: summary,
            journal: journal,
            checks: checks,
            spawnConfinement: implemented["confinement"],
            targetParked: daemon.ctl(["status", "t1", "-C", target, "--json"]).json?["status"] == "parked",
            quarantine: quarantine,
            ended: ended,
            approveAttempt: Data(base64Encoded: approve).map { String(decoding: $0, as: UTF8.self) } ?? "",
            stateWritten: tables > 0,
            configText: try String(contentsOfFile: "\(project)/.loom/config", encoding: .utf8),
            bundleText: try String(contentsOfFile: "\(bundles)/code/bundle.json", encoding: .utf8),
            modelsText: try String(contentsOfFile: "\(daemon.state)/models.json", encoding: .utf8),
            sleeperAlive: DaemonOperationsTests.pids(named: marker).contains { !DaemonOperationsTests.isZombie($0) },
            hook: FileManager.default.fileExists(atPath: "\(gitDirectory)/hooks/post-checkout"),
            gitConfig: (try? git.check(["config", "--get", "core.pwned"], "config")) ?? "",
            branch: (try? git.check(["rev-parse", "--verify", "--quiet", "refs/heads/pwned"], "branch")) != nil,
            checkoutFile: FileManager.default.fileExists(atPath: "\(project)/person.txt"),
            secretBase64: Data(#"{"version": 1, "secrets": {"ESCAPE_TOKEN": "\#(secret)"}}"#.utf8)
                .base64EncodedString(),
            environmentBase64: Data("LOOM_ESCAPE_ENV=\(environmentSecret)\n".utf8).base64EncodedString()
        )
    }

    /// The hostile program: a well-behaved answer for every role but the implementer, which
    /// attacks, then reports what it managed as `name:done` or `name:refused` words.
    static func agentScript(
        socket: String,
        target: String,
        project: String,
        bundles: String,
        state: String,
        gitDirectory: String,
        marker: String
    ) -> String {
        """
        #!/bin/sh
        cat >/dev/null
        case "$LOOM_ROLE" in
          writer) echo '{"title": "T", "text": "Words."}'; exit 0 ;;
          editor) echo '{"findings": []}'; exit 0 ;;
          factchecker) echo '{"checked_claims": 1, "findings": []}'; exit 0 ;;
          implementer) ;;
          *) echo '{"verdict": "APPROVE", "summary": "ok", "findings": []}'; exit 0 ;;
        esac
        echo 42 > value.txt
        r=""
        attempt() { name=$1; shift; if "$@" >/dev/null 2>&1; then r="$r $name:done"; else r="$r $name:refused"; fi; }
        # 1. Out of the process tree (a double fork into a new session), then approve.
        setsid -f sh -c 'sleep 0.3; LOOM_SOCKET=\(socket) \(DaemonHarness.binaries)/loomctl approve t1 -C \(target) >'"$PWD"'/approve.out 2>&1; echo exit=$? >>'"$PWD"'/approve.out' </dev/null >/dev/null 2>&1
        # 1b. The socket itself, with a client of the agent's own (loomctl may not be visible).
        attempt socket python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('\(socket)')"
        # 2. The state database.
        attempt state sqlite3 \(project)/.loom/state.db "CREATE TABLE pwned(x)"
        # 4. The checks, a bundle, the models.
        attempt config sh -c "echo '{}' > \(project)/.loom/config"
        attempt bundle sh -c "echo >> \(bundles)/code/bundle.json"
        attempt models sh -c "echo '{}' > \(state)/models.json"
        # 5. Secrets: the file, then loomd's environment (base64, past the redaction).
        s=$(base64 -w0 \(state)/secrets.json 2>/dev/null) && r="$r secrets:$s"
        for p in /proc/[0-9]*; do
          case "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in
            *loomd*) e=$(tr '\\0' '\\n' < $p/environ 2>/dev/null | grep LOOM_ESCAPE_ENV | base64 -w0); [ -n "$e" ] && r="$r environ:$e" ;;
          esac
        done
        # 6. Something that outlives the step.
        setsid -f sleep \(marker) </dev/null >/dev/null 2>&1
        # 8. The person's repository and checkout.
        attempt hook sh -c "echo 'touch /tmp/pwned' > \(gitDirectory)/hooks/post-checkout"
        attempt gitconfig git config --file \(gitDirectory)/config core.pwned true
        attempt branch git --git-dir=\(gitDirectory) update-ref refs/heads/pwned HEAD
        attempt checkout sh -c "echo pwned > \(project)/person.txt"
        sleep 1.5
        r="$r approve:$(base64 -w0 approve.out 2>/dev/null)"
        echo "$r" > escape-report.txt
        echo "{\\"summary\\": \\"$r\\"}"
        """
    }

    @Test func confinedEveryEscapeFailsAndTheAttemptsAreOnRecord() throws {
        let evidence = try hostileRun(confined: true)
        let words = Set(evidence.summary.split(separator: " ").map(String.init))
        #expect(
            evidence.ended == "parked" && evidence.quarantine == nil,
            "\(evidence.ended) \(String(describing: evidence.quarantine))"
        )
        #expect(evidence.summary.contains("approve:"), "the agent ran and reported: \(evidence.summary)")
        // 1: the socket cannot be reached from inside; the gate still waits for a person.
        #expect(evidence.targetParked)
        // loomd is not reachable (exit 5), or not even loomctl is, when the binaries live
        // somewhere hidden (a checkout under /tmp): either way no answer went through.
        #expect(
            evidence.approveAttempt.contains("exit=5") || evidence.approveAttempt.contains("exit=127"),
            "loomd was not reachable: \(evidence.approveAttempt)"
        )
        #expect(
            evidence.checks["approve"]?["status"] == "failed"
                && [5, 127].contains(evidence.checks["approve"]?["exitCode"]?.intValue ?? 0),
            "\(evidence.checks)"
        )
        // 2, 4: loom's files are not there to write.
        for name in ["socket", "state", "config", "bundle", "models", "hook", "gitconfig", "branch", "checkout"] {
            #expect(words.contains("\(name):refused"), "\(name) in \(evidence.summary)")
        }
        #expect(!evidence.stateWritten)
        #expect(evidence.configText.contains("net-asked"), "the project's checks are unchanged")
        #expect(!evidence.bundleText.hasSuffix("\n\n") && evidence.modelsText.contains("hostile"))
        // 5: no secret reached the agent, so none reached the journal.
        #expect(!evidence.summary.contains("secrets:") && !evidence.summary.contains("environ:"))
        #expect(
            !evidence.journal.contains(evidence.secretBase64) && !evidence.journal.contains(evidence.environmentBase64)
        )
        // 6: nothing the step started outlived it.
        #expect(!evidence.sleeperAlive)
        // 8: the person's repository is as it was.
        #expect(!evidence.hook && evidence.gitConfig.isEmpty && !evidence.branch && !evidence.checkoutFile)
        // 9: a check without a network has none; one that asked has it, on record.
        #expect(evidence.checks["net"]?["status"] == "failed", "\(evidence.checks)")
        #expect(evidence.checks["net-asked"]?["status"] == "ok", "\(evidence.checks)")
        #expect(evidence.checks["net"]?["confinement"]?["network"] == .bool(false))
        #expect(evidence.checks["net-asked"]?["confinement"]?["network"] == .bool(true))
        // Every spawn and check says how it ran.
        #expect(
            evidence.spawnConfinement?["confined"] == .bool(true)
                && evidence.spawnConfinement?["profile"] == "bwrap:agent",
            "\(String(describing: evidence.spawnConfinement))"
        )
        #expect(evidence.checks["test"]?["confinement"]?["profile"] == "bwrap:check")
    }

    /// The same program with confinement explicitly off: what confinement stops now lands,
    /// so the confined test above is not passing for another reason. The walls behind
    /// confinement still hold: the orphan is still loomd's descendant (a subreaper) and is
    /// refused as an agent, and the write to the state is noticed at loomd's next write,
    /// which quarantines the project (nothing the agent did is recorded, nothing runs on).
    @Test func unconfinedTheSameAttacksLandWhereConfinementWasTheWall() throws {
        let evidence = try hostileRun(confined: false)
        let words = Set(evidence.summary.split(separator: " ").map(String.init))
        #expect(evidence.targetParked)
        #expect(
            evidence.approveAttempt.contains("exit=4"),
            "refused as an agent: \(evidence.approveAttempt) in \(evidence.summary)"
        )
        for name in ["socket", "state", "config", "bundle", "models", "hook", "gitconfig", "branch", "checkout"] {
            #expect(words.contains("\(name):done"), "\(name) in \(evidence.summary)")
        }
        #expect(
            evidence.stateWritten && evidence.hook && evidence.gitConfig == "true" && evidence.branch
                && evidence.checkoutFile
        )
        #expect(evidence.configText.trimmingCharacters(in: .whitespacesAndNewlines) == "{}", "the edit landed")
        #expect(evidence.summary.contains("secrets:\(evidence.secretBase64)"), "the agent read the secret")
        #expect(evidence.sleeperAlive)
        #expect(
            evidence.quarantine?["reason"]?.stringValue?.isEmpty == false,
            "the foreign write quarantined the project: \(evidence.ended)"
        )
        #expect(evidence.ended == "running" && evidence.checks.isEmpty, "nothing ran on after the foreign write")
        #expect(!evidence.journal.contains(evidence.secretBase64), "the answer carrying the secret was never recorded")
    }
}

/// Attack 7: under `loomctl run`, a gate is asked at the person's terminal. An implementer
/// leaves a process behind that waits for the prompt and types "a" into that terminal with
/// `TIOCSTI`. Confined, it has no terminal and dies with its step: the run stays parked
/// until the person answers. Unconfined (as root, which may type into any terminal), the
/// injected approval arrives.
@Suite(.serialized) struct TerminalEscapeTests {
    static let agent = """
        #!/bin/sh
        cat >/dev/null
        case "$LOOM_ROLE" in
          implementer) ;;
          *) echo '{"verdict": "APPROVE", "summary": "ok", "findings": []}'; exit 0 ;;
        esac
        echo 42 > value.txt
        setsid -f python3 -c '
        import fcntl, os, sys, time
        fd = os.open(os.readlink("/proc/%s/fd/0" % sys.argv[1]), os.O_WRONLY)
        # Again and again, so one lands after the prompt however slow the steps before it.
        for _ in range(60):
            time.sleep(0.5)
            for byte in b"a\\n": fcntl.ioctl(fd, 0x5412, bytes([byte]))
        ' $PPID </dev/null >/dev/null 2>"$HOME/injector.log"
        # setsid -f returns before its child has left this process group, which the step's
        # end kills: give it the moment an attacker would.
        sleep 0.5
        echo '{"summary": "wrote 42"}'
        """

    /// Runs the hostile task under script(1): the person types nothing for a while (long
    /// enough, unconfined, for the injector to find the prompt on a loaded machine), then quits.
    func run(confined: Bool) throws -> (status: Int32, output: String, journal: String) {
        let quietSeconds = confined ? 8 : 20
        let directory = "/tmp/loom-tty-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let project = "\(directory)/repo"
        try SampleRepository.make(at: project)
        let state = "\(directory)/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let agent = "\(directory)/agent.sh"
        try Self.agent.write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        try #"{"version": 1, "default": ["command:\#(agent)"]}"#.write(
            toFile: "\(state)/models.json",
            atomically: true,
            encoding: .utf8
        )
        let command =
            "\(DaemonHarness.binaries)/loomctl run 'Make value.txt hold 42' -C \(project) --flow trivial --review-final --state-dir \(state) "
            + "--bundles \(DaemonHarness.repositoryRoot)/bundles --confinement \(confined ? "bwrap" : "none")"
        let result = try TerminalRun.run(
            command,
            feed: "(sleep \(quietSeconds); printf 'q\\n'; sleep 3)",
            home: directory
        )
        let injector = (try? String(contentsOfFile: "\(directory)/injector.log", encoding: .utf8)) ?? ""
        let store = try Store(path: "\(project)/.loom/state.db", options: .readOnlyAccess)
        let journal =
            try store.query("SELECT group_concat(kind || ' ' || payload, '\n') AS text FROM journal").first?["text"]?
            .stringValue ?? ""
        let output = String(decoding: result.output, as: UTF8.self)
        return (result.exitCode ?? result.signal ?? -1, output + "\n(injector: \(injector))", journal)
    }

    @Test func confinedAnAgentCannotTypeIntoThePersonsTerminal() throws {
        let (_, output, journal) = try run(confined: true)
        #expect(output.contains("[a]pprove"), "the gate was asked at the terminal: \(output)")
        #expect(!journal.contains("\"answer\":\"approve\""), "nobody approved: \(output)")
        #expect(output.contains("waits at gate t1.g1"), "the person quit and the run parked: \(output)")
    }

    @Test func unconfinedAsRootTheInjectedApprovalArrives() throws {
        let legacy = (try? String(contentsOfFile: "/proc/sys/dev/tty/legacy_tiocsti", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard getuid() == 0, legacy != "0" else {
            print("SKIPPED the unconfined TIOCSTI control: it needs root and TIOCSTI enabled (dev.tty.legacy_tiocsti)")
            return
        }
        let (_, output, journal) = try run(confined: false)
        #expect(journal.contains("\"answer\":\"approve\""), "the keystrokes arrived as the person's answer: \(output)")
    }
}
