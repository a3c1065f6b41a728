import Foundation
import LoomCode
import LoomConfiguration
import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Executes one effect to its result, synchronously: an agent spawn through the scripted
/// provider when one is given (tests, the demo), else through the model router configured
/// in the state directory (`models.json`, `secrets.json`, `prices.json`, read per spawn so
/// `loomctl models set` applies to the next one); a command step as a child process; a
/// handler step through its registered handler.
///
/// Shared by the daemon's runner (which adds retries, the pool and child tracking) and by
/// anything that drives an engine in-process (tests, a one-shot run). Spawns and commands
/// run in the task's worktree once it has one, else in the project root.
public struct EffectExecutor: Sendable {
    public let provider: ScriptedProvider?
    /// Where the router's files are; nil with no scripted provider means spawns fail clearly.
    public let stateDirectory: String?
    /// How every process started for a task is confined (agents' programs, command
    /// steps, checks): through `Launcher`, always.
    public let confinement: Confinement
    public let handlers: [String: any StepHandler]
    /// The checks bundles name in `admission`, run before a submission is taken.
    public let admissionChecks: [String: any AdmissionCheck]

    public init(
        provider: ScriptedProvider?,
        stateDirectory: String? = nil,
        confinement: Confinement,
        handlers: [String: any StepHandler]? = nil,
        admissionChecks: [String: any AdmissionCheck] = CodeHandlers.admission
    ) {
        self.provider = provider
        self.stateDirectory = stateDirectory
        self.confinement = confinement
        self.handlers = handlers ?? CodeHandlers.make(confinement: confinement)
        self.admissionChecks = admissionChecks
    }

    /// Why `project` cannot take a task of `bundle` (its admission checks), or nil.
    public func admissionRefusal(_ bundle: LoomBundle, project: String) -> String? {
        for name in bundle.admission {
            guard let check = admissionChecks[name] else {
                return "bundle \(bundle.name) names an admission check '\(name)' this loom does not have"
            }
            if let refusal = check.refusal(projectDirectory: project) { return refusal }
        }
        return nil
    }

    /// - Parameters:
    ///   - call: which call of the effect this is (1 + its journaled retries), when the caller
    ///     knows: the scripted provider answers by it, so a restarted loomd gets the answers
    ///     the first one would have got.
    ///   - onChild: told a child's pid when it starts (`true`) and when it has ended (`false`).
    ///   - onProgress: an agent's output as it streams in (not journaled: the result is).
    ///   - isCancelled: whether the effect's task has ended (a spawn waiting for its model gives up).
    ///   - onModelWait: told when a spawn starts waiting for its model's endpoint (what for)
    ///     and when it gets its turn (nil).
    public func execute(
        _ effect: Effect,
        project: String,
        call: Int? = nil,
        onChild: @escaping @Sendable (Int32, Bool) -> Void = { _, _ in },
        onProgress: (@Sendable (String) -> Void)? = nil,
        isCancelled: @escaping @Sendable () -> Bool = { false },
        onModelWait: (@Sendable (String?) -> Void)? = nil
    ) -> JSONValue {
        let directory = TaskWorkspace.workingDirectory(project: project, task: effect.taskID)
        switch effect.kind {
        case .spawn:
            guard let request = AgentRequest(json: effect.request) else {
                return AgentResult(error: .permanent, message: "the spawn request could not be read").json
            }
            if let provider { return provider.answer(request, directory: directory, call: call).json }
            guard let stateDirectory else {
                return AgentResult(error: .permanent, message: "no provider is configured for agent \(request.role)")
                    .json
            }
            do throws(ProviderConfigurationError) {
                let router = try ModelRouter.load(stateDirectory: stateDirectory)
                let secrets = try SecretsLookup.load(
                    stateDirectory: stateDirectory,
                    environment: ProcessInfo.processInfo.environment
                )
                let launches = LaunchRecords()
                var context = SpawnContext(
                    workingDirectory: directory,
                    secrets: secrets,
                    confinement: confinement,
                    projectDirectory: project,
                    readOnlyPaths: TaskWorkspace.gitDirectories(project: project),
                    onChild: { event in
                        switch event {
                        case .started(let pid): onChild(pid, true)
                        case .ended(let pid): onChild(pid, false)
                        }
                    },
                    onProgress: onProgress
                )
                context.onLaunch = { launches.add($0) }
                context.onModelWait = onModelWait
                context.isCancelled = isCancelled
                var result = router.spawn(request, context: context)
                result.confinement = launches.last
                return result.json
            } catch {
                return AgentResult(
                    error: .permanent,
                    message: "the provider configuration in \(stateDirectory) cannot be used: \(error)"
                ).json
            }
        case .command:
            if var handlerRequest = HandlerRequest(effectRequest: effect.request, projectDirectory: project) {
                handlerRequest.onChild = onChild
                let name = effect.request["handler"]?.stringValue ?? "?"
                guard let handler = handlers[name] else {
                    return CommandResult(
                        status: .failed,
                        exitCode: nil,
                        output: "no step handler named '\(name)' is registered in this loomd"
                    ).json
                }
                return handler.run(handlerRequest).json
            }
            return runCommand(effect.request, directory: directory, project: project, onChild: onChild).json
        case .timer, .notify:
            return .object([:])
        }
    }

