import LoomValues

/// The seam a host implements for command steps that name a `handler` instead of an argv:
/// work the host does in Swift (prepare a workspace, run a project's checks, record a
/// delivery) whose result the kernel records like any command's.
///
/// A handler is run at least once per effect: after a crash between its execution and the
/// delivery of its result it runs again, so every handler must be idempotent.
public protocol StepHandler: Sendable {
    func run(_ request: HandlerRequest) -> CommandResult
}

/// What a handler is told about the step it runs.
public struct HandlerRequest: Sendable {
    public let taskID: String
    public let step: String
    /// The task's input, at most `inputMaxBytes` of it.
    public let input: String
    /// The project's root directory.
    public let projectDirectory: String
    public let timeoutMs: Int
    public let outputLimitBytes: Int
    /// Told each long-running child's pid when it starts (`true`) and ends (`false`), so the
    /// host can end what a killed host left running.
    public var onChild: @Sendable (Int32, Bool) -> Void = { _, _ in }

    public static let inputMaxBytes = 4_096

    /// The input's first line, at most 120 characters, for messages people read.
    public var title: String {
        String(input.split(separator: "\n", omittingEmptySubsequences: true).first?.prefix(120) ?? "")
    }

    public init(
        taskID: String,
        step: String,
        input: String,
        projectDirectory: String,
        timeoutMs: Int,
        outputLimitBytes: Int
    ) {
        self.taskID = taskID
        self.step = step
        self.input = input
        self.projectDirectory = projectDirectory
        self.timeoutMs = timeoutMs
        self.outputLimitBytes = outputLimitBytes
    }

    /// From a command effect's request; nil when it names no handler.
    public init?(effectRequest json: JSONValue, projectDirectory: String) {
        guard json["handler"]?.stringValue != nil, let task = json["task"]?.stringValue,
            let step = json["step"]?.stringValue
        else { return nil }
        self.init(
            taskID: task,
            step: step,
            input: json["input"]?.stringValue ?? "",
            projectDirectory: projectDirectory,
            timeoutMs: Int(json["timeoutMs"]?.intValue ?? Int64(CommandSpec.defaultTimeoutMs)),
            outputLimitBytes: Int(json["outputLimitBytes"]?.intValue ?? Int64(CommandSpec.defaultOutputLimitBytes))
        )
    }
}
