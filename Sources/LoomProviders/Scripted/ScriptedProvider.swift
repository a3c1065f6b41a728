import LoomEngine
import LoomSystem
import LoomValues

/// Deterministic agent answers from a script, for tests and the demo.
///
/// A script is JSON: `{"agents": {"<role>": [<answer>, …]}, "default": <answer>}`. The
/// answer for a spawn is the role's entry at the request's iteration (the last entry once
/// iterations run past the list). An answer is `{"output": <JSON value or text>,
/// "tokensIn": n, "tokensOut": n, "costMicroUSD": n, "delayMs": n, "edits": {"path": "text"
/// or null}}` (edits are written, or deleted for null, relative to the spawn's working
/// directory before it answers: an implementer that really edits files) or, to exercise
/// failure paths, `{"error": "transient|rate_limited|permanent", "message": "…",
/// "times": n}` (fails the first n calls for that effect, then falls through to `then`).
public final class ScriptedProvider: AgentProvider, @unchecked Sendable {
    public let script: JSONValue
    private let lock = Lock()
    private var calls: [String: Int] = [:]

    public init(script: JSONValue) {
        self.script = script
    }

    public convenience init(scriptText: String) throws(LoomError) {
        do {
            self.init(script: try JSONValue.parse(scriptText))
        } catch {
            throw LoomError(
                .invalidJSON,
                "the provider script is not JSON: \(error.message)",
                context: "loading the scripted provider"
            )
        }
    }

    public func spawn(_ request: AgentRequest) async -> AgentResult {
        answer(request)
    }

    /// The answer without suspending (the daemon calls it from its effect pool), with edits
    /// applied under `directory`. `call`: which call of the effect this is, when the caller
    /// knows it from the journal (the daemon); else calls are counted in memory.
    public func answer(_ request: AgentRequest, directory: String? = nil, call known: Int? = nil) -> AgentResult {
        // An effect's calls, counted per working directory: every project has a t1.
        let key =
            "\(directory ?? ""):\(request.taskID):\(request.step):\(request.role):\(request.iteration):\(request.attempt)"
        let counted = lock.withLock { () -> Int in
            calls[key, default: 0] += 1
            return calls[key]!
        }
        let call = known ?? counted
        let entries = script["agents"]?[request.role]?.arrayValue ?? []
        var answer = entries.isEmpty ? (script["default"] ?? .null) : entries[min(request.iteration, entries.count - 1)]
        while let errorName = answer["error"]?.stringValue {
            let times = Int(answer["times"]?.intValue ?? Int64.max)
            if call <= times {
                return AgentResult(
                    error: ProviderErrorClass(rawValue: errorName) ?? .permanent,
                    message: answer["message"]?.stringValue ?? "scripted failure",
                    provider: "scripted",
                    model: "script"
                )
            }
            answer = answer["then"] ?? .null
        }
        guard let output = answer["output"] else {
            return AgentResult(
                error: .permanent,
                message: "the script has no answer for role \(request.role)",
                provider: "scripted",
                model: "script"
            )
        }
        if let delay = answer["delayMs"]?.intValue, delay > 0 { MonotonicClock.sleep(milliseconds: Int(delay)) }
        if let edits = answer["edits"]?.objectValue {
            guard let directory else {
                return AgentResult(
                    error: .permanent,
                    message: "the script edits files, but the spawn has no working directory",
                    provider: "scripted",
                    model: "script"
                )
            }
            if let problem = ScriptedEdits.apply(edits, under: directory) {
                return AgentResult(error: .permanent, message: problem, provider: "scripted", model: "script")
            }
        }
        let text = output.stringValue ?? output.canonicalText
        return AgentResult(
            output: text,
            tokensIn: Int(answer["tokensIn"]?.intValue ?? Int64(request.prompt.utf8.count / 4)),
            tokensOut: Int(answer["tokensOut"]?.intValue ?? Int64(text.utf8.count / 4)),
            tokensCached: Int(answer["tokensCached"]?.intValue ?? 0),
            costMicroUSD: Int(answer["costMicroUSD"]?.intValue ?? 0),
            durationMs: Int(answer["delayMs"]?.intValue ?? 0),
            provider: "scripted",
            model: request.modelTier ?? "script"
        )
    }
}
