import Foundation
import LoomCode
import LoomEngine
import LoomPolicy
import LoomProviders
import LoomValues
import Testing

/// The code bundle on real git repositories: agents plan, implement (with real edits) and
/// review; checks really run; the result lands on `loom/<task>` and nowhere else.
@Suite struct CodeFlowTests {
    @Test func theHappyPathDeliversOnTheTasksBranchAndLeavesThePersonsCheckoutAlone() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let before = try world.userView()
        let id = try world.submit()
        try world.run()

        let task = try world.task(id)
        #expect(task.status == .done, "outcome: \(task.outcome)")
        #expect(task.flow == "medium")
        // The change is on the task's branch, in one commit that names the task.
        #expect(try world.git("show", "loom/\(id):value.txt") == "42")
        #expect(try world.git("rev-list", "--count", "main..loom/\(id)") == "1")
        #expect(
            try world.git("log", "-1", "--format=%s%n%b", "loom/\(id)").contains("loom \(id): Make value.txt hold 42")
        )
        #expect(try world.git("log", "-1", "--format=%b", "loom/\(id)").contains("Loom-Task: \(id)"))
        // Checks really ran, in the worktree, on the change.
        let checks = try world.rows(
            "SELECT json_extract(output, '$.status') AS s FROM step_outputs WHERE step IN ('checks', 'final_checks') ORDER BY tick"
        )
        #expect(checks.map { $0["s"]?.stringValue } == ["ok", "ok"])
        // Every reviewer ran once; the gates were resolved by the policy (no blocker was open).
        #expect(try world.spawned("review") == ["reviewer-logic@0", "reviewer-security@0", "reviewer-tests@0"])
        let gates = try world.rows(
            "SELECT role, json_extract(decided_by, '$.kind') AS k FROM gates ORDER BY opened_tick"
        )
        #expect(
            gates.map { "\($0["role"]?.stringValue ?? ""):\($0["k"]?.stringValue ?? "")" } == [
                "plan:policy", "final:policy",
            ]
        )
        // The person's working tree, index, branch and HEAD are exactly as they were.
        #expect(try world.userView() == before)
        #expect(try world.git("show", "main:value.txt") == "41")
        // Ending the task removes its worktree; the branch stays.
        WorktreeJanitor.release(project: world.project, task: id)
        #expect(!TaskWorkspace(projectDirectory: world.project, taskID: id).exists)
        #expect(try world.git("branch", "--list", "loom/\(id)").contains("loom/\(id)"))
        #expect(!(try world.git("worktree", "list")).contains(".loom/worktrees"))
    }

    @Test func aBlockerIsFixedAndOnlyTheReviewerThatBlockedRunsAgain() throws {
        let world = try CodeWorld(
            script: CodeScript.script([
                "implementer": [CodeScript.implement(value: "4 2"), CodeScript.implement(value: "42")],
                "reviewer-logic": [CodeScript.block("value.txt holds '4 2', not 42"), CodeScript.approve],
                "adjudicator": [CodeScript.fix, CodeScript.accept],
            ])
        )
        let id = try world.submit()
        try world.run()

        let task = try world.task(id)
        #expect(task.status == .done, "outcome: \(task.outcome)")
        #expect(
            try world.spawned("review") == [
                "reviewer-logic@0", "reviewer-security@0", "reviewer-tests@0", "reviewer-logic@1",
            ]
        )
        #expect(try world.spawned("implement") == ["implementer@0", "implementer@1"])
        let finding = try world.rows("SELECT status, severity FROM findings WHERE agent = 'reviewer-logic'")
        #expect(finding.map { $0["status"]?.stringValue } == ["fixed"])
        // The first round's check failed ("4 2"), the second passed.
        let checks = try world.rows(
            "SELECT iteration, json_extract(output, '$.status') AS s FROM step_outputs WHERE step = 'checks' ORDER BY tick"
        )
        #expect(checks.map { $0["s"]?.stringValue } == ["failed", "ok"])
        #expect(try world.git("show", "loom/\(id):value.txt") == "42")
    }

    @Test func anImplementerThatEditsATestFileForcesAPersonAtTheFinalGateEvenUnderFullAutonomy() throws {
        let world = try CodeWorld(
            script: CodeScript.script([
                "implementer": [CodeScript.implement(value: "42", extra: ["tests/value_test.sh": "true\n"])]
            ])
        )
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()

        #expect(try world.task(id).status == .parked)
        let gate = try #require(try world.engine.waitingGate(task: id))
        #expect(gate.role == "final")
        #expect(gate.requiresHuman)
        #expect(gate.reasons.contains { $0.contains("tests_touched") })
        // Nothing was committed before a person said so.
        #expect(try world.git("rev-list", "--count", "main..loom/\(id)") == "0")
        try world.approve(id, message: "the test edit is fine")
        try world.run()
        #expect(try world.task(id).status == .done)
        #expect(try world.git("show", "loom/\(id):tests/value_test.sh") == "true")
    }

    @Test func reviewerGarbageIsRetriedOnceThenBecomesAHarnessBlockerThatNoPolicyApproves() throws {
        let garbage: JSONValue = ["output": "LGTM!"]
        let world = try CodeWorld(script: CodeScript.script(["reviewer-security": [garbage]]))
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()

        // Two attempts at the first round: the second prompt says why the first was refused.
        let attempts = try world.rows(
            "SELECT attempt, json_extract(request, '$.prompt') AS p FROM effects WHERE unit = 'reviewer-security' AND iteration = 0 ORDER BY attempt"
        )
        #expect(attempts.count == 2)
        #expect(attempts.last?["p"]?.stringValue?.contains("output is not JSON") == true)
        let harness = try world.rows("SELECT status, severity FROM findings WHERE origin = 'harness'")
        #expect(!harness.isEmpty)
        #expect(harness.allSatisfy { $0["status"]?.stringValue == "open" && $0["severity"]?.stringValue == "blocking" })
        // The adjudicator cannot dismiss it; the task waits for a person at the final gate.
        #expect(try world.task(id).status == .parked)
        let gate = try #require(try world.engine.waitingGate(task: id))
        #expect(gate.role == "final" && gate.requiresHuman)
        #expect(try world.rows("SELECT 1 FROM gates WHERE role = 'final' AND status = 'approved'").isEmpty)
    }

    @Test func theAdjudicatorMayDismissAnAgentFindingButNotAHarnessOne() throws {
        let dismiss = CodeScript.output([
            "verdict": "accept", "summary": "False positive.",
            "dismissed": [["finding": "t1.f1", "reason": "42 is right"]], "findings": [],
        ])
        let world = try CodeWorld(
            script: CodeScript.script([
                "reviewer-logic": [CodeScript.block("42 looks wrong")],
                "adjudicator": [dismiss],
            ])
        )
        let id = try world.submit()
        try world.run()
        #expect(try world.task(id).status == .done)
        #expect(
            try world.rows("SELECT status FROM findings WHERE id = 't1.f1'").first?["status"]?.stringValue
                == "dismissed"
        )
        #expect(try world.spawned("review").count == 3, "no second round after the dismissal")
    }

    @Test func aFailingCheckUnderAutoIsNeverApprovedByThePolicy() throws {
        let world = try CodeWorld(
            script: CodeScript.script(["implementer": [CodeScript.implement(value: "43")]], flow: "trivial")
        )
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()

        #expect(try world.task(id).flow == "trivial")
        let gate = try #require(try world.engine.waitingGate(task: id))
        #expect(gate.role == "final" && gate.requiresHuman)
        #expect(gate.reasons.contains { $0.contains("checks_not_green") })
        let check = try world.rows(
            "SELECT json_extract(output, '$.details.checks[0].status') AS s, json_extract(output, '$.output') AS o FROM step_outputs WHERE step = 'checks'"
        )
        #expect(check.first?["s"]?.stringValue == "failed")
        #expect(check.first?["o"]?.stringValue?.contains("value is 43, expected 42") == true)
    }

    @Test func anEmptyChangeIsNotApprovedByThePolicy() throws {
        let world = try CodeWorld(
            script: CodeScript.script(
                ["implementer": [CodeScript.output(["summary": "Nothing to do."])]],
                flow: "trivial"
            )
        )
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()
        let gate = try #require(try world.engine.waitingGate(task: id))
        #expect(gate.reasons.contains { $0.contains("empty_diff") })
    }

    @Test func aQuestionIsAnsweredWithoutTouchingAnything() throws {
        let world = try CodeWorld(script: CodeScript.script(flow: "question"))
        let id = try world.submit("What does value.txt hold?")
        try world.run()
        let task = try world.task(id)
        #expect(task.status == .done && task.flow == "question")
        #expect(
            try world.rows("SELECT json_extract(output, '$.answer') AS a FROM step_outputs WHERE step = 'answer'")
                .first?["a"]?.stringValue == "It holds 41."
        )
        #expect(try world.git("rev-list", "--count", "main..loom/\(id)") == "0")
    }

    @Test func aCrashMidImplementationContinuesInTheSameWorktreeWithoutADuplicateCommit() throws {
        let world = try CodeWorld(script: CodeScript.script(flow: "trivial"))
        let id = try world.submit(preset: .fullAutonomous)
        // Prepare and classify, then the implementer edits the worktree and the daemon dies
        // before its result is recorded.
        var crashed: Effect?
        for _ in 0..<5 {
            let next = try #require(try world.engine.pendingEffects().first)
            if next.step == "implement" {
                crashed = try world.crashAfterExecutingNext()
                break
            }
            _ = try world.engine.deliver(key: next.key, result: world.executor.execute(next, project: world.project))
        }
        #expect(crashed?.unit == "implementer")
        let worktree = TaskWorkspace(projectDirectory: world.project, taskID: id).directory
        #expect(try String(contentsOfFile: "\(worktree)/value.txt", encoding: .utf8) == "42\n")
        // Recovery re-issues the same effect; then the delivery step dies after committing.
        #expect(try world.engine.pendingEffects().map(\.key) == [crashed!.key])
        for _ in 0..<10 {
            let next = try #require(try world.engine.pendingEffects().first)
            if next.step == "deliver" {
                _ = try world.crashAfterExecutingNext()
                break
            }
            _ = try world.engine.deliver(key: next.key, result: world.executor.execute(next, project: world.project))
        }
        #expect(try world.git("rev-list", "--count", "main..loom/\(id)") == "1")
        try world.run()
        #expect(try world.task(id).status == .done)
        // The re-run delivery found the commit already made.
        #expect(try world.git("rev-list", "--count", "main..loom/\(id)") == "1")
        let delivered = try world.rows(
            "SELECT json_extract(output, '$.output') AS o FROM step_outputs WHERE step = 'deliver'"
        )
        #expect(delivered.first?["o"]?.stringValue?.hasPrefix("nothing left to commit") == true)
        // One worktree, the one made at the start.
        #expect(try world.git("worktree", "list").split(separator: "\n").count == 2)
    }

    @Test func theSweepRemovesWorktreesOfEndedTasksAndKeepsLiveOnes() throws {
        let world = try CodeWorld(script: CodeScript.script(flow: "trivial"))
        let parked = try world.submit(preset: .fullSupervised)
        try world.run()
        #expect(try world.task(parked).status == .parked)
        // A worktree left by a task the database no longer knows (a killed daemon's leftover).
        let stray = PrepareWorktree().run(
            HandlerRequest(
                taskID: "t99",
                step: "prepare",
                input: "",
                projectDirectory: world.project,
                timeoutMs: 60_000,
                outputLimitBytes: 4_096
            )
        )
        #expect(stray.status == .ok, "\(stray.output)")
        let released = WorktreeJanitor.sweep(project: world.project) { task in
            (try? world.engine.task(task))?.status.isFinished ?? true
        }
        #expect(released == ["t99"])
        #expect(TaskWorkspace(projectDirectory: world.project, taskID: parked).exists)
        #expect(!TaskWorkspace(projectDirectory: world.project, taskID: "t99").exists)
        #expect(try world.git("branch", "--list", "loom/t99").contains("loom/t99"), "the branch stays")
    }

    @Test func deliveryCommitsTheReviewedTreeOnTheTasksBranchWhateverTheWorktreeDidSince() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let request = HandlerRequest(
            taskID: "t7",
            step: "deliver",
            input: "x",
            projectDirectory: world.project,
            timeoutMs: 60_000,
            outputLimitBytes: 4_096
        )
        #expect(DeliverBranch().run(request).status == .failed, "nothing recorded, nothing delivered")
        #expect(PrepareWorktree().run(request).status == .ok)
        let worktree = TaskWorkspace(projectDirectory: world.project, taskID: "t7").directory
        try "42\n".write(toFile: "\(worktree)/value.txt", atomically: true, encoding: .utf8)
        #expect(DiffWorktree().run(request).status == .ok)
        // After the diff (what reviewers read): an agent edits again and switches branches.
        try "99\n".write(toFile: "\(worktree)/value.txt", atomically: true, encoding: .utf8)
        _ = try Git(directory: worktree).check(["checkout", "-q", "-b", "elsewhere"], "switching")
        let delivered = DeliverBranch().run(request)
        #expect(delivered.status == .ok, "\(delivered.output)")
        #expect(try world.git("show", "loom/t7:value.txt") == "42", "the reviewed content, not the later edit")
        #expect(try world.git("rev-list", "--count", "main..loom/t7") == "1")
        #expect(
            try world.git("rev-list", "--count", "main..elsewhere") == "0",
            "nothing on the branch the agent switched to"
        )
        // Run again (a crash after the commit): the same head, no second commit.
        let again = DeliverBranch().run(request)
        #expect(again.output.hasPrefix("nothing left to commit"))
        #expect(try world.git("rev-list", "--count", "main..loom/t7") == "1")
    }

    @Test func replansAndReviewRoundsHaveCapsOfTheirOwn() throws {
        // Scripted answers follow the iteration: three plans (two sent back), then a round
        // that blocks and a round that fixes it.
        let world = try CodeWorld(
            script: CodeScript.script([
                "implementer": [
                    CodeScript.implement(value: "40"), CodeScript.implement(value: "40"),
                    CodeScript.implement(value: "4 2"), CodeScript.implement(value: "42"),
                ],
                "reviewer-logic": [
                    CodeScript.approve, CodeScript.approve, CodeScript.block("not 42 yet"), CodeScript.approve,
                ],
                "adjudicator": [CodeScript.accept, CodeScript.accept, CodeScript.fix, CodeScript.accept],
            ])
        )
        let id = try world.submit(preset: .reviewPlanOnly)
        try world.run()
        for round in 1...2 {
            let gate = try #require(try world.engine.waitingGate(task: id))
            #expect(gate.role == "plan")
            _ = try world.engine.answerGate(
                task: id,
                gate: gate.eventID,
                answer: .requestChanges,
                message: "another plan, please (\(round))",
                by: CodeWorld.person
            )
            try world.run()
        }
        try world.approve(id)
        try world.run()
        // Two replans did not use up the review loop: the blocker got its fix round.
        let task = try world.task(id)
        #expect(task.status == .done, "\(task.outcome)")
        #expect(try world.spawned("adjudicate") == ["adjudicator@2", "adjudicator@3"])
        #expect(try world.git("show", "loom/\(id):value.txt") == "42")
    }

    @Test func aGateSendsWorkBackAtMostTheBundlesCap() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let id = try world.submit(preset: .fullSupervised)
        try world.run()
        for round in 1...3 {
            let gate = try #require(try world.engine.waitingGate(task: id))
            _ = try world.engine.answerGate(
                task: id,
                gate: gate.eventID,
                answer: .requestChanges,
                message: "again (\(round))",
                by: CodeWorld.person
            )
            try world.run()
        }
        let gate = try #require(try world.engine.waitingGate(task: id))
        #expect(gate.role == "plan")
        #expect(throws: LoomError.self) {
            _ = try world.engine.answerGate(
                task: id,
                gate: gate.eventID,
                answer: .requestChanges,
                message: "a fourth plan",
                by: CodeWorld.person
            )
        }
        try world.approve(id)  // approving (or abandoning) still works
        #expect(try world.task(id).step != "plan_gate")
    }

    @Test func checksJudgeTheRecordedTreeNotALaterEdit() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let (request, worktree) = try world.diffedWorktree(task: "t8", value: "42")
        try "99\n".write(toFile: "\(worktree)/value.txt", atomically: true, encoding: .utf8)
        let checks = RunChecks(confinement: CodeWorld.confinement).run(request)
        #expect(checks.status == .ok, "\(checks.output)")
        #expect(try String(contentsOfFile: "\(worktree)/value.txt", encoding: .utf8) == "42\n")
    }

    /// The checks are `.loom/config` as it was when the worktree was prepared: an agent
    /// (unconfined, or anything else) that rewrites the file to make its checks pass
    /// changes nothing for the task.
    @Test func checksRunTheConfigRecordedAtPrepareNotTheLiveFile() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let (request, _) = try world.diffedWorktree(task: "t8", value: "40")
        try #"{"checks": [{"name": "test", "run": "true"}]}"#.write(
            toFile: CodeConfig.path(project: world.project),
            atomically: true,
            encoding: .utf8
        )
        let checks = RunChecks(confinement: CodeWorld.confinement).run(request)
        #expect(checks.status == .failed, "the recorded check (value must be 42) ran: \(checks.output)")
        #expect(checks.output.contains("value is 40"), "\(checks.output)")
        // A task prepared after the edit runs the edited file.
        let later = HandlerRequest(
            taskID: "t9",
            step: "prepare",
            input: "x",
            projectDirectory: world.project,
            timeoutMs: 60_000,
            outputLimitBytes: 4_096
        )
        #expect(PrepareWorktree().run(later).status == .ok)
        #expect(RunChecks(confinement: CodeWorld.confinement).run(later).status == .ok)
    }

    /// Checks run the person's programs: loomd's own PATH by default, and what `.loom/config`'s
    /// `env` sets over it (a virtualenv's bin first); the effective environment is journaled
    /// with the result, a secret-named value redacted.
    @Test func checksRunWithTheConfiguredEnvironmentAndRecordIt() throws {
        // Outside /tmp and $HOME, which a confined check does not see.
        let tools = "/var/tmp/loom-check-tools-\(getpid())"
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tools) }
        // A "python3" that only this PATH finds, as a venv's would be.
        FileManager.default.createFile(
            atPath: "\(tools)/python3",
            contents: Data("#!/bin/sh\necho venv-python \"$MODE\"\n".utf8),
            attributes: [.posixPermissions: 0o755]
        )
        let config =
            #"{"env": {"PATH": "\#(tools):/usr/bin:/bin", "MODE": "strict", "PYPI_TOKEN": "pypi-secret-value-123"}, "checks": [{"name": "which", "run": "python3 | grep -q 'venv-python strict'", "timeoutMs": 60000}]}"#
        let world = try CodeWorld(script: CodeScript.script(), config: config)
        let (request, _) = try world.diffedWorktree(task: "t8", value: "42")
        let checks = RunChecks(confinement: CodeWorld.confinement).run(request)
        #expect(checks.status == .ok, "\(checks.output)")
        let environment = try #require(checks.details?["environment"])
        #expect(environment["PATH"]?.stringValue == "\(tools):/usr/bin:/bin")
        #expect(environment["MODE"]?.stringValue == "strict")
        #expect(environment["PYPI_TOKEN"]?.stringValue == "[redacted]")
        #expect(!checks.json.canonicalText.contains("pypi-secret-value-123"))
        // Without env, loomd's own PATH is the default, not a fixed one.
        #expect(ChildEnvironment.base()["PATH"] == ProcessInfo.processInfo.environment["PATH"])
        #expect(throws: CodeConfigError.self) { try CodeConfig.parse(#"{"env": {"LOOM_AGENT": "0"}}"#, path: "config") }
        #expect(throws: CodeConfigError.self) { try CodeConfig.parse(#"{"env": {"1BAD": "x"}}"#, path: "config") }
    }

    /// A file an agent adds after the diff (a conftest.py that makes the tests pass) is not
    /// there when the checks run, ignored or not: they judge the delivered tree only.
    @Test func checksDoNotSeeAFileAddedSinceTheDiff() throws {
        let world = try CodeWorld(
            script: CodeScript.script(),
            config:
                #"{"checks": [{"name": "test", "run": "test ! -e helper.txt && test ! -e cache.tmp && sh check.sh", "timeoutMs": 60000}]}"#
        )
        let (request, worktree) = try world.diffedWorktree(task: "t8", value: "42")
        try "added after the diff\n".write(toFile: "\(worktree)/helper.txt", atomically: true, encoding: .utf8)
        try "*.tmp\n".write(toFile: "\(worktree)/.gitignore", atomically: true, encoding: .utf8)
        try "hidden by the agent's own .gitignore\n".write(
            toFile: "\(worktree)/cache.tmp",
            atomically: true,
            encoding: .utf8
        )
        let checks = RunChecks(confinement: CodeWorld.confinement).run(request)
        #expect(checks.status == .ok, "\(checks.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(worktree)/helper.txt"))
    }

    /// loom's own git calls in a worktree never follow its `.git` file, which an agent can
    /// rewrite: pointed at the person's repository, the diff step staged the worktree into
    /// the person's index; pointed at a directory of the agent's, its fsmonitor command ran.
    @Test func aWorktreesGitFileRewrittenByAnAgentIsNotFollowed() throws {
        let world = try CodeWorld(script: CodeScript.script())
        let request = HandlerRequest(
            taskID: "t9",
            step: "diff",
            input: "x",
            projectDirectory: world.project,
            timeoutMs: 60_000,
            outputLimitBytes: 4_096
        )
        #expect(PrepareWorktree().run(request).status == .ok)
        let before = try world.userView()
        let worktree = TaskWorkspace(projectDirectory: world.project, taskID: "t9").directory
        try "42\n".write(toFile: "\(worktree)/value.txt", atomically: true, encoding: .utf8)
        try "gitdir: \(world.repository)/.git\n".write(toFile: "\(worktree)/.git", atomically: true, encoding: .utf8)
        let diff = DiffWorktree().run(request)
        #expect(diff.status == .ok, "\(diff.output)")
        #expect(try world.userView() == before, "the person's checkout changed")

        let marker = "\(world.repository)/fsmonitor-ran"
        try FileManager.default.createDirectory(atPath: "\(worktree)/.evil", withIntermediateDirectories: true)
        try "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = \"touch \(marker); false\"\n".write(
            toFile: "\(worktree)/.evil/config",
            atomically: true,
            encoding: .utf8
        )
        try "ref: refs/heads/main\n".write(toFile: "\(worktree)/.evil/HEAD", atomically: true, encoding: .utf8)
        for directory in ["objects", "refs"] {
            try FileManager.default.createDirectory(
                atPath: "\(worktree)/.evil/\(directory)",
                withIntermediateDirectories: true
            )
        }
        try "gitdir: .evil\n".write(toFile: "\(worktree)/.git", atomically: true, encoding: .utf8)
        _ = DiffWorktree().run(request)
        _ = RunChecks(confinement: CodeWorld.confinement).run(request)
        #expect(!FileManager.default.fileExists(atPath: marker), "a command from the agent's git config ran")
    }

    @Test func aProjectBelowItsRepositorysTopWorksInItsPlaceInTheWorktree() throws {
        let world = try CodeWorld(script: CodeScript.script(flow: "trivial"), subdirectory: "services/app")
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()
        let task = try world.task(id)
        #expect(task.status == .done, "\(task.outcome)")
        // The implementer's edit and the check ran in services/app inside the worktree.
        #expect(try world.git("show", "loom/\(id):services/app/value.txt") == "42")
        #expect(
            try world.rows("SELECT json_extract(output, '$.status') AS s FROM step_outputs WHERE step = 'checks'")
                .first?["s"]?.stringValue == "ok"
        )
        #expect(
            try world.git("show", "loom/\(id):README") == "the rest of the monorepo",
            "the whole repository is on the branch"
        )
        #expect(try String(contentsOfFile: "\(world.project)/value.txt", encoding: .utf8) == "41\n")
    }
}
