import LoomConfiguration
import LoomEngine

/// Picks the models for a spawn and walks its fallback chain.
///
/// The chain is the role's, else the tier's, else the default (`ModelsConfiguration`).
/// Each entry is tried in order; the router moves to the next one only when a backend
/// failed with a rate limit, an authentication failure or an unknown model, where
/// another provider or model can help. Any other failure (a timeout, a 500, a refused
/// request) is returned as it is: the daemon retries transient ones with its own backoff,
/// walking the chain again from its start. When every entry fell back, the last failure
/// is returned, its message naming each entry tried.
///
/// Tokens, cost and duration of every entry tried are summed into the result, so nothing
/// a failed attempt spent goes unaccounted; `provider` and `model` name the entry that
/// answered (or failed last). Every result is redacted of secrets before it is returned.
///
/// Thread-safe and synchronous: the daemon calls `spawn` from its effect pool.
public final class ModelRouter: Sendable {
    /// Prompts larger than this are refused before any provider sees them (the kernel
    /// renders none larger; this guards callers that build requests themselves).
    public static let promptMaxBytes = 1 << 20

    public let configuration: ModelsConfiguration
    public let prices: PriceTable
    private let backends: [String: any SpawnBackend]
    /// Providers whose backend was given, not built from settings: their window is the
    /// file's only if it names them.
    private let givenBackends: Set<String>

    /// - Parameters:
    ///   - configuration: the chains and provider settings (`models.json`).
    ///   - prices: the price table for providers that report no cost (`prices.json`).
    ///   - backends: backends to use instead of those the configuration describes, by
    ///     provider name (the daemon's scripted provider; doubles in tests).
    public init(
        configuration: ModelsConfiguration,
        prices: PriceTable = PriceTable(),
        backends: [String: any SpawnBackend] = [:]
    ) {
        self.configuration = configuration
        self.prices = prices
        var table = backends
        let names = Set(ProviderSettings.builtIn.keys).union(configuration.providers.keys)
        for name in names where table[name] == nil {
            if let settings = configuration.settings(for: name) {
                table[name] = BackendFactory.make(providerName: name, settings: settings, prices: prices)
            }
        }
        self.backends = table
        self.givenBackends = Set(backends.keys)
    }

    /// `models.json` and `prices.json` from loomd's state directory.
    public static func load(
        stateDirectory: String,
        backends: [String: any SpawnBackend] = [:]
    ) throws(ProviderConfigurationError) -> ModelRouter {
        ModelRouter(
            configuration: try ModelsConfiguration.load(stateDirectory: stateDirectory),
            prices: try PriceTable.load(stateDirectory: stateDirectory),
            backends: backends
        )
    }

    /// The chain `request` would walk.
    public func chain(for request: AgentRequest) -> [ModelReference] {
        configuration.chain(role: request.role, tier: request.modelTier).chain
    }

    public func spawn(_ request: AgentRequest, context: SpawnContext) -> AgentResult {
        let (chain, source) = configuration.chain(role: request.role, tier: request.modelTier)
        guard request.prompt.utf8.count <= Self.promptMaxBytes else {
            return .failure(
                .badRequest,
                "the prompt is \(request.prompt.utf8.count) bytes; at most \(Self.promptMaxBytes) are sent to a provider",
                provider: chain.first?.provider ?? "",
                model: chain.first?.model ?? ""
            )
        }
        var spent = AgentResult(output: "")
        var tried: [String] = []
        var calls = 0
        var last = AgentResult.failure(.configuration, "\(source) is empty", provider: "", model: "")
        for (index, reference) in chain.enumerated() {
            var result: AgentResult
            if let backend = backends[reference.provider] {
                result = call(backend, reference: reference, request: request, context: context)
            } else {
                result = .failure(
                    .configuration,
                    "unknown provider '\(reference.provider)' in \(source)",
                    provider: reference.provider,
                    model: reference.model
                )
            }
            result = result.redacted(context.secrets)
            spent.tokensIn += result.tokensIn
            spent.tokensOut += result.tokensOut
            spent.tokensCached += result.tokensCached
            spent.costMicroUSD += result.costMicroUSD
            spent.durationMs += result.durationMs
            result.tokensIn = spent.tokensIn
            result.tokensOut = spent.tokensOut
            result.tokensCached = spent.tokensCached
            result.costMicroUSD = spent.costMicroUSD
            result.durationMs = spent.durationMs
            // A prompt refused before sending (it cannot fit the window) made no model call.
            if !(result.errorReason == ProviderErrorReason.contextExceeded.rawValue
                && result.fit?["fits"]?.boolValue == false)
            {
                calls += 1
            }
            result.attempts = max(1, calls)
            spent.tokensEstimated = spent.tokensEstimated || result.tokensEstimated
            result.tokensEstimated = spent.tokensEstimated
            if result.provider.isEmpty { result.provider = reference.provider }
            if result.model.isEmpty { result.model = reference.model }
            let fallsBack =
                result.errorClass != nil && (result.reason?.fallsBack ?? (result.errorClass == .rateLimited))
            if !fallsBack || index == chain.count - 1 {
                if result.errorClass != nil && !tried.isEmpty {
                    result.errorMessage =
                        "after falling back from \(tried.joined(separator: "; ")): \(result.errorMessage ?? "")"
                }
                return result
            }
            tried.append("\(reference) (\(result.errorReason ?? result.errorClass?.rawValue ?? "error"))")
            last = result
        }
        return last
    }

