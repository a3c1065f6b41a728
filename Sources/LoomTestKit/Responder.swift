import LoomEngine
import LoomValues

/// How a simulated outside world answers: agents, commands and people, each decided from
/// the seed and the thing being answered (never from the order of asking).
public struct Responder: Sendable {
    /// The output of an agent spawn.
    public var agent: @Sendable (AgentRequest, UInt64) -> AgentResult
    /// The outcome of a command step.
    public var command: @Sendable (JSONValue, UInt64) -> CommandResult
    /// A person's answer to a waiting gate: nil cancels the task instead.
    public var gate: @Sendable (GateRecord, UInt64) -> (GateAnswer, String)?

    public init(
        agent: @escaping @Sendable (AgentRequest, UInt64) -> AgentResult,
        command: @escaping @Sendable (JSONValue, UInt64) -> CommandResult = { _, _ in
            CommandResult(status: .ok, exitCode: 0, output: "ok")
        },
        gate: @escaping @Sendable (GateRecord, UInt64) -> (GateAnswer, String)? = { _, _ in (.approve, "") }
    ) {
        self.agent = agent
        self.command = command
        self.gate = gate
    }

    /// Runs one effect and returns its result as the kernel expects it.
    public func execute(_ effect: Effect, seed: UInt64) -> JSONValue {
        let value = SplitMix64.hash(seed: seed, effect.key)
        switch effect.kind {
        case .spawn:
            guard let request = AgentRequest(json: effect.request) else {
                return AgentResult(error: .permanent, message: "unreadable request").json
            }
            return agent(request, value).json
        case .command:
            return command(effect.request, value).json
        case .timer, .notify:
            return .object([:])
        }
    }
}
