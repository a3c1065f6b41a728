import Logging
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// loomd's log: one line per event on stderr, `loomd: LEVEL message key=value …`, the
/// metadata sorted so lines diff and grep well. Under systemd (its journal on stderr,
/// `JOURNAL_STREAM` set) each line starts with the journald priority, `<3>` … `<7>`, so
/// `journalctl -p warning` filters by level. Written with one write(2) per line, so
/// lines from many threads never interleave.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let journald: Bool

    public init(level: Logger.Level, journald: Bool) {
        logLevel = level
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata extra: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var line = journald ? "<\(Self.priority(level))>" : ""
        line += "loomd: \(level.rawValue): \(message)"
        let merged = extra.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() { line += " \(key)=\(Self.quoted("\(merged[key]!)"))" }
        StandardError.write(line + "\n")
    }

    /// syslog priorities, as journald reads them from a line's `<N>` prefix.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A value as it is when it has no space, quote or newline; else in quotes, escaped.
    static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "\n" || $0 == "=" }) || value.isEmpty else {
            return value
        }
        var quoted = "\""
        for character in value {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            default: quoted.append(character)
            }
        }
        return quoted + "\""
    }

    /// The level `LOOM_LOG` or `--log-level` names (trace, debug, info, notice, warning,
    /// error, critical); nil for anything else.
    public static func level(named name: String) -> Logger.Level? { Logger.Level(rawValue: name.lowercased()) }
}
