import LoomConfiguration
import LoomEngine
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// aider, the file-editing harness, run in the task's worktree:
/// `aider --message-file F --yes-always --no-pretty --no-auto-commits --no-check-update
/// [--model M]`. aider edits files itself; loom reads the diff afterwards, so aider must
/// not commit. The prompt goes through a file (aider's stdin is its chat prompt), made
/// readable inside the sandbox. The answer is what aider printed.
///
/// aider prints `Tokens: 2.3k sent, 120 received. Cost: $0.01 message, $0.02 session.`;
/// those figures are used when present (k and M suffixes are rounded figures, as printed).
/// API keys go to aider's environment by name (`secretEnvironment`).
public struct AiderBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings

    public init(providerName: String = "aider", settings: ProviderSettings = ProviderSettings.builtIn["aider"]!) {
        self.providerName = providerName
        self.settings = settings
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let shownModel = model.isEmpty ? "default" : model
        guard let promptFile = TemporaryFile(contents: request.prompt, environment: context.environment) else {
            return .failure(
                .network,
                "\(provider): cannot write the prompt file: \(Errno.current.description)",
                provider: provider,
                model: shownModel
            )
        }
        defer { promptFile.remove() }
        var argv = [
            settings.executable ?? "aider", "--message-file", promptFile.path, "--yes-always", "--no-pretty",
            "--no-auto-commits", "--no-check-update",
        ]
        if !model.isEmpty { argv += ["--model", model] }
        argv += settings.arguments
        var run = ProgramRun(
            provider: provider,
            model: shownModel,
            argv: argv,
            separateStandardError: false,
            secretEnvironment: settings.secretEnvironment
        )
        run.readablePaths = [promptFile.directory]
        // Its settings; the rest of $HOME stays hidden under confinement.
        run.homePaths = [".aider", ".aider.conf.yml"]
        let outcome: ProgramRun.Outcome
        switch run.run(request, context: context) {
        case .failure(let failure): return failure.result
        case .success(let value): outcome = value
        }
        guard outcome.result.exitCode == 0 else { return run.exitFailure(outcome) }
        let usage = Self.parseUsage(outcome.output)
        return AgentResult(
            output: outcome.output,
            tokensIn: usage.sent,
            tokensOut: usage.received,
            costMicroUSD: usage.costMicroUSD,
            durationMs: outcome.result.durationMs,
            provider: provider,
            model: shownModel
        )
    }

    /// The last `Tokens: … sent, … received. Cost: $… message` line's figures.
    static func parseUsage(_ output: String) -> (sent: Int, received: Int, costMicroUSD: Int) {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("Tokens:") }) else {
            return (0, 0, 0)
        }
        var sent = 0, received = 0, cost = 0
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        for (index, word) in words.enumerated() where index > 0 {
            let previous = String(words[index - 1])
            if word.hasPrefix("sent") { sent = count(previous) }
            if word.hasPrefix("received") { received = count(previous) }
            if word.hasPrefix("message"), previous.hasPrefix("$"), let dollars = Double(previous.dropFirst()) {
                cost = PriceTable.microUSD(dollars: dollars)
            }
        }
        return (sent, received, cost)
    }

    private static func count(_ text: String) -> Int {
        var number = text
        var scale = 1.0
        if number.hasSuffix("k") {
            scale = 1_000
            number.removeLast()
        }
        if number.hasSuffix("M") {
            scale = 1_000_000
            number.removeLast()
        }
        return Int(((Double(number) ?? 0) * scale).rounded())
    }
}
