import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// models.json, secrets.json and prices.json: round trips and clear refusals.
@Suite(.serialized) struct ConfigurationFileTests {
    @Test func modelsRoundTrip() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var models = ModelsConfiguration()
        try models.setChain(
            "implementer",
            try ModelReference.parseChain("openrouter:deepseek/deepseek-chat,ollama:qwen2.5-coder:7b")
        )
        try models.setChain("premium", try ModelReference.parseChain("anthropic:claude-opus-4-1"))
        try models.save(path: "\(directory.path)/models.json")
        let loaded = try ModelsConfiguration.load(stateDirectory: directory.path)
        #expect(loaded == models)
        #expect(loaded.roles["implementer"]?.last == ModelReference(provider: "ollama", model: "qwen2.5-coder:7b"))
        // Without a file: Claude Code, as upstream.
        #expect(
            try ModelsConfiguration.load(stateDirectory: "\(directory.path)/none").defaultChain.map(\.description) == [
                "claude-code"
            ]
        )
    }

    @Test(arguments: [
        (#"{"defualt": ["claude-code"]}"#, "unknown setting 'defualt'"),
        (#"{"roles": {"implementer": ["nosuch:model"]}}"#, "unknown provider 'nosuch'"),
        (#"{"tiers": {"turbo": ["claude-code"]}}"#, "'turbo' is not a tier"),
        (#"{"roles": {"implementer": []}}"#, "a chain holds 1 to 8 models"),
        (#"{"roles": {"implementer": ["openrouter"]}}"#, "openrouter needs a model"),
        (#"{"sandbox": "none"}"#, "'sandbox' is no longer a models setting"),
        (#"{"providers": {"local": {"baseURL": "http://127.0.0.1:8080/v1"}}}"#, "needs a kind"),
        (#"{"providers": {"openai": {"apiKeySecret": "sk-live-abc"}}}"#, "names a secret"),
        ("{not json", "is not JSON"),
    ])
    func modelsRefusals(text: String, expected: String) {
        #expect {
            try ModelsConfiguration.parse(text, path: "/state/models.json")
        } throws: { error in
            let message = (error as? ProviderConfigurationError)?.message ?? ""
            return message.contains(expected) && message.contains("/state/models.json")
        }
    }

    @Test func setChainRefusesBadNamesAndLongChains() {
        var models = ModelsConfiguration()
        #expect(throws: ProviderConfigurationError.self) {
            try models.setChain("Bad Role", [ModelReference(provider: "claude-code", model: "")])
        }
        #expect(throws: ProviderConfigurationError.self) {
            try models.setChain(
                "implementer",
                Array(
                    repeating: ModelReference(provider: "claude-code", model: ""),
                    count: ModelsConfiguration.chainLengthMax + 1
                )
            )
        }
    }

    @Test func secretsAreWrittenPrivatelyAndAWorldReadableFileIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = SecretsFile(stateDirectory: directory.path)
        try file.set("OPENROUTER_API_KEY", value: testSecret)
        var info = stat()
        stat(file.path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try file.load() == ["OPENROUTER_API_KEY": testSecret])
        chmod(file.path, 0o644)
        #expect {
            try file.load()
        } throws: { error in
            let error = error as? ProviderConfigurationError
            return error?.code == .insecurePermissions && error?.message.contains("chmod 600") == true
                && error?.message.contains(testSecret) == false
        }
    }

    @Test func secretsRefuseBadNamesAndShortValues() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = SecretsFile(stateDirectory: directory.path)
        #expect(throws: ProviderConfigurationError.self) { try file.set("lower", value: testSecret) }
        #expect(throws: ProviderConfigurationError.self) { try file.set("SHORT", value: "abc") }
        #expect(throws: ProviderConfigurationError.self) { try file.set("NEWLINE", value: "abcdefgh\nijk") }
    }

    @Test func environmentWinsOverTheFileAndBothAreRedacted() {
        let secrets = SecretsLookup(
            environment: ["ANTHROPIC_API_KEY": "env-value-123456", "PATH": "/usr/bin"],
            stored: ["ANTHROPIC_API_KEY": "file-value-123456", "OTHER_TOKEN": testSecret]
        )
        #expect(secrets.value("ANTHROPIC_API_KEY") == "env-value-123456")
        #expect(secrets.value("OTHER_TOKEN") == testSecret)
        #expect(secrets.value("MISSING") == nil)
        let text = "a env-value-123456 b file-value-123456 c \(testSecret) d /usr/bin"
        #expect(secrets.redact(text) == "a [redacted] b [redacted] c [redacted] d /usr/bin")
    }

    @Test func pricesToMicroDollars() throws {
        let table = try PriceTable.parse(
            #"{"version": 1, "prices": {"anthropic:claude-sonnet-4-5": {"input": 3, "output": 15, "cachedInput": 0.3}, "gpt-4o-mini": {"input": 0.15, "output": 0.6}}}"#,
            path: "prices.json"
        )
        #expect(
            table.costMicroUSD(
                provider: "anthropic",
                model: "claude-sonnet-4-5",
                tokensIn: 1_000_000,
                tokensOut: 0,
                tokensCached: 0
            ) == 3_000_000
        )
        #expect(
            table.costMicroUSD(
                provider: "openrouter",
                model: "gpt-4o-mini",
                tokensIn: 1_000,
                tokensOut: 1_000,
                tokensCached: 1_000
            ) == 900
        )
        #expect(table.costMicroUSD(provider: "x", model: "unpriced", tokensIn: 1, tokensOut: 1, tokensCached: 0) == nil)
        #expect(PriceTable.microUSD(dollars: 0.0123456) == 12_346)
        #expect(throws: ProviderConfigurationError.self) {
            try PriceTable.parse(#"{"prices": {"m": {"input": -1, "output": 1}}}"#, path: "prices.json")
        }
    }
}
