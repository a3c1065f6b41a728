import Foundation
import LoomConfiguration
import LoomEngine
import LoomValues
import Testing

@testable import LoomProviders

/// Context budgets: the window comes from the operator, else the server, else the kind's
/// default; a prompt is cut to fit where the bundle allows it, the cut is recorded with the
/// result, and a prompt that cannot fit is `context_exceeded` without a call, falling back.
@Suite(.serialized) struct ContextBudgetTests {
    /// A prompt like an implementer's: fixed text, a long check log, a list of findings.
    static func request(checks: String, findings: String = "[]") -> AgentRequest {
        let head = "Fix the tests.\nChecks:\n"
        let middle = "\nOpen findings:\n"
        let prompt = head + checks + middle + findings + "\nAnswer with JSON."
        let checksStart = head.utf8.count
        let findingsStart = checksStart + checks.utf8.count + middle.utf8.count
        return AgentRequest(
            taskID: "t1",
            step: "implement",
            role: "implementer",
            prompt: prompt,
            modelTier: nil,
            iteration: 0,
            attempt: 1,
            shrinkable: [
                .init(variable: "checks", rule: .headTail, spans: [checksStart..<(checksStart + checks.utf8.count)]),
                .init(
                    variable: "findings",
                    rule: .firstItems,
                    spans: [findingsStart..<(findingsStart + findings.utf8.count)]
                ),
            ]
        )
    }

    static func log(lines: Int) -> String {
        (1...lines).map {
            "test_case_\($0) ... " + ($0 == 1 ? "FIRST FAILURE here" : $0 == lines ? "SUMMARY: 1 failed" : "ok")
        }.joined(separator: "\n")
    }

    @Test func aPromptThatFitsIsSentWhole() {
        let request = Self.request(checks: "all green")
        let (prompt, fit) = PromptFitter.fit(
            request,
            budget: ContextBudget(contextTokens: 8_192, answerTokens: 1_024, source: .configured)
        )
        #expect(prompt == request.prompt)
        #expect(fit.fits && fit.cuts.isEmpty)
        #expect(fit.promptTokensBefore == TokenEstimate.fitting(bytes: request.prompt.utf8.count))
    }

