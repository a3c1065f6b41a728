import LoomIPC
import LoomValues

/// Reading a ship task's input back, refusing anything git could read as an option.
extension ShipOrder {
    public init(input: String) throws(GitError) {
        guard let object = (try? JSONValue.parse(input))?.objectValue else {
            throw GitError(
                "a ship task's input must be JSON: {\"task\": \"t3\", \"push\": \"origin\"} or {\"task\": \"t3\", \"merge\": \"main\", \"squash\": true}",
                command: []
            )
        }
        guard let task = object["task"]?.stringValue, !task.isEmpty, task.allSatisfy({ $0.isLetter || $0.isNumber })
        else {
            throw GitError("a ship order names the finished task whose branch it ships (\"task\": \"t3\")", command: [])
        }
        switch (object["push"]?.stringValue, object["merge"]?.stringValue) {
        case (let remote?, nil) where Self.isSafeName(remote):
            self.init(task: task, destination: .push(remote: remote))
        case (nil, let into?) where Self.isSafeName(into):
            self.init(task: task, destination: .merge(into: into, squash: object["squash"]?.boolValue ?? false))
        default:
            throw GitError(
                "a ship order has exactly one of \"push\" (a remote) and \"merge\" (a branch), named without spaces or a leading '-'",
                command: []
            )
        }
    }

    /// Names git takes as a remote or branch and cannot read as an option.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.hasPrefix("-") && !name.contains("..")
            && !name.unicodeScalars.contains {
                $0.properties.isWhitespace || $0.value < 0x20 || "~^:?*[\\".unicodeScalars.contains($0)
            }
    }
}
