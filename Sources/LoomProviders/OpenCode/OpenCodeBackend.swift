import LoomEngine

/// opencode, the file-editing harness: `opencode run [--model provider/model]` in the
/// task's worktree. `opencode run` reads a piped stdin to its end as the message, so the
/// prompt goes there (no argv length limit, nothing in `ps`). The answer is what it
/// printed on stdout; it reports no tokens in this mode, so tokens are estimated at four
/// bytes each and the cost comes from the price table.
public struct OpenCodeBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings
    public let prices: PriceTable

    public init(providerName: String = "opencode", settings: ProviderSettings = ProviderSettings.builtIn["opencode"]!, prices: PriceTable = PriceTable()) {
        self.providerName = providerName
        self.settings = settings
        self.prices = prices
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let shownModel = model.isEmpty ? "default" : model
        var argv = [settings.executable ?? "opencode", "run"]
        if !model.isEmpty { argv += ["--model", model] }
        argv += settings.arguments
        let run = ProgramRun(provider: provider, model: shownModel, argv: argv, input: Array(request.prompt.utf8), secretEnvironment: settings.secretEnvironment)
        let outcome: ProgramRun.Outcome
        switch run.run(request, context: context) {
        case .failure(let failure): return failure.result
        case .success(let value): outcome = value
        }
        guard outcome.result.exitCode == 0 else { return run.exitFailure(outcome) }
        let tokensIn = request.prompt.utf8.count / 4
        let tokensOut = outcome.output.utf8.count / 4
        return AgentResult(output: outcome.output, tokensIn: tokensIn, tokensOut: tokensOut,
                           costMicroUSD: prices.costMicroUSD(provider: provider, model: model, tokensIn: tokensIn, tokensOut: tokensOut, tokensCached: 0) ?? 0,
                           durationMs: outcome.result.durationMs, provider: provider, model: shownModel)
    }
}
