import Foundation
import LoomValues

/// Escaping and the few formats every page shares. All text that came from loomd, git or a
/// person goes through `escape` (and, where it can carry secrets, `Redactor`) on its way out.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Milliseconds since the epoch as UTC, for people.
    public static func time(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000))
    }

    /// "3 min", "2 h 5 min": how long since `milliseconds`, at `nowMs`.
    public static func age(since milliseconds: Int64?, nowMs: Int64) -> String {
        guard let milliseconds else { return "-" }
        let seconds = max(0, (nowMs - milliseconds) / 1_000)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3_600 { return "\(seconds / 60) min" }
        if seconds < 86_400 { return "\(seconds / 3_600) h \(seconds % 3_600 / 60) min" }
        return "\(seconds / 86_400) d \(seconds % 86_400 / 3_600) h"
    }

    public static func dollars(_ value: Double?) -> String { String(format: "$%.4f", value ?? 0) }

    /// A journal actor, as a person reads it: "human root (uid 0, pid 12)".
    public static func actor(_ actor: JSONValue?) -> String {
        guard let actor else { return "-" }
        let principal = actor["principal"]
        var text = "\(principal?["kind"]?.stringValue ?? "?") \(principal?["id"]?.stringValue ?? "")"
        var details: [String] = []
        if let uid = actor["uid"]?.intValue { details.append("uid \(uid)" + (userName(uid).map { " \($0)" } ?? "")) }
        if let pid = actor["pid"]?.intValue { details.append("pid \(pid)") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        return text
    }

    static func userName(_ uid: Int64) -> String? {
        guard let uid = uid_t(exactly: uid), let entry = getpwuid(uid), let name = entry.pointee.pw_name else {
            return nil
        }
        return String(cString: name)
    }

    /// Cuts text to `limit` characters, saying so.
    public static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + " … (\(text.count - limit) more characters)"
    }
}
