import LoomEngine
import LoomValues

/// Which provider and model answered a task's agent runs, read from the effect results in
/// the journal (so a verifier recomputes it rather than trusting the exporter's word).
public struct ProviderIdentity: Sendable, Hashable {
    public let provider: String
    public let model: String
    /// Agent results from this provider and model.
    public let results: Int
    /// The step:unit pairs it answered, sorted.
    public let units: [String]

    public init(provider: String, model: String, results: Int, units: [String]) {
        self.provider = provider
        self.model = model
        self.results = results
        self.units = units
    }

    var json: JSONValue {
        .object([
            "provider": .string(provider), "model": .string(model), "results": .int(Int64(results)),
            "units": .array(units.map { .string($0) }),
        ])
    }

    /// The identities in `task`'s effect results, sorted by provider then model.
    public static func derive(from entries: [JournalEntry], task: String) -> [ProviderIdentity] {
        var counts: [[String]: Int] = [:]
        var units: [[String]: Set<String>] = [:]
        for entry in entries where entry.taskID == task && entry.kind == .effectResult {
            guard let result = entry.payload["result"], let provider = result["provider"]?.stringValue,
                !provider.isEmpty
            else { continue }
            let key = [provider, result["model"]?.stringValue ?? ""]
            counts[key, default: 0] += 1
            // Effect keys are task:step:unit:iteration:attempt.
            let parts = (entry.payload["key"]?.stringValue ?? "").split(
                separator: ":",
                omittingEmptySubsequences: false
            )
            if parts.count >= 5 { units[key, default: []].insert(parts[1...(parts.count - 3)].joined(separator: ":")) }
        }
        return counts.keys.sorted {
            Array($0.joined(separator: "\u{0}").utf8).lexicographicallyPrecedes(
                Array($1.joined(separator: "\u{0}").utf8)
            )
        }
        .map { key in
            ProviderIdentity(
                provider: key[0],
                model: key[1],
                results: counts[key]!,
                units: (units[key] ?? []).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            )
        }
    }
}
