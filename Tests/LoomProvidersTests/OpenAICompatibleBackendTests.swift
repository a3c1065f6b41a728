import Foundation
import LoomConfiguration
import LoomEngine
import LoomSystem
import LoomValues
import Testing

@testable import LoomProviders

/// OpenRouter / OpenAI chat completions against a loopback double that speaks their SSE.
@Suite(.serialized) struct OpenAICompatibleBackendTests {
    static func chunk(_ content: String) -> String {
        "data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek/deepseek-chat\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\(JSONValue.string(content).canonicalText)},\"finish_reason\":null}]}\n\n"
    }

    static let usage =
        "data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek/deepseek-chat\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":7,\"total_tokens\":127,\"prompt_tokens_details\":{\"cached_tokens\":100},\"cost\":0.000321}}\n\n"

    func backend(_ server: LoopbackHTTPServer, kind: ProviderSettings.Kind = .openrouter) -> OpenAICompatibleBackend {
        OpenAICompatibleBackend(
            providerName: "openrouter",
            settings: settings(kind, baseURL: "\(server.baseURL)/api/v1", secret: "OPENROUTER_API_KEY")
        )
    }

    @Test func aStreamedAnswerWithUsageAndReportedCost() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream(
                [
                    ": OPENROUTER PROCESSING\n\n", Self.chunk("Hel"), Self.chunk("lo, "), Self.chunk("world."),
                    Self.usage, "data: [DONE]\n\n",
                ],
                delayMs: 20
            )
        }
        defer { server.stop() }
        let watcher = SpawnWatcher()
        let result = backend(server).spawn(
            makeRequest(),
            model: "deepseek/deepseek-chat",
            context: watcher.context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "Hello, world.")
        #expect(result.tokensIn == 20 && result.tokensCached == 100 && result.tokensOut == 7)
        #expect(result.costMicroUSD == 321)
        #expect(result.provider == "openrouter" && result.model == "deepseek/deepseek-chat")
        // Progress arrived piece by piece, as streamed.
        #expect(watcher.progress == "Hello, world.")
        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/api/v1/chat/completions")
        #expect(request.headers["authorization"] == "Bearer \(testSecret)")
        let body = try JSONValue.parse(request.body)
        #expect(body["stream"] == .bool(true))
        #expect(body["usage"]?["include"] == .bool(true))
        #expect(body["messages"]?[0]?["content"]?.stringValue == "Say hello.")
    }

    @Test func plainOpenAIAsksForStreamUsageButNotOpenRouterUsage() throws {
        let server = try LoopbackHTTPServer { _ in .stream([Self.chunk("ok"), "data: [DONE]\n\n"]) }
        defer { server.stop() }
        var plain = settings(.openai, baseURL: "\(server.baseURL)/v1")
        plain.temperature = 0
        let result = OpenAICompatibleBackend(providerName: "local", settings: plain).spawn(
            makeRequest(),
            model: "smol",
            context: SpawnWatcher().context()
        )
        // No usage in the stream (llama.cpp's way): estimated from the text (4 bytes a token,
        // rounded up: "Say hello." is 10 bytes, "ok" 2), and marked as an estimate.
        #expect(
            result.output == "ok" && result.tokensIn == 3 && result.tokensOut == 1 && result.tokensEstimated
                && result.costMicroUSD == 0
        )
        #expect(result.json["usage"]?["estimated"] == .bool(true))
        // A server that reports usage is believed, and not marked.
        let counted = try LoopbackHTTPServer { _ in .stream([Self.chunk("ok"), Self.usage, "data: [DONE]\n\n"]) }
        defer { counted.stop() }
        let reported = OpenAICompatibleBackend(
            providerName: "local",
            settings: settings(.openai, baseURL: "\(counted.baseURL)/v1")
        ).spawn(makeRequest(), model: "smol", context: SpawnWatcher().context())
        #expect(
            reported.tokensIn == 20 && reported.tokensOut == 7 && !reported.tokensEstimated
                && reported.json["usage"]?["estimated"] == nil
        )
        let body = try JSONValue.parse(try #require(server.requests.first).body)
        #expect(body["usage"] == nil)
        #expect(body["stream_options"]?["include_usage"] == .bool(true))
        #expect(body["temperature"]?.doubleValue == 0)
        #expect(try #require(server.requests.first).headers["authorization"] == nil)
    }

    @Test func rateLimitedWithRetryAfter() throws {
        let server = try LoopbackHTTPServer { _ in
            .json(
                429,
                #"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                headers: [("Retry-After", "7")]
            )
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "deepseek/deepseek-chat",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .rateLimited)
        #expect(result.errorReason == "rate_limited")
        #expect(result.retryAfterMs == 7_000)
        #expect(result.errorMessage?.contains("Rate limit reached") == true)
    }

    @Test func unauthorisedEvenWhenTheServerEchoesTheKey() throws {
        // OpenAI quotes (part of) the key it refused; a double that quotes all of it.
        let server = try LoopbackHTTPServer { request in
            .json(
                401,
                #"{"error":{"message":"Incorrect API key provided: \#(request.headers["authorization"] ?? "")","type":"invalid_request_error","code":"invalid_api_key"}}"#
            )
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .permanent && result.errorReason == "authentication")
        #expect(result.errorMessage?.contains("Incorrect API key") == true)
        #expect(!everything(result).contains(testSecret))
        #expect(everything(result).contains(SecretsLookup.placeholder))
    }

    @Test func unknownModelAs404AndAs400() throws {
        let server = try LoopbackHTTPServer { request in
            request.body.contains("\"four\"")
                ? .json(
                    404,
                    #"{"error":{"message":"The model `four` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}"#
                )
                : .json(400, #"{"error":{"message":"nope/nope is not a valid model ID","code":400}}"#)
        }
        defer { server.stop() }
        let context = SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        let notFound = backend(server).spawn(makeRequest(), model: "four", context: context)
        #expect(notFound.errorReason == "unknown_model" && notFound.errorClass == .permanent)
        let invalid = backend(server).spawn(makeRequest(), model: "nope/nope", context: context)
        #expect(invalid.errorReason == "unknown_model" && invalid.errorClass == .permanent)
    }

    @Test func serverErrorIsTransient() throws {
        let server = try LoopbackHTTPServer { _ in
            .json(500, #"{"error":{"message":"Internal server error","code":500}}"#)
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .transient && result.errorReason == "server")
        #expect(result.errorMessage?.contains("HTTP 500") == true)
    }

    @Test func malformedEventIsTransientAndNamed() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([Self.chunk("Hel"), "data: {\"choices\": [\n\n", "data: [DONE]\n\n"])
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .transient && result.errorReason == "malformed_response")
        #expect(result.output == nil)
    }

    @Test func aStreamCutInTheMiddleIsNotAnAnswer() throws {
        let server = try LoopbackHTTPServer { _ in .stream([Self.chunk("Hel"), Self.chunk("lo")], cut: true) }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .transient)
        #expect(
            result.errorReason == "truncated_stream" || result.errorReason == "network",
            "\(result.errorReason ?? "")"
        )
        #expect(result.output == nil)
    }

    @Test func anErrorEventAfterTheStreamBegan() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([
                Self.chunk("Hel"),
                "data: {\"error\":{\"code\":429,\"message\":\"Provider returned error: rate limited upstream\"}}\n\n",
            ])
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorClass == .rateLimited)
    }

    @Test func aSilentServerHitsTheIdleTimeout() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([Self.chunk("Hel"), Self.chunk("lo"), "data: [DONE]\n\n"], delayMs: 1_500)
        }
        defer { server.stop() }
        let started = MonotonicClock.milliseconds()
        let result = backend(server).spawn(
            makeRequest(idleTimeoutMs: 400),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorReason == "idle_timeout" && result.errorClass == .transient)
        #expect(MonotonicClock.milliseconds() - started < 1_400)
    }

    @Test func anAnswerPastTheOutputCapIsRefused() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([
                Self.chunk(String(repeating: "x", count: 600)), Self.chunk(String(repeating: "y", count: 600)),
                "data: [DONE]\n\n",
            ])
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(outputMaxBytes: 1_000),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorReason == "output_too_large" && result.errorClass == .permanent)
    }

    @Test func aMissingKeySaysWhichSecretToSet() {
        let result = OpenAICompatibleBackend(
            providerName: "openrouter",
            settings: ProviderSettings.builtIn["openrouter"]!
        )
        .spawn(makeRequest(), model: "m", context: SpawnWatcher().context())
        #expect(result.errorReason == "missing_secret")
        #expect(result.errorMessage?.contains("loomctl secrets set OPENROUTER_API_KEY") == true)
    }

    @Test func aRedirectIsNotFollowedSoTheKeyGoesNowhereElse() throws {
        let server = try LoopbackHTTPServer { _ in
            LoopbackHTTPServer.Response(
                status: 307,
                headers: [("Location", "http://127.0.0.1:9/elsewhere")],
                pieces: ["moved"]
            )
        }
        defer { server.stop() }
        let result = backend(server).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context(secrets: ["OPENROUTER_API_KEY": testSecret])
        )
        #expect(result.errorReason == "configuration" && result.errorClass == .permanent)
        #expect(result.errorMessage?.contains("redirects are not followed") == true, "\(result.errorMessage ?? "")")
        #expect(server.requests.count == 1)
    }

    @Test func nothingListeningIsANetworkFailure() throws {
        let server = try LoopbackHTTPServer { _ in .json(200, "{}") }
        let url = server.baseURL
        server.stop()
        let result = OpenAICompatibleBackend(providerName: "local", settings: settings(.openai, baseURL: url)).spawn(
            makeRequest(),
            model: "m",
            context: SpawnWatcher().context()
        )
        #expect(result.errorReason == "network" && result.errorClass == .transient)
    }
}
