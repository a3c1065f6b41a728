import LoomEngine

/// A bundle as text for people: phases, flows and their steps, agents, gates, rules, budgets.
public enum BundleOutline {
    public static func text(_ bundle: LoomBundle) -> String {
        var lines = [
            "bundle \(bundle.name) \(bundle.version) (digest \(bundle.digest.prefix(12)))",
            "phases: \(bundle.phases.joined(separator: " → "))",
            "budgets: spawn cap \(bundle.budgets.spawnCap), iteration cap \(bundle.budgets.iterationCap), fan-out at most \(bundle.budgets.maxConcurrentSpawns)",
            "",
        ]
        for name in bundle.flows.keys.sorted() {
            lines.append("flow \(name)" + (name == bundle.defaultFlow ? " (default)" : ""))
            for (index, step) in bundle.flows[name]!.steps.enumerated() {
                lines.append("  \(index + 1). \(step.name) [\(step.phase)] \(describe(step.kind, bundle: bundle))")
            }
            lines.append("")
        }
        lines.append("agents")
        for name in bundle.agents.keys.sorted() {
            let agent = bundle.agents[name]!
            var traits = ["template \(agent.templatePath)"]
            if let tier = agent.tier { traits.append("tier \(tier)") }
            if agent.producesFindings { traits.append("findings") }
            if agent.dismissesFindings { traits.append("dismisses findings") }
            let variables = agent.variables.keys.sorted().map { "\($0)=\(agent.variables[$0]!.manifestText)" }
            lines.append("  \(name): \(traits.joined(separator: ", "))")
            if !variables.isEmpty { lines.append("    variables \(variables.joined(separator: " "))") }
        }
        lines.append("")
        lines.append("gates")
        for role in bundle.gates.keys.sorted() {
            let gate = bundle.gates[role]!
            lines.append(
                "  \(role): policy \(gate.defaultPolicy.rawValue)"
                    + (gate.safetyFloor.isEmpty ? "" : ", safety floor \(gate.safetyFloor.joined(separator: ", "))")
            )
        }
        lines.append("")
        lines.append("rules (checked at every commit)")
        for rule in bundle.rules { lines.append("  \(rule.name): \(rule.message)") }
        lines.append("safety floor (a person decides when any returns a row)")
        for rule in bundle.safetyFloor { lines.append("  \(rule.name): \(rule.message)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ kind: StepKind, bundle: LoomBundle) -> String {
        switch kind {
        case .agent(let agent, let loopTo, let scope):
            return "agent \(agent)"
                + (loopTo.map { ", back to \($0) while \(scope == .task ? "any" : "its") blockers are open" } ?? "")
        case .fanOut(let agents, let loopTo, let rerun):
            return "fan-out \(agents.joined(separator: ", "))"
                + (loopTo.map { ", back to \($0) while blockers are open" } ?? "")
                + (rerun ? ", later rounds rerun only those that blocked" : "")
        case .gate(let role, let back):
            return
                "gate \(role) (policy \(bundle.gates[role]?.defaultPolicy.rawValue ?? "human")), request changes → \(back)"
        case .command(let spec):
            let what = spec.handler.map { "handler \($0)" } ?? "run \(spec.argv?.joined(separator: " ") ?? "")"
            return "\(what), timeout \(spec.timeoutMs / 1_000) s" + (spec.required ? ", required" : "")
        case .branch(let agent, let field, let flows, let fallback):
            return "branch: agent \(agent) picks \(field) among \(flows.joined(separator: ", ")) (else \(fallback))"
        case .finalize:
            return "end"
        }
    }
}
