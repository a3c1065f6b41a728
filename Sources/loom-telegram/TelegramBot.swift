import Foundation
import LoomIPC
import LoomSystem
import LoomValues

/// The bot: one thread long-polls `getUpdates` and handles each update; another follows the
/// tasks the bot submitted and pushes their gates (with buttons bound to the gate event id)
/// and their completion (naming the branch). Outbound only: it opens no port.
///
/// Default-deny: a sender not on the allowlist is told their own id and nothing else.
/// Network failures back off (base × 2ⁿ, capped) and recover; loomd being down is the same.
final class TelegramBot: @unchecked Sendable {
    let options: BotOptions
    let api: BotAPI
    private let lock = Lock()
    private var state: BotState

    init(options: BotOptions) throws {
        self.options = options
        api = BotAPI(base: options.apiBase, token: options.token, pollTimeoutSeconds: options.pollTimeoutSeconds)
        state = try BotState.load(options.statePath)
    }

    static let helpText = """
        Send a task in words and confirm it to submit it to loom.
        /status — what runs and what waits
        /projects — the projects loomd supervises
        /cancel TASK — cancel a task
        /ship TASK push REMOTE, /ship TASK merge BRANCH [squash] — send a finished task's branch on (you approve it)
        Gates arrive here with buttons: approve, request changes (you will be asked why), abandon.
        """

    func run() -> Never {
        let watcher = Thread { [self] in watchLoop() }
        watcher.name = "loom-telegram.watch"
        watcher.start()
        pollLoop()
    }

    // MARK: State

    /// Changes the state and writes it before returning (so before anything it records is sent).
    private func record<T>(_ body: (inout BotState) -> T) -> T {
        lock.withLock {
            let result = body(&state)
            state.prune()
            do { try state.save(options.statePath) } catch { log("\(error)") }
            return result
        }
    }

    private func read<T>(_ body: (BotState) -> T) -> T {
        lock.withLock { body(state) }
    }

    // MARK: Polling

    private func pollLoop() -> Never {
        let loom = LoomLink(socketPath: options.socketPath)
        var failures = 0
        while true {
            let offset = read { $0.offset }
            let updates: JSONValue
            do {
                updates = try api.call(
                    "getUpdates",
                    .object([
                        "offset": .int(offset), "timeout": .int(Int64(options.pollTimeoutSeconds)),
                        "allowed_updates": .array(["message", "callback_query"]),
                    ])
                )
                failures = 0
            } catch {
                failures += 1
                log("getUpdates failed (\(failures) in a row): \(error)")
                backoff(failures, retryAfterSeconds: error.retryAfterSeconds)
                continue
            }
            for update in updates.arrayValue ?? [] {
                guard let id = update["update_id"]?.intValue, id >= offset else { continue }
                // The offset is recorded before the update is handled: after a crash an update
                // may go unanswered, never answered twice.
                record { $0.offset = id + 1 }
                handle(update, loom: loom)
            }
        }
    }

    private func backoff(_ failures: Int, retryAfterSeconds: Int? = nil) {
        let delayMs =
            retryAfterSeconds.map { min($0 * 1_000, options.backoffMaxMs) }
            ?? min(options.backoffMaxMs, options.backoffBaseMs << min(failures - 1, 16))
        Thread.sleep(forTimeInterval: Double(delayMs) / 1_000)
    }

