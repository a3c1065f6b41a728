/// Every bound the dashboard keeps, by name, with its default. A browser tab left open
/// for a week or a hostile page on the same machine must not be able to grow any of these.
public struct DashboardLimits: Sendable {
    /// The largest request body read (forms are small; a larger body is refused with 413).
    public var requestBodyBytesMax = 64 << 10
    /// Live-update streams open at once; one more is refused with 503.
    public var eventStreamsMax = 8
    /// Seconds between SSE heartbeats, which is also how soon a closed tab is noticed.
    public var heartbeatSeconds = 15
    /// A git or dot child is killed after this long.
    public var childProcessTimeoutMs = 10_000
    /// The diff shown is cut at this many bytes.
    public var diffBytesMax = 512 << 10
    /// A rendered graph larger than this is not embedded.
    public var svgBytesMax = 2 << 20
    /// One call to loomd.
    public var daemonCallTimeoutMs = 30_000
    /// How long a ship waits for loomd to check the order and park at its gate, and then to ship.
    public var shipWaitSeconds = 120
    /// Projects listed on the fleet page.
    public var projectsShownMax = 100
    /// Recent tasks listed per project.
    public var recentTasksMax = 20
    /// Journal entries shown on a task page (the newest are kept).
    public var timelineEntriesMax = 2_000
    /// A submitted task's input, in bytes.
    public var taskInputBytesMax = 32 << 10

    public init() {}
}
