import LoomEngine
import LoomValues

/// Cuts a rendered prompt to fit a model's window, where the bundle allows it.
///
/// The kernel renders the whole prompt and records, with the spawn's request, where each
/// shrinkable variable's value sits and how it shrinks (`AgentRequest.shrinkable`). Only the
/// host knows which model a spawn reaches (a fallback chain may try several, each with its
/// own window), so it fits here, once per model tried, and the result journals what was
/// cut (`Fit.json`, the result's `fit`). The cut is a pure function of the request and the
/// budget, so it is the same every time for the same model and window.
///
/// The order is fixed: the largest values are cut first, down to the size of the next
/// largest, and so on (water-filling to one common size, ties by variable name), each to no
/// less than its minimum (`headTailMinBytes` of head and tail; one item). A head-tail cut
/// keeps half of what remains at each end, on line boundaries where one is near, with a
/// marked cut between; a first-items cut keeps whole leading items (a JSON array's
/// elements, else lines) and says how many it dropped. Sizes are in tokens estimated by
/// `TokenEstimate` (one per 3 bytes).
public enum PromptFitter {
    /// The least a head-tail cut keeps of a value, head and tail together.
    public static let headTailMinBytes = 1_024
    /// Largest number of shrinkable variables considered (the rest are left whole).
    public static let variablesMax = 32

    /// What fitting did, for the journal.
    public struct Fit: Sendable, Equatable {
        public struct Cut: Sendable, Equatable {
            public var variable: String
            public var rule: ShrinkRule
            public var bytesBefore: Int
            public var bytesAfter: Int
        }

