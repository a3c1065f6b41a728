import LoomEngine
import LoomValues

extension Effect {
    /// What loomd delivers in place of a result the journal refused as too large (an agent
    /// that printed a megabyte of quotes, each escaped twice over): the same kind of outcome,
    /// failed, saying why. The step then fails on record, as the bundle handles any failure,
    /// instead of its effect waiting for ever and the task's queue behind it. What the
    /// original cost (tokens, money, time) is kept. nil for kinds whose results are fixed
    /// and small.
    package func standIn(forRefused result: JSONValue, because error: LoomError) -> JSONValue? {
        let why = "the result could not be recorded: \(error.message)"
        switch kind {
        case .spawn:
            var failed = AgentResult(error: .invalidOutput, message: why)
            if let original = AgentResult(json: result) {
                failed.tokensIn = original.tokensIn
                failed.tokensOut = original.tokensOut
                failed.tokensCached = original.tokensCached
                failed.costMicroUSD = original.costMicroUSD
                failed.durationMs = original.durationMs
                failed.provider = original.provider
                failed.model = original.model
                failed.attempts = original.attempts
            }
            return failed.json
        case .command:
            let original = CommandResult(json: result)
            return CommandResult(
                status: .failed,
                exitCode: original?.exitCode,
                output: why,
                durationMs: original?.durationMs ?? 0
            ).json
        case .timer, .notify:
            return nil
        }
    }
}
