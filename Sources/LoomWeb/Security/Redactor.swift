import Foundation

/// Takes secrets out of text before it is rendered: journal payloads, agent output, diffs
/// and models.json can all carry something that looks like `OPENAI_API_KEY=sk-…`. The
/// dashboard never reads secrets.json; this is for secrets that leaked into other text.
public enum Redactor {
    public static let mask = "[redacted]"

    /// `NAME=value` / `NAME: value` where NAME is an environment-style name that says key,
    /// token, secret or password (`OPENROUTER_API_KEY=…`), or a lower-case `api_key`,
    /// `password`… A bare JSON `"key"` (an effect key) is not a secret and is left alone.
    static let assignment = try! NSRegularExpression(
        pattern:
            #"\b([A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)[A-Z0-9_]*|(?i:api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|secret|password))(\"?\s*[=:]\s*\"?)([^\s\"',;]{4,})"#
    )
    /// Well-known credential shapes even without a name in front of them.
    static let shapes = try! NSRegularExpression(
        pattern:
            #"\b(sk-[A-Za-z0-9_-]{12,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|Bearer\s+[A-Za-z0-9._~+/-]{12,})"#
    )

    public static func redact(_ text: String) -> String {
        let range = NSRange(text.startIndex..., in: text)
        var result = assignment.stringByReplacingMatches(in: text, range: range, withTemplate: "$1$2\(mask)")
        result = shapes.stringByReplacingMatches(
            in: result,
            range: NSRange(result.startIndex..., in: result),
            withTemplate: mask
        )
        return result
    }

    /// Whether a JSON object key names a secret (its value is masked whatever it is).
    public static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"].contains { upper.contains($0) }
    }
}
