import LoomValues

/// Which models a spawn may use: `models.json` in loomd's state directory.
///
/// ```json
/// {"version": 1,
///  "default": ["claude-code"],
///  "tiers": {"fast": ["ollama:qwen2.5-coder"], "premium": ["anthropic:claude-opus-4-1"]},
///  "roles": {"implementer": ["openrouter:deepseek/deepseek-chat", "ollama:qwen2.5-coder"]},
///  "providers": {"local": {"kind": "openai", "baseURL": "http://127.0.0.1:8080/v1"}}}
/// ```
///
/// A spawn's chain is its role's chain when one is set (a role is an agent's name in the
/// bundle), else its tier's (the bundle's `fast`, `balanced` or `premium`), else the
/// default chain. Without a file the default chain is Claude Code, as upstream.
public struct ModelsConfiguration: Sendable, Equatable {
    public static let fileName = "models.json"
    public static let tierNames = ["fast", "balanced", "premium"]
    /// Every top-level key of models.json (docs/CONFIG.md lists each).
    public static let settingNames: Set<String> = ["version", "default", "tiers", "roles", "providers"]

    /// The name `loomctl models set` uses for the default chain.
    public static let defaultName = "default"
    public static let chainLengthMax = 8
    public static let rolesMax = 256
    public static let providersMax = 64

    public var defaultChain: [ModelReference] = [ModelReference(provider: "claude-code", model: "")]
    public var tiers: [String: [ModelReference]] = [:]
    public var roles: [String: [ModelReference]] = [:]
    /// Settings over the built-in providers, and providers of the user's own.
    public var providers: [String: ProviderSettings] = [:]

    public init() {}

    /// Where a chain came from, for `models list` and for error messages.
    public enum ChainSource: Sendable, Equatable, CustomStringConvertible {
        case role(String)
        case tier(String)
        case fallback
        public var description: String {
            switch self {
            case .role(let name): "role \(name)"
            case .tier(let name): "tier \(name)"
            case .fallback: "the default chain"
            }
        }
    }

    /// The chain a spawn walks: role, then tier, then default.
    public func chain(role: String, tier: String?) -> (chain: [ModelReference], source: ChainSource) {
        if let chain = roles[role], !chain.isEmpty { return (chain, .role(role)) }
        if let tier, let chain = tiers[tier], !chain.isEmpty { return (chain, .tier(tier)) }
        return (defaultChain, .fallback)
    }

    /// The settings a provider name resolves to: the file's, else the built-in ones.
    public func settings(for provider: String) -> ProviderSettings? {
        providers[provider] ?? ProviderSettings.builtIn[provider]
    }

    /// Sets a chain by name: `default`, a tier name, or else a role.
    public mutating func setChain(_ name: String, _ chain: [ModelReference]) throws(ProviderConfigurationError) {
        try validate(chain: chain, at: name)
        if name == Self.defaultName {
            defaultChain = chain
        } else if Self.tierNames.contains(name) {
            tiers[name] = chain
        } else {
            guard Self.isValidRoleName(name) else {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "'\(name)' is not a tier (\(Self.tierNames.joined(separator: ", "))), '\(Self.defaultName)', or a role name (a-z, 0-9, -, _)",
                    context: "setting a chain"
                )
            }
            guard roles[name] != nil || roles.count < Self.rolesMax else {
                throw ProviderConfigurationError(
                    .tooLarge,
                    "at most \(Self.rolesMax) roles can have their own chain",
                    context: "setting a chain"
                )
            }
            roles[name] = chain
        }
    }

    /// Every chain well formed and naming providers that exist.
    public func validate() throws(ProviderConfigurationError) {
        try validate(chain: defaultChain, at: Self.defaultName)
        for (name, chain) in tiers {
            guard Self.tierNames.contains(name) else {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "'\(name)' is not a tier; tiers are \(Self.tierNames.joined(separator: ", "))",
                    context: "validating models"
                )
            }
            try validate(chain: chain, at: "tiers.\(name)")
        }
        for (name, chain) in roles {
            guard Self.isValidRoleName(name) else {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "'\(name)' is not a valid role name (a-z, 0-9, -, _)",
                    context: "validating models"
                )
            }
            try validate(chain: chain, at: "roles.\(name)")
        }
    }

    private func validate(chain: [ModelReference], at name: String) throws(ProviderConfigurationError) {
        guard !chain.isEmpty, chain.count <= Self.chainLengthMax else {
            throw ProviderConfigurationError(
                .invalidValue,
                "\(name): a chain holds 1 to \(Self.chainLengthMax) models",
                context: "validating models"
            )
        }
        for reference in chain {
            guard let settings = settings(for: reference.provider) else {
                let known = Set(ProviderSettings.builtIn.keys).union(providers.keys).sorted()
                throw ProviderConfigurationError(
                    .invalidValue,
                    "\(name): unknown provider '\(reference.provider)' in \(reference); known: \(known.joined(separator: ", "))",
                    context: "validating models"
                )
            }
            let modelOptional: Set<ProviderSettings.Kind> = [.claudeCode, .aider, .opencode, .scripted]
            if reference.model.isEmpty && !modelOptional.contains(settings.kind) {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "\(name): \(reference.provider) needs a model, as in \(reference.provider):MODEL",
                    context: "validating models"
                )
            }
        }
    }

    package static func isValidRoleName(_ name: String) -> Bool { ModelReference.isValidProviderName(name) }
}

