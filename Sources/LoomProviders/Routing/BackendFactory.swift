import LoomConfiguration
import LoomEngine

#if canImport(Glibc)
import Glibc
#endif

/// Builds the backend for a provider name from its settings: the one place that knows
/// which type speaks which kind.
public enum BackendFactory {
    public static func make(providerName: String, settings: ProviderSettings, prices: PriceTable) -> any SpawnBackend {
        switch settings.kind {
        case .claudeCode: return ClaudeCodeBackend(providerName: providerName, settings: settings)
        case .openai, .openrouter:
            return OpenAICompatibleBackend(providerName: providerName, settings: settings, prices: prices)
        case .anthropic: return AnthropicBackend(providerName: providerName, settings: settings, prices: prices)
        case .ollama: return OllamaBackend(providerName: providerName, settings: settings, prices: prices)
        case .aider: return AiderBackend(providerName: providerName, settings: settings)
        case .opencode: return OpenCodeBackend(providerName: providerName, settings: settings, prices: prices)
        case .command: return CommandBackend(providerName: providerName, settings: settings, prices: prices)
        case .scripted:
            guard let path = settings.script else {
                return UnavailableBackend(
                    providerName: providerName,
                    message:
                        "\(providerName) needs a script file (providers.\(providerName).script, or loomd --provider-script)"
                )
            }
            do {
                guard let text = try ConfigurationFile.read(path) else {
                    return UnavailableBackend(providerName: providerName, message: "the script \(path) does not exist")
                }
                return try ScriptedProvider(scriptText: text)
            } catch {
                return UnavailableBackend(
                    providerName: providerName,
                    message: "cannot load the script \(path): \(error)"
                )
            }
        }
    }
}

/// A provider that cannot work as configured: every spawn fails with the reason, so the
/// problem shows where the spawn's result is read.
struct UnavailableBackend: SpawnBackend {
    let providerName: String
    let message: String

    func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        .failure(.configuration, message, provider: providerName, model: model)
    }
}
