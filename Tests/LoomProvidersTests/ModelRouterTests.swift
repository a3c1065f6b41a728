import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// Fallback chains across real backends talking to loopback doubles.
@Suite(.serialized) struct ModelRouterTests {
    func configuration(openrouter: String, anthropic: String, chain: String) throws -> ModelsConfiguration {
        try ModelsConfiguration.parse(
            """
            {"version": 1,
             "default": ["scripted"],
             "roles": {"implementer": \(chain)},
             "providers": {"openrouter": {"baseURL": "\(openrouter)"}, "anthropic": {"baseURL": "\(anthropic)"}}}
            """,
            path: "models.json"
        )
    }

    @Test func aRateLimitFallsBackToTheNextProviderAndEverythingIsCounted() throws {
        let openrouter = try LoopbackHTTPServer { _ in
            .json(
                429,
                #"{"error":{"message":"Rate limit exceeded: free-models-per-day","code":429}}"#,
                headers: [("Retry-After", "60")]
            )
        }
        defer { openrouter.stop() }
        let anthropic = try LoopbackHTTPServer { _ in .stream(AnthropicBackendTests.success) }
        defer { anthropic.stop() }
        let models = try configuration(
            openrouter: openrouter.baseURL,
            anthropic: anthropic.baseURL,
            chain: #"["openrouter:deepseek/deepseek-chat", "anthropic:claude-sonnet-4-5"]"#
        )
        let router = ModelRouter(configuration: models)
        let result = router.spawn(
            makeRequest(role: "implementer"),
            context: SpawnWatcher().context(secrets: [
                "OPENROUTER_API_KEY": testSecret, "ANTHROPIC_API_KEY": testSecret + "-2",
            ])
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "Hello world")
        #expect(result.provider == "anthropic" && result.model == "claude-sonnet-4-5")
        #expect(result.tokensIn == 125 && result.tokensOut == 15)
        #expect(openrouter.requests.count == 1 && anthropic.requests.count == 1)
    }

    @Test func aServerErrorDoesNotFallBack() throws {
        let openrouter = try LoopbackHTTPServer { _ in .json(500, #"{"error":{"message":"boom","code":500}}"#) }
        defer { openrouter.stop() }
        let anthropic = try LoopbackHTTPServer { _ in .stream(AnthropicBackendTests.success) }
        defer { anthropic.stop() }
        let models = try configuration(
            openrouter: openrouter.baseURL,
            anthropic: anthropic.baseURL,
            chain: #"["openrouter:deepseek/deepseek-chat", "anthropic:claude-sonnet-4-5"]"#
        )
        let result = ModelRouter(configuration: models).spawn(
            makeRequest(role: "implementer"),
            context: SpawnWatcher().context(secrets: [
                "OPENROUTER_API_KEY": testSecret, "ANTHROPIC_API_KEY": testSecret,
            ])
        )
        #expect(result.errorClass == .transient && result.errorReason == "server")
        #expect(result.provider == "openrouter")
        // The daemon retries with its backoff; the second provider was not asked.
        #expect(anthropic.requests.isEmpty)
    }

    @Test func whenEveryEntryFallsBackTheLastFailureNamesThemAll() throws {
        let openrouter = try LoopbackHTTPServer { request in
            .json(
                401,
                #"{"error":{"message":"No auth credentials found for \#(request.headers["authorization"] ?? "")","code":401}}"#
            )
        }
        defer { openrouter.stop() }
        let anthropic = try LoopbackHTTPServer { _ in
            .json(404, #"{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}"#)
        }
        defer { anthropic.stop() }
        let models = try configuration(
            openrouter: openrouter.baseURL,
            anthropic: anthropic.baseURL,
            chain: #"["openrouter:a/b", "anthropic:nope"]"#
        )
        let result = ModelRouter(configuration: models).spawn(
            makeRequest(role: "implementer"),
            context: SpawnWatcher().context(secrets: [
                "OPENROUTER_API_KEY": testSecret, "ANTHROPIC_API_KEY": testSecret,
            ])
        )
        #expect(result.errorReason == "unknown_model" && result.errorClass == .permanent)
        #expect(
            result.errorMessage?.contains("after falling back from openrouter:a/b (authentication)") == true,
            "\(result.errorMessage ?? "")"
        )
        #expect(!everything(result).contains(testSecret))
    }

    @Test func roleThenTierThenDefault() throws {
        var models = ModelsConfiguration()
        try models.setChain("implementer", [ModelReference(provider: "ollama", model: "qwen2.5-coder")])
        try models.setChain("fast", [ModelReference(provider: "openrouter", model: "x/fast")])
        try models.setChain("default", [ModelReference(provider: "claude-code", model: "")])
        let router = ModelRouter(configuration: models)
        #expect(
            router.chain(for: makeRequest(role: "implementer", tier: "fast")).map(\.description) == [
                "ollama:qwen2.5-coder"
            ]
        )
        #expect(
            router.chain(for: makeRequest(role: "reviewer", tier: "fast")).map(\.description) == ["openrouter:x/fast"]
        )
        #expect(router.chain(for: makeRequest(role: "reviewer", tier: "premium")).map(\.description) == ["claude-code"])
    }

    @Test func theScriptedProviderRunsThroughTheRouter() throws {
        let scripted = try ScriptedProvider(
            scriptText:
                #"{"agents": {"implementer": [{"error": "rate_limited", "message": "busy"}]}, "default": {"output": "fine"}}"#
        )
        var models = ModelsConfiguration()
        models.providers["backup"] = ProviderSettings(kind: .scripted)
        try models.setChain(
            "implementer",
            [ModelReference(provider: "scripted", model: ""), ModelReference(provider: "backup", model: "")]
        )
        let backup = try ScriptedProvider(scriptText: #"{"default": {"output": "from the backup"}}"#)
        let router = ModelRouter(configuration: models, backends: ["scripted": scripted, "backup": backup])
        let result = router.spawn(makeRequest(role: "implementer"), context: SpawnWatcher().context())
        #expect(result.output == "from the backup")
    }

    @Test func anOversizedPromptIsRefusedBeforeAnyProvider() {
        let router = ModelRouter(configuration: ModelsConfiguration())
        let result = router.spawn(
            makeRequest(prompt: String(repeating: "x", count: ModelRouter.promptMaxBytes + 1)),
            context: SpawnWatcher().context()
        )
        #expect(result.errorReason == "bad_request" && result.errorClass == .permanent)
    }
}
