import LoomEngine
import LoomValues

/// What a gate asks and the facts that decide it, built from the task's record as the
/// bundle's card says (`GateCardSpec`) and rendered the same way everywhere: loomd puts
/// it in `status` and `gates`, and loomctl, the dashboard, the Telegram bot and the MCP
/// server show it. A bundle that declares no card gets the gate's own facts, the open
/// findings and what was spent.
public struct GateCard: Sendable, Equatable {
    public struct Section: Sendable, Equatable {
        public var title: String
        public var lines: [String]
    }

    public var task: String
    public var event: String
    public var role: String
    public var policy: String
    public var reasons: [String]
    public var asks: String
    /// One line for lists (`loomctl gates`, a notification's subject).
    public var summary: String
    public var sections: [Section]

    /// A section shows at most this many lines (each cut at `OutputText.lineMaxCharacters`):
    /// a card is read by a person, and a step's output can be megabytes.
    public static let linesPerSectionMax = 40

    /// The card of `gate` (waiting) of `task`, from `engine`'s record, with the bundle
    /// version the task runs, in one read snapshot.
    public static func build(engine: Engine, task: TaskRecord, gate: GateRecord) throws(LoomError) -> GateCard {
        try engine.store.read { _ throws(LoomError) in
            try build(store: engine.store, task: task, gate: gate, bundle: engine.bundle(digest: task.bundleDigest))
        }
    }

    /// Builds the card of `gate` (waiting) from `store`; call it inside a read transaction
    /// (`store.read`) for one consistent snapshot.
    public static func build(
        store: Store,
        task: TaskRecord,
        gate: GateRecord,
        bundle: LoomBundle?
    ) throws(LoomError) -> GateCard {
        let spec =
            bundle?.gates[gate.role]?.card
            ?? GateCardSpec(
                asks: "Answer gate \(gate.role)?",
                sections: [
                    GateCardSpec.Section(title: "Open findings", source: .findings),
                    GateCardSpec.Section(title: "Spent", source: .usage),
                ]
            )
        var sections: [Section] = []
        var openCounts: [String: Int] = [:]
        do {
            for section in spec.sections {
                switch section.source {
                case .steps(let steps, let fields):
                    sections.append(
                        Section(
                            title: section.title,
                            lines: try stepLines(store: store, task: task.id, steps: steps, fields: fields)
                        )
                    )
                case .findings:
                    let (lines, counts) = try findingLines(store: store, task: task.id)
                    openCounts = counts
                    sections.append(Section(title: section.title, lines: lines))
                case .usage:
                    sections.append(Section(title: section.title, lines: [try usageLine(store: store, task: task)]))
                }
            }
            if openCounts.isEmpty { openCounts = try findingLines(store: store, task: task.id).counts }
        }
        let open = ["blocking", "warn", "info"].compactMap { key in openCounts[key].map { "\($0) \(key)" } }
        let summary = spec.asks + (open.isEmpty ? "" : " (open findings: \(open.joined(separator: ", ")))")
        return GateCard(
            task: task.id,
            event: gate.eventID,
            role: gate.role,
            policy: gate.policy.rawValue,
            reasons: gate.reasons,
            asks: spec.asks,
            summary: summary,
            sections: sections.map { Section(title: $0.title, lines: bounded($0.lines)) }
        )
    }

    public var json: JSONValue {
        .object([
            "task": .string(task), "event": .string(event), "role": .string(role), "policy": .string(policy),
            "reasons": .array(reasons.map { .string($0) }), "asks": .string(asks), "summary": .string(summary),
            "sections": .array(
                sections.map { .object(["title": .string($0.title), "lines": .array($0.lines.map { .string($0) })]) }
            ),
            "text": .string(text),
        ])
    }

    /// The card as a person reads it in a terminal.
    public var text: String {
        var out = [asks]
        for reason in reasons { out.append("  because \(reason)") }
        for section in sections {
            out.append("")
            out.append(section.title)
            out += section.lines.isEmpty ? ["  (nothing yet)"] : section.lines.map { "  " + $0 }
        }
        return out.joined(separator: "\n")
    }

