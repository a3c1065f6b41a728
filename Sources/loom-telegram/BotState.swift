import Foundation
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// What the bot must remember across restarts so that nothing is handled or sent twice:
/// the getUpdates offset, the tasks it follows with the gates and completions already
/// pushed, submissions awaiting confirmation and reasons awaited by forced reply.
///
/// Written atomically (a temporary file, fsync, rename) with mode 0600 after every change,
/// and always *before* the message it records is sent: after a crash a message may be
/// missing, never doubled.
struct BotState: Sendable {
    struct Tracked: Sendable {
        var chat: Int64
        var project: String
        var task: String
        var pushedGates: [String] = []
        var finished = false
    }

    struct Proposal: Sendable {
        var chat: Int64
        var text: String
    }

    struct AwaitedReason: Sendable {
        var tracked: String
        var gate: String
    }

    /// The next getUpdates offset (the last handled update id + 1).
    var offset: Int64 = 0
    var nextID = 1
    /// By key `k<n>`: the key is what gate buttons carry.
    var tracked: [String: Tracked] = [:]
    /// Free text awaiting its confirmation button, by key `c<n>`.
    var proposals: [String: Proposal] = [:]
    /// Per chat: the gate whose change request waits for its reason.
    var awaitedReasons: [Int64: AwaitedReason] = [:]

    /// Bounds: old entries go first, so the file stays small.
    static let trackedMax = 500
    static let proposalsMax = 100

    mutating func mint(_ prefix: String) -> String {
        defer { nextID += 1 }
        return "\(prefix)\(nextID)"
    }

    mutating func prune() {
        for (map, limit) in [(0, Self.trackedMax), (1, Self.proposalsMax)] {
            let keys = map == 0 ? Array(tracked.keys) : Array(proposals.keys)
            guard keys.count > limit else { continue }
            let oldest = keys.sorted { (Int($0.dropFirst()) ?? 0) < (Int($1.dropFirst()) ?? 0) }.prefix(
                keys.count - limit
            )
            for key in oldest {
                if map == 0, tracked[key]?.finished ?? true {
                    tracked[key] = nil
                } else if map == 1 {
                    proposals[key] = nil
                }
            }
        }
    }

    var json: JSONValue {
        .object([
            "offset": .int(offset), "nextID": .int(Int64(nextID)),
            "tracked": .object(
                tracked.mapValues { entry in
                    .object([
                        "chat": .int(entry.chat), "project": .string(entry.project), "task": .string(entry.task),
                        "pushedGates": .array(entry.pushedGates.map { .string($0) }), "finished": .bool(entry.finished),
                    ])
                }
            ),
            "proposals": .object(proposals.mapValues { .object(["chat": .int($0.chat), "text": .string($0.text)]) }),
            "awaitedReasons": .object(
                Dictionary(
                    uniqueKeysWithValues: awaitedReasons.map { chat, awaited in
                        (
                            String(chat),
                            JSONValue.object(["tracked": .string(awaited.tracked), "gate": .string(awaited.gate)])
                        )
                    }
                )
            ),
        ])
    }

    init() {}

    init(json: JSONValue) {
        offset = json["offset"]?.intValue ?? 0
        nextID = Int(json["nextID"]?.intValue ?? 1)
        for (key, entry) in json["tracked"]?.objectValue ?? [:] {
            guard let chat = entry["chat"]?.intValue, let project = entry["project"]?.stringValue,
                let task = entry["task"]?.stringValue
            else { continue }
            tracked[key] = Tracked(
                chat: chat,
                project: project,
                task: task,
                pushedGates: entry["pushedGates"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                finished: entry["finished"]?.boolValue ?? false
            )
        }
        for (key, entry) in json["proposals"]?.objectValue ?? [:] {
            guard let chat = entry["chat"]?.intValue, let text = entry["text"]?.stringValue else { continue }
            proposals[key] = Proposal(chat: chat, text: text)
        }
        for (chat, entry) in json["awaitedReasons"]?.objectValue ?? [:] {
            guard let chat = Int64(chat), let tracked = entry["tracked"]?.stringValue,
                let gate = entry["gate"]?.stringValue
            else { continue }
            awaitedReasons[chat] = AwaitedReason(tracked: tracked, gate: gate)
        }
    }

    /// A missing file is a fresh start; an unreadable one is an error (refuse to start rather
    /// than resend everything).
    static func load(_ path: String) throws -> BotState {
        guard FileManager.default.fileExists(atPath: path) else { return BotState() }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 16 << 20 else {
            throw BotStateError(path: path, message: "cannot read it")
        }
        do {
            return BotState(json: try JSONValue.parse(bytes: Array(data)))
        } catch {
            throw BotStateError(path: path, message: "it is not valid JSON (\(error)); move it away to start afresh")
        }
    }

    func save(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileSystem.makeDirectories(directory, mode: 0o700) {
            throw BotStateError(path: path, message: "cannot create \(directory): \(Errno.current.description)")
        }
        do {
            try FileSystem.writeAtomically(path, json.canonicalText, mode: 0o600)
        } catch {
            throw BotStateError(path: path, message: error.reason)
        }
    }
}
