import LoomEngine

/// One LLM backend (an HTTP API, a CLI, a harness, a command) that runs an agent spawn.
///
/// The daemon calls `spawn` from a thread of its bounded effect pool, so the call is
/// synchronous: it blocks that thread until the backend answered, failed, or ran out of
/// time, and it never throws. Every failure is an `AgentResult` with an `errorClass`
/// (what the scheduler acts on: retry, wait, give up) and an `errorReason` (what a
/// fallback chain acts on: see `ProviderErrorReason`), so decisions are made from data
/// that is journaled with the result.
///
/// A backend must:
/// - honour `request.limits`: the session timeout, the idle timeout (no byte for that
///   long counts as hung) and the output cap;
/// - leave no child process behind (children run in their own process group, killed on
///   timeout), and tell `context.onChild` about every child it starts and reaps;
/// - never put a secret into what it returns (`context.secrets.redact` is applied to
///   every message and output before it leaves the backend);
/// - fill in tokens (in = input not read from a cache, out, cached = input read from a
///   cache), cost in micro-dollars, duration, provider and model.
public protocol SpawnBackend: Sendable {
    /// The provider name this backend answers to in model references (`openrouter`).
    var providerName: String { get }

    /// Runs `request` on `model` (the part after `provider:` in a model reference).
    func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult
}
