import Foundation
import LoomValues

/// `/`: every project loomd supervises, what runs, parks and waits in each, which gates wait
/// for a person and since when, and what the agents have spent.
public enum FleetPage {
    public struct Project: Sendable {
        public var path: String
        public var summary: JSONValue?
        public var recent: [TaskRow]
        public var problem: String?
    }

    /// One of a project's recent tasks, finished ones included (a finished task is what a
    /// person ships), as loomd's `tasks` lists them.
    public struct TaskRow: Sendable {
        public var id: String
        public var status: String
        public var step: String
        public var flow: String
        public var input: String

        init(json: JSONValue) {
            id = json["task"]?.stringValue ?? "?"
            status = json["status"]?.stringValue ?? "?"
            step = json["step"]?.stringValue ?? ""
            flow = json["flow"]?.stringValue ?? ""
            input = String((json["input"]?.stringValue ?? "").prefix(160))
        }
    }

    public static func render(fleet: JSONValue, projects: [Project], nowMs: Int64) -> String {
        var body = "<h1>Fleet</h1><div id=\"fleet-live\">"
        let effects = fleet["effects"]
        body +=
            "<p>\(HTML.escape(fleet["server"]?.stringValue ?? "loomd")) · \(projects.count) project(s) · effects running \(effects?["running"]?.intValue ?? 0) of \(effects?["limit"]?.intValue ?? 0), waiting \(effects?["waiting"]?.intValue ?? 0)</p>"
        if projects.isEmpty {
            body += "<p class=\"muted\">No projects yet: <a href=\"/submit\">submit a task</a> to register one.</p>"
        }
        for project in projects {
            let counts = project.summary?["tasks"]?.objectValue ?? [:]
            let countText = ["running", "parked", "queued", "done", "failed", "cancelled"].compactMap { key in
                counts[key].map { "\(key) \($0.intValue ?? 0)" }
            }.joined(separator: " · ")
            body +=
                "<h2>\(HTML.escape(project.path))</h2><p>\(HTML.escape(countText.isEmpty ? "no tasks" : countText))</p>"
            if let problem = project.problem { body += "<p class=\"problem\">\(HTML.escape(problem))</p>" }
            let active = project.summary?["active"]?.arrayValue ?? []
            if !active.isEmpty {
                let spawns = active.reduce(Int64(0)) { $0 + ($1["spawns"]?.intValue ?? 0) }
                let cost = active.reduce(0.0) { $0 + ($1["costUSD"]?.doubleValue ?? 0) }
                let gates = active.filter { $0["gate"] != nil && $0["gate"] != .null }.count
                body +=
                    "<p>active tasks: \(spawns) spawns, \(HTML.dollars(cost)); \(gates) gate(s) waiting for a person</p>"
            }
            if !active.isEmpty {
                body +=
                    "<table><tr><th>task</th><th>status</th><th>step</th><th>gate waiting</th><th>spawns</th><th>tokens in/out</th><th>cost</th><th>input</th></tr>"
                for task in active {
                    let id = task["task"]?.stringValue ?? "?"
                    var gate = "-"
                    if let waiting = task["gate"] {
                        gate =
                            "<b>\(HTML.escape(waiting["event"]?.stringValue ?? "?"))</b> (\(HTML.escape(waiting["role"]?.stringValue ?? "?"))) for \(HTML.age(since: waiting["sinceMs"]?.intValue, nowMs: nowMs))"
                    }
                    body +=
                        "<tr><td>\(link(project.path, id))</td><td class=\"status-\(HTML.escape(task["status"]?.stringValue ?? ""))\">\(HTML.escape(task["status"]?.stringValue ?? "?"))</td>"
                    body += "<td>\(HTML.escape(task["step"]?.stringValue ?? ""))</td><td>\(gate)</td>"
                    body +=
                        "<td>\(task["spawns"]?.intValue ?? 0)/\(task["spawnCap"]?.intValue ?? 0)</td><td>\(task["tokens"]?["in"]?.intValue ?? 0)/\(task["tokens"]?["out"]?.intValue ?? 0)</td>"
                    body +=
                        "<td>\(HTML.dollars(task["costUSD"]?.doubleValue))</td><td>\(HTML.escape(Redactor.redact(HTML.clip(task["input"]?.stringValue ?? "", 120))))</td></tr>"
                }
                body += "</table>"
            }
            if !project.recent.isEmpty {
                body +=
                    "<details><summary>recent tasks</summary><table><tr><th>task</th><th>status</th><th>flow</th><th>step</th><th>input</th></tr>"
                for task in project.recent {
                    body +=
                        "<tr><td>\(link(project.path, task.id))</td><td class=\"status-\(HTML.escape(task.status))\">\(HTML.escape(task.status))</td><td>\(HTML.escape(task.flow))</td><td>\(HTML.escape(task.step))</td><td>\(HTML.escape(Redactor.redact(task.input)))</td></tr>"
                }
                body += "</table></details>"
            }
        }
        // Live from loomd's fleet watch: the table is fetched again when a task moves.
        return Layout.page("fleet", body: body + "</div>", bodyAttributes: "data-fleet=\"1\"")
    }

    static func link(_ project: String, _ task: String) -> String {
        "<a href=\"\(HTML.escape(FormFields.link("/task", [("project", project), ("task", task)])))\">\(HTML.escape(task))</a>"
    }
}
