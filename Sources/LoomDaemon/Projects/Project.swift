#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LoomEngine

/// One supervised project: its lock, its database, its engine, and the serial queue every
/// call into that engine runs on (one task in flight per project; its ticks in order).
public final class Project: @unchecked Sendable {
    public let root: String
    public let queue: DispatchQueue
    let lock: ProjectLock
    let engine: Engine
    /// Watch streams for this project; touched only on `queue`.
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    private var publishedSeq: Int64 = 0

    struct Watcher {
        let task: String?
        let send: (JSONValue) -> Bool
    }

    init(root: String, bundles: [LoomBundle], clock: @escaping () -> Int64) throws(LoomError) {
        self.root = root
        queue = DispatchQueue(label: "loom.project.\(root)")
        guard makeDirectories("\(root)/.loom") else {
            throw LoomError(.io, "cannot create \(root)/.loom: \(String(cString: strerror(errno)))", context: "opening project \(root)")
        }
        lock = try ProjectLock(projectRoot: root)
        let store = try Store(path: "\(root)/.loom/state.db")
        engine = try Engine(store: store, bundles: bundles, clock: clock)
        publishedSeq = try store.query("SELECT coalesce(max(seq), 0) AS s FROM journal").first?["s"]?.intValue ?? 0
    }

    /// Adds a watcher (on `queue`); returns its id.
    func addWatcher(task: String?, send: @escaping (JSONValue) -> Bool) -> Int {
        nextWatcherID += 1
        watchers[nextWatcherID] = Watcher(task: task, send: send)
        return nextWatcherID
    }

    func removeWatcher(_ id: Int) { watchers[id] = nil }

    /// Sends journal entries committed since the last call to the watchers (on `queue`).
    func publish() {
        guard !watchers.isEmpty else {
            publishedSeq = (try? engine.store.query("SELECT coalesce(max(seq), 0) AS s FROM journal").first?["s"]?.intValue) ?? publishedSeq
            return
        }
        guard let entries = try? journalEntries(task: nil, afterSeq: publishedSeq, limit: 1_000), !entries.isEmpty else { return }
        publishedSeq = entries.last?["seq"]?.intValue ?? publishedSeq
        for (id, watcher) in watchers {
            for entry in entries where watcher.task == nil || entry["task"]?.stringValue == watcher.task {
                var event = entry
                if case .object(var object) = event { object["project"] = .string(root); event = .object(object) }
                if !watcher.send(event) {
                    watchers[id] = nil
                    break
                }
            }
        }
    }

    /// Journal entries as the audit trail shows them.
    func journalEntries(task: String?, afterSeq: Int64, limit: Int) throws(LoomError) -> [JSONValue] {
        let filter = task == nil ? "" : "AND j.task_id = :task"
        let rows = try engine.store.query("""
            SELECT j.seq, j.tick, k.time_ms AS time, j.task_id AS task, j.kind, j.actor, j.payload, lower(hex(j.hash)) AS hash
            FROM journal j JOIN ticks k ON k.tick = j.tick WHERE j.seq > \(afterSeq) \(filter) ORDER BY j.seq LIMIT \(limit)
            """, bindings: task.map { [":task": $0] } ?? [:], limit: limit)
        return rows.map { row in
            guard case .object(var object) = row else { return row }
            for key in ["actor", "payload"] {
                if let text = object[key]?.stringValue, let parsed = try? JSONValue.parse(text) { object[key] = parsed }
            }
            return .object(object)
        }
    }
}
