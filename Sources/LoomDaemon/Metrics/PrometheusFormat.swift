/// The lexical rules of Prometheus text format 0.0.4: which names are valid, how label values
/// and help texts are escaped, how numbers are spelled. Kept apart from `PrometheusText` so
/// each rule can be tested on its own.
enum PrometheusFormat {
    /// Longest metric or label name, in bytes. Names are constants in loomd's code; anything
    /// longer is a mistake, and very long names bloat every scrape.
    static let nameByteLimit = 200
    /// Longest label value, in UTF-8 bytes; longer ones are cut. Values come from run-time
    /// data (project paths, task names), and one runaway value must not blow up a scrape.
    static let labelValueByteLimit = 1024
    /// Longest HELP text, in UTF-8 bytes; longer ones are cut.
    static let helpByteLimit = 1024
    /// Most labels on one sample. Every label multiplies series in Prometheus; more than this
    /// is a design error, not data.
    static let labelsPerSampleLimit = 16

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, at most `nameByteLimit` bytes.
    static func isValidMetricName(_ name: String) -> Bool {
        isValidName(name, allowColon: true)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, at most `nameByteLimit` bytes, and not starting with `__`
    /// (reserved for Prometheus' own labels).
    static func isValidLabelName(_ name: String) -> Bool {
        isValidName(name, allowColon: false) && !name.hasPrefix("__")
    }

    private static func isValidName(_ name: String, allowColon: Bool) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= nameByteLimit else { return false }
        for (index, byte) in bytes.enumerated() {
            let letter =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || byte == UInt8(ascii: "_")
                || (allowColon && byte == UInt8(ascii: ":"))
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || (digit && index > 0) else { return false }
        }
        return true
    }

    /// A label value as it goes between the quotes: `\` → `\\`, `"` → `\"`, newline → `\n`.
    static func escapeLabelValue(_ value: String) -> String {
        escape(truncated(value, toBytes: labelValueByteLimit), quotes: true)
    }

    /// A HELP text: `\` → `\\`, newline → `\n` (quotes stay as they are in HELP).
    static func escapeHelp(_ help: String) -> String {
        escape(truncated(help, toBytes: helpByteLimit), quotes: false)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"" where quotes: result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Integral values below `exactIntegerLimit` without a fraction ("3", not "3.0"); the
    /// specials as the format spells them; anything else in Swift's shortest round-trip form
    /// ("0.0005", "1e-07"), which Go's ParseFloat reads back exactly.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(.towardZero), abs(value) < exactIntegerLimit {
            return String(Int64(value))
        }
        return "\(value)"
    }

    /// Below 2^53 every integer is a Double exactly, so printing it as an Int64 loses nothing.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992

    /// `text` cut to at most `limit` UTF-8 bytes at a scalar boundary.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            if bytes + width > limit { break }
            result.append(scalar)
            bytes += width
        }
        return String(result)
    }
}
