import LoomEngine
import LoomValues

/// One line per result, for a person watching a run: the agent, its model, tokens and
/// cost; a check's or handler's status and first line.
public enum OneShotProgress {
    public static func line(_ effect: Effect, _ result: JSONValue) -> String {
        switch effect.kind {
        case .spawn:
            guard let agent = AgentResult(json: result) else {
                return "\(effect.step) \(effect.unit): unreadable result"
            }
            if let errorClass = agent.errorClass {
                return "\(effect.step) \(effect.unit): \(errorClass.rawValue) — \(agent.errorMessage ?? "")"
            }
            let cost = Double(agent.costMicroUSD) / 1_000_000
            return
                "\(effect.step) \(effect.unit): ok, \(agent.provider):\(agent.model), tokens \(agent.tokensIn)/\(agent.tokensOut), $\(String(format: "%.4f", cost))"
        case .command:
            guard let command = CommandResult(json: result) else { return "\(effect.step): unreadable result" }
            if let checks = command.details?["checks"]?.arrayValue, !checks.isEmpty {
                return "\(effect.step): "
                    + checks.map { "\($0["name"]?.stringValue ?? "?") \($0["status"]?.stringValue ?? "?")" }.joined(
                        separator: ", "
                    )
            }
            let first =
                command.output.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            return "\(effect.step): \(command.status.rawValue)" + (first.isEmpty ? "" : " — \(first.prefix(160))")
        case .timer, .notify:
            return "\(effect.step): done"
        }
    }
}
