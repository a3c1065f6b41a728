import ArgumentParser
import Foundation
import LoomCode
import LoomEngine

/// `loomctl diff TASK`: the change a code task has made so far, for the person at a gate.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show a code task's change against the commit its branch started from (read-only; no daemon needed).",
        discussion: """
            While the task runs, the diff of its worktree (new files appear once the task's diff step \
            has recorded them); once it has ended, the diff of its branch loom/TASK. --stat prints \
            the summary only.
            """
    )

    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Flag(help: "Only the files changed and the line counts.") var stat = false

    func run() throws {
        try runReporting {
            let store: Store
            do { store = try project.readOnlyStore() } catch { throw CLIError("\(error)", status: 3) }
            let rows = try store.query(
                """
                SELECT json_extract(output, '$.details.baseCommit') AS base FROM step_outputs
                WHERE task_id = :task AND json_extract(output, '$.details.baseCommit') IS NOT NULL ORDER BY tick LIMIT 1
                """,
                bindings: [":task": task]
            )
            guard let base = rows.first?["base"]?.stringValue else {
                throw CLIError("\(task) has no worktree on record (not a code task, or it has not started)", status: 3)
            }
            let workspace = TaskWorkspace(projectDirectory: project.root, taskID: task)
            let arguments: [String]
            let git: Git
            if workspace.exists {
                // The worktree as it is, read without touching its index (loomd may be using
                // it): files an agent created show once the task's diff step has staged them.
                do { git = try workspace.git() } catch { throw CLIError("\(error)", status: 1) }
                arguments = ["diff", "--no-color"] + (stat ? ["--stat"] : []) + [base]
            } else {
                git = Git(directory: project.root)
                arguments = ["diff", "--no-color"] + (stat ? ["--stat"] : []) + [base, workspace.branch]
            }
            let output = try git.run(arguments)
            guard output.ok else { throw CLIError("git diff failed: \(output.firstLine)", status: 1) }
            print(output.text, terminator: "")
            if output.truncated { print("\n(truncated at \(git.outputLimitBytes) bytes)") }
        }
    }
}
