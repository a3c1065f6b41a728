import Foundation
import LoomConfiguration
import LoomEngine

@testable import LoomProviders

/// A key that must never show up in anything a spawn returns.
let testSecret = "sk-test-4f9c2b7e1d0a8c6b5e3f"

func makeRequest(
    role: String = "implementer",
    tier: String? = nil,
    prompt: String = "Say hello.",
    timeoutMs: Int = 20_000,
    idleTimeoutMs: Int = 10_000,
    outputMaxBytes: Int = 1 << 20
) -> AgentRequest {
    var limits = AgentRequest.Limits()
    limits.timeoutMs = timeoutMs
    limits.idleTimeoutMs = idleTimeoutMs
    limits.outputMaxBytes = outputMaxBytes
    return AgentRequest(
        taskID: "t1",
        step: "implement",
        role: role,
        prompt: prompt,
        modelTier: tier,
        iteration: 0,
        attempt: 1,
        limits: limits
    )
}

/// Collects progress text and child events from a spawn.
final class SpawnWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var pieces: [String] = []
    private var events: [SpawnContext.ChildEvent] = []

    var progress: String { lock.withLock { pieces.joined() } }
    var childEvents: [SpawnContext.ChildEvent] { lock.withLock { events } }

    func context(
        directory: String = NSTemporaryDirectory(),
        environment: [String: String] = SpawnContext.inheritedEnvironment(),
        secrets: [String: String] = [:],
        confinement: Confinement = .unconfined
    ) -> SpawnContext {
        SpawnContext(
            workingDirectory: directory,
            secrets: SecretsLookup(environment: [:], stored: secrets),
            confinement: confinement,
            environment: environment,
            onChild: { event in self.lock.withLock { self.events.append(event) } },
            onProgress: { text in self.lock.withLock { self.pieces.append(text) } }
        )
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/loom-providers-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func write(_ name: String, _ text: String, mode: Int = 0o644) -> String {
        let file = "\(path)/\(name)"
        FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The whole result as text, for "the secret appears nowhere" checks.
func everything(_ result: AgentResult) -> String { result.json.canonicalText }

func settings(_ kind: ProviderSettings.Kind, baseURL: String, secret: String? = nil) -> ProviderSettings {
    var settings = ProviderSettings(kind: kind)
    settings.baseURL = baseURL
    settings.apiKeySecret = secret
    return settings
}
