import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC
import LoomValues

/// `loomctl gates`: every gate waiting for a person, across all supervised projects.
struct Gates: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gates",
        abstract: "List every gate waiting for a person, across all projects, oldest first, with what each asks.",
        discussion:
            "Each line: how long it has waited, the project, the task, the gate and the card's one-line summary. "
            + "`loomctl status TASK -C DIR` shows the whole card; --json gives every card."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            try global.call(LoomIPC.Gates.self, NoParams()) { result in
                Self.describe(result["gates"]?.arrayValue ?? [], nowMs: Self.nowMs())
            }
        }
    }

    static func describe(_ gates: [JSONValue], nowMs: Int64) -> String {
        guard !gates.isEmpty else { return "no gate waits for a person" }
        return gates.map { gate in
            let waited = waitedText(nowMs - (gate["sinceMs"]?.intValue ?? nowMs))
            return
                "\(waited.padding(toLength: 8, withPad: " ", startingAt: 0)) \(gate["project"]?.stringValue ?? "?")  \(gate["task"]?.stringValue ?? "?")  "
                + "\(gate["role"]?.stringValue ?? "?") (\(gate["event"]?.stringValue ?? "?"))  \(gate["summary"]?.stringValue ?? "")"
        }.joined(separator: "\n")
    }

    /// A wait as a person says it: 45s, 12m, 3h, 2d.
    static func waitedText(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1_000)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3_600 { return "\(seconds / 60)m" }
        if seconds < 86_400 { return "\(seconds / 3_600)h" }
        return "\(seconds / 86_400)d"
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
