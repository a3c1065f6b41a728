import ArgumentParser
import Foundation
import LoomEngine
import LoomHost
import LoomPolicy
import LoomProviders
import LoomSystem

/// `loomctl run "…"`: one task from a terminal, in this process, without a daemon.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive one task to its end here, without loomd: live progress, gates asked at the terminal.",
        discussion: """
            Takes the project's lock (so loomd must not be supervising it), works in the task's own \
            git worktree, and prints each step's result: agent, model, tokens, cost, checks. A gate \
            that needs a person is asked at the terminal (approve / request changes with a reason / \
            abandon / quit to answer later). Without a terminal, or after quit, the run stops parked \
            (exit 9) and `loomctl run --resume` continues it; so does Ctrl-C (exit 130). The audit \
            trail is the same as a daemon run's: loomctl log, verify and graph read it.
            Exit status: 0 done; 1 failed, abandoned or an error; 2 usage; 9 parked at a gate.
            """
    )

    @Argument(help: "What to do, in words (omit with --resume).") var input: String?
    @OptionGroup var project: ProjectOption
    @Option(help: "The bundle to run (default: code).") var bundle: String?
    @Option(help: "The flow within the bundle (default: the bundle's).") var flow: String?
    @Flag(help: "A person answers every gate (full-supervised).") var supervised = false
    @Flag(
        name: .customLong("review-plan"),
        help: "A person approves the plan; later gates are resolved above the safety floor."
    ) var reviewPlan = false
    @Flag(
        name: .customLong("review-final"),
        help: "A person approves the final change; earlier gates are resolved above the safety floor."
    ) var reviewFinal = false
    @Flag(name: .customLong("gates-on-blockers"), help: "A person is asked only while a blocking finding is open.")
    var gatesOnBlockers = false
    @Flag(help: "The resolver answers every gate above the safety floor (full-autonomous).") var auto = false
    @Flag(help: "Continue the project's unfinished task.") var resume = false
    @Option(
        name: .customLong("provider-script"),
        help: "Answer agent spawns from a script (tests and demos); default: the model router of the state directory."
    ) var providerScript: String?
    @Option(
        help: ArgumentHelp(
            "How every process started for the task is confined: bwrap (namespaces, loom's files hidden, no terminal; fails closed without bubblewrap) or none (unconfined, on record). See docs/SECURITY.md.",
            valueName: "bwrap|none"
        )
    )
    var confinement: String = Confinement.Mode.bubblewrap.rawValue
    @OptionGroup var bundles: BundleOption
    @OptionGroup var state: StateDirectoryOption

    func validate() throws {
        let presets = [supervised, reviewPlan, reviewFinal, gatesOnBlockers, auto].filter { $0 }.count
        if presets > 1 {
            throw ValidationError(
                "choose at most one of --supervised, --review-plan, --review-final, --gates-on-blockers, --auto"
            )
        }
        if resume && input != nil {
            throw ValidationError("--resume continues the unfinished task; it takes no new request")
        }
        if Confinement.Mode(rawValue: confinement) == nil {
            throw ValidationError("--confinement must be bwrap or none, not '\(confinement)'")
        }
        if !resume && input == nil { throw ValidationError("say what to do: loomctl run \"…\" (or --resume)") }
    }

    var preset: PolicyPreset? {
        if supervised { return .fullSupervised }
        if reviewPlan { return .reviewPlanOnly }
        if reviewFinal { return .reviewFinalOnly }
        if gatesOnBlockers { return .gatesOnBlockers }
        if auto { return .fullAutonomous }
        return nil
    }

    /// The confinement asked for, hiding the state directory and the bundles.
    var taskConfinement: Confinement {
        Confinement(
            mode: Confinement.Mode(rawValue: confinement) ?? .bubblewrap,
            hiddenPaths: [state.path]
                + (bundles.resolved.map { [$0] } ?? ShippedBundles.directory(before: ["bundles"]).map { [$0] } ?? [])
        )
    }

    func run() throws {
        try runReporting {
            InterruptGuard.install()
            // The task's processes must not read this one's memory or environment (its keys).
            forbidInspection()
            let loaded = try BundleCommand.loadAll(bundles)
            var provider: ScriptedProvider?
            if let providerScript {
                guard let text = try? String(contentsOfFile: providerScript, encoding: .utf8) else {
                    throw CLIError("cannot read \(providerScript)", status: 1)
                }
                do { provider = try ScriptedProvider(scriptText: text) } catch { throw CLIError("\(error)", status: 2) }
            }
            var options = OneShotRun.Options(
                project: project.root,
                bundles: loaded,
                executor: EffectExecutor(provider: provider, stateDirectory: state.path, confinement: taskConfinement)
            )
            options.bundle = bundle
            options.flow = flow
            options.input = input
            options.resume = resume
            if let preset { options.policy = preset.policy }
            let person = Caller(
                principal: .human(uid: getuid()),
                uid: getuid(),
                gid: getgid(),
                pid: getpid(),
                executable: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            )
            let outcome: OneShotRun.Outcome
            do throws(LoomError) {
                outcome = try OneShotRun(options: options, prompter: TerminalPrompter(), person: person).run()
            } catch {
                throw CLIError("\(error)", status: error.code == .notFound ? 3 : error.code == .invalidInput ? 2 : 1)
            }
            switch outcome {
            case .finished(let task):
                print("\(task.id) \(task.status.rawValue)" + (task.outcome.isEmpty ? "" : ": \(task.outcome)"))
                if task.status != .done { throw ExitCode(1) }
            case .parked(let task, let gate):
                print(
                    "\(task.id) waits at gate \(gate.eventID) (\(gate.role)): \(gate.reasons.joined(separator: "; "))"
                )
                print("answer it in a terminal: loomctl run --resume -C \(project.root)")
                throw ExitCode(9)
            }
        }
    }
}

/// Asks at the terminal; with no terminal on stdin, asks nothing (the run parks): a gate
/// that needs a person is not answered by whatever pipes into a process.
struct TerminalPrompter: OneShotPrompter {
    func progress(_ line: String) {
        print(line)
        fflush(nil)
    }

    func decide(gate: GateRecord, task: TaskRecord) -> (answer: GateAnswer, message: String)? {
        guard isatty(0) == 1 else { return nil }
        guard getenv(AgentMarker.variable) == nil else {
            print(
                "\(task.id) waits at gate \(gate.role): this run was started by a process loom started for a task (\(AgentMarker.variable) is set), so it does not take gate answers"
            )
            return nil
        }
        print("\n\(task.id) waits at gate \(gate.role) (\(gate.eventID)), at step \(gate.step):")
        for reason in gate.reasons { print("  because \(reason)") }
        print(
            "  inspect: loomctl graph \(task.id) -C …, git -C \(task.bundle == "code" ? ".loom/worktrees/\(task.id)" : ".") diff"
        )
        while true {
            print("[a]pprove, [r]equest changes, a[b]andon, [q]uit and answer later? ", terminator: "")
            fflush(nil)
            guard let line = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else { return nil }
            switch line {
            case "a", "approve": return (.approve, "")
            case "b", "abandon": return (.abandon, "abandoned at the terminal")
            case "q", "quit": return nil
            case "r", "request changes":
                print("what should change? ", terminator: "")
                fflush(nil)
                guard let reason = readLine(), !reason.allSatisfy(\.isWhitespace) else { continue }
                return (.requestChanges, reason)
            default: continue
            }
        }
    }
}
