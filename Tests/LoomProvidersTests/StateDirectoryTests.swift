import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// The path the daemon takes: everything loaded from a state directory (models.json,
/// prices.json, secrets.json), then one spawn through the router.
@Suite(.serialized) struct StateDirectoryTests {
    @Test func loadedFromTheStateDirectoryAndPricedByTheTable() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream([OllamaBackendTests.line("ok"), OllamaBackendTests.last], contentType: "application/x-ndjson")
        }
        defer { server.stop() }
        let state = TemporaryDirectory()
        defer { state.remove() }
        _ = state.write(
            "models.json",
            """
            {"version": 1, "default": ["claude-code"], "tiers": {"fast": ["lan:qwen2.5-coder"]},
             "providers": {"lan": {"kind": "ollama", "baseURL": "\(server.baseURL)", "apiKeySecret": "LAN_TOKEN"}}}
            """
        )
        _ = state.write(
            "prices.json",
            #"{"version": 1, "prices": {"lan:qwen2.5-coder": {"input": 1.0, "output": 2.0}}}"#
        )
        try SecretsFile(stateDirectory: state.path).set("LAN_TOKEN", value: testSecret)

        let router = try ModelRouter.load(stateDirectory: state.path)
        let secrets = try SecretsLookup.load(stateDirectory: state.path, environment: [:])
        let context = SpawnContext(workingDirectory: state.path, secrets: secrets, confinement: .unconfined)
        let result = router.spawn(makeRequest(role: "reviewer", tier: "fast"), context: context)
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.provider == "lan" && result.model == "qwen2.5-coder")
        // 26 in × 1 + 282 out × 2 micro-dollars.
        #expect(result.costMicroUSD == 26 + 564)
        #expect(server.requests.first?.headers["authorization"] == "Bearer \(testSecret)")
    }

    @Test func aBrokenFileIsAClearError() throws {
        let state = TemporaryDirectory()
        defer { state.remove() }
        _ = state.write("prices.json", #"{"version": 1, "prices": {"m": {"input": "cheap", "output": 1}}}"#)
        #expect {
            _ = try ModelRouter.load(stateDirectory: state.path)
        } throws: { error in
            (error as? ProviderConfigurationError)?.message.contains("m.input must be a non-negative number") == true
        }
    }
}