    private func handle(_ update: JSONValue, loom: LoomLink) {
        if let callback = update["callback_query"] {
            return handleCallback(callback, loom: loom)
        }
        guard let message = update["message"], let chat = message["chat"]?["id"]?.intValue,
            let from = message["from"]?["id"]?.intValue
        else { return }
        guard options.allowedUsers.contains(from) else {
            send(chat, "Your Telegram user id is \(from).")
            return
        }
        let text = (message["text"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if let awaited = read({ $0.awaitedReasons[chat] }), message["reply_to_message"] != nil, !text.isEmpty {
            record { $0.awaitedReasons[chat] = nil }
            return answerGate(
                chat: chat,
                user: from,
                trackedKey: awaited.tracked,
                gate: awaited.gate,
                answer: "request_changes",
                reason: text,
                loom: loom,
                callbackID: nil
            )
        }
        guard !text.isEmpty else { return }
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        let command = words[0].split(separator: "@").first.map(String.init) ?? words[0]
        switch command {
        case "/start", "/help": send(chat, Self.helpText)
        case "/status": send(chat, statusText(loom))
        case "/projects": send(chat, projectsText(loom))
        case "/cancel":
            guard words.count > 1 else { return send(chat, "Usage: /cancel TASK (for example /cancel t3)") }
            do {
                let params = Cancel.Params(
                    project: options.project,
                    task: words[1].trimmingCharacters(in: .whitespaces),
                    reason: "cancelled via Telegram by user \(from)"
                )
                _ = try loom.call(Cancel.self, params)
                send(chat, "\(words[1]) cancelled.")
            } catch {
                send(chat, "Could not cancel \(words[1]): \(error.message)")
            }
        case "/ship":
            ship(words.count > 1 ? words[1] : "", chat: chat, user: from, loom: loom)
        default:
            guard !text.hasPrefix("/") else { return send(chat, "Unknown command. " + Self.helpText) }
            guard text.utf8.count <= 16_384 else { return send(chat, "That is too long for a task (16 KiB at most).") }
            let key = record { state -> String in
                let key = state.mint("c")
                state.proposals[key] = BotState.Proposal(chat: chat, text: text)
                return key
            }
            send(
                chat,
                "Submit this as a task?\n\n\(text)",
                markup: .object([
                    "inline_keyboard": .array([
                        .array([
                            button("Submit", "s:\(key)"), button("Discard", "d:\(key)"),
                        ])
                    ])
                ])
            )
        }
    }

    private func button(_ text: String, _ data: String) -> JSONValue {
        .object(["text": .string(text), "callback_data": .string(data)])
    }

    private func handleCallback(_ callback: JSONValue, loom: LoomLink) {
        guard let id = callback["id"]?.stringValue, let from = callback["from"]?["id"]?.intValue else { return }
        let chat = callback["message"]?["chat"]?["id"]?.intValue ?? from
        guard options.allowedUsers.contains(from) else {
            return acknowledge(id, "Your Telegram user id is \(from).")
        }
        let parts = (callback["data"]?.stringValue ?? "").split(separator: ":", maxSplits: 2).map(String.init)
        switch (parts.first, parts.count) {
        case ("s", 2), ("d", 2):
            guard let proposal = record({ state in state.proposals.removeValue(forKey: parts[1]) }) else {
                return acknowledge(id, "This button is stale: that proposal was already handled.")
            }
            guard parts[0] == "s" else {
                acknowledge(id, "Discarded.")
                return
            }
            submit(proposal, key: parts[1], user: from, loom: loom, callbackID: id)
        case ("a", 3), ("r", 3), ("x", 3):
            let answer = ["a": "approve", "r": "request_changes", "x": "abandon"][parts[0]]!
            if answer == "request_changes" {
                guard let tracked = read({ $0.tracked[parts[1]] }), currentGate(tracked, loom: loom) == parts[2] else {
                    return acknowledge(id, "This button is stale: that gate was already answered or the task moved on.")
                }
                record { $0.awaitedReasons[chat] = BotState.AwaitedReason(tracked: parts[1], gate: parts[2]) }
                acknowledge(id, nil)
                send(
                    chat,
                    "What should change in \(tracked.task)? Reply to this message.",
                    markup: .object(["force_reply": true, "input_field_placeholder": "what to change"])
                )
                return
            }
            answerGate(
                chat: chat,
                user: from,
                trackedKey: parts[1],
                gate: parts[2],
                answer: answer,
                reason: nil,
                loom: loom,
                callbackID: id
            )
        default:
            acknowledge(id, "This button is stale.")
        }
    }

    /// `/ship TASK push REMOTE` or `/ship TASK merge BRANCH [squash]`: submits the code
    /// bundle's ship task; its gate, which only a person may answer under every policy, is
    /// then pushed here with buttons like any other, and the bot's answer is journaled as
    /// the bot's OS user on behalf of this Telegram user.
    private func ship(_ arguments: String, chat: Int64, user: Int64, loom: LoomLink) {
        let words = arguments.split(separator: " ").map(String.init)
        let order: ShipOrder
        switch (words.count, words.dropFirst().first) {
        case (3, "push"): order = ShipOrder(task: words[0], destination: .push(remote: words[2]))
        case (3, "merge"): order = ShipOrder(task: words[0], destination: .merge(into: words[2], squash: false))
        case (4, "merge") where words[3] == "squash":
            order = ShipOrder(task: words[0], destination: .merge(into: words[2], squash: true))
        default: return send(chat, "Usage: /ship TASK push REMOTE, or /ship TASK merge BRANCH [squash]")
        }
        let key = record { $0.mint("p") }
        var params = Submit.Params(
            project: options.project,
            input: order.input,
            bundle: "code",
            flow: "ship",
            policy: "full-supervised",
            idempotencyKey: "telegram:\(chat):\(key)"
        )
        do {
            guard let project = try resolveProject(&params.project, chat: chat, loom: loom) else { return }
            let task = try loom.call(Submit.self, params).task
            record { state in
                state.tracked[state.mint("k")] = BotState.Tracked(chat: chat, project: project, task: task)
            }
            send(chat, "Shipping \(words[0]) as \(task): loomd checks the branch, then asks you to approve.")
        } catch {
            send(chat, "loomd refused to ship \(words[0]): \(error.message)")
        }
    }

    /// Fills in the project when the bot was started without one and loomd supervises exactly one.
    private func resolveProject(_ project: inout String?, chat: Int64, loom: LoomLink) throws(IPCError) -> String? {
        if let project { return project }
        let projects = try loom.call(ProjectsList.self)["projects"]?.arrayValue ?? []
        guard projects.count == 1, let only = projects[0]["path"]?.stringValue else {
            send(chat, "Start the bot with --project DIR: loomd supervises \(projects.count) projects.")
            return nil
        }
        project = only
        return only
    }

    private func submit(_ proposal: BotState.Proposal, key: String, user: Int64, loom: LoomLink, callbackID: String) {
        var params = Submit.Params(
            project: options.project,
            input: proposal.text,
            bundle: options.bundle,
            flow: options.flow,
            policy: options.policy,
            idempotencyKey: "telegram:\(proposal.chat):\(key)"
        )
        do {
            guard try resolveProject(&params.project, chat: proposal.chat, loom: loom) != nil else {
                return acknowledge(callbackID, nil)
            }
            let result = try loom.call(Submit.self, params)
            let task = result.task
            let project = result.project
            record { state in
                state.tracked[state.mint("k")] = BotState.Tracked(chat: proposal.chat, project: project, task: task)
            }
            acknowledge(callbackID, "Submitted as \(task).")
            send(proposal.chat, "Submitted as \(task) in \(project).")
        } catch {
            acknowledge(callbackID, nil)
            send(proposal.chat, "loomd refused the task: \(error.message)")
        }
    }

    private func currentGate(_ tracked: BotState.Tracked, loom: LoomLink) -> String? {
        (try? loom.call(Status.self, TaskParams(project: tracked.project, task: tracked.task)))?["gate"]?["event"]?
            .stringValue
    }

    private func answerGate(
        chat: Int64,
        user: Int64,
        trackedKey: String,
        gate: String,
        answer: String,
        reason: String?,
        loom: LoomLink,
        callbackID: String?
    ) {
        guard let tracked = read({ $0.tracked[trackedKey] }) else {
            if let callbackID { acknowledge(callbackID, "This button is stale: the bot no longer follows that task.") }
            return
        }
        let note = "via Telegram by user \(user)"
        let params = Answer.Params(
            project: tracked.project,
            task: tracked.task,
            gate: gate,
            answer: answer,
            message: reason.map { "\($0) (\(note))" } ?? note
        )
        let failure: IPCError?
        do {
            _ = try loom.call(Answer.self, params)
            failure = nil
        } catch {
            failure = error
        }
        guard let failure else {
            let done =
                ["approve": "Approved", "request_changes": "Changes requested for", "abandon": "Abandoned"][answer]
                ?? answer
            if let callbackID { acknowledge(callbackID, "\(done) \(tracked.task).") }
            return send(chat, "\(done) \(tracked.task) at gate \(gate).")
        }
        if failure.code == .conflict {
            if let callbackID {
                acknowledge(callbackID, "This button is stale: that gate was already answered or the task moved on.")
            } else {
                send(chat, "That gate was already answered or the task moved on.")
            }
            return
        }
        if let callbackID { acknowledge(callbackID, nil) }
        send(chat, "loomd refused the answer: \(failure.message)")
    }

    // MARK: Replies

    private func statusText(_ loom: LoomLink) -> String {
        do {
            var lines: [String] = []
            for project in try loom.call(Status.self, TaskParams(project: nil, task: nil))["projects"]?.arrayValue ?? []
            {
                guard let path = project["path"]?.stringValue else { continue }
                let summary = try loom.call(Status.self, TaskParams(project: path, task: nil))
                let active = summary["active"]?.arrayValue ?? []
                lines.append("\(path): \(active.isEmpty ? "nothing active" : "\(active.count) active")")
                for task in active.prefix(20) {
                    let gate = task["gate"].map { " — waits at gate \($0["role"]?.stringValue ?? "?")" } ?? ""
                    lines.append(
                        "  \(task["task"]?.stringValue ?? "?") \(task["status"]?.stringValue ?? "?") at \(task["step"]?.stringValue ?? "?")\(gate)"
                    )
                }
            }
            return lines.isEmpty ? "loomd supervises no project yet." : lines.joined(separator: "\n")
        } catch {
            return "loomd is not reachable: \(error.message)"
        }
    }

    private func projectsText(_ loom: LoomLink) -> String {
        do {
            let projects = try loom.call(ProjectsList.self)["projects"]?.arrayValue ?? []
            return projects.isEmpty
                ? "No projects yet." : projects.compactMap { $0["path"]?.stringValue }.joined(separator: "\n")
        } catch {
            return "loomd is not reachable: \(error.message)"
        }
    }

    /// Sends a message, retrying transient failures with backoff (bounded); a refusal is logged.
    private func send(_ chat: Int64, _ text: String, markup: JSONValue? = nil) {
        var params: [String: JSONValue] = ["chat_id": .int(chat), "text": .string(String(text.prefix(4_000)))]
        if let markup { params["reply_markup"] = markup }
        deliver("sendMessage", .object(params))
    }

    private func acknowledge(_ callbackID: String, _ text: String?) {
        var params: [String: JSONValue] = ["callback_query_id": .string(callbackID)]
        if let text { params["text"] = .string(text) }
        deliver("answerCallbackQuery", .object(params), attemptsMax: 3)
    }

    private func deliver(_ method: String, _ params: JSONValue, attemptsMax: Int? = nil) {
        let limit = attemptsMax ?? options.sendAttemptsMax
        for attempt in 1...limit {
            do {
                _ = try api.call(method, params)
                return
            } catch {
                guard error.kind == .transient, attempt < limit else {
                    return log("\(method) given up after \(attempt) attempt(s): \(error)")
                }
                backoff(attempt, retryAfterSeconds: error.retryAfterSeconds)
            }
        }
    }

    // MARK: Following tasks

    private func watchLoop() {
        let loom = LoomLink(socketPath: options.socketPath)
        var failures = 0
        while true {
            Thread.sleep(forTimeInterval: Double(options.watchIntervalMs) / 1_000)
            do {
                if let chat = options.notifyChat { try adoptActiveTasks(chat: chat, loom: loom) }
            } catch {
                log("listing the projects' tasks failed: \(error)")
            }
            let open = read { $0.tracked.filter { !$0.value.finished } }
            do {
                for (key, tracked) in open.sorted(by: { $0.key < $1.key }) {
                    try check(key, tracked, loom: loom)
                }
                failures = 0
            } catch {
                failures += 1
                log("following tasks failed (\(failures) in a row): \(error)")
                backoff(failures)
            }
        }
    }

    /// With --notify: follows every unfinished task of the project (or of every project loomd
    /// supervises), whoever submitted it, so its gates reach that chat.
    private func adoptActiveTasks(chat: Int64, loom: LoomLink) throws(IPCError) {
        let projects: [String]
        if let project = options.project {
            projects = [project]
        } else {
            projects = (try loom.call(ProjectsList.self)["projects"]?.arrayValue ?? []).compactMap {
                $0["path"]?.stringValue
            }
        }
        for project in projects.prefix(64) {
            let active = try loom.call(Status.self, TaskParams(project: project, task: nil))["active"]?.arrayValue ?? []
            let known = read { state in Set(state.tracked.values.map { "\($0.project)\u{0}\($0.task)" }) }
            for summary in active {
                guard let task = summary["task"]?.stringValue, !known.contains("\(project)\u{0}\(task)") else {
                    continue
                }
                record { state in
                    state.tracked[state.mint("k")] = BotState.Tracked(chat: chat, project: project, task: task)
                }
            }
        }
    }

    private func check(_ key: String, _ tracked: BotState.Tracked, loom: LoomLink) throws {
        let answer: Result<JSONValue, IPCError>
        do {
            answer = .success(try loom.call(Status.self, TaskParams(project: tracked.project, task: tracked.task)).json)
        } catch {
            answer = .failure(error)
        }
        let status: JSONValue
        switch answer {
        case .success(let value): status = value
        case .failure(let error) where error.code == .notFound:
            record { $0.tracked[key]?.finished = true }
            return
        case .failure(let error): throw error
        }
        let state = status["status"]?.stringValue ?? "?"
        if ["done", "failed", "cancelled", "abandoned"].contains(state) {
            // Recorded first, then sent: a crash in between loses the message rather than doubling it.
            record { $0.tracked[key]?.finished = true }
            var text = "\(tracked.task) \(state): \(status["outcome"]?.stringValue ?? "")"
            if let branch = status["branch"]?.stringValue { text += "\nbranch: \(branch)" }
            send(tracked.chat, text)
            return
        }
        guard state == "parked", let gate = status["gate"], let event = gate["event"]?.stringValue,
            !tracked.pushedGates.contains(event)
        else { return }
        record { $0.tracked[key]?.pushedGates.append(event) }
        let reasons = gate["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var text = "\(tracked.task) waits at gate \(gate["role"]?.stringValue ?? "?") (\(event)) in \(tracked.project)."
        if let input = status["input"]?.stringValue { text += "\nTask: \(input)" }
        if let card = status["card"]?["text"]?.stringValue {
            // The card, as loomctl and the dashboard show it, cut to fit one message.
            text += "\n\n" + Self.fitted(card, room: Self.cardCharactersMax)
            if let dashboard = options.dashboardURL {
                var link = URLComponents(string: dashboard + "/task")
                link?.queryItems = [
                    URLQueryItem(name: "project", value: tracked.project),
                    URLQueryItem(name: "task", value: tracked.task),
                ]
                if let url = link?.string { text += "\n\(url)" }
            }
        } else if !reasons.isEmpty {
            text += "\nWhy a person: \(reasons.joined(separator: "; "))"
        }
        send(
            tracked.chat,
            text,
            markup: .object([
                "inline_keyboard": .array([
                    .array([button("Approve", "a:\(key):\(event)")]),
                    .array([button("Request changes", "r:\(key):\(event)")]),
                    .array([button("Abandon", "x:\(key):\(event)")]),
                ])
            ])
        )
    }

    func log(_ line: String) {
        StandardError.write("loom-telegram: \(line)\n")
    }

    /// A message holds at most 4,096 characters; the card gets this many, the rest is the
    /// task line and the gate's name.
    static let cardCharactersMax = 3_500

    /// `text` cut to `room` characters at a line end, saying where the rest is.
    static func fitted(_ text: String, room: Int) -> String {
        guard text.count > room else { return text }
        let cut = String(text.prefix(room))
        let kept = cut.lastIndex(of: "\n").map { String(cut[..<$0]) } ?? cut
        return kept + "\n… (the whole card: loomctl status TASK -C PROJECT)"
    }
}
