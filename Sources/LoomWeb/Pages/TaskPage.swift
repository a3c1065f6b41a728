import Foundation
import LoomValues

/// `/task?project=…&task=…`: one task's whole story. The live panel (status, gate, agent
/// chain, findings, ship) is also served alone at `/task/live`, which the page's script
/// fetches whenever the watch stream brings a journal entry.
public enum TaskPage {
    public struct Content: Sendable {
        public var project: String
        public var task: String
        public var status: JSONValue
        public var entries: [JSONValue]
        public var diff: TaskDiff.Diff?
        public var csrfToken: String
        public var nowMs: Int64
        public var notice: String?
    }

    public static func render(_ content: Content) -> String {
        let status = content.status
        var body =
            "<h1>\(HTML.escape(content.task)) <small class=\"muted\">\(HTML.escape(content.project))</small></h1>"
        if let notice = content.notice { body += "<p class=\"gate\">\(HTML.escape(notice))</p>" }
        body += "<p>\(HTML.escape(Redactor.redact(status["input"]?.stringValue ?? "")))</p>"
        body += "<div id=\"live\">\(live(content))</div>"

        body += "<h2 id=\"diff\">Diff so far</h2>"
        if let diff = content.diff {
            if let problem = diff.problem { body += "<p class=\"muted\">\(HTML.escape(problem))</p>" }
            if !diff.source.isEmpty {
                body +=
                    "<p class=\"muted\">\(HTML.escape(diff.source))\(diff.truncated ? " (cut at the size limit)" : "")</p>"
            }
            if !diff.untracked.isEmpty {
                body += "<p>new files not yet in the diff: \(HTML.escape(diff.untracked.joined(separator: ", ")))</p>"
            }
            if !diff.text.isEmpty {
                body += "<pre class=\"diff\">\(colouredDiff(Redactor.redact(diff.text)))</pre>"
            } else if diff.problem == nil {
                body += "<p class=\"muted\">no changes</p>"
            }
        }

        body +=
            "<h2>Flow</h2><div class=\"graph\"><img alt=\"the flow graph with \(HTML.escape(content.task))'s path\" src=\"\(HTML.escape(FormFields.link("/task/graph.svg", [("project", content.project), ("task", content.task)])))\"></div>"

        let lastSeq = content.entries.last?["seq"]?.intValue ?? 0
        body += "<h2>Timeline <small class=\"muted\">(live: <span id=\"event-count\">0</span> new)</small></h2>"
        body +=
            "<table><thead><tr><th>seq</th><th>tick</th><th>time</th><th>kind</th><th>actor</th><th>what</th></tr></thead><tbody id=\"timeline-rows\">"
        for entry in content.entries {
            let row = timelineRow(entry)
            body +=
                "<tr id=\"seq-\(entry["seq"]?.intValue ?? 0)\">" + row.map { "<td>\(HTML.escape($0))</td>" }.joined()
                + "</tr>"
        }
        body += "</tbody></table>"
        let attributes =
            "data-project=\"\(HTML.escape(content.project))\" data-task=\"\(HTML.escape(content.task))\" data-after=\"\(lastSeq)\""
        return Layout.page(content.task, body: body, bodyAttributes: attributes)
    }

