import ArgumentParser
import Foundation
import LoomCode
import LoomEngine
import LoomIPC
import LoomValues

/// `loomctl ship TASK --push REMOTE | --merge INTO [--squash]`: a person sends a finished
/// task's branch on. Shipping cannot be undone, so it is a task of its own whose gate only
/// a human principal can answer: this command submits it, lets loomd check the order
/// (the branch exists, no conflict, a fast-forward is possible), then answers the gate as
/// you. From a process an agent started, the answer is refused and nothing ships.
struct Ship: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract:
            "Push a finished task's branch loom/TASK to a remote, or merge it into a branch (fast-forward or squash).",
        discussion: """
            Nothing is shipped on a conflict, a branch that cannot be fast-forwarded, or a target checked out \
            with uncommitted changes: the reason is printed and nothing changes. Every ship is journaled \
            as its own task (who, which commit, where): see `loomctl log SHIP_TASK`.
            """
    )

    @Argument(help: "The finished task whose branch loom/TASK is shipped.") var task: String
    @Option(help: "Push the branch to this remote (never forced).") var push: String?
    @Option(help: "Merge the branch into this branch.") var merge: String?
    @Flag(help: "With --merge: one squashed commit instead of a fast-forward.") var squash = false
    @Option(help: "Seconds to wait for loomd to check and ship (1...3600).") var timeout: Int = 600
    @OptionGroup var project: ProjectOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (push == nil) != (merge == nil) else {
            throw ValidationError("give exactly one of --push REMOTE and --merge INTO")
        }
        if squash && merge == nil { throw ValidationError("--squash goes with --merge") }
        guard (1...3_600).contains(timeout) else { throw ValidationError("--timeout must be 1 to 3600 seconds") }
    }

    func run() throws {
        try runReporting {
            let order = ShipOrder(
                task: task,
                destination: push.map { .push(remote: $0) } ?? .merge(into: merge ?? "", squash: squash)
            )
            let client = try global.connect()
            defer { client.close() }
            let root = project.root
            func status(_ id: String) throws -> JSONValue {
                do { return try client.call(LoomIPC.Status.self, TaskParams(project: root, task: id)).json } catch {
                    throw CLIError(error)
                }
            }
            func waitWhileRunning(_ id: String) throws -> JSONValue {
                let deadline = Date().addingTimeInterval(Double(timeout))
                while true {
                    let current = try status(id)
                    if current["status"]?.stringValue != "running" && current["status"]?.stringValue != "queued" {
                        return current
                    }
                    guard Date() < deadline else {
                        throw CLIError(
                            "\(id) is still \(current["status"]?.stringValue ?? "?") at \(current["step"]?.stringValue ?? "?") after \(timeout) s; see loomctl status \(id)",
                            status: 1
                        )
                    }
                    usleep(50_000)
                }
            }
            let submitted: LoomIPC.Submit.Result
            do {
                submitted = try client.call(
                    LoomIPC.Submit.self,
                    LoomIPC.Submit.Params(
                        project: root,
                        input: order.input,
                        bundle: "code",
                        flow: "ship",
                        policy: "full-supervised"
                    )
                )
            } catch {
                throw CLIError(error, hint: "only a task that ended done can be shipped")
            }
            let shipTask = submitted.task
            var state = try waitWhileRunning(shipTask)
            if state["status"]?.stringValue == "parked", let gate = state["gate"]?["event"]?.stringValue {
                do {
                    _ = try client.call(
                        LoomIPC.Answer.self,
                        LoomIPC.Answer.Params(
                            project: root,
                            task: shipTask,
                            gate: gate,
                            answer: "approve",
                            message: "loomctl ship: \(order.summary)"
                        )
                    )
                } catch {
                    throw CLIError(error, hint: "nothing was shipped; \(shipTask) waits at its gate for a person")
                }
                state = try waitWhileRunning(shipTask)
            }
            let note = try shipNote(client: client, task: shipTask)
            guard state["status"]?.stringValue == "done" else {
                throw CLIError(
                    "\(task) was not shipped (\(shipTask) \(state["status"]?.stringValue ?? "?")): \(state["outcome"]?.stringValue ?? note)",
                    status: 1
                )
            }
            if global.json {
                print(
                    JSONValue.object(["task": .string(task), "shipTask": .string(shipTask), "shipped": .string(note)])
                        .canonicalText
                )
            } else {
                print("\(task): \(note) (journaled as \(shipTask))")
            }
        }
    }

    /// The ship step's own words, from the ship task's journal.
    private func shipNote(client: IPCClient, task: String) throws -> String {
        var note = ""
        _ = try? JournalPages.read(project: project.root, task: task, call: { try client.call(LoomIPC.Log.self, $0) }) {
            entry in
            if entry["payload"]?["key"]?.stringValue?.contains(":ship:") == true {
                note = entry["payload"]?["result"]?["output"]?.stringValue ?? note
            }
        }
        return note
    }
}