extension ModelsConfiguration {
    /// `models.json` in `stateDirectory`; the defaults when there is none.
    public static func load(stateDirectory: String) throws(ProviderConfigurationError) -> ModelsConfiguration {
        try load(path: "\(stateDirectory)/\(fileName)")
    }

    public static func load(path: String) throws(ProviderConfigurationError) -> ModelsConfiguration {
        guard let text = try ConfigurationFile.read(path) else { return ModelsConfiguration() }
        return try parse(text, path: path)
    }

    /// Parses and validates; unknown keys are errors (a typo must not pass silently).
    public static func parse(_ text: String, path: String) throws(ProviderConfigurationError) -> ModelsConfiguration {
        let object = try ConfigurationFile.parseObject(text, path: path)
        func fail(_ message: String) -> ProviderConfigurationError {
            ProviderConfigurationError(.invalidValue, "\(path): \(message)", context: "loading models")
        }
        let known = Self.settingNames
        if object["sandbox"] != nil {
            throw fail(
                "'sandbox' is no longer a models setting: every task process is confined by loomd (bwrap by default; the operator's `confinement` setting); remove it"
            )
        }
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown setting '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
        if let version = object["version"], version.intValue != 1 { throw fail("version must be 1") }
        func chain(_ value: JSONValue, at name: String) throws(ProviderConfigurationError) -> [ModelReference] {
            guard let items = value.arrayValue, items.count <= chainLengthMax else {
                throw fail("\(name) must be a list of at most \(chainLengthMax) model references")
            }
            var references: [ModelReference] = []
            for item in items {
                guard let text = item.stringValue else { throw fail("\(name) must list strings (provider:model)") }
                do { references.append(try ModelReference(parsing: text)) } catch {
                    throw fail("\(name): \(error.message)")
                }
            }
            return references
        }
        func chains(_ key: String, max: Int) throws(ProviderConfigurationError) -> [String: [ModelReference]] {
            guard let value = object[key] else { return [:] }
            guard let members = value.objectValue, members.count <= max else {
                throw fail("\(key) must be an object of at most \(max) chains")
            }
            var result: [String: [ModelReference]] = [:]
            for (name, item) in members { result[name] = try chain(item, at: "\(key).\(name)") }
            return result
        }
        var configuration = ModelsConfiguration()
        if let value = object["default"] { configuration.defaultChain = try chain(value, at: "default") }
        configuration.tiers = try chains("tiers", max: tierNames.count)
        configuration.roles = try chains("roles", max: rolesMax)
        if let value = object["providers"] {
            guard let members = value.objectValue, members.count <= providersMax else {
                throw fail("providers must be an object of at most \(providersMax) providers")
            }
            for (name, item) in members {
                guard ModelReference.isValidProviderName(name) else {
                    throw fail("'\(name)' is not a valid provider name (a-z, 0-9, -, _)")
                }
                configuration.providers[name] = try ProviderSettings.parse(item, name: name, path: path)
            }
        }
        do { try configuration.validate() } catch { throw fail(error.message) }
        return configuration
    }

    public var json: JSONValue {
        func chain(_ references: [ModelReference]) -> JSONValue { .array(references.map { .string($0.description) }) }
        var object: [String: JSONValue] = ["version": .int(1), "default": chain(defaultChain)]
        if !tiers.isEmpty { object["tiers"] = .object(tiers.mapValues(chain)) }
        if !roles.isEmpty { object["roles"] = .object(roles.mapValues(chain)) }
        if !providers.isEmpty { object["providers"] = .object(providers.mapValues(\.json)) }
        return .object(object)
    }

    /// Validates, then writes the file atomically (mode 0640: it holds no secret).
    public func save(path: String) throws(ProviderConfigurationError) {
        try validate()
        try ConfigurationFile.writeAtomically(path, json.prettyText + "\n", mode: 0o640)
    }
}
