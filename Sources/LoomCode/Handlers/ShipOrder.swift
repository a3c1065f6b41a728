import LoomEngine

/// What a ship task is asked to do, from its input (JSON): `{"task": "t3", "push": "origin"}`
/// or `{"task": "t3", "merge": "main", "squash": true}`.
public struct ShipOrder: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case push(remote: String)
        case merge(into: String, squash: Bool)
    }

    /// The finished task whose branch `loom/<task>` is shipped.
    public var task: String
    public var destination: Destination

    public init(task: String, destination: Destination) {
        self.task = task
        self.destination = destination
    }

    public var branch: String { "loom/\(task)" }

    /// The input a ship task is submitted with.
    public var input: String {
        var object: [String: JSONValue] = ["task": .string(task)]
        switch destination {
        case .push(let remote): object["push"] = .string(remote)
        case .merge(let into, let squash):
            object["merge"] = .string(into)
            if squash { object["squash"] = true }
        }
        return JSONValue.object(object).canonicalText
    }

    /// "push loom/t3 to origin" / "squash-merge loom/t3 into main", for people.
    public var summary: String {
        switch destination {
        case .push(let remote): return "push \(branch) to \(remote)"
        case .merge(let into, let squash): return "\(squash ? "squash-merge" : "fast-forward") \(branch) into \(into)"
        }
    }

    public init(input: String) throws(GitError) {
        guard let object = (try? JSONValue.parse(input))?.objectValue else {
            throw GitError("a ship task's input must be JSON: {\"task\": \"t3\", \"push\": \"origin\"} or {\"task\": \"t3\", \"merge\": \"main\", \"squash\": true}", command: [])
        }
        guard let task = object["task"]?.stringValue, !task.isEmpty, task.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw GitError("a ship order names the finished task whose branch it ships (\"task\": \"t3\")", command: [])
        }
        switch (object["push"]?.stringValue, object["merge"]?.stringValue) {
        case (let remote?, nil) where Self.isSafeName(remote):
            self.init(task: task, destination: .push(remote: remote))
        case (nil, let into?) where Self.isSafeName(into):
            self.init(task: task, destination: .merge(into: into, squash: object["squash"]?.boolValue ?? false))
        default:
            throw GitError("a ship order has exactly one of \"push\" (a remote) and \"merge\" (a branch), named without spaces or a leading '-'", command: [])
        }
    }

    /// Names git takes as a remote or branch and cannot read as an option.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.hasPrefix("-") && !name.contains("..")
            && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || "~^:?*[\\".unicodeScalars.contains($0) }
    }
}
