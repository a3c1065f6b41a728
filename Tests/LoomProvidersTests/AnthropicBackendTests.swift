import Foundation
import LoomConfiguration
import LoomEngine
import LoomValues
import Testing

@testable import LoomProviders

/// The Messages API against a loopback double that speaks its SSE event types.
@Suite(.serialized) struct AnthropicBackendTests {
    static func event(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }

    static let success: [String] = [
        event(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}"#
        ),
        event(
            "content_block_start",
            #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#
        ),
        event("ping", #"{"type": "ping"}"#),
        event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#
        ),
        event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}"#
        ),
        event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        event(
            "message_delta",
            #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#
        ),
        event("message_stop", #"{"type":"message_stop"}"#),
    ]

    func backend(_ server: LoopbackHTTPServer) -> AnthropicBackend {
        var anthropic = ProviderSettings.builtIn["anthropic"]!
        anthropic.baseURL = server.baseURL
        return AnthropicBackend(
            providerName: "anthropic",
            settings: anthropic,
            prices: PriceTable(prices: [
                "anthropic:claude-sonnet-4-5": .init(
                    inputPerMillionUSD: 3,
                    outputPerMillionUSD: 15,
                    cachedInputPerMillionUSD: 0.3
                )
            ])
        )
    }

    func context(_ watcher: SpawnWatcher = SpawnWatcher()) -> SpawnContext {
        watcher.context(secrets: ["ANTHROPIC_API_KEY": testSecret])
    }

    @Test func aStreamedAnswerWithCacheTokensAndTablePrice() throws {
        let server = try LoopbackHTTPServer { _ in .stream(Self.success, delayMs: 10) }
        defer { server.stop() }
        let watcher = SpawnWatcher()
        let result = backend(server).spawn(makeRequest(), model: "claude-sonnet-4-5", context: context(watcher))
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "Hello world")
        #expect(watcher.progress == "Hello world")
        #expect(result.tokensIn == 125 && result.tokensCached == 2_000 && result.tokensOut == 15)
        // 125 × 3 + 15 × 15 + 2000 × 0.3 micro-dollars.
        #expect(result.costMicroUSD == 375 + 225 + 600)
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/messages")
        #expect(request.headers["x-api-key"] == testSecret)
        #expect(request.headers["anthropic-version"] == "2023-06-01")
        #expect(request.headers["authorization"] == nil)
        let body = try JSONValue.parse(request.body)
        #expect(
            body["max_tokens"]?.intValue == 8_192 && body["stream"] == .bool(true)
                && body["model"]?.stringValue == "claude-sonnet-4-5"
        )
    }

    @Test(arguments: [
        (429, "rate_limit_error", "rate_limited", ProviderErrorClass.rateLimited),
        (401, "authentication_error", "authentication", .permanent),
        (403, "permission_error", "authentication", .permanent),
        (404, "not_found_error", "unknown_model", .permanent),
        (400, "invalid_request_error", "bad_request", .permanent),
        (500, "api_error", "server", .transient),
        (529, "overloaded_error", "server", .transient),
    ])
    func errorStatuses(status: Int, type: String, reason: String, errorClass: ProviderErrorClass) throws {
        let server = try LoopbackHTTPServer { _ in
            .json(
                status,
                #"{"type":"error","error":{"type":"\#(type)","message":"model: nope (\#(type))"}}"#,
                headers: status == 429 ? [("retry-after", "30")] : []
            )
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "nope", context: context())
        #expect(
            result.errorReason == reason && result.errorClass == errorClass,
            "\(status) \(type): \(result.errorMessage ?? "")"
        )
        if status == 429 { #expect(result.retryAfterMs == 30_000) }
    }

    @Test func anOverloadedErrorEventMidStream() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream(
                Array(Self.success.prefix(4)) + [
                    Self.event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
                ]
            )
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "claude-sonnet-4-5", context: context())
        #expect(result.errorClass == .transient && result.errorReason == "server")
        #expect(result.errorMessage?.contains("overloaded_error") == true)
    }

    @Test func malformedEventData() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([Self.success[0], Self.event("content_block_delta", #"{"type":"content_block_delta","delta":{"#)])
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "claude-sonnet-4-5", context: context())
        #expect(result.errorReason == "malformed_response" && result.errorClass == .transient)
    }

    @Test func aStreamCutBeforeMessageStop() throws {
        let server = try LoopbackHTTPServer { _ in .stream(Array(Self.success.prefix(5)), cut: true) }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "claude-sonnet-4-5", context: context())
        #expect(result.errorClass == .transient && result.output == nil)
        #expect(
            result.errorReason == "truncated_stream" || result.errorReason == "network",
            "\(result.errorReason ?? "")"
        )
    }
}
