import Foundation
import LoomEngine
import Testing

@testable import LoomProviders

/// A real model on loopback: llama.cpp's OpenAI-compatible server with SmolLM2-135M.
/// Opt-in, because its first install compiles llama.cpp for minutes: it runs when
/// `LOOM_LOCAL_MODEL_URL` names a running server (`scripts/local-model start` prints it),
/// and says why it skipped otherwise. It checks shapes, streaming, accounting and errors,
/// not the model's wisdom.
@Suite(.serialized) struct LocalModelTests {
    static let url = ProcessInfo.processInfo.environment["LOOM_LOCAL_MODEL_URL"]

    func backend(_ url: String) -> OpenAICompatibleBackend {
        var local = settings(.openai, baseURL: url)
        local.temperature = 0
        local.maxTokens = 24
        return OpenAICompatibleBackend(providerName: "local", settings: local)
    }

    @Test func aStreamedAnswerFromARealModel() throws {
        guard let url = Self.url else {
            print("SKIPPED local model test: set LOOM_LOCAL_MODEL_URL (run scripts/local-model start to get one)")
            return
        }
        let watcher = SpawnWatcher()
        let result = backend(url).spawn(
            makeRequest(prompt: "Say hello in one short sentence."),
            model: "smollm2",
            context: watcher.context()
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(!(result.output ?? "").isEmpty)
        // Every streamed piece reached the progress callback, in order.
        #expect(watcher.progress == result.output)
        // llama.cpp's server sends no usage in a stream (only non-streaming answers carry
        // it), so the tokens are whatever it reported: none; a local model costs nothing.
        #expect(result.tokensIn >= 0 && result.tokensOut >= 0 && result.costMicroUSD == 0)
        #expect(result.provider == "local" && result.model == "smollm2")
        // A second spawn on the same server works too (no state left from the first). Its
        // text may differ: llama.cpp's prompt cache makes temperature 0 not quite repeatable.
        let again = backend(url).spawn(
            makeRequest(prompt: "Say hello in one short sentence."),
            model: "smollm2",
            context: SpawnWatcher().context()
        )
        #expect(again.errorClass == nil && !(again.output ?? "").isEmpty, "\(again.errorMessage ?? "")")
    }

    @Test func aWrongPathIsAnUnknownModelAndALongAnswerHitsTheCap() throws {
        guard let url = Self.url else {
            print("SKIPPED local model test: set LOOM_LOCAL_MODEL_URL (run scripts/local-model start to get one)")
            return
        }
        let wrong = backend(url + "/no-such-api").spawn(
            makeRequest(),
            model: "smollm2",
            context: SpawnWatcher().context()
        )
        #expect(wrong.errorReason == "unknown_model" && wrong.errorClass == .permanent, "\(wrong.errorMessage ?? "")")
        let small = backend(url).spawn(
            makeRequest(prompt: "Count to one hundred.", outputMaxBytes: 8),
            model: "smollm2",
            context: SpawnWatcher().context()
        )
        #expect(small.errorReason == "output_too_large", "\(small.errorMessage ?? "")")
    }
}
