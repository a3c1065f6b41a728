/// The variable every process loom starts for a task carries (agents, programs, commands,
/// checks), so that a `loomctl run` started by one of them refuses to take gate answers
/// from its terminal: a person answers gates, not something an agent launched. loomd does
/// not rely on it (it checks a peer's process ancestry); it is the one-shot run's guard.
public enum AgentMarker {
    public static let variable = "LOOM_AGENT"
    public static let value = "1"
}
