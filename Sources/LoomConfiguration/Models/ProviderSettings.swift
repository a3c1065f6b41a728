import LoomValues

/// How to reach one provider: its kind (which backend speaks to it) and that backend's
/// settings. The built-in providers need no settings; `models.json` may override them or
/// add providers of its own (a llama.cpp server is `{"kind": "openai", "baseURL":
/// "http://127.0.0.1:8080/v1"}` under a name of its choosing).
public struct ProviderSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case claudeCode = "claude-code"
        case openai, openrouter, anthropic, ollama, aider, opencode, command, scripted
    }

    public var kind: Kind
    /// HTTP backends: where the API lives (`https://openrouter.ai/api/v1`).
    public var baseURL: String?
    /// The name of the secret holding the API key (never the key itself).
    public var apiKeySecret: String?
    /// Program backends: the executable (a name looked up on PATH, or a path).
    public var executable: String?
    /// Program backends: extra arguments, after the backend's own.
    public var arguments: [String] = []
    /// Secrets given to a program backend's environment under their own names.
    public var secretEnvironment: [String] = []
    /// The answer's token cap (required by the Anthropic API; optional elsewhere).
    public var maxTokens: Int?
    /// Sampling temperature, when set (0 makes a local model's answers repeatable).
    public var temperature: Double?
    /// Claude Code's `--permission-mode` (`acceptEdits`, `bypassPermissions`, …).
    public var permissionMode: String?
    /// The Anthropic API version header.
    public var apiVersion: String?
    /// The scripted provider's script file.
    public var script: String?
    /// The model's context window in tokens, as the operator states it (over what the server
    /// says and the kind's default: `ContextBudget`).
    public var contextTokens: Int?
    /// How many spawns may talk to this provider's endpoint at once (`EndpointSlots`); nil:
    /// the kind's default (1 for a local server, the effect pool's size for hosted APIs).
    public var maxConcurrent: Int?
    /// Per model: its own `contextTokens` and `maxTokens`, over the provider's.
    public var models: [String: ModelLimits] = [:]

    /// One model's window and answer budget, as the operator states them.
    public struct ModelLimits: Sendable, Equatable {
        public var contextTokens: Int?
        public var maxTokens: Int?
        public init(contextTokens: Int? = nil, maxTokens: Int? = nil) {
            self.contextTokens = contextTokens
            self.maxTokens = maxTokens
        }
    }

    /// Bounds on the numbers above (a window of a billion tokens is a typo).
    public static let contextTokensRange = 256...10_000_000
    public static let maxConcurrentRange = 1...256
    public static let modelsMax = 64

    public init(kind: Kind) {
        self.kind = kind
    }

    /// The providers every installation knows, by name.
    public static let builtIn: [String: ProviderSettings] = {
        var table: [String: ProviderSettings] = [:]
        var claude = ProviderSettings(kind: .claudeCode)
        claude.executable = "claude"
        // `claude -p` refuses edits it cannot ask about; an implementer must edit. It works in
        // the task's own worktree, and delivery commits only the tree that was reviewed.
        claude.permissionMode = "acceptEdits"
        table["claude-code"] = claude
        func endpoint(_ kind: Kind, _ baseURL: String, secret: String? = nil) -> ProviderSettings {
            var settings = ProviderSettings(kind: kind)
            settings.baseURL = baseURL
            settings.apiKeySecret = secret
            return settings
        }
        func program(_ kind: Kind, _ executable: String) -> ProviderSettings {
            var settings = ProviderSettings(kind: kind)
            settings.executable = executable
            return settings
        }
        table["openai"] = endpoint(.openai, "https://api.openai.com/v1", secret: "OPENAI_API_KEY")
        table["openrouter"] = endpoint(.openrouter, "https://openrouter.ai/api/v1", secret: "OPENROUTER_API_KEY")
        var anthropic = endpoint(.anthropic, "https://api.anthropic.com", secret: "ANTHROPIC_API_KEY")
        anthropic.apiVersion = "2023-06-01"
        anthropic.maxTokens = 8_192
        table["anthropic"] = anthropic
        table["ollama"] = endpoint(.ollama, "http://127.0.0.1:11434")
        table["aider"] = program(.aider, "aider")
        table["opencode"] = program(.opencode, "opencode")
        table["command"] = ProviderSettings(kind: .command)
        table["scripted"] = ProviderSettings(kind: .scripted)
        return table
    }()

    /// Every key of a provider's settings in models.json (docs/CONFIG.md lists each).
    public static let settingNames: Set<String> = [
        "kind", "baseURL", "apiKeySecret", "executable", "arguments", "secretEnvironment", "maxTokens",
        "temperature", "permissionMode", "apiVersion", "script", "contextTokens", "maxConcurrent", "models",
    ]

    /// Settings from `models.json`, over the built-in ones of the same name (if any).
    package static func parse(
        _ json: JSONValue,
        name: String,
        path: String
    ) throws(ProviderConfigurationError) -> ProviderSettings {
        func fail(_ message: String) -> ProviderConfigurationError {
            ProviderConfigurationError(
                .invalidValue,
                "\(path): providers.\(name): \(message)",
                context: "loading models"
            )
        }
        guard let object = json.objectValue else { throw fail("must be an object") }
        if let unknown = object.keys.sorted().first(where: { !settingNames.contains($0) }) {
            throw fail("unknown setting '\(unknown)'; known: \(settingNames.sorted().joined(separator: ", "))")
        }
        var settings: ProviderSettings
        if let kindName = object["kind"] {
            guard let kind = kindName.stringValue.flatMap(Kind.init(rawValue:)) else {
                throw fail("kind must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings = builtIn[name].flatMap { $0.kind == kind ? $0 : nil } ?? ProviderSettings(kind: kind)
        } else if let known = builtIn[name] {
            settings = known
        } else {
            throw fail("a provider that is not built in needs a kind")
        }
        func string(_ key: String) throws(ProviderConfigurationError) -> String? {
            guard let value = object[key] else { return nil }
            guard let text = value.stringValue, !text.isEmpty else { throw fail("\(key) must be a non-empty string") }
            return text
        }
        func strings(_ key: String) throws(ProviderConfigurationError) -> [String]? {
            guard let value = object[key] else { return nil }
            guard let list = value.arrayValue?.compactMap(\.stringValue), list.count == value.arrayValue?.count,
                list.count <= 64
            else {
                throw fail("\(key) must be a list of at most 64 strings")
            }
            return list
        }
        if let value = try string("baseURL") {
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw fail("baseURL must start with http:// or https://")
            }
            settings.baseURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let value = try string("apiKeySecret") {
            guard SecretsFile.isValidName(value) else {
                throw fail("apiKeySecret names a secret (A-Z, 0-9, _), it is not the key itself")
            }
            settings.apiKeySecret = value
        }
        if let value = try string("executable") { settings.executable = value }
        if let value = try strings("arguments") { settings.arguments = value }
        if let value = try strings("secretEnvironment") {
            guard value.allSatisfy(SecretsFile.isValidName) else {
                throw fail("secretEnvironment lists secret names (A-Z, 0-9, _)")
            }
            settings.secretEnvironment = value
        }
        if let value = object["maxTokens"] {
            guard let number = value.intValue, number >= 1, number <= 1_000_000 else {
                throw fail("maxTokens must be an integer in 1...1000000")
            }
            settings.maxTokens = Int(number)
        }
        if let value = object["temperature"] {
            guard let number = value.doubleValue, number >= 0, number <= 2 else {
                throw fail("temperature must be a number in 0...2")
            }
            settings.temperature = number
        }
        func integer(
            _ key: String,
            in range: ClosedRange<Int>,
            of members: [String: JSONValue],
            at place: String
        ) throws(ProviderConfigurationError) -> Int? {
            guard let value = members[key] else { return nil }
            guard let number = value.intValue, range.contains(Int(number)) else {
                throw fail("\(place)\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(number)
        }
        if let value = try integer("contextTokens", in: contextTokensRange, of: object, at: "") {
            settings.contextTokens = value
        }
        if let value = try integer("maxConcurrent", in: maxConcurrentRange, of: object, at: "") {
            settings.maxConcurrent = value
        }
        if let value = object["models"] {
            guard let members = value.objectValue, members.count <= modelsMax else {
                throw fail("models must be an object of at most \(modelsMax) models")
            }
            for (model, item) in members {
                guard let limits = item.objectValue, !model.isEmpty else {
                    throw fail("models.\(model) must be an object")
                }
                if let unknown = limits.keys.sorted().first(where: { $0 != "contextTokens" && $0 != "maxTokens" }) {
                    throw fail("models.\(model): unknown setting '\(unknown)'; known: contextTokens, maxTokens")
                }
                settings.models[model] = ModelLimits(
                    contextTokens: try integer(
                        "contextTokens",
                        in: contextTokensRange,
                        of: limits,
                        at: "models.\(model)."
                    ),
                    maxTokens: try integer("maxTokens", in: 1...1_000_000, of: limits, at: "models.\(model).")
                )
            }
        }
        if let value = try string("permissionMode") { settings.permissionMode = value }
        if let value = try string("apiVersion") { settings.apiVersion = value }
        if let value = try string("script") { settings.script = value }
        return settings
    }

    var json: JSONValue {
        var object: [String: JSONValue] = ["kind": .string(kind.rawValue)]
        if let baseURL { object["baseURL"] = .string(baseURL) }
        if let apiKeySecret { object["apiKeySecret"] = .string(apiKeySecret) }
        if let executable { object["executable"] = .string(executable) }
        if !arguments.isEmpty { object["arguments"] = .array(arguments.map { .string($0) }) }
        if !secretEnvironment.isEmpty { object["secretEnvironment"] = .array(secretEnvironment.map { .string($0) }) }
        if let maxTokens { object["maxTokens"] = .int(Int64(maxTokens)) }
        if let temperature { object["temperature"] = .double(temperature) }
        if let permissionMode { object["permissionMode"] = .string(permissionMode) }
        if let apiVersion { object["apiVersion"] = .string(apiVersion) }
        if let script { object["script"] = .string(script) }
        if let contextTokens { object["contextTokens"] = .int(Int64(contextTokens)) }
        if let maxConcurrent { object["maxConcurrent"] = .int(Int64(maxConcurrent)) }
        if !models.isEmpty {
            object["models"] = .object(
                models.mapValues { limits in
                    var entry: [String: JSONValue] = [:]
                    if let value = limits.contextTokens { entry["contextTokens"] = .int(Int64(value)) }
                    if let value = limits.maxTokens { entry["maxTokens"] = .int(Int64(value)) }
                    return .object(entry)
                }
            )
        }
        return .object(object)
    }
}
