/// The naming rules a bundle must follow, in one place so the loader, the
/// template parser and `VariableSource` agree on them.
///
/// Names are deliberately plain ASCII: they end up in SQL rows, file names,
/// log lines and command lines, where anything fancier causes trouble.
enum BundleNames {
    static let maxNameLength = 64

    /// Bundle, phase, flow, step, agent, gate and rule names: `[a-z][a-z0-9_-]*`, at most 64.
    static func isName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= maxNameLength, isLower(first) else { return false }
        return bytes.dropFirst().allSatisfy {
            isLower($0) || isNumeral($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Template placeholders and agent variable names: `[A-Za-z_][A-Za-z0-9_]*`, at most 64.
    static func isPlaceholderName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= maxNameLength, isPlaceholderStart(first) else { return false }
        return bytes.dropFirst().allSatisfy(isPlaceholderChar)
    }

    /// A top-level output field named by `output:STEP.FIELD`: `[A-Za-z_][A-Za-z0-9_-]*`, at most 64.
    static func isFieldName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= maxNameLength, isPlaceholderStart(first) else { return false }
        return bytes.dropFirst().allSatisfy { isPlaceholderChar($0) || $0 == UInt8(ascii: "-") }
    }

    /// Handler names are chosen by the host, so they may be a little richer:
    /// `[A-Za-z][A-Za-z0-9_.:-]*`, at most 128.
    static func isHandlerName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, isLetter(first) else { return false }
        return bytes.dropFirst().allSatisfy {
            isLetter($0) || isNumeral($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-")
        }
    }

    static func isPlaceholderStart(_ b: UInt8) -> Bool { isLetter(b) || b == UInt8(ascii: "_") }
    static func isPlaceholderChar(_ b: UInt8) -> Bool { isLetter(b) || isNumeral(b) || b == UInt8(ascii: "_") }
    static func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
    static func isLetter(_ b: UInt8) -> Bool { isLower(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) }
    static func isNumeral(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// The explanation used whenever a name is refused.
    static let nameRule = "names must match [a-z][a-z0-9_-]* and be at most 64 characters"

    /// Byte-order comparison. Swift's `<` on String compares Unicode-normalized
    /// scalars, which is not what the digest specification says.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The closest candidate within a small edit distance, for "did you mean"
    /// hints: a typo should be one glance away from being fixed.
    static func suggestion(for text: String, among candidates: some Sequence<String>) -> String? {
        var best: (distance: Int, name: String)?
        for candidate in candidates.sorted(by: utf8Less) {
            let d = editDistance(Array(text.utf8), Array(candidate.utf8))
            let limit = max(1, min(3, candidate.utf8.count / 3))
            if d <= limit, best == nil || d < best!.distance {
                best = (d, candidate)
            }
        }
        return best?.name
    }

    /// `" (did you mean \"x\"?)"` or "".
    static func hint(for text: String, among candidates: some Sequence<String>) -> String {
        suggestion(for: text, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// Edit distance counting an adjacent swap as one edit ("mian" -> "main"),
    /// the most common typo in hand-written names (optimal string alignment).
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        // Inputs are short names; cap the work anyway so hostile keys stay cheap.
        if a.count > 128 || b.count > 128 { return Int.max }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        let width = b.count + 1
        var d = [Int](repeating: 0, count: (a.count + 1) * width)
        for i in 0...a.count { d[i * width] = i }
        for j in 0...b.count { d[j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(d[(i - 1) * width + j] + 1, d[i * width + j - 1] + 1, d[(i - 1) * width + j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, d[(i - 2) * width + j - 2] + 1)
                }
                d[i * width + j] = best
            }
        }
        return d[a.count * width + b.count]
    }
}