    /// One chain entry: the prompt fitted to the model's window (or refused as
    /// `context_exceeded` without a call when it cannot fit even cut to its minimum), then a
    /// slot of the endpoint, then the call. The fit is recorded with the result.
    private func call(
        _ backend: any SpawnBackend,
        reference: ModelReference,
        request: AgentRequest,
        context: SpawnContext
    ) -> AgentResult {
        let settings =
            givenBackends.contains(reference.provider)
            ? configuration.providers[reference.provider] : configuration.settings(for: reference.provider)
        let budget = ContextBudgetResolver.budget(
            settings: settings,
            model: reference.model,
            secrets: context.secrets,
            onChild: context.onChild
        )
        let (prompt, fit) = PromptFitter.fit(request, budget: budget)
        guard fit.fits else {
            var refused = AgentResult.failure(
                .contextExceeded,
                "the prompt of \(request.role) does not fit the context window of \(reference): it is about \(fit.promptTokensBefore) tokens "
                    + "(\(fit.promptTokensMin) with every shrinkable value cut to its minimum) and the window is \(budget.contextTokens) tokens "
                    + "with \(budget.answerTokens) kept for the answer (\(budget.source.rawValue) figures; tokens estimated as \(TokenEstimate.fittingRule))",
                provider: reference.provider,
                model: reference.model
            )
            refused.fit = fit.json
            return refused
        }
        let fitted =
            prompt == request.prompt
            ? request
            : AgentRequest(
                taskID: request.taskID,
                step: request.step,
                role: request.role,
                prompt: prompt,
                modelTier: request.modelTier,
                iteration: request.iteration,
                attempt: request.attempt,
                limits: request.limits
            )
        var entryContext = context
        entryContext.budget = budget
        var release: (@Sendable () -> Void)?
        if let settings, let limit = settings.maxConcurrent ?? EndpointSlots.defaultLimit(for: settings) {
            let endpoint = settings.baseURL ?? reference.provider
            let onWait = context.onModelWait
            switch EndpointSlots.shared.acquire(
                endpoint,
                limit: limit,
                timeoutMs: request.limits.timeoutMs,
                isCancelled: context.isCancelled,
                onWait: { runningNow in
                    onWait?(
                        runningNow.map {
                            "waiting for the model \(reference) (\($0) of \(limit) request(s) at \(endpoint) running)"
                        }
                    )
                }
            ) {
            case .success(let done): release = done
            case .failure(.timedOut(let waitedMs)):
                return .failure(
                    .timeout,
                    "waited \(waitedMs) ms for the model \(reference) (at most \(limit) request(s) at once at \(endpoint)) without getting a turn",
                    provider: reference.provider,
                    model: reference.model
                )
            case .failure(.cancelled):
                return .failure(
                    .unavailable,
                    "the task ended while this spawn waited for the model \(reference); it was not sent",
                    provider: reference.provider,
                    model: reference.model
                )
            case .failure(.tooManyEndpoints):
                return .failure(
                    .configuration,
                    "more than \(EndpointSlots.endpointsMax) model endpoints are in use at once",
                    provider: reference.provider,
                    model: reference.model
                )
            }
        }
        var result = backend.spawn(fitted, model: reference.model, context: entryContext)
        release?()
        result.fit = fit.json
        return result
    }
}
