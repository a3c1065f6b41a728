import ArgumentParser
import LoomEngine
import LoomIPC
import LoomValues

/// `loomctl status [TASK]`: the fleet, one project, or one task.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show the fleet, a project (-C) or a task: phase, step, the gate waiting and since when, spawns, tokens, cost."
    )

    @Argument(help: "A task id (t1, t2, …) in the project.") var task: String?
    @Option(name: .customShort("C"), help: "The project directory; without it and without a task, the whole fleet.")
    var directory: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            let project = task != nil || directory != nil ? ProjectOption.resolve(directory) : nil
            try global.call(LoomIPC.Status.self, TaskParams(project: project, task: task)) { document in
                let result = document.json
                if task != nil {
                    return Self.describeTask(result)
                        + (result["quarantined"].map {
                            "\n" + Self.describeQuarantine($0, project: result["project"]?.stringValue ?? "DIR")
                        } ?? "")
                }
                if project != nil { return Self.describeProject(result) }
                let projects = result["projects"]?.arrayValue ?? []
                var lines = [
                    "\(result["server"]?.stringValue ?? "loomd"): \(projects.count) project(s); effects running \(result["effects"]?["running"]?.intValue ?? 0) of \(result["effects"]?["limit"]?.intValue ?? 0), waiting \(result["effects"]?["waiting"]?.intValue ?? 0)"
                ]
                if let confinement = result["confinement"] {
                    let mode = confinement["mode"]?.stringValue ?? "?"
                    if let problem = confinement["problem"]?.stringValue {
                        lines.append("confinement: \(mode), BROKEN: \(problem)")
                    } else {
                        lines.append(
                            mode == "none"
                                ? "confinement: none (UNCONFINED: task processes run as loomd's own children)"
                                : "confinement: \(mode)"
                        )
                    }
                }
                lines += projects.map(Self.describeProject)
                lines.append("(loomctl status -C DIR for a project's tasks)")
                return lines.joined(separator: "\n")
            }
        }
    }

    static func describeProject(_ project: JSONValue) -> String {
        let counts = (project["tasks"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map {
            "\($0.key) \($0.value.intValue ?? 0)"
        }.joined(separator: ", ")
        var lines = ["\(project["path"]?.stringValue ?? "?"): \(counts.isEmpty ? "no tasks" : counts)"]
        if let quarantine = project["quarantined"] {
            lines.append(describeQuarantine(quarantine, project: project["path"]?.stringValue ?? "DIR"))
        }
        for task in project["active"]?.arrayValue ?? [] {
            lines.append("  " + describeTask(task).replacingOccurrences(of: "\n", with: "\n  "))
        }
        return lines.joined(separator: "\n")
    }

    static func describeQuarantine(_ quarantine: JSONValue, project: String) -> String {
        "  QUARANTINED since \(formatTime(quarantine["sinceMs"]?.intValue)): \(quarantine["reason"]?.stringValue ?? "")\n"
            + "  nothing runs until you check it (loomctl verify -C \(project)) and clear it (loomctl projects clear-quarantine -C \(project))"
    }

    static func describeTask(_ task: JSONValue) -> String {
        var lines = [
            "\(task["task"]?.stringValue ?? "?") \(task["status"]?.stringValue ?? "?") at \(task["step"]?.stringValue ?? "?") (iteration \(task["iteration"]?.intValue ?? 0), \(task["bundle"]?.stringValue ?? "")/\(task["flow"]?.stringValue ?? ""))"
        ]
        lines.append("  \(task["input"]?.stringValue ?? "")")
        let tokens = task["tokens"]
        let estimated =
            tokens?["estimated"]?.boolValue == true ? " (some estimated from the text: the server reported none)" : ""
        lines.append(
            "  spawns \(task["spawns"]?.intValue ?? 0)/\(task["spawnCap"]?.intValue ?? 0), tokens in \(tokens?["in"]?.intValue ?? 0) out \(tokens?["out"]?.intValue ?? 0) cached \(tokens?["cached"]?.intValue ?? 0), cost $\(String(format: "%.4f", task["costUSD"]?.doubleValue ?? 0))\(estimated)"
        )
        if let change = task["change"] {
            let tests = change["testFiles"]?.arrayValue?.compactMap(\.stringValue) ?? []
            lines.append(
                "  change: \(change["files"]?.intValue ?? 0) file(s), +\(change["insertions"]?.intValue ?? 0) −\(change["deletions"]?.intValue ?? 0)"
                    + (tests.isEmpty ? "" : "; touches tests: \(tests.prefix(5).joined(separator: ", "))")
                    + " (loomctl diff \(task["task"]?.stringValue ?? ""))"
            )
        }
        if let checks = task["checks"]?.arrayValue, !checks.isEmpty {
            lines.append(
                "  checks: "
                    + checks.map { "\($0["name"]?.stringValue ?? "?") \($0["status"]?.stringValue ?? "?")" }.joined(
                        separator: ", "
                    )
            )
        }
        if let open = task["openFindings"]?.objectValue, !open.isEmpty {
            lines.append(
                "  open findings: "
                    + ["blocking", "warn", "info"].compactMap { key in open[key].map { "\($0.intValue ?? 0) \(key)" } }
                    .joined(separator: ", ")
            )
            // Listed with their text, unless the gate card below already shows them.
            if task["card"] == nil {
                for finding in task["findings"]?.arrayValue ?? [] {
                    lines.append(
                        "    \(finding["id"]?.stringValue ?? "?") [\(finding["severity"]?.stringValue ?? "?")] \(finding["summary"]?.stringValue ?? "") (\(finding["agent"]?.stringValue ?? "?")\(finding["origin"]?.stringValue == "harness" ? ", harness" : ""))"
                    )
                }
            }
        }
        for effect in task["effects"]?.arrayValue ?? [] {
            // key is task:step:unit:iteration:attempt; the unit is what a person knows.
            let parts = (effect["key"]?.stringValue ?? "").split(separator: ":")
            let unit = parts.count >= 3 ? "\(parts[2]) at \(parts[1])" : effect["key"]?.stringValue ?? "?"
            lines.append("  \(unit): \(effect["state"]?.stringValue ?? "?")")
        }
        if let branch = task["branch"]?.stringValue {
            lines.append("  branch \(branch)" + (task["commit"]?.stringValue.map { " at \($0.prefix(12))" } ?? ""))
        }
        if let gate = task["gate"] {
            lines.append(
                "  waiting at gate \(gate["event"]?.stringValue ?? "?") (\(gate["role"]?.stringValue ?? "?"), policy \(gate["policy"]?.stringValue ?? "?")) since \(formatTime(gate["sinceMs"]?.intValue))"
            )
            if let card = task["card"]?["text"]?.stringValue {
                // The card: what the gate asks, and the facts the bundle says decide it.
                lines.append("")
                lines += card.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
                lines.append("")
            } else {
                for reason in gate["reasons"]?.arrayValue ?? [] {
                    lines.append("    because \(reason.stringValue ?? "")")
                }
            }
            lines.append("  answer: loomctl approve \(task["task"]?.stringValue ?? "") | reject --reason '…' | abandon")
        }
        if let outcome = task["outcome"]?.stringValue, !outcome.isEmpty {
            lines.append("  outcome: \(outcome)" + (task["outcomeNote"]?.stringValue.map { ": \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