        public var budget: ContextBudget
        public var promptTokensBefore: Int
        public var promptTokensAfter: Int
        /// The least the prompt could be cut to (every shrinkable value at its minimum).
        public var promptTokensMin: Int
        public var cuts: [Cut]
        public var fits: Bool { promptTokensAfter <= budget.promptTokens }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "window": budget.json,
                "promptTokens": .object([
                    "before": .int(Int64(promptTokensBefore)), "after": .int(Int64(promptTokensAfter)),
                    "min": .int(Int64(promptTokensMin)), "budget": .int(Int64(budget.promptTokens)),
                ]),
                "estimate": .string(TokenEstimate.fittingRule),
                "fits": .bool(fits),
            ]
            if !cuts.isEmpty {
                object["cuts"] = .array(
                    cuts.map { cut in
                        .object([
                            "variable": .string(cut.variable), "rule": .string(cut.rule.rawValue),
                            "bytes": .object([
                                "before": .int(Int64(cut.bytesBefore)), "after": .int(Int64(cut.bytesAfter)),
                            ]),
                        ])
                    }
                )
            }
            return .object(object)
        }
    }

    /// The prompt to send (cut when it had to be) and what was done; `fit.fits` false when
    /// even every value at its minimum leaves the prompt over the budget.
    public static func fit(_ request: AgentRequest, budget: ContextBudget) -> (prompt: String, fit: Fit) {
        let bytes = Array(request.prompt.utf8)
        let limitBytes = TokenEstimate.fittingBytes(tokens: budget.promptTokens)
        let before = TokenEstimate.fitting(bytes: bytes.count)
        var fit = Fit(
            budget: budget,
            promptTokensBefore: before,
            promptTokensAfter: before,
            promptTokensMin: before,
            cuts: []
        )
        guard bytes.count > limitBytes else { return (request.prompt, fit) }

        // The values that may shrink, each with its occurrences.
        let items: [Shrinkable] = request.shrinkable.prefix(variablesMax).compactMap { entry in
            guard entry.rule != .none, let first = entry.spans.first else { return nil }
            return Shrinkable(
                variable: entry.variable,
                rule: entry.rule,
                spans: entry.spans,
                value: Array(bytes[first])
            )
        }
        let fixed = bytes.count - items.reduce(0) { $0 + $1.value.count * $1.spans.count }
        func total(level: Int) -> Int { fixed + items.reduce(0) { $0 + $1.cut(to: level).count * $1.spans.count } }
        let smallest = total(level: 0)
        fit.promptTokensMin = TokenEstimate.fitting(bytes: smallest)
        guard smallest <= limitBytes else {
            fit.promptTokensAfter = fit.promptTokensMin
            return (request.prompt, fit)
        }
        // The largest common level that fits (total is monotone in the level).
        var low = 0
        var high = items.map(\.value.count).max() ?? 0
        while low < high {
            let middle = low + (high - low + 1) / 2
            if total(level: middle) <= limitBytes { low = middle } else { high = middle - 1 }
        }
        var replacements: [(range: Range<Int>, bytes: [UInt8])] = []
        for item in items {
            let cut = item.cut(to: low)
            guard cut.count < item.value.count else { continue }
            fit.cuts.append(
                Fit.Cut(variable: item.variable, rule: item.rule, bytesBefore: item.value.count, bytesAfter: cut.count)
            )
            for span in item.spans { replacements.append((span, cut)) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(limitBytes)
        var position = 0
        for replacement in replacements.sorted(by: { $0.range.lowerBound < $1.range.lowerBound })
        where replacement.range.lowerBound >= position {
            out += bytes[position..<replacement.range.lowerBound]
            out += replacement.bytes
            position = replacement.range.upperBound
        }
        out += bytes[position...]
        fit.promptTokensAfter = TokenEstimate.fitting(bytes: out.count)
        return (String(decoding: out, as: UTF8.self), fit)
    }

    /// One shrinkable value and how to cut it to a size.
    struct Shrinkable {
        let variable: String
        let rule: ShrinkRule
        let spans: [Range<Int>]
        let value: [UInt8]

        /// The value cut to at most `level` bytes where its rule allows (never below its
        /// minimum); unchanged when it is no larger.
        func cut(to level: Int) -> [UInt8] {
            guard value.count > level else { return value }
            switch rule {
            case .none: return value
            case .headTail: return PromptFitter.headTail(value, bytes: level)
            case .firstItems: return PromptFitter.firstItems(value, bytes: level)
            }
        }
    }

    static func headTail(_ value: [UInt8], bytes level: Int) -> [UInt8] {
        // The marker's size depends on the count it names; the count's digits are bounded
        // by the value's, so reserve for those.
        let markerMax = marker(cutBytes: value.count).count
        let keep = max(headTailMinBytes, level - markerMax)
        guard keep < value.count else { return value }
        let newline = UInt8(ascii: "\n")
        var headEnd = keep / 2
        var tailStart = value.count - (keep - headEnd)
        // Whole lines where a line break is near (within a quarter of each part).
        if let lineEnd = value[(headEnd - headEnd / 4)..<headEnd].lastIndex(of: newline) { headEnd = lineEnd + 1 }
        let tailWindow = tailStart..<min(value.count, tailStart + (value.count - tailStart) / 4)
        if let lineEnd = value[tailWindow].firstIndex(of: newline) { tailStart = lineEnd + 1 }
        // Never split a UTF-8 sequence.
        while headEnd > 0, value[headEnd] & 0xC0 == 0x80 { headEnd -= 1 }
        while tailStart < value.count, value[tailStart] & 0xC0 == 0x80 { tailStart += 1 }
        return Array(value[..<headEnd]) + marker(cutBytes: tailStart - headEnd) + Array(value[tailStart...])
    }

    static func marker(cutBytes: Int) -> [UInt8] {
        Array("\n[… \(cutBytes) bytes cut here by loom to fit the model's context window …]\n".utf8)
    }

    static func itemsMarker(cutItems: Int) -> [UInt8] {
        Array("\n[… \(cutItems) more item(s) cut by loom to fit the model's context window]".utf8)
    }

    /// Whole leading items within `level` bytes, at least one: a JSON array's elements
    /// (kept as a JSON array), else lines.
    static func firstItems(_ value: [UInt8], bytes level: Int) -> [UInt8] {
        let text = String(decoding: value, as: UTF8.self)
        if let elements = (try? JSONValue.parse(text))?.arrayValue, !elements.isEmpty {
            var kept = 1
            let room = level - itemsMarker(cutItems: elements.count).count
            var size = 2 + elements[0].canonicalBytes().count
            while kept < elements.count {
                let next = size + 1 + elements[kept].canonicalBytes().count
                guard next <= room else { break }
                size = next
                kept += 1
            }
            guard kept < elements.count else { return value }
            return JSONValue.array(Array(elements.prefix(kept))).canonicalBytes()
                + itemsMarker(cutItems: elements.count - kept)
        }
        let lines = value.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count > 1 else { return value }
        let room = level - itemsMarker(cutItems: lines.count).count
        var kept = 1
        var size = lines[0].count
        while kept < lines.count, size + 1 + lines[kept].count <= room {
            size += 1 + lines[kept].count
            kept += 1
        }
        guard kept < lines.count else { return value }
        return Array(lines.prefix(kept).joined(separator: [UInt8(ascii: "\n")]))
            + itemsMarker(cutItems: lines.count - kept)
    }
}
