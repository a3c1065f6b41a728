import LoomConfiguration
import LoomEngine
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The variable every process loom starts for a task carries (agents, programs, commands,
/// checks), so that a `loomctl run` started by one of them refuses to take gate answers
/// from its terminal: a person answers gates, not something an agent launched. loomd does
/// not rely on it (it checks a peer's process ancestry); it is the one-shot run's guard.
public enum AgentMarker {
    public static let variable = "LOOM_AGENT"
    public static let value = "1"
}

/// The environment every child loom starts begins from: loomd's own PATH as it was when
/// loomd started (else a fixed one), the locale, the agent marker, and HOME. Nothing else of
/// loomd's own environment (it may hold keys); a caller adds what its kind of child needs.
///
/// Why loomd's PATH: a check must run the tools the person runs (their pyenv or venv
/// python, not the system one); a fixed PATH silently ran other programs. Confinement
/// still decides which files those programs can see (a PATH entry under `$HOME` is hidden
/// with the rest of `$HOME`).
public enum ChildEnvironment {
    public static let fallbackPath = "/usr/local/bin:/usr/bin:/bin"

    /// loomd's PATH, read once (the first child loom starts; loomd never changes its own).
    public static let startPath: String = {
        guard let value = getenv("PATH").map({ String(cString: $0) }), !value.isEmpty else { return fallbackPath }
        return value
    }()

    /// `name` as an executable path: as it is when it holds a slash, else the first regular,
    /// executable file of that name on `path`.
    public static func which(_ name: String, path: String) -> String? {
        ProgramRun.resolve(name, path: path)
    }

    public static func base() -> [String: String] {
        var environment = ["PATH": startPath, "LANG": "C.UTF-8", AgentMarker.variable: AgentMarker.value]
        if let home = getenv("HOME") { environment["HOME"] = String(cString: home) }
        return environment
    }

    /// Whether a variable's value is kept out of the journal: the names redaction treats as
    /// secrets (ending in KEY, TOKEN, SECRET or PASSWORD, as `SecretsLookup` does).
    public static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD"].contains { upper.hasSuffix($0) }
    }

    /// `environment` as it may be journaled: secret-named values replaced.
    public static func recordable(_ environment: [String: String]) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for (name, value) in environment { object[name] = .string(isSecretName(name) ? "[redacted]" : value) }
        return .object(object)
    }
}
