import LoomEngine
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// What every program-backed provider shares: finding the executable on the context's
/// PATH, wrapping it in the sandbox, reporting the child to the daemon, streaming its
/// output as progress, and turning how it ended into a failure when it did not succeed.
struct ProgramRun {
    static let busyRetriesMax = 4
    let provider: String
    let model: String
    let argv: [String]
    var input: [UInt8] = []
    var separateStandardError = true
    /// Secrets put into the child's environment under their own names.
    var secretEnvironment: [String] = []
    /// Files the confined child must be able to read (a prompt file outside the worktree).
    var readablePaths: [String] = []
    /// What of `$HOME` the program keeps under confinement (a harness's login and settings).
    var homePaths: [String] = []

    struct Outcome {
        var result: ChildProcess.Result
        /// stdout as text, redacted.
        var output: String
        /// The end of stderr, redacted, for error messages.
        var diagnostics: String
    }

    /// Runs the program; a failure to start, a timeout or a kill is returned as a result.
    func run(_ request: AgentRequest, context: SpawnContext) -> Result<Outcome, AgentResultFailure> {
        guard let first = argv.first,
            let executable = Self.resolve(first, path: context.environment["PATH"] ?? "/usr/bin:/bin")
        else {
            return .failure(
                AgentResultFailure(
                    .failure(
                        .unavailable,
                        "\(provider): cannot find the executable '\(argv.first ?? "")' on PATH",
                        provider: provider,
                        model: model
                    )
                )
            )
        }
        var environment = context.environment
        for name in secretEnvironment {
            guard let value = context.secrets.value(name) else {
                return .failure(
                    AgentResultFailure(
                        .failure(
                            .missingSecret,
                            "\(provider) needs the secret \(name)",
                            provider: provider,
                            model: model
                        )
                    )
                )
            }
            environment[name] = value
        }
        let command = [executable] + argv.dropFirst()
        let profile = LaunchProfile(
            kind: .agent,
            workingDirectory: context.workingDirectory,
            projectDirectory: context.projectDirectory,
            readOnlyPaths: context.readOnlyPaths + readablePaths + [executable],
            homePaths: homePaths,
            network: true
        )
        var started: Int32 = 0
        var launch = Launcher.Outcome(
            result: ChildProcess.Result(
                exitCode: nil,
                signal: nil,
                output: [],
                truncated: false,
                timedOut: false,
                durationMs: 0
            ),
            record: .null
        )
        // An executable just written (an installer, a test's script) is "busy" while any
        // other thread's fork still holds it open for writing; that passes in moments.
        for attempt in 0..<Self.busyRetriesMax {
            launch = Launcher.run(
                argv: command,
                profile: profile,
                confinement: context.confinement,
                environment: environment,
                input: input,
                timeoutMs: request.limits.timeoutMs,
                outputLimitBytes: request.limits.outputMaxBytes,
                idleTimeoutMs: request.limits.idleTimeoutMs,
                separateStandardError: separateStandardError,
                onStart: { pid in
                    started = pid
                    context.onChild(.started(pid))
                },
                onOutput: context.onProgress == nil
                    ? nil : { chunk in context.progress(String(decoding: chunk, as: UTF8.self)) }
            )
            guard launch.result.spawnError?.contains(Errno(ETXTBSY).description) == true,
                attempt < Self.busyRetriesMax - 1
            else { break }
            MonotonicClock.sleep(milliseconds: 20 << attempt)
        }
        let result = launch.result
        if started > 0 { context.onChild(.ended(started)) }
        context.onLaunch(launch.record)
        let output = context.secrets.redact(String(decoding: result.output, as: UTF8.self))
        let diagnostics = context.secrets.redact(Self.tail(String(decoding: result.standardError, as: UTF8.self)))
        if let failure = failure(launch, limits: request.limits) { return .failure(AgentResultFailure(failure)) }
        return .success(Outcome(result: result, output: output, diagnostics: diagnostics))
    }

    /// What a launch that did not run to an exit is, as a failed result; nil when it did.
    private func failure(_ launch: Launcher.Outcome, limits: AgentRequest.Limits) -> AgentResult? {
        let result = launch.result
        let duration = result.durationMs
        if let problem = launch.confinementProblem {
            return .failure(
                .configuration,
                "\(provider): \(problem)",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
        if let spawnError = result.spawnError {
            return .failure(
                .unavailable,
                "\(provider): \(spawnError)",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
        if result.timedOut {
            return .failure(
                .timeout,
                "\(provider) ran past the session timeout (\(limits.timeoutMs) ms) and was killed",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
        if result.idleTimedOut {
            return .failure(
                .idleTimeout,
                "\(provider) printed nothing for \(limits.idleTimeoutMs) ms and was killed",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
        if result.truncated {
            return .failure(
                .outputTooLarge,
                "\(provider) printed more than \(limits.outputMaxBytes) bytes",
                provider: provider,
                model: model,
                durationMs: duration
            )
        }
        return nil
    }

    /// Runs a program that reports no usage of its own: its answer is what it printed, the
    /// tokens are estimated (4 bytes a token) and priced from the table; any failure as is.
    func estimatedAnswer(
        _ request: AgentRequest,
        context: SpawnContext,
        prices: PriceTable,
        priceModel: String
    ) -> AgentResult {
        let outcome: Outcome
        switch run(request, context: context) {
        case .failure(let failure): return failure.result
        case .success(let value): outcome = value
        }
        guard outcome.result.exitCode == 0 else { return exitFailure(outcome) }
        let tokensIn = TokenEstimate.usage(request.prompt)
        let tokensOut = TokenEstimate.usage(outcome.output)
        var result = AgentResult(
            output: outcome.output,
            tokensIn: tokensIn,
            tokensOut: tokensOut,
            costMicroUSD: prices.costMicroUSD(
                provider: provider,
                model: priceModel,
                tokensIn: tokensIn,
                tokensOut: tokensOut,
                tokensCached: 0
            ) ?? 0,
            durationMs: outcome.result.durationMs,
            provider: provider,
            model: model
        )
        result.tokensEstimated = true
        return result
    }

    /// The failure for a program that ran but did not exit 0.
    func exitFailure(_ outcome: Outcome) -> AgentResult {
        let detail = outcome.diagnostics.isEmpty ? Self.tail(outcome.output) : outcome.diagnostics
        if let signal = outcome.result.signal {
            return .failure(
                .exitStatus,
                "\(provider) was killed by signal \(signal)" + (detail.isEmpty ? "" : ": \(detail)"),
                provider: provider,
                model: model,
                durationMs: outcome.result.durationMs
            )
        }
        let code = outcome.result.exitCode ?? -1
        var reason = ErrorClassifier.reason(exitCode: code)
        // A CLI that says why (a login, a rate limit) is believed over its exit status.
        let said = ErrorClassifier.reason(cliErrorText: detail)
        if reason == .exitStatus && said != .providerError { reason = said }
        return .failure(
            reason,
            "\(provider) exited with status \(code)" + (detail.isEmpty ? "" : ": \(detail)"),
            provider: provider,
            model: model,
            durationMs: outcome.result.durationMs
        )
    }

    /// The last 500 characters of `text`, on one line.
    static func tail(_ text: String) -> String {
        let flat = text.trimmingSpaces().split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return flat.count > 500 ? "…" + String(flat.suffix(500)) : flat
    }

    /// `name` as an executable path: as it is when it holds a slash, else the first match on `path`.
    static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}

/// A finished failure result carried through `Result` (AgentResult itself is not an Error).
struct AgentResultFailure: Error {
    let result: AgentResult
    init(_ result: AgentResult) { self.result = result }
}