    @Test func aLongCheckLogKeepsItsHeadAndTailWithAMarkedCut() {
        let checks = Self.log(lines: 3_000)  // about 60 KB
        #expect(checks.utf8.count > 40_000)
        let request = Self.request(checks: checks)
        let budget = ContextBudget(contextTokens: 8_192, answerTokens: 2_048, source: .server)
        let (prompt, fit) = PromptFitter.fit(request, budget: budget)
        #expect(fit.fits)
        #expect(TokenEstimate.fitting(bytes: prompt.utf8.count) <= budget.promptTokens)
        #expect(
            prompt.utf8.count > TokenEstimate.fittingBytes(tokens: budget.promptTokens) * 9 / 10,
            "it uses the room it has"
        )
        #expect(prompt.hasPrefix("Fix the tests.\nChecks:\ntest_case_1 ... FIRST FAILURE here\n"))
        #expect(prompt.contains("SUMMARY: 1 failed\nOpen findings:\n[]\nAnswer with JSON."))
        #expect(prompt.contains("bytes cut here by loom to fit the model's context window"))
        #expect(
            fit.cuts == [
                .init(
                    variable: "checks",
                    rule: .headTail,
                    bytesBefore: checks.utf8.count,
                    bytesAfter: fit.cuts.first?.bytesAfter ?? 0
                )
            ]
        )
        #expect(fit.promptTokensAfter < fit.promptTokensBefore)
        // Deterministic: the same request and window cut the same way.
        #expect(PromptFitter.fit(request, budget: budget).prompt == prompt)
        let json = fit.json
        #expect(json["cuts"]?[0]?["variable"]?.stringValue == "checks")
        #expect(json["window"]?["source"]?.stringValue == "server")
    }

    @Test func aListKeepsItsFirstItemsAndTheLargestValueIsCutFirst() {
        let findings = JSONValue.array(
            (1...200).map {
                .object(["id": .string("t1.f\($0)"), "summary": .string(String(repeating: "x", count: 80))])
            }
        ).canonicalText
        let request = Self.request(checks: "short log", findings: findings)
        let (prompt, fit) = PromptFitter.fit(
            request,
            budget: ContextBudget(contextTokens: 4_096, answerTokens: 1_024, source: .configured)
        )
        #expect(fit.fits)
        #expect(prompt.contains("short log"), "the small value is left whole")
        #expect(prompt.contains("[{\"id\":\"t1.f1\""))
        #expect(!prompt.contains("t1.f200"))
        #expect(prompt.contains("more item(s) cut by loom"))
        #expect(fit.cuts.map(\.variable) == ["findings"])
    }

    @Test func aPromptThatCannotFitAtItsMinimumSaysBy() {
        // No shrinkable value: nothing can be cut.
        let request = AgentRequest(
            taskID: "t1",
            step: "s",
            role: "writer",
            prompt: String(repeating: "a", count: 30_000),
            modelTier: nil,
            iteration: 0,
            attempt: 1
        )
        let (prompt, fit) = PromptFitter.fit(
            request,
            budget: ContextBudget(contextTokens: 2_048, answerTokens: 512, source: .kindDefault)
        )
        #expect(!fit.fits)
        #expect(prompt == request.prompt)
        #expect(fit.promptTokensMin == 10_000)
        #expect(fit.json["fits"]?.boolValue == false)
    }

    @Test func theWindowComesFromTheOperatorThenTheServerThenTheKindsDefault() throws {
        ContextBudgetResolver.forgetServers()
        let server = try LoopbackHTTPServer { request in
            request.path == "/props"
                ? .json(200, #"{"default_generation_settings":{"n_ctx":8192,"temperature":0.8},"total_slots":1}"#)
                : .json(404, "{}")
        }
        defer { server.stop() }
        var local = settings(.openai, baseURL: "\(server.baseURL)/v1")
        #expect(
            ContextBudgetResolver.budget(settings: local, model: "smollm2")
                == ContextBudget(contextTokens: 8_192, answerTokens: 2_048, source: .server)
        )
        local.contextTokens = 4_096
        local.models["big"] = .init(contextTokens: 32_768, maxTokens: 1_000)
        #expect(
            ContextBudgetResolver.budget(settings: local, model: "smollm2")
                == ContextBudget(contextTokens: 4_096, answerTokens: 1_024, source: .configured)
        )
        #expect(
            ContextBudgetResolver.budget(settings: local, model: "big")
                == ContextBudget(contextTokens: 32_768, answerTokens: 1_000, source: .configured)
        )
        // Hosted APIs are not asked.
        #expect(
            ContextBudgetResolver.budget(settings: ProviderSettings.builtIn["openai"]!, model: "gpt-4o").source
                == .kindDefault
        )
        #expect(
            ContextBudgetResolver.budget(settings: ProviderSettings.builtIn["anthropic"]!, model: "claude")
                .contextTokens == 200_000
        )
        #expect(server.requests.map(\.path) == ["/props"], "asked once: the answer is cached")
    }

    @Test func ollamaSaysItsWindowInShow() throws {
        ContextBudgetResolver.forgetServers()
        let server = try LoopbackHTTPServer { request in
            request.path == "/api/show"
                ? .json(
                    200,
                    #"{"parameters":"stop \"<|im_end|>\"\nnum_ctx                        6144","model_info":{"llama.context_length":131072}}"#
                )
                : .json(404, "{}")
        }
        defer { server.stop() }
        let budget = ContextBudgetResolver.budget(
            settings: settings(.ollama, baseURL: server.baseURL),
            model: "qwen2.5-coder"
        )
        #expect(budget == ContextBudget(contextTokens: 6_144, answerTokens: 1_536, source: .server))
        #expect(server.requests.first?.body == #"{"model":"qwen2.5-coder"}"#)
        #expect(
            ContextBudgetResolver.ollamaWindow(try JSONValue.parse(#"{"model_info":{"qwen2.context_length":131072}}"#))
                == ContextBudgetResolver.ollamaWindowMax
        )
        // Stated windows are sent: Ollama would otherwise run its small default.
        let body = OllamaBackend(providerName: "ollama", settings: settings(.ollama, baseURL: server.baseURL)).body(
            for: makeRequest(),
            model: "m",
            budget: budget
        )
        #expect(body["options"]?["num_ctx"]?.intValue == 6_144)
        #expect(body["options"]?["num_predict"]?.intValue == 1_536)
    }

    /// The whole path through the router: the local server gets the cut prompt and an answer
    /// cap; the result records the cut; a model whose window is too small is refused without a
    /// call, named with its window and the prompt's size, and the chain falls back.
    @Test func theRouterFitsPerModelAndFallsBackWhenAPromptCannotFit() throws {
        ContextBudgetResolver.forgetServers()
        let server = try LoopbackHTTPServer { request in
            if request.path == "/props" { return .json(200, #"{"default_generation_settings":{"n_ctx":8192}}"#) }
            return .stream([OpenAICompatibleBackendTests.chunk("{\"ok\": true}"), "data: [DONE]\n\n"])
        }
        defer { server.stop() }
        let text = """
            {"version": 1, "default": ["tiny:m", "local:smollm2"],
             "providers": {"tiny": {"kind": "openai", "baseURL": "\(server.baseURL)/v1", "contextTokens": 300},
                           "local": {"kind": "openai", "baseURL": "\(server.baseURL)/v1"}}}
            """
        let router = ModelRouter(configuration: try ModelsConfiguration.parse(text, path: "models.json"))
        let checks = Self.log(lines: 3_000)
        let result = router.spawn(Self.request(checks: checks), context: SpawnWatcher().context())
        #expect(result.output == "{\"ok\": true}", "\(result.errorMessage ?? "")")
        #expect(result.model == "smollm2")
        #expect(result.attempts == 1, "the refused entry made no call")
        #expect(result.fit?["cuts"]?[0]?["variable"]?.stringValue == "checks")
        #expect(
            result.fit?["promptTokens"]?["before"]?.intValue ?? 0 > result.fit?["promptTokens"]?["after"]?.intValue ?? 0
        )
        let sent = server.requests.filter { $0.path == "/v1/chat/completions" }
        #expect(sent.count == 1)
        let body = try JSONValue.parse(sent[0].body)
        let prompt = body["messages"]?[0]?["content"]?.stringValue ?? ""
        #expect(prompt.contains("bytes cut here by loom") && prompt.contains("SUMMARY: 1 failed"))
        #expect(TokenEstimate.fitting(bytes: prompt.utf8.count) <= 8_192 - 2_048)
        #expect(body["max_tokens"]?.intValue == 2_048, "the answer's share is its cap")

        // Only the tiny model: refused before any call, permanent, naming model, window, size.
        let alone = ModelRouter(
            configuration: try ModelsConfiguration.parse(
                """
                {"version": 1, "default": ["tiny:m"], "providers": {"tiny": {"kind": "openai", "baseURL": "\(server.baseURL)/v1", "contextTokens": 300}}}
                """,
                path: "models.json"
            )
        )
        let before = server.requests.count
        let refused = alone.spawn(Self.request(checks: checks), context: SpawnWatcher().context())
        #expect(server.requests.count == before, "nothing was sent")
        #expect(refused.errorReason == "context_exceeded" && refused.errorClass == .permanent)
        let message = refused.errorMessage ?? ""
        #expect(
            message.contains("tiny:m") && message.contains("300 tokens")
                && message.contains(
                    "about \(TokenEstimate.fitting(bytes: Self.request(checks: checks).prompt.utf8.count)) tokens"
                ),
            "\(message)"
        )
        #expect(refused.fit?["fits"]?.boolValue == false)
    }

    @Test func modelsJSONTakesWindowsAndConcurrencyAndRefusesNonsense() throws {
        let configuration = try ModelsConfiguration.parse(
            """
            {"version": 1, "default": ["local:m"], "providers": {"local": {"kind": "openai", "baseURL": "http://127.0.0.1:1/v1",
             "contextTokens": 8192, "maxConcurrent": 2, "models": {"m": {"contextTokens": 4096, "maxTokens": 512}}}}}
            """,
            path: "models.json"
        )
        let local = configuration.providers["local"]!
        #expect(
            local.contextTokens == 8_192 && local.maxConcurrent == 2
                && local.models["m"] == .init(contextTokens: 4_096, maxTokens: 512)
        )
        #expect(try ModelsConfiguration.parse(configuration.json.canonicalText, path: "again") == configuration)
        for bad in [#""contextTokens": 10"#, #""maxConcurrent": 0"#, #""models": {"m": {"window": 1}}"#] {
            #expect(throws: ProviderConfigurationError.self) {
                try ModelsConfiguration.parse(
                    #"{"version": 1, "providers": {"local": {"kind": "openai", "baseURL": "http://127.0.0.1:1/v1", \#(bad)}}}"#,
                    path: "models.json"
                )
            }
        }
    }
}