    private func runCommand(
        _ request: JSONValue,
        directory: String,
        project: String,
        onChild: @escaping @Sendable (Int32, Bool) -> Void
    ) -> CommandResult {
        guard let argv = request["argv"]?.arrayValue?.compactMap(\.stringValue), !argv.isEmpty else {
            return CommandResult(
                status: .failed,
                exitCode: nil,
                output: "the command step names neither an argv nor a handler"
            )
        }
        // The same environment as the checks: loomd's PATH, then what the project's
        // .loom/config sets (as recorded when the task's worktree was prepared).
        let config: CodeConfig
        do {
            config = try TaskWorkspace(projectDirectory: project, taskID: request["task"]?.stringValue ?? "")
                .recordedConfig()
        } catch {
            return CommandResult(
                status: .failed,
                exitCode: nil,
                output: "the command step's environment cannot be read: \(error)"
            )
        }
        let environment = ChildEnvironment.base().merging(config.environment) { $1 }
        let timeoutMs = Int(request["timeoutMs"]?.intValue ?? Int64(CommandSpec.defaultTimeoutMs))
        let limit = Int(request["outputLimitBytes"]?.intValue ?? Int64(CommandSpec.defaultOutputLimitBytes))
        let profile = LaunchProfile(
            kind: .command,
            workingDirectory: directory,
            projectDirectory: project,
            readOnlyPaths: TaskWorkspace.gitDirectories(project: project),
            network: false
        )
        var started: Int32 = 0
        let launch = Launcher.run(
            argv: argv,
            profile: profile,
            confinement: confinement,
            environment: environment,
            timeoutMs: timeoutMs,
            outputLimitBytes: limit,
            onStart: { pid in
                started = pid
                onChild(pid, true)
            }
        )
        if started > 0 { onChild(started, false) }
        let outcome = launch.result
        let details: JSONValue = .object([
            "confinement": launch.record, "environment": ChildEnvironment.recordable(environment),
        ])
        let output = String(decoding: outcome.output, as: UTF8.self)
        if let spawnError = outcome.spawnError {
            return CommandResult(status: .failed, exitCode: nil, output: spawnError, details: details)
        }
        let status: CommandResult.Status = outcome.timedOut ? .timeout : (outcome.exitCode == 0 ? .ok : .failed)
        return CommandResult(
            status: status,
            exitCode: outcome.exitCode.map(Int.init),
            output: output,
            truncated: outcome.truncated,
            durationMs: outcome.durationMs,
            details: details
        )
    }
}

/// The records of the processes one spawn launched (a fallback chain may launch several);
/// the last one is the process whose answer the spawn returns.
private final class LaunchRecords: @unchecked Sendable {
    private let lock = Lock()
    private var records: [JSONValue] = []

    package func add(_ record: JSONValue) { lock.withLock { records.append(record) } }

    /// The last launch's record, or, when the spawn started no process (an HTTP provider
    /// talks to its API from loom's own helper), a record that says so.
    package var last: JSONValue {
        lock.withLock { records.last ?? .object(["profile": .string("no-process"), "confined": .bool(false)]) }
    }
}
