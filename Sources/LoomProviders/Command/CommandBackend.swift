import LoomConfiguration
import LoomEngine

/// Any executable as a provider: `command:/usr/local/bin/my-agent --fast`. The model part
/// is the command line, split on spaces (no shell, no quoting); the prompt goes to stdin,
/// the answer is stdout; stderr is kept for error messages. The command runs in the
/// task's worktree with `LOOM_TASK`, `LOOM_STEP` and `LOOM_ROLE` set.
///
/// Exit status 0 is an answer. Otherwise the sysexits(3) codes say what went wrong:
/// 69 rate limited, 77 not authorised, 64/65/78 a refused request, 126/127 not runnable;
/// any other status is transient (see `ErrorClassifier`). Tokens are estimated at four
/// bytes each, as the command reports none; the cost comes from the price table.
public struct CommandBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings
    public let prices: PriceTable

    public init(
        providerName: String = "command",
        settings: ProviderSettings = ProviderSettings(kind: .command),
        prices: PriceTable = PriceTable()
    ) {
        self.providerName = providerName
        self.settings = settings
        self.prices = prices
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        var argv = model.split(separator: " ").map(String.init)
        if let executable = settings.executable { argv = [executable] + settings.arguments + argv }
        guard !argv.isEmpty else {
            return .failure(
                .configuration,
                "\(provider) needs a command: command:/path/to/program",
                provider: provider,
                model: model
            )
        }
        var child = context
        child.environment["LOOM_TASK"] = request.taskID
        child.environment["LOOM_STEP"] = request.step
        child.environment["LOOM_ROLE"] = request.role
        let run = ProgramRun(
            provider: provider,
            model: model,
            argv: argv,
            input: Array(request.prompt.utf8),
            secretEnvironment: settings.secretEnvironment
        )
        return run.estimatedAnswer(request, context: child, prices: prices, priceModel: model)
    }
}