    /// The part that changes as the task runs.
    public static func live(_ content: Content) -> String {
        let status = content.status
        let state = status["status"]?.stringValue ?? "?"
        var html =
            "<table><tr><th>status</th><td class=\"status-\(HTML.escape(state))\" id=\"task-status\">\(HTML.escape(state))</td>"
        html +=
            "<th>step</th><td>\(HTML.escape(status["step"]?.stringValue ?? ""))</td><th>iteration</th><td>\(status["iteration"]?.intValue ?? 0)</td>"
        html +=
            "<th>bundle/flow</th><td>\(HTML.escape(status["bundle"]?.stringValue ?? ""))/\(HTML.escape(status["flow"]?.stringValue ?? ""))</td></tr>"
        html += "<tr><th>spawns</th><td>\(status["spawns"]?.intValue ?? 0)/\(status["spawnCap"]?.intValue ?? 0)</td>"
        html +=
            "<th>tokens</th><td>in \(status["tokens"]?["in"]?.intValue ?? 0) · out \(status["tokens"]?["out"]?.intValue ?? 0) · cached \(status["tokens"]?["cached"]?.intValue ?? 0)</td>"
        html += "<th>cost</th><td>\(HTML.dollars(status["costUSD"]?.doubleValue))</td>"
        html +=
            "<th>branch</th><td>\(HTML.escape(status["branch"]?.stringValue ?? "-"))\(status["commit"]?.stringValue.map { " at " + HTML.escape(String($0.prefix(12))) } ?? "")</td></tr></table>"
        if let outcome = status["outcome"]?.stringValue, !outcome.isEmpty {
            html += "<p>outcome: \(HTML.escape(Redactor.redact(outcome)))</p>"
        }
        if let checks = status["checks"]?.arrayValue, !checks.isEmpty {
            html +=
                "<p>checks: "
                + checks.map {
                    "\(HTML.escape($0["name"]?.stringValue ?? "?")) <b>\(HTML.escape($0["status"]?.stringValue ?? "?"))</b>"
                }.joined(separator: " · ") + "</p>"
        }
        html += gatePanel(content)
        html += shipPanel(content)
        html += agentChain(content.entries)
        html += findings(status: status, entries: content.entries)
        return html
    }

    static func hidden(_ name: String, _ value: String) -> String {
        "<input type=\"hidden\" name=\"\(name)\" value=\"\(HTML.escape(value))\">"
    }

    static func gatePanel(_ content: Content) -> String {
        guard let gate = content.status["gate"], gate != .null else { return "" }
        let event = gate["event"]?.stringValue ?? ""
        var html =
            "<div class=\"gate\" id=\"gate-panel\"><h2>Gate <code>\(HTML.escape(event))</code> waits for a person</h2>"
        html +=
            "<p>role \(HTML.escape(gate["role"]?.stringValue ?? "?")) · policy \(HTML.escape(gate["policy"]?.stringValue ?? "?")) · since \(HTML.escape(HTML.time(gate["sinceMs"]?.intValue))) (\(HTML.age(since: gate["sinceMs"]?.intValue, nowMs: content.nowMs)))</p>"
        for reason in gate["reasons"]?.arrayValue ?? [] {
            html += "<p>because \(HTML.escape(Redactor.redact(reason.stringValue ?? "")))</p>"
        }
        html += card(content.status["card"], task: content.task, project: content.project)
        html += "<form method=\"post\" action=\"/answer\">" + Layout.csrfField(content.csrfToken)
        html += hidden("project", content.project) + hidden("task", content.task) + hidden("gate", event)
        html +=
            "<p><textarea name=\"message\" rows=\"3\" placeholder=\"a message (needed to request changes)\"></textarea></p>"
        html += "<button name=\"answer\" value=\"approve\" id=\"approve\" class=\"primary\">Approve</button> "
        html += "<button name=\"answer\" value=\"request_changes\" id=\"request-changes\">Request changes</button>"
        // Set apart, and confirmed: abandoning ends the task for good.
        html +=
            "<span class=\"danger-zone\"><button name=\"answer\" value=\"abandon\" id=\"abandon\" class=\"danger\" "
            + "onclick=\"return confirm('Abandon this task? It ends for good; nothing is delivered.')\">Abandon…</button></span>"
        html +=
            "<p class=\"muted\">Your answer goes to loomd through its socket and is journaled as the OS user running this dashboard.</p></form></div>"
        return html
    }

