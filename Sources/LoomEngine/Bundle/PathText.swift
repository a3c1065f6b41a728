import LoomValues

/// Builds the JSON-path-like locations used in problems and validation
/// errors: `flows.standard.steps[2].agent`, `$.findings[2].severity`.
/// Keys that are not plain names are quoted (`flows["my flow"]`) so a
/// location always reads back unambiguously.
enum PathText {
    static func member(_ base: String, _ key: String) -> String {
        if isPlain(key) {
            return base.isEmpty ? key : base + "." + key
        }
        return base + "[" + JSONValue.string(key).canonicalText + "]"
    }

    static func index(_ base: String, _ index: Int) -> String {
        base + "[\(index)]"
    }

    private static func isPlain(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, BundleNames.isPlaceholderStart(first) else { return false }
        return bytes.allSatisfy { BundleNames.isPlaceholderChar($0) || $0 == UInt8(ascii: "-") }
    }
}
