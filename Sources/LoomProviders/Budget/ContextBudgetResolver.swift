import LoomConfiguration
import LoomEngine
import LoomSystem
import LoomValues

/// Finds a model's `ContextBudget`: the operator's figures first (the model's own entry in
/// the provider's `models`, then the provider's `contextTokens`), else what the server says,
/// else the kind's default.
///
/// Servers asked: an OpenAI-compatible server on this machine (`GET {root}/props`, llama.cpp's
/// `default_generation_settings.n_ctx`; then `GET {baseURL}/models`, vLLM's `max_model_len`)
/// and Ollama (`POST {baseURL}/api/show`: the model's `num_ctx` parameter, else its
/// `model_info` `*.context_length`, at most `ollamaWindowMax`: Ollama allocates what it is told).
/// Hosted APIs are not asked (none says). An answer is cached per base URL and model for
/// `cacheTtlMs` (a restarted server may run another window); a failed question is not
/// cached and costs at most `probeTimeoutMs`.
public enum ContextBudgetResolver {
    public static let probeTimeoutMs = 3_000
    public static let probeResponseMaxBytes = 1 << 20
    public static let cacheTtlMs = 60_000
    public static let cacheEntriesMax = 256
    public static let ollamaWindowMax = 32_768

    private static let lock = Lock()
    nonisolated(unsafe) private static var cache: [String: (window: Int, atMs: Int)] = [:]

    /// The budget for `model` of a provider with `settings`. `onChild` is told the probe's
    /// helper process like any other (the daemon records it).
    public static func budget(
        settings: ProviderSettings?,
        model: String,
        secrets: SecretsLookup = SecretsLookup(),
        onChild: @escaping @Sendable (SpawnContext.ChildEvent) -> Void = { _ in }
    ) -> ContextBudget {
        guard let settings else { return ContextBudget(contextTokens: 1 << 20, answerTokens: 0, source: .kindDefault) }
        let answerConfigured = settings.models[model]?.maxTokens ?? settings.maxTokens
        var fallback = ContextBudget.kindDefault(for: settings)
        if let answerConfigured { fallback.answerTokens = answerConfigured }
        func budget(window: Int, source: ContextBudget.Source) -> ContextBudget {
            ContextBudget(
                contextTokens: window,
                answerTokens: answerConfigured ?? min(4_096, window / 4),
                source: source
            )
        }
        if let window = settings.models[model]?.contextTokens ?? settings.contextTokens {
            return budget(window: window, source: .configured)
        }
        if let window = serverWindow(settings: settings, model: model, secrets: secrets, onChild: onChild) {
            return budget(window: window, source: .server)
        }
        return fallback
    }

    /// Forgets what servers said (tests; an operator who restarted a server need not wait).
    public static func forgetServers() { lock.withLock { cache.removeAll() } }

    static func serverWindow(
        settings: ProviderSettings,
        model: String,
        secrets: SecretsLookup,
        onChild: @escaping @Sendable (SpawnContext.ChildEvent) -> Void
    ) -> Int? {
        // The same key the calls carry (a llama-server started with --api-key, a proxied Ollama).
        guard case .success(let endpoint) = HTTPEndpoint.resolve(settings, provider: "", model: model, secrets: secrets)
        else { return nil }
        let baseURL = endpoint.baseURL
        let probes: [(url: String, method: String, body: JSONValue?, read: (JSONValue) -> Int?)]
        switch settings.kind {
        case .openai where ContextBudget.isLoopback(baseURL):
            let root = baseURL.hasSuffix("/v1") ? String(baseURL.dropLast(3)) : baseURL
            probes = [
                (
                    "\(root)/props", "GET", nil,
                    { json in
                        (json["default_generation_settings"]?["n_ctx"] ?? json["n_ctx"])?.intValue.map { Int($0) }
                    }
                ),
                (
                    "\(baseURL)/models", "GET", nil,
                    { json in
                        let entries: [JSONValue] = json["data"]?.arrayValue ?? []
                        var entry: JSONValue? = entries.count == 1 ? entries.first : nil
                        for candidate in entries where candidate["id"]?.stringValue == model { entry = candidate }
                        return entry?["max_model_len"]?.intValue.map { Int($0) }
                    }
                ),
            ]
        case .ollama:
            probes = [("\(baseURL)/api/show", "POST", .object(["model": .string(model)]), ollamaWindow)]
        default:
            return nil
        }
        let key = "\(baseURL)\u{0}\(model)"
        let now = MonotonicClock.milliseconds()
        if let hit = lock.withLock({ cache[key] }), now - hit.atMs < cacheTtlMs { return hit.window }
        for probe in probes {
            guard
                let json = fetch(
                    probe.url,
                    method: probe.method,
                    body: probe.body,
                    key: endpoint.key,
                    onChild: onChild
                ),
                let window = probe.read(json), ContextBudget.plausibleWindow.contains(window)
            else { continue }
            lock.withLock {
                if cache.count >= cacheEntriesMax { cache.removeAll() }
                cache[key] = (window, now)
            }
            return window
        }
        return nil
    }

    /// Ollama's `/api/show`: a `num_ctx` in the model's parameters is what it runs with;
    /// else the model's trained length (loom then asks for it with `options.num_ctx`).
    static func ollamaWindow(_ json: JSONValue) -> Int? {
        for line in (json["parameters"]?.stringValue ?? "").split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count == 2, words[0] == "num_ctx", let value = Int(words[1]) { return value }
        }
        let lengths = (json["model_info"]?.objectValue ?? [:]).filter { $0.key.hasSuffix(".context_length") }.compactMap
        { $0.value.intValue }
        return lengths.min().map { min(Int($0), ollamaWindowMax) }
    }

    private static func fetch(
        _ url: String,
        method: String,
        body: JSONValue?,
        key: String?,
        onChild: @escaping @Sendable (SpawnContext.ChildEvent) -> Void
    ) -> JSONValue? {
        let collected = ProbeBody()
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let outcome = StreamingHTTPClient.send(
            .init(url: url, method: method, headers: headers, body: body?.canonicalBytes() ?? []),
            limits: .init(
                timeoutMs: probeTimeoutMs,
                idleTimeoutMs: probeTimeoutMs,
                responseMaxBytes: probeResponseMaxBytes
            ),
            onChild: onChild,
            onChunk: { collected.append($0) }
        )
        guard outcome.failure == nil, let status = outcome.status, (200..<300).contains(status) else { return nil }
        return try? JSONValue.parse(collected.text)
    }
}

extension ContextBudget {
    /// A window a server reports is believed only within this range.
    static let plausibleWindow = 256...10_000_000
}

/// A probe's response body (bounded by the helper's response limit).
private final class ProbeBody: @unchecked Sendable {
    private let lock = Lock()
    private var bytes: [UInt8] = []
    func append(_ chunk: [UInt8]) -> Bool {
        lock.withLock { bytes += chunk }
        return true
    }
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}
