import CSQLite
import LoomEngine

/// The rows each committed tick of a kernel run wrote, as plain INSERT and UPDATE
/// statements, found by the tick columns every kernel table carries.
struct RawPlan {
    enum Value {
        case null, integer(Int64), text(String), blob([UInt8])
    }

    struct Write {
        let sql: String
        let values: [Value]
    }

    private(set) var ticks: [[Write]] = []

    init(source: Store) throws {
        let tickCount = try source.query("SELECT count(*) AS n FROM ticks")[0]["n"]?.intValue ?? 0
        var byTick = [[Write]](repeating: [], count: Int(tickCount) + 1)
        func add(_ table: String, key: [String], insertWhen insertColumn: String?, updateWhen updateColumn: String?) throws {
            for row in try source.query("SELECT * FROM \(table)", limit: .max) {
                guard case .object(let object) = row else { continue }
                let columns = object.keys.sorted()
                if let insertColumn, let tick = object[insertColumn]?.intValue, tick < byTick.count {
                    byTick[Int(tick)].append(Write(
                        sql: "INSERT INTO \(table)(\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
                        values: columns.map { Self.value(table, $0, object[$0]!) }))
                }
                if let updateColumn, let tick = object[updateColumn]?.intValue, tick < byTick.count,
                   tick != (insertColumn.flatMap { object[$0]?.intValue } ?? -1) {
                    let set = columns.filter { !key.contains($0) }
                    byTick[Int(tick)].append(Write(
                        sql: "UPDATE \(table) SET \(set.map { "\($0) = ?" }.joined(separator: ", ")) WHERE \(key.map { "\($0) = ?" }.joined(separator: " AND "))",
                        values: (set + key).map { Self.value(table, $0, object[$0]!) }))
                }
            }
        }
        try add("journal", key: ["seq"], insertWhen: "tick", updateWhen: nil)
        try add("ticks", key: ["tick"], insertWhen: "tick", updateWhen: nil)
        try add("tasks", key: ["id"], insertWhen: "created_tick", updateWhen: "updated_tick")
        try add("effects", key: ["key"], insertWhen: "intent_tick", updateWhen: "result_tick")
        try add("step_outputs", key: ["task_id", "step", "unit", "iteration", "attempt"], insertWhen: "tick", updateWhen: nil)
        try add("findings", key: ["id"], insertWhen: "created_tick", updateWhen: "updated_tick")
        try add("gates", key: ["event_id"], insertWhen: "opened_tick", updateWhen: "decided_tick")
        // Every kernel tick rewrites its task's row; the final rows above keep only the last
        // such write, so give every other tick its task update back.
        for (tick, row) in try source.query("SELECT tick, task_id FROM ticks ORDER BY tick", limit: .max).enumerated() {
            let index = tick + 1
            guard index < byTick.count, !byTick[index].contains(where: { $0.sql.hasPrefix("UPDATE tasks") || $0.sql.hasPrefix("INSERT INTO tasks") }) else { continue }
            byTick[index].append(Write(sql: "UPDATE tasks SET updated_tick = ? WHERE id = ?",
                                       values: [.integer(Int64(index)), .text(row["task_id"]?.stringValue ?? "")]))
        }
        // Journal and ticks rows first, as the kernel writes them.
        ticks = byTick.dropFirst().map { $0 }
    }

    private static func value(_ table: String, _ column: String, _ json: JSONValue) -> Value {
        switch json {
        case .null: return .null
        case .int(let number): return .integer(number)
        case .string(let text):
            if ["prev_hash", "hash", "chain_head"].contains(column) { return .blob(hexBytes(text)) }
            return .text(text)
        default: return .text(json.canonicalText)
        }
    }

    private static func hexBytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