    // MARK: Sections

    /// Each unit's latest valid output of the first step in `steps` that has one.
    static func stepLines(store: Store, task: String, steps: [String], fields: [String]) throws(LoomError) -> [String] {
        for step in steps {
            let outputs = try store.read { tx throws(LoomError) in try tx.latestOutputs(task: task, step: step) }
            guard !outputs.isEmpty else { continue }
            var lines: [String] = []
            for (unit, output) in outputs {
                if outputs.count > 1 {
                    // A fan-out: one line per unit when each field is one value
                    // ("reviewer-logic: APPROVE — Looks right."), else the unit's block.
                    let values = fields.map { CardField.lines(CardField(path: $0), in: output, labelled: false) }.filter
                    { !$0.isEmpty }
                    if values.isEmpty { continue }
                    if values.allSatisfy({ $0.count == 1 }) {
                        lines.append("\(unit): " + values.map { $0[0] }.joined(separator: " — "))
                    } else {
                        lines.append("\(unit):")
                        lines += fields.flatMap { CardField.lines(CardField(path: $0), in: output, labelled: true) }.map
                        { "  " + $0 }
                    }
                } else {
                    lines += fields.flatMap {
                        CardField.lines(CardField(path: $0), in: output, labelled: fields.count > 1)
                    }
                }
            }
            return lines
        }
        return []
    }

    static func findingLines(store: Store, task: String) throws(LoomError) -> (lines: [String], counts: [String: Int]) {
        let rows = try store.query(
            """
            SELECT severity, summary, agent, origin, json_extract(details, '$.file') AS file,
                   coalesce(json_extract(details, '$.line'), json_extract(details, '$.lines.start')) AS line
            FROM findings WHERE task_id = :task AND status = 'open'
            ORDER BY CASE severity WHEN 'blocking' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, created_tick, id
            """,
            bindings: [":task": task]
        )
        var counts: [String: Int] = [:]
        let lines = rows.map { row -> String in
            let severity = row["severity"]?.stringValue ?? "?"
            counts[severity, default: 0] += 1
            var place = row["file"]?.stringValue ?? ""
            if !place.isEmpty, let line = row["line"]?.intValue { place += ":\(line)" }
            let by = (row["agent"]?.stringValue ?? "?") + (row["origin"]?.stringValue == "harness" ? ", harness" : "")
            return "[\(severity)] \(row["summary"]?.stringValue ?? "")" + (place.isEmpty ? "" : " — \(place)")
                + " (\(by))"
        }
        return (lines, counts)
    }

    static func usageLine(store: Store, task: TaskRecord) throws(LoomError) -> String {
        let usage = try store.query(
            """
            SELECT coalesce(sum(json_extract(result, '$.usage.in')), 0) AS tokens_in, coalesce(sum(json_extract(result, '$.usage.out')), 0) AS tokens_out,
                   coalesce(sum(json_extract(result, '$.costMicroUSD')), 0) AS cost
            FROM effects WHERE task_id = :task AND kind = 'spawn'
            """,
            bindings: [":task": task.id]
        ).first
        return
            "spawns \(task.spawnCount)/\(task.spawnCap), tokens in \(usage?["tokens_in"]?.intValue ?? 0) out \(usage?["tokens_out"]?.intValue ?? 0), cost "
            + dollars(microUSD: usage?["cost"]?.intValue ?? 0)
    }

    /// Micro-dollars as dollars to four places ("$0.0123"), rounded half up.
    static func dollars(microUSD: Int64) -> String {
        let tenThousandths = (max(0, microUSD) + 50) / 100
        let fraction = String(tenThousandths % 10_000)
        return "$\(tenThousandths / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    static func bounded(_ lines: [String]) -> [String] {
        var kept = lines.prefix(linesPerSectionMax).map(OutputText.clip)
        if lines.count > linesPerSectionMax { kept.append("… \(lines.count - linesPerSectionMax) more line(s)") }
        return kept
    }
}
