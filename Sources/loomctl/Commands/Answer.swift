import ArgumentParser
import LoomEngine
import LoomIPC
import LoomValues

/// What approve, reject and abandon share.
struct AnswerOptions: ParsableArguments {
    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Option(
        help:
            "The gate event id being answered (default: the gate the task waits at now). Naming it guards against answering a gate you have not seen."
    ) var gate: String?
    @Option(help: "Why; required to request changes.") var reason: String?
    @OptionGroup var global: GlobalOptions

    func send(_ answer: String) throws {
        try runReporting {
            let params = LoomIPC.Answer.Params(
                project: project.root,
                task: task,
                gate: gate,
                answer: answer,
                message: reason
            )
            try global.call(LoomIPC.Answer.self, params) { result in
                "\(result.task): \(result.answer) at \(result.gate)"
            }
        }
    }
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve the gate a task waits at (journaled as you, the OS user)."
    )
    @OptionGroup var options: AnswerOptions
    func run() throws { try options.send("approve") }
}

struct Reject: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Request changes at the gate; --reason says what to change, and the task walks back."
    )
    @OptionGroup var options: AnswerOptions
    func validate() throws {
        guard let reason = options.reason, !reason.allSatisfy(\.isWhitespace) else {
            throw ValidationError("requesting changes needs --reason saying what to change")
        }
    }
    func run() throws { try options.send("request_changes") }
}

struct Abandon: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "abandon", abstract: "Abandon a task at its gate.")
    @OptionGroup var options: AnswerOptions
    func run() throws { try options.send("abandon") }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a task that has not finished; its pending effects are cancelled with it."
    )
    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Option(help: "Why, for the audit trail.") var reason: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            let params = LoomIPC.Cancel.Params(project: project.root, task: task, reason: reason ?? "")
            try global.call(LoomIPC.Cancel.self, params) { result in "\(result.task): cancelled" }
        }
    }
}
