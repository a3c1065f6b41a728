import LoomConfiguration
import LoomEngine
import LoomSystem
import LoomValues

/// The Claude Code CLI: `claude -p --output-format json [--model M] [--permission-mode P]`
/// in the task's worktree, the prompt on stdin. It uses the person's own Claude Code
/// login, so it needs no API key (upstream's default backend).
///
/// The CLI prints one JSON object when it is done:
/// `{"type": "result", "subtype": "success", "is_error": false, "result": "…",
///   "total_cost_usd": 0.0123, "usage": {"input_tokens": …, "cache_creation_input_tokens": …,
///   "cache_read_input_tokens": …, "output_tokens": …}, …}`.
/// `is_error: true` (or a subtype other than `success`) is a failure whose text says why;
/// the cost it reports is used as it is.
public struct ClaudeCodeBackend: SpawnBackend {
    public let providerName: String
    public let settings: ProviderSettings

    public init(
        providerName: String = "claude-code",
        settings: ProviderSettings = ProviderSettings.builtIn["claude-code"]!
    ) {
        self.providerName = providerName
        self.settings = settings
    }

    public func arguments(model: String) -> [String] {
        var argv = [settings.executable ?? "claude", "-p", "--output-format", "json"]
        if !model.isEmpty { argv += ["--model", model] }
        if let mode = settings.permissionMode { argv += ["--permission-mode", mode] }
        return argv + settings.arguments
    }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        let provider = providerName
        let shownModel = model.isEmpty ? "default" : model
        var run = ProgramRun(
            provider: provider,
            model: shownModel,
            argv: arguments(model: model),
            input: Array(request.prompt.utf8),
            secretEnvironment: settings.secretEnvironment
        )
        // Its login and settings; the rest of $HOME stays hidden under confinement.
        run.homePaths = [".claude", ".claude.json", ".config/claude"]
        let outcome: ProgramRun.Outcome
        switch run.run(request, context: context) {
        case .failure(let failure): return failure.result
        case .success(let value): outcome = value
        }
        let duration = outcome.result.durationMs
        guard let json = Self.parseReport(outcome.output) else {
            if outcome.result.exitCode != 0 { return run.exitFailure(outcome) }
            return .failure(
                .malformedResponse,
                "\(provider) did not print its JSON report: \(ProgramRun.tail(outcome.output))",
                provider: provider,
                model: shownModel,
                durationMs: duration
            )
        }
        let usage = json["usage"]
        let tokensIn = Int(
            (usage?["input_tokens"]?.intValue ?? 0) + (usage?["cache_creation_input_tokens"]?.intValue ?? 0)
        )
        let tokensCached = Int(usage?["cache_read_input_tokens"]?.intValue ?? 0)
        let tokensOut = Int(usage?["output_tokens"]?.intValue ?? 0)
        let cost = PriceTable.microUSD(
            dollars: json["total_cost_usd"]?.doubleValue ?? json["cost_usd"]?.doubleValue ?? 0
        )
        let text = json["result"]?.stringValue
        let isError =
            json["is_error"]?.boolValue == true || (json["subtype"]?.stringValue.map { $0 != "success" } ?? false)
        if isError || outcome.result.exitCode != 0 {
            let detail = text ?? json["subtype"]?.stringValue ?? "an error"
            var failure = AgentResult.failure(
                ErrorClassifier.reason(cliErrorText: detail),
                "\(provider) reported: \(ProgramRun.tail(detail))",
                provider: provider,
                model: shownModel,
                durationMs: duration
            )
            // A failed session may still have cost money.
            failure.tokensIn = tokensIn
            failure.tokensOut = tokensOut
            failure.tokensCached = tokensCached
            failure.costMicroUSD = cost
            return failure
        }
        guard let text else {
            return .failure(
                .malformedResponse,
                "\(provider)'s report has no result text",
                provider: provider,
                model: shownModel,
                durationMs: duration
            )
        }
        return AgentResult(
            output: text,
            tokensIn: tokensIn,
            tokensOut: tokensOut,
            tokensCached: tokensCached,
            costMicroUSD: cost,
            durationMs: duration,
            provider: provider,
            model: shownModel
        )
    }

    /// The report: the whole output as JSON, else its last line that is (a CLI may print
    /// a notice first).
    static func parseReport(_ output: String) -> JSONValue? {
        if let json = try? JSONValue.parse(output.trimmingSpaces()), json["type"] != nil || json["result"] != nil {
            return json
        }
        for line in output.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let json = try? JSONValue.parse(String(line)), json["type"] != nil || json["result"] != nil {
                return json
            }
        }
        return nil
    }
}
