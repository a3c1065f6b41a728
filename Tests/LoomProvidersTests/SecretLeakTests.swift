import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// Every backend, driven into the places a key could escape through (an error body that
/// quotes the request's credentials, an answer that repeats them, a program that prints
/// its environment), and the whole of what came back searched for the key.
@Suite(.serialized) struct SecretLeakTests {
    @Test func noArtefactOfAnySpawnHoldsTheKey() throws {
        // A server that echoes every credential header it got, in every shape it answers with.
        let echo = try LoopbackHTTPServer(connectionsMax: 16) { request in
            let credentials = "\(request.headers["authorization"] ?? "") \(request.headers["x-api-key"] ?? "")"
            switch request.path {
            case "/v1/chat/completions" where request.body.contains("\"fail\""):
                return .json(
                    401,
                    #"{"error":{"message":"Incorrect API key provided: \#(credentials)","code":"invalid_api_key"}}"#
                )
            case "/v1/chat/completions":
                return .stream([OpenAICompatibleBackendTests.chunk("your key is \(credentials)"), "data: [DONE]\n\n"])
            case "/v1/messages" where request.body.contains("\"fail\""):
                return .json(
                    403,
                    #"{"type":"error","error":{"type":"permission_error","message":"key \#(credentials) may not"}}"#
                )
            case "/v1/messages":
                return .stream([
                    AnthropicBackendTests.success[0],
                    AnthropicBackendTests.event(
                        "content_block_delta",
                        #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"echo \#(credentials)"}}"#
                    ),
                    AnthropicBackendTests.event(
                        "error",
                        #"{"type":"error","error":{"type":"api_error","message":"\#(credentials)"}}"#
                    ),
                ])
            case "/api/chat":
                return .stream(
                    [OllamaBackendTests.line("key: \(credentials)"), OllamaBackendTests.last],
                    contentType: "application/x-ndjson"
                )
            default:
                return .json(404, #"{"error":"\#(credentials)"}"#)
            }
        }
        defer { echo.stop() }
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let leaky = directory.write(
            "leaky",
            "#!/bin/sh\ncat >/dev/null\necho \"stdout $LEAK_API_KEY\"\necho \"stderr $LEAK_API_KEY\" >&2\n[ \"$1\" = fail ] && exit 3\nexit 0\n",
            mode: 0o755
        )

        var openai = settings(.openai, baseURL: "\(echo.baseURL)/v1", secret: "LEAK_API_KEY")
        openai.maxTokens = 64
        var anthropic = settings(.anthropic, baseURL: echo.baseURL, secret: "LEAK_API_KEY")
        anthropic.apiVersion = "2023-06-01"
        let ollama = settings(.ollama, baseURL: echo.baseURL, secret: "LEAK_API_KEY")
        var command = ProviderSettings(kind: .command)
        command.secretEnvironment = ["LEAK_API_KEY"]

        let backends: [(any SpawnBackend, String)] = [
            (OpenAICompatibleBackend(providerName: "openai", settings: openai), "gpt"),
            (OpenAICompatibleBackend(providerName: "openai", settings: openai), "fail"),
            (AnthropicBackend(providerName: "anthropic", settings: anthropic), "claude"),
            (AnthropicBackend(providerName: "anthropic", settings: anthropic), "fail"),
            (OllamaBackend(providerName: "ollama", settings: ollama), "qwen"),
            (CommandBackend(settings: command), leaky),
            (CommandBackend(settings: command), "\(leaky) fail"),
        ]
        let watcher = SpawnWatcher()
        var artefacts: [String] = []
        for (backend, model) in backends {
            let result = backend.spawn(
                makeRequest(),
                model: model,
                context: watcher.context(directory: directory.path, secrets: ["LEAK_API_KEY": testSecret])
            )
            artefacts.append(everything(result))
        }
        // The fallback path too: its message strings every failure together.
        var models = ModelsConfiguration()
        models.providers["echo"] = openai
        models.providers["echo2"] = anthropic
        try models.setChain(
            "implementer",
            [ModelReference(provider: "echo", model: "fail"), ModelReference(provider: "echo2", model: "fail")]
        )
        artefacts.append(
            everything(
                ModelRouter(configuration: models).spawn(
                    makeRequest(),
                    context: watcher.context(secrets: ["LEAK_API_KEY": testSecret])
                )
            )
        )
        artefacts.append(watcher.progress)

        let all = artefacts.joined(separator: "\n")
        // The echoes did happen (so the check below means something) …
        #expect(all.components(separatedBy: SecretsLookup.placeholder).count - 1 >= 8, "\(all)")
        // … and the key is in none of them.
        #expect(!all.contains(testSecret))
    }
}
