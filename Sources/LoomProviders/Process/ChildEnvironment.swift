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

/// The environment every child loom starts begins from: a fixed PATH and locale, the
/// agent marker, and HOME. Nothing else of loomd's own environment (it may hold keys);
/// a caller adds what its kind of child needs.
public enum ChildEnvironment {
    public static func base() -> [String: String] {
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", AgentMarker.variable: AgentMarker.value]
        if let home = getenv("HOME") { environment["HOME"] = String(cString: home) }
        return environment
    }
}
