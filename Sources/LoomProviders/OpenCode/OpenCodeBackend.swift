import LoomConfiguration
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

    public init(
        providerName: String = "opencode",
        settings: ProviderSettings = ProviderSettings.builtIn["opencode"]!,
        prices: PriceTable = PriceTable()
    ) {
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
        var run = ProgramRun(
            provider: provider,
            model: shownModel,
            argv: argv,
            input: Array(request.prompt.utf8),
            secretEnvironment: settings.secretEnvironment
        )
        // Its configuration and login; the rest of $HOME stays hidden under confinement.
        run.homePaths = [".config/opencode", ".local/share/opencode", ".local/state/opencode"]
        return run.estimatedAnswer(request, context: context, prices: prices, priceModel: model)
    }
}
