import LoomValues

/// What a ship task is asked to do, from its input (JSON): `{"task": "t3", "push": "origin"}`
/// or `{"task": "t3", "merge": "main", "squash": true}`. Clients build it (loomctl ship, the
/// dashboard); the code bundle's ship handler reads it back (`ShipOrder(input:)`, LoomCode).
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
}
