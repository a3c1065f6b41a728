import LoomConfiguration
import LoomEngine

/// What every HTTP backend checks before it sends anything: that its settings name a base
/// URL, and that the API key they name is known. Failures come back as the result to return.
struct HTTPEndpoint {
    let baseURL: String
    /// The key, when the settings name one (or `defaultSecret` does).
    let key: String?

    static func resolve(
        _ settings: ProviderSettings,
        provider: String,
        model: String,
        secrets: SecretsLookup,
        defaultSecret: String? = nil
    ) -> Result<HTTPEndpoint, AgentResultFailure> {
        guard let baseURL = settings.baseURL else {
            return .failure(
                AgentResultFailure(
                    .failure(.configuration, "\(provider) has no baseURL", provider: provider, model: model)
                )
            )
        }
        guard let secretName = settings.apiKeySecret ?? defaultSecret else {
            return .success(HTTPEndpoint(baseURL: baseURL, key: nil))
        }
        guard let key = secrets.value(secretName) else {
            return .failure(
                AgentResultFailure(
                    .failure(
                        .missingSecret,
                        "\(provider) needs the secret \(secretName): set it with `loomctl secrets set \(secretName)` or in loomd's environment",
                        provider: provider,
                        model: model
                    )
                )
            )
        }
        return .success(HTTPEndpoint(baseURL: baseURL, key: key))
    }
}