    /// The gate's card: what it asks and the facts the bundle says decide it, above the
    /// buttons; the change itself one click away.
    static func card(_ card: JSONValue?, task: String, project: String) -> String {
        guard let card, card != .null else { return "" }
        var html =
            "<div class=\"card\" id=\"gate-card\"><p class=\"asks\">\(HTML.escape(card["asks"]?.stringValue ?? ""))</p>"
        for section in card["sections"]?.arrayValue ?? [] {
            let lines = section["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
            html += "<h3>\(HTML.escape(section["title"]?.stringValue ?? ""))</h3>"
            html +=
                "<pre class=\"card-section\">\(HTML.escape(Redactor.redact(lines.isEmpty ? "(nothing yet)" : lines.joined(separator: "\n"))))</pre>"
        }
        html += "<p><a href=\"#diff\">the change</a></p></div>"
        return html
    }

    static func shipPanel(_ content: Content) -> String {
        let status = content.status
        guard status["status"]?.stringValue == "done", status["bundle"]?.stringValue == "code",
            status["flow"]?.stringValue != "ship"
        else { return "" }
        var html = "<div class=\"gate\" id=\"ship-panel\"><h2>Ship <code>loom/\(HTML.escape(content.task))</code></h2>"
        html +=
            "<form method=\"post\" action=\"/ship\">" + Layout.csrfField(content.csrfToken)
            + hidden("project", content.project) + hidden("task", content.task)
        html +=
            "<select name=\"mode\"><option value=\"merge\">fast-forward merge into</option><option value=\"squash\">squash-merge into</option><option value=\"push\">push to remote</option></select> "
        html +=
            "<input name=\"target\" placeholder=\"main or origin\" required pattern=\"[A-Za-z0-9._/][A-Za-z0-9._/-]*\"> <button id=\"ship\">Ship</button>"
        html +=
            "<p class=\"muted\">Shipping is a gate only a person answers: the dashboard submits a ship task and answers its gate as you; nothing is shipped on a conflict.</p></form></div>"
        return html
    }

    /// Spawn results from the journal: which agent ran on which provider and model, at what cost.
    static func agentChain(_ entries: [JSONValue]) -> String {
        let spawns = entries.filter(isSpawnResult)
        guard !spawns.isEmpty else { return "<h2>Agent chain</h2><p class=\"muted\">no agent has finished yet</p>" }
        var html =
            "<h2>Agent chain</h2><table id=\"agent-chain\"><tr><th>seq</th><th>effect</th><th>provider</th><th>model</th><th>tokens in/out</th><th>cost</th><th>status</th><th>output</th></tr>"
        for entry in spawns {
            let result = entry["payload"]?["result"]
            let cost = Double(result?["costMicroUSD"]?.intValue ?? 0) / 1_000_000
            html +=
                "<tr><td>\(entry["seq"]?.intValue ?? 0)</td><td>\(HTML.escape(entry["payload"]?["key"]?.stringValue ?? ""))</td>"
            html +=
                "<td>\(HTML.escape(result?["provider"]?.stringValue ?? ""))</td><td>\(HTML.escape(result?["model"]?.stringValue ?? ""))</td>"
            html +=
                "<td>\(result?["usage"]?["in"]?.intValue ?? 0)/\(result?["usage"]?["out"]?.intValue ?? 0)</td><td>\(HTML.dollars(cost))</td>"
            html +=
                "<td>\(HTML.escape(result?["status"]?.stringValue ?? ""))\(result?["error"]?.stringValue.map { ": " + HTML.escape(Redactor.redact($0)) } ?? "")</td>"
            html += "<td>\(output(result?["output"]?.stringValue ?? ""))</td></tr>"
        }
        return html + "</table>"
    }

    /// An agent's output as text lines (a plan's steps, a review's verdict), with the raw
    /// JSON behind a toggle for whoever wants it.
    public static func output(_ text: String) -> String {
        guard !text.isEmpty else { return "" }
        let lines = OutputText.lines(text, limit: 12).joined(separator: "\n")
        return "<pre class=\"card-section\">\(HTML.escape(Redactor.redact(lines)))</pre>"
            + "<details><summary class=\"muted\">raw</summary><code>\(HTML.escape(Redactor.redact(HTML.clip(text, 2_000))))</code></details>"
    }

    static func isSpawnResult(_ entry: JSONValue) -> Bool {
        entry["kind"]?.stringValue == "effect_result" && entry["payload"]?["result"]?["usage"] != nil
    }

    static let severities = ["blocking", "warn", "info"]

    /// Open counts from loomd, and each finding as the reviewers reported it.
    static func findings(status: JSONValue, entries: [JSONValue]) -> String {
        let open = status["openFindings"]?.objectValue ?? [:]
        var html =
            "<h2>Findings</h2><p>open: "
            + severities.map { "<span class=\"\($0)\">\(open[$0]?.intValue ?? 0) \($0)</span>" }.joined(
                separator: " · "
            ) + "</p>"
        var reported: [(severity: String, summary: String, by: String)] = []
        for entry in entries where isSpawnResult(entry) {
            guard let output = entry["payload"]?["result"]?["output"]?.stringValue,
                let parsed = try? JSONValue.parse(output),
                let list = parsed["findings"]?.arrayValue
            else { continue }
            for finding in list.prefix(100) {
                reported.append(
                    (
                        finding["severity"]?.stringValue ?? "?",
                        finding["summary"]?.stringValue ?? finding["message"]?.stringValue ?? "",
                        entry["payload"]?["key"]?.stringValue ?? ""
                    )
                )
            }
        }
        guard !reported.isEmpty else { return html }
        reported.sort { (severities.firstIndex(of: $0.severity) ?? 9) < (severities.firstIndex(of: $1.severity) ?? 9) }
        html += "<table id=\"findings\"><tr><th>severity</th><th>finding</th><th>reported by</th></tr>"
        for finding in reported {
            html +=
                "<tr><td class=\"\(HTML.escape(finding.severity))\">\(HTML.escape(finding.severity))</td><td>\(HTML.escape(Redactor.redact(finding.summary)))</td><td>\(HTML.escape(finding.by))</td></tr>"
        }
        return html + "</table>"
    }

    /// seq, tick, time, kind, actor, a one-line summary: the same columns the script fills for live rows.
    public static func timelineRow(_ entry: JSONValue) -> [String] {
        [
            String(entry["seq"]?.intValue ?? 0), String(entry["tick"]?.intValue ?? 0),
            HTML.time(entry["time"]?.intValue),
            entry["kind"]?.stringValue ?? "?", HTML.actor(entry["actor"]), summary(entry),
        ]
    }

    static func summary(_ entry: JSONValue) -> String {
        let payload = entry["payload"] ?? .null
        var text: String
        switch entry["kind"]?.stringValue {
        case "gate_answered":
            text =
                "\(payload["answer"]?.stringValue ?? "?") at \(payload["gate"]?.stringValue ?? payload["event"]?.stringValue ?? "?")"
                + (payload["message"]?.stringValue.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? "")
        case "effect_result":
            let result = payload["result"]
            text = "\(payload["key"]?.stringValue ?? "?") → \(result?["status"]?.stringValue ?? "")"
            if let model = result?["model"]?.stringValue, !model.isEmpty {
                text += " (\(result?["provider"]?.stringValue ?? ""):\(model))"
            }
        case "submitted":
            text =
                "\"\(payload["input"]?.stringValue ?? "")\" — \(payload["bundle"]?.stringValue ?? "?")/\(payload["flow"]?.stringValue ?? "?"), policy \(payload["policy"]?["label"]?.stringValue ?? "custom")"
        case "effect_retry":
            text =
                "\(payload["key"]?.stringValue ?? "?"): attempt \(payload["attempt"]?.intValue ?? 0) failed (\(payload["errorClass"]?.stringValue ?? "?")), again in \(payload["delayMs"]?.intValue ?? 0) ms"
        case "cancelled":
            text = "cancelled" + (payload["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? "")
        case "violation", "refused":
            text = "refused: \(payload["message"]?.stringValue ?? payload["code"]?.stringValue ?? "")"
        default:
            text = payload.canonicalText
        }
        return Redactor.redact(HTML.clip(text, 400))
    }

    static func colouredDiff(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let escaped = HTML.escape(String(line))
            if line.hasPrefix("+") && !line.hasPrefix("+++") { return "<span class=\"diff-add\">\(escaped)</span>" }
            if line.hasPrefix("-") && !line.hasPrefix("---") { return "<span class=\"diff-del\">\(escaped)</span>" }
            if line.hasPrefix("@@") { return "<span class=\"diff-hunk\">\(escaped)</span>" }
            return escaped
        }.joined(separator: "\n")
    }
}
