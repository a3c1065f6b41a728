import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC
import LoomSystem
import LoomValues

/// `loomctl submit "…"`: acknowledged only once the submission is committed.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a task to a project and print its id.",
        discussion: "The same --idempotency-key returns the same task id, so a retried cron job is harmless."
    )

    @Argument(help: "What to do, in words.") var input: String
    @OptionGroup var project: ProjectOption
    @Option(help: "The bundle to run (default: the daemon's default bundle, code when loaded).") var bundle: String?
    @Option(help: "The flow within the bundle (default: the bundle's).") var flow: String?
    @Option(help: "full-supervised, review-plan-only, review-final-only, gates-on-blockers or full-autonomous.")
    var policy: String?
    @Option(name: .customLong("idempotency-key"), help: "A key that makes retries of this submission harmless.")
    var idempotencyKey: String?
    @Option(
        help:
            "Who runs the task's agent steps: loomd (its provider, the default) or host (an agent host such as Claude Code fetches them with effects.pending; see docs/mcp.md)."
    ) var executor: String?
    @Flag(help: "Wait until the task finishes or parks at a gate, printing its journal as it goes.") var wait = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let executor, !["loomd", "host"].contains(executor) {
            throw ValidationError("--executor must be loomd or host")
        }
    }

    func run() throws {
        try runReporting {
            let params = LoomIPC.Submit.Params(
                project: project.root,
                input: input,
                bundle: bundle,
                flow: flow,
                policy: policy,
                executor: executor,
                idempotencyKey: idempotencyKey
            )
            let client = try global.connect()
            defer { client.close() }
            let result: LoomIPC.Submit.Result
            do { result = try client.call(LoomIPC.Submit.self, params) } catch { throw CLIError(error) }
            let task = result.task
            print(global.json ? result.json.canonicalText : task)
            guard wait else { return }
            fflush(nil)
            try followJournal(client: client, project: project.root, task: task, json: global.json, untilQuiet: true)
        }
    }
}

/// Prints a task's journal, then streams new entries until it finishes (or, with
/// `untilQuiet`, parks at a gate).
func followJournal(client: IPCClient, project: String, task: String, json: Bool, untilQuiet: Bool) throws {
    var lastSeq: Int64 = 0
    // Each line is flushed: into a pipe or a file, stdout would otherwise hold entries back
    // until it fills (or lose them to Ctrl-C).
    func printLine(_ line: String) {
        Swift.print(line)
        fflush(nil)
    }
    func print(_ entry: JSONValue) {
        lastSeq = max(lastSeq, entry["seq"]?.intValue ?? lastSeq)
        printLine(json ? entry.canonicalText : LogLine.format(entry))
    }
    /// Settled, and every entry up to now printed (the stream may lag the status). With
    /// `untilQuiet`, a task queued behind one parked at a gate is settled too: nothing
    /// happens to it until a person answers that gate.
    func settled(_ reader: IPCClient) -> Bool {
        guard let status = try? reader.peekStatus(project: project, task: task) else { return false }
        var quiet = ["done", "abandoned", "cancelled", "failed"].contains(status) || (untilQuiet && status == "parked")
        if untilQuiet && status == "queued",
            let parked = (try? reader.sideCall(LoomIPC.Status.self, TaskParams(project: project, task: nil)))?[
                "active"
            ]?.arrayValue?
            .first(where: { $0["status"]?.stringValue == "parked" })?["task"]?.stringValue
        {
            StandardError.write(
                "\(task) is queued behind \(parked), which waits at a gate (loomctl approve \(parked))\n"
            )
            quiet = true
        }
        guard quiet else { return false }
        _ = try? JournalPages.read(
            project: project,
            task: task,
            after: lastSeq,
            call: { try reader.sideCall(LoomIPC.Log.self, $0) },
            each: print
        )
        return true
    }
    do {
        try JournalPages.read(
            project: project,
            task: task,
            call: { try client.call(LoomIPC.Log.self, $0) },
            each: print
        )
        if settled(client) { return }
        var live = LiveOutput()
        // Waiting until quiet watches the whole project: a queued task settles when the task
        // ahead of it parks, an entry of that other task.
        let params = Watch.Params(project: project, task: untilQuiet ? nil : task, after: lastSeq)
        _ = try client.stream(Watch.self, params) { entry in
            guard entry["task"]?.stringValue == task else {
                return entry["kind"]?.stringValue == "progress" || !settled(client)
            }
            if entry["kind"]?.stringValue == "progress" {
                // An agent's output as it streams: whole lines, indented under the entries.
                if json { printLine(entry.canonicalText) } else { live.add(entry).forEach(printLine) }
                return true
            }
            guard (entry["seq"]?.intValue ?? 0) > lastSeq else { return true }
            if !json { live.finish(entry).forEach(printLine) }
            print(entry)
            return !settled(client)
        }
    } catch {
        throw CLIError(error)
    }
}

extension IPCClient {
    /// A task's status through a second connection (the first is busy streaming).
    func peekStatus(project: String, task: String) throws -> String? {
        try sideCall(LoomIPC.Status.self, TaskParams(project: project, task: task))["status"]?.stringValue
    }

    /// A call on a second connection, while this one is busy streaming.
    func sideCall<M: IPCMethod>(_ method: M.Type, _ params: M.Params) throws -> M.Result {
        let side = try IPCClient(socketPath: socketPath, clientName: "loomctl 0.1.0")
        defer { side.close() }
        return try side.call(method, params)
    }
}

/// Turns streamed chunks into whole lines for a terminal, one agent at a time.
struct LiveOutput {
    private var key = ""
    private var pending = ""
    /// Lines printed per agent, so a chatty one cannot flood the terminal.
    static let linesMax = 200
    private var printed = 0

    mutating func add(_ event: JSONValue) -> [String] {
        var lines: [String] = []
        if let eventKey = event["key"]?.stringValue, eventKey != key {
            lines += flush()
            key = eventKey
            printed = 0
            lines.append("  ┌ \(event["unit"]?.stringValue ?? "agent") (\(eventKey)):")
        }
        pending += event["text"]?.stringValue ?? ""
        while let newline = pending.firstIndex(of: "\n") {
            lines += emit(String(pending[..<newline]))
            pending = String(pending[pending.index(after: newline)...])
        }
        return lines
    }

    /// Before a journal entry: whatever is left of the line in progress.
    mutating func finish(_ entry: JSONValue) -> [String] {
        guard !key.isEmpty else { return [] }
        defer { key = "" }
        return flush()
    }

    private mutating func flush() -> [String] {
        defer { pending = "" }
        return pending.isEmpty ? [] : emit(pending)
    }

    private mutating func emit(_ line: String) -> [String] {
        printed += 1
        if printed == Self.linesMax + 1 { return ["  │ …"] }
        return printed > Self.linesMax ? [] : ["  │ " + String(line.prefix(400))]
    }
}
