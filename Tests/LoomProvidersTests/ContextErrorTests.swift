import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// The honest error classes: each server's own words for "the prompt does not fit", an
/// answer cut at its budget, a stream that stops short, and a server that says when to
/// come back, each through a loopback double sending the vendor's bytes.
@Suite(.serialized) struct ContextErrorTests {
    func openAI(_ server: LoopbackHTTPServer) -> OpenAICompatibleBackend {
        OpenAICompatibleBackend(providerName: "local", settings: settings(.openai, baseURL: "\(server.baseURL)/v1"))
    }

    // llama.cpp's llama-server, llama-cpp-python's server (the `scripts/local-model` one) and
    // OpenAI itself, as each sends it.
    static let bodies: [(String, String)] = [
        (
            "llama-server",
            #"{"error":{"code":400,"message":"request (3906 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":3906,"n_ctx":2048}}"#
        ),
        (
            "llama-cpp-python",
            #"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 3906 tokens (3906 in the messages, 0 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
        ),
        (
            "openai",
            #"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
        ),
    ]

    @Test(arguments: 0..<3) func aPromptPastTheWindowIsContextExceededNotABadRequest(index: Int) throws {
        let (name, body) = Self.bodies[index]
        let server = try LoopbackHTTPServer { _ in .json(400, body) }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "smollm2", context: SpawnWatcher().context())
        #expect(result.errorReason == "context_exceeded", "\(name): \(result.errorReason ?? "")")
        #expect(result.errorClass == .permanent, "\(name)")
        #expect(
            result.errorMessage?.contains("does not fit the context window of local:smollm2") == true,
            "\(name): \(result.errorMessage ?? "")"
        )
        // The server's own figures reach the person.
        #expect(
            result.errorMessage?.contains("2048") == true || result.errorMessage?.contains("128000") == true,
            "\(name)"
        )
    }

    @Test func anthropicsPromptIsTooLong() throws {
        let server = try LoopbackHTTPServer { _ in
            .json(
                400,
                #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 215344 tokens > 200000 maximum"}}"#
            )
        }
        defer { server.stop() }
        var anthropic = ProviderSettings.builtIn["anthropic"]!
        anthropic.baseURL = server.baseURL
        let result = AnthropicBackend(providerName: "anthropic", settings: anthropic)
            .spawn(
                makeRequest(),
                model: "claude-sonnet-4-5",
                context: SpawnWatcher().context(secrets: ["ANTHROPIC_API_KEY": testSecret])
            )
        #expect(
            result.errorReason == "context_exceeded" && result.errorClass == .permanent,
            "\(result.errorReason ?? "")"
        )
        #expect(result.errorMessage?.contains("215344 tokens > 200000") == true)
        // Another invalid request stays a bad request.
        #expect(
            AnthropicBackend.reason(errorType: "invalid_request_error", message: "messages: field required")
                == .badRequest
        )
    }

    @Test func anAnswerCutAtLengthIsNotAnAnswer() throws {
        let length =
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"smollm2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
        let server = try LoopbackHTTPServer { _ in
            .stream([OpenAICompatibleBackendTests.chunk("{\"summary\": \"the fun"), length, "data: [DONE]\n\n"])
        }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "smollm2", context: SpawnWatcher().context())
        #expect(result.output == nil)
        #expect(
            result.errorReason == "context_exceeded" && result.errorClass == .permanent,
            "\(result.errorReason ?? "")"
        )
        #expect(result.errorMessage?.contains("finish_reason \"length\"") == true, "\(result.errorMessage ?? "")")
    }

    @Test func anAnswerThatStoppedItselfIsAnAnswer() throws {
        let stop =
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"smollm2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        let server = try LoopbackHTTPServer { _ in
            .stream([OpenAICompatibleBackendTests.chunk("{}"), stop, "data: [DONE]\n\n"])
        }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "smollm2", context: SpawnWatcher().context())
        #expect(result.errorClass == nil && result.output == "{}")
    }

    @Test func anthropicsMaxTokensStopIsACut() throws {
        var cut = AnthropicBackendTests.success
        cut[6] = AnthropicBackendTests.event(
            "message_delta",
            #"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":8192}}"#
        )
        let events = cut
        let server = try LoopbackHTTPServer { _ in .stream(events) }
        defer { server.stop() }
        var anthropic = ProviderSettings.builtIn["anthropic"]!
        anthropic.baseURL = server.baseURL
        let result = AnthropicBackend(providerName: "anthropic", settings: anthropic)
            .spawn(
                makeRequest(),
                model: "claude-sonnet-4-5",
                context: SpawnWatcher().context(secrets: ["ANTHROPIC_API_KEY": testSecret])
            )
        #expect(result.errorReason == "context_exceeded", "\(result.errorReason ?? "")")
        #expect(result.errorMessage?.contains("max_tokens") == true)
        // What it spent is still counted.
        #expect(result.tokensOut == 0 || result.tokensOut == 8_192)
    }

    @Test func ollamasLengthStopIsACut() throws {
        let last =
            #"{"model":"qwen2.5-coder","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","prompt_eval_count":2048,"eval_count":0}"#
            + "\n"
        let server = try LoopbackHTTPServer { _ in
            .stream([OllamaBackendTests.line("{\"a\": "), last], contentType: "application/x-ndjson")
        }
        defer { server.stop() }
        let result = OllamaBackend(providerName: "ollama", settings: settings(.ollama, baseURL: server.baseURL))
            .spawn(makeRequest(), model: "qwen2.5-coder", context: SpawnWatcher().context())
        #expect(result.errorReason == "context_exceeded", "\(result.errorReason ?? "")")
        #expect(result.errorMessage?.contains("ollama:qwen2.5-coder") == true, "\(result.errorMessage ?? "")")
    }

    @Test func aStreamWithoutItsTerminatorStaysTransientAndSaysHowFarItGot() throws {
        let server = try LoopbackHTTPServer { _ in .stream([OpenAICompatibleBackendTests.chunk("Hel")], cut: false) }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "smollm2", context: SpawnWatcher().context())
        #expect(
            result.errorReason == "truncated_stream" && result.errorClass == .transient,
            "\(result.errorReason ?? "")"
        )
        #expect(result.errorMessage?.contains("ended before [DONE] after") == true, "\(result.errorMessage ?? "")")
    }

    @Test func aRateLimitWithAnHTTPDateRetryAfter() throws {
        let now = Int(Date().timeIntervalSince1970) + 30
        let server = try LoopbackHTTPServer { _ in
            .json(
                429,
                #"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#,
                headers: [("Retry-After", Self.httpDate(now))]
            )
        }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "m", context: SpawnWatcher().context())
        #expect(result.errorClass == .rateLimited)
        let wait = try #require(result.retryAfterMs)
        #expect(wait > 20_000 && wait <= 30_000, "\(wait)")
    }

    @Test func anOverloadedServerThatSaysWhenIsBelieved() throws {
        let server = try LoopbackHTTPServer { _ in
            .json(503, #"{"error":{"message":"Loading model","code":503}}"#, headers: [("Retry-After", "4")])
        }
        defer { server.stop() }
        let result = openAI(server).spawn(makeRequest(), model: "m", context: SpawnWatcher().context())
        #expect(result.errorClass == .transient && result.errorReason == "server")
        #expect(result.retryAfterMs == 4_000)
    }

    @Test func httpDates() {
        #expect(HTTPExchange.httpDateMs("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777_000)
        #expect(HTTPExchange.httpDateMs("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPExchange.httpDateMs("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPExchange.retryAfterMs(["retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"], now: 4_000) == 6_000)
        #expect(HTTPExchange.retryAfterMs(["retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"], now: 40_000) == 0)
    }

    @Test func contextExceededFallsBackToTheNextModelInTheChain() throws {
        let small = try LoopbackHTTPServer { _ in .json(400, Self.bodies[0].1) }
        defer { small.stop() }
        let large = try LoopbackHTTPServer { _ in
            .stream([OpenAICompatibleBackendTests.chunk("fits"), "data: [DONE]\n\n"])
        }
        defer { large.stop() }
        let models = try ModelsConfiguration.parse(
            """
            {"version": 1, "default": ["scripted"], "roles": {"reviewer": ["small:smollm2", "large:qwen"]},
             "providers": {"small": {"kind": "openai", "baseURL": "\(small.baseURL)/v1"}, "large": {"kind": "openai", "baseURL": "\(large.baseURL)/v1"}}}
            """,
            path: "models.json"
        )
        let result = ModelRouter(configuration: models).spawn(
            makeRequest(role: "reviewer"),
            context: SpawnWatcher().context()
        )
        #expect(result.errorClass == nil && result.output == "fits", "\(result.errorMessage ?? "")")
        #expect(result.provider == "large" && result.attempts == 2)
        // One call each (the rest are the questions about each server's window).
        #expect(
            small.requests.filter { $0.path == "/v1/chat/completions" }.count == 1
                && large.requests.filter { $0.path == "/v1/chat/completions" }.count == 1
        )
    }

    static func httpDate(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(cString: buffer)
    }
}
