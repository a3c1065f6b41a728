import Foundation
import LoomEngine
import LoomValues
import Testing

@testable import LoomProviders

/// Ollama's /api/chat against a loopback double that streams its NDJSON.
@Suite(.serialized) struct OllamaBackendTests {
    static func line(_ content: String) -> String {
        #"{"model":"qwen2.5-coder","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":\#(JSONValue.string(content).canonicalText)},"done":false}"#
            + "\n"
    }

    static let last =
        #"{"model":"qwen2.5-coder","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"#
        + "\n"

    func backend(_ server: LoopbackHTTPServer) -> OllamaBackend {
        OllamaBackend(providerName: "ollama", settings: settings(.ollama, baseURL: server.baseURL))
    }

    @Test func aStreamedAnswerWithEvalCounts() throws {
        // Split a line across chunks: the decoder must not care where chunks end.
        let first = Self.line("def add(a, b):")
        let server = try LoopbackHTTPServer { _ in
            .stream(
                [String(first.prefix(30)), String(first.dropFirst(30)), Self.line("\n    return a + b"), Self.last],
                contentType: "application/x-ndjson"
            )
        }
        defer { server.stop() }
        let watcher = SpawnWatcher()
        let result = backend(server).spawn(makeRequest(), model: "qwen2.5-coder", context: watcher.context())
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "def add(a, b):\n    return a + b")
        #expect(watcher.progress == result.output)
        #expect(result.tokensIn == 26 && result.tokensOut == 282 && result.costMicroUSD == 0)
        let request = try #require(server.requests.first)
        #expect(request.path == "/api/chat")
        #expect(try JSONValue.parse(request.body)["stream"] == .bool(true))
    }

    @Test func anUnknownModel() throws {
        let server = try LoopbackHTTPServer { _ in
            .json(404, #"{"error":"model \"nope\" not found, try pulling it first"}"#)
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "nope", context: SpawnWatcher().context())
        #expect(result.errorReason == "unknown_model" && result.errorClass == .permanent)
        #expect(result.errorMessage?.contains("try pulling it first") == true)
    }

    @Test func serverErrorAndErrorLines() throws {
        let server = try LoopbackHTTPServer { request in
            request.body.contains("\"broken\"")
                ? .json(500, #"{"error":"llama runner process has terminated"}"#)
                : .stream(
                    [Self.line("Hi"), #"{"error":"an error was encountered while running the model"}"# + "\n"],
                    contentType: "application/x-ndjson"
                )
        }
        defer { server.stop() }
        let failed = backend(server).spawn(makeRequest(), model: "broken", context: SpawnWatcher().context())
        #expect(failed.errorReason == "server" && failed.errorClass == .transient)
        let midStream = backend(server).spawn(makeRequest(), model: "qwen", context: SpawnWatcher().context())
        #expect(midStream.errorReason == "server" && midStream.errorClass == .transient)
    }

    @Test func malformedLine() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([Self.line("Hi"), "{not json}\n", Self.last], contentType: "application/x-ndjson")
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "qwen", context: SpawnWatcher().context())
        #expect(result.errorReason == "malformed_response")
    }

    @Test func aStreamCutBeforeDone() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([Self.line("Hi"), Self.line(" there")], contentType: "application/x-ndjson", cut: true)
        }
        defer { server.stop() }
        let result = backend(server).spawn(makeRequest(), model: "qwen", context: SpawnWatcher().context())
        #expect(result.errorClass == .transient && result.output == nil)
        #expect(
            result.errorReason == "truncated_stream" || result.errorReason == "network",
            "\(result.errorReason ?? "")"
        )
    }
}
