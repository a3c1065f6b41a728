import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC
import LoomValues

/// `loomctl tasks`: tasks across projects, newest first, filtered and paged.
struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract:
            "List tasks across all projects (or one, with -C), newest first: done, failed and cancelled ones too.",
        discussion:
            "Filters combine. A page holds --limit tasks; when more follow, the last line says how to ask for the next page "
            + "(--before with the last task's creation time)."
    )

    @Option(name: .customShort("C"), help: "Only this project.") var directory: String?
    @Option(
        name: .long,
        parsing: .upToNextOption,
        help: "Only tasks in these states (\(TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")))."
    )
    var state: [String] = []
    @Option(help: "Only tasks of this bundle.") var bundle: String?
    @Option(help: "Only tasks submitted in the last DURATION (30m, 12h, 7d).") var since: String?
    @Option(help: "Only tasks submitted before this time (milliseconds since the epoch; the next page's cursor).")
    var before: Int64?
    @Option(help: "Tasks per page (1 to 500).") var limit: Int = 50
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let unknown = state.first(where: { TaskStatus(rawValue: $0) == nil }) {
            throw ValidationError(
                "unknown state '\(unknown)'; known: \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        if let since, Self.durationMs(since) == nil {
            throw ValidationError("--since takes a duration such as 30m, 12h or 7d, not '\(since)'")
        }
        if !(1...500).contains(limit) { throw ValidationError("--limit must be 1 to 500") }
    }

    func run() throws {
        try runReporting {
            let params = LoomIPC.Tasks.Params(
                project: directory.map(ProjectOption.resolve),
                states: state.isEmpty ? nil : state,
                bundle: bundle,
                sinceMs: since.flatMap(Self.durationMs).map { Gates.nowMs() - $0 },
                beforeMs: before,
                limit: Int64(limit)
            )
            try global.call(LoomIPC.Tasks.self, params) { result in
                let tasks = result["tasks"]?.arrayValue ?? []
                guard !tasks.isEmpty else { return "no tasks" }
                var lines = tasks.map { task in
                    var line =
                        "\(formatTime(task["createdMs"]?.intValue))  \((task["status"]?.stringValue ?? "?").padding(toLength: 9, withPad: " ", startingAt: 0)) "
                        + "\(task["project"]?.stringValue ?? "?")  \(task["task"]?.stringValue ?? "?")  \(task["bundle"]?.stringValue ?? "")/\(task["flow"]?.stringValue ?? "")"
                        + "  \(String((task["input"]?.stringValue ?? "").split(separator: "\n").first?.prefix(60) ?? ""))"
                    if let outcome = task["outcome"]?.stringValue, !outcome.isEmpty {
                        line += "\n    \(outcome.prefix(160))"
                    }
                    return line
                }
                if result["more"]?.boolValue == true, let next = result["nextBeforeMs"]?.intValue {
                    lines.append("(more: loomctl tasks --before \(next) with the same filters)")
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    /// "30m", "12h", "7d", "45s" in milliseconds.
    static func durationMs(_ text: String) -> Int64? {
        guard let unit = text.last, let number = Int64(text.dropLast()), number > 0 else { return nil }
        switch unit {
        case "s": return number * 1_000
        case "m": return number * 60_000
        case "h": return number * 3_600_000
        case "d": return number * 86_400_000
        default: return nil
        }
    }
}
