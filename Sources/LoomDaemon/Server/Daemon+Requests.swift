import Logging
import LoomEngine
import LoomHost
import LoomIPC
import LoomIPCServer
import LoomPolicy
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The control plane's methods (listed with their params, results and errors in
/// docs/ipc-protocol.md). Each request that touches a project runs on that project's
/// queue; the reply is sent from there.
extension Daemon {
    /// Every method and its handler; each handler gets its method's typed params.
    static let router: IPCRouter<Daemon> = {
        var router = IPCRouter<Daemon>()
        router.add(Submit.self) { daemon, params, reply in try daemon.submit(params, reply) }
        router.add(Status.self) { daemon, params, reply in try daemon.status(params, reply) }
        router.add(Gates.self) { daemon, _, reply in daemon.gates(reply) }
        router.add(Tasks.self) { daemon, params, reply in try daemon.tasks(params, reply) }
        router.add(Log.self) { daemon, params, reply in try daemon.log(params, reply) }
        router.add(Answer.self) { daemon, params, reply in try daemon.answer(params, reply) }
        router.add(Cancel.self) { daemon, params, reply in try daemon.cancel(params, reply) }
        router.add(Replay.self) { daemon, params, reply in try daemon.replay(params, reply) }
        router.add(Metrics.self) { daemon, _, reply in reply.result(Metrics.self, .init(text: daemon.metricsText())) }
        router.add(Watch.self) { daemon, params, reply in try daemon.watch(params, reply) }
        router.add(Bundles.self) { daemon, _, reply in daemon.bundleNames(reply) }
        router.add(Graph.self) { daemon, params, reply in try daemon.graph(params, reply) }
        router.add(ProjectsList.self) { daemon, _, reply in daemon.listProjects(reply) }
        router.add(ProjectsAdd.self) { daemon, params, reply in try daemon.addProject(params, reply) }
        router.add(ProjectsRemove.self) { daemon, params, reply in try daemon.removeProject(params, reply) }
        router.add(ProjectsClearQuarantine.self) { daemon, params, reply in try daemon.clearQuarantine(params, reply) }
        router.add(HostsAttach.self) { daemon, _, reply in try daemon.attachHost(reply) }
        router.add(EffectsPending.self) { daemon, params, reply in try daemon.pendingForHost(params, reply) }
        router.add(EffectsDeliver.self) { daemon, params, reply in try daemon.deliverFromHost(params, reply) }
        return router
    }()

    func handle(_ reply: IPCReply) {
        let request = reply.request
        logger.debug(
            "request",
            metadata: ["method": "\(request.method)", "uid": "\(reply.peer.uid)", "pid": "\(reply.peer.pid)"]
        )
        do {
            try Self.router.dispatch(self, reply)
        } catch {
            reply.error(Self.ipcError(any: error))
        }
    }

    /// A page of a task's journal that fits in a frame (half of it, leaving room for escaping
    /// and the envelope); `more` says to ask again after the last seq.
    private func log(_ params: Log.Params, _ reply: IPCReply) throws {
        let bytesMax = configuration.maxFrameBytes / 2
        try withTask(params.project, params.task, reply) { project, task in
            let page = try project.journalEntries(
                task: task,
                afterSeq: params.after ?? 0,
                limit: 10_000,
                bytesMax: bytesMax
            )
            reply.result(Log.self, .init(entries: page.entries, more: page.more))
        }
    }

    private func listProjects(_ reply: IPCReply) {
        reply.result(
            ProjectsList.self,
            Document(
                document: .object([
                    "projects": .array(
                        registry.all.map { root in
                            var entry: [String: JSONValue] = [
                                "path": .string(root), "open": .bool(project(root) != nil),
                            ]
                            if let quarantine = quarantines.entry(for: root) {
                                entry["quarantined"] = Self.quarantineJSON(quarantine)
                            }
                            return .object(entry)
                        }
                    )
                ])
            )
        )
    }

    private func addProject(_ params: ProjectParams, _ reply: IPCReply) throws {
        let root = try projectRoot(params.project, required: true)
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not add projects")
        }
        try Self.requireDirectory(root)
        try openProject(root)
        reply.result(ProjectsAdd.self, .init(path: root, changed: try registry.add(root)))
    }

    private func removeProject(_ params: ProjectParams, _ reply: IPCReply) throws {
        let root = try projectRoot(params.project, required: true)
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not remove projects")
        }
        let removed = try registry.remove(root)
        closeProject(root)
        reply.result(ProjectsRemove.self, .init(path: root, changed: removed))
    }

    /// Any error a request raised, as the wire's.
    static func ipcError(any error: any Error) -> IPCError {
        if let error = error as? IPCError { return error }
        if let error = error as? LoomError { return ipcError(error) }
        return IPCError(.internal, "\(error)")
    }

    /// The kernel's typed errors, as the wire's.
    static func ipcError(_ error: LoomError) -> IPCError {
        let code: IPCErrorCode
        switch error.code {
        case .notFound: code = .notFound
        case .staleGate, .conflict: code = .conflict
        case .foreignWrite:
            return IPCError(
                .conflict,
                "the project is quarantined: \(error.message). Check it with `loomctl verify -C PROJECT`, then `loomctl projects clear-quarantine -C PROJECT`"
            )
        case .forbidden, .invariantViolation: code = .forbidden
        case .busy: code = .busy
        case .invalidInput, .invalidJSON, .tooLarge, .bundle: code = .invalidParams
        case .full, .io, .readOnly, .corrupt, .notADatabase, .foreignDatabase, .newerSchema, .schemaMismatch:
            code = .unavailable
        case .sqlite, .internal, .injectedFault: code = .internal
        }
        var message = error.message
        if error.code == .invariantViolation {
            message =
                "refused by rule \(error.violations.map(\.rule).joined(separator: ", ")): \(error.violations.first?.message ?? error.message)"
        }
        return IPCError(code, message)
    }

    /// `project` param: an absolute path; the registry's only project when omitted.
    /// One spelling per directory (no `.` or `..`, repeated slashes folded), so a project is
    /// never registered, opened and locked twice under two names; never inside a `.loom`.
    func projectRoot(_ project: String?, required: Bool = false) throws -> String {
        if let path = project {
            guard path.hasPrefix("/"), path.utf8.count <= 4_096 else {
                throw IPCError(.invalidParams, "project must be an absolute path")
            }
            let components = path.split(separator: "/", omittingEmptySubsequences: true)
            guard !components.contains(where: { $0 == "." || $0 == ".." || $0 == ".loom" }) else {
                throw IPCError(
                    .invalidParams,
                    "project must be a plain absolute path, without . or .. and not inside a .loom directory: \(path)"
                )
            }
            return "/" + components.joined(separator: "/")
        }
        if !required, registry.all.count == 1 { return registry.all[0] }
        throw IPCError(.invalidParams, "name the project (params.project, or loomctl -C DIR)")
    }

    /// A project must be an existing directory: loomd creates its `.loom`, never the project.
    static func requireDirectory(_ root: String) throws {
        var directoryStat = stat()
        guard stat(root, &directoryStat) == 0, directoryStat.st_mode & S_IFMT == S_IFDIR else {
            throw IPCError(.notFound, "\(root) is not a directory")
        }
    }

    /// The actor of a request: the peer's identity, an agent when its ancestry includes a
    /// process loomd spawned or a registered agent host.
    func caller(of peer: PeerCredentials) -> Caller {
        policy.caller(for: peer, spawned: runner.spawnedPids.union(hosts.live))
    }

    /// Runs `body` on the project's queue for the task named in params.
    func withTask(
        _ projectPath: String?,
        _ task: String?,
        _ reply: IPCReply,
        _ body: @escaping @Sendable (Project, String) throws -> Void
    ) throws {
        let root = try projectRoot(projectPath)
        guard let task, !task.isEmpty, task.utf8.count <= 64 else {
            throw IPCError(.invalidParams, "name the task (params.task)")
        }
        guard registry.all.contains(root) else {
            throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
        }
        let project = try openProject(root)
        project.queue.async {
            do {
                guard try project.engine.task(task) != nil else {
                    throw IPCError(.notFound, "no task \(task) in \(root)")
                }
                try body(project, task)
            } catch {
                reply.error(Self.ipcError(any: error))
            }
        }
    }

    private func submit(_ params: Submit.Params, _ reply: IPCReply) throws {
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(
                .forbidden,
                "uid \(reply.peer.uid) may not submit tasks (allowed: \(policy.submitters.sorted().map(String.init).joined(separator: ", ")))"
            )
        }
        let root = try projectRoot(params.project, required: true)
        guard let input = params.input, !input.isEmpty else {
            throw IPCError(.invalidParams, "params.input: the task to do, as text")
        }
        try Self.requireDirectory(root)
        let bundle =
            params.bundle
            ?? BundleCatalog.defaultBundle(configuration.defaultBundle, among: bundles)
        guard let bundle else { throw IPCError(.unavailable, "no bundle is loaded; start loomd with --bundles DIR") }
        let taskPolicy: TaskPolicy
        if let name = params.policy {
            guard let preset = PolicyPreset(rawValue: name) else {
                throw IPCError(
                    .invalidParams,
                    "unknown policy '\(name)'; known: \(PolicyPreset.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            taskPolicy = preset.policy
        } else {
            taskPolicy = TaskPolicy()
        }
        let options: JSONValue?
        switch params.executor {
        case nil, "loomd": options = nil
        case "host": options = .object(["executor": "host"])
        case let other?: throw IPCError(.invalidParams, "params.executor must be loomd or host, not '\(other)'")
        }
        // Refused before anything is written: no .loom, no registration.
        if let loaded = bundles.first(where: { $0.name == bundle }),
            let refusal = runner.executor.admissionRefusal(loaded, project: root)
        {
            throw IPCError(.conflict, "\(root) cannot take a \(bundle) task: \(refusal)")
        }
        let project = try openProject(root)
        _ = try registry.add(root)
        let caller = caller(of: reply.peer)
        project.queue.async { [self] in
            do {
                let started = MonotonicClock.milliseconds()
                let receipt = try project.engine.submit(
                    bundle: bundle,
                    flow: params.flow,
                    input: input,
                    policy: taskPolicy,
                    idempotencyKey: params.idempotencyKey,
                    options: options,
                    by: caller
                )
                metrics.tickSeconds.observe(Double(MonotonicClock.milliseconds() - started) / 1_000)
                // Acknowledged only now: the submission is committed.
                reply.result(Submit.self, .init(task: receipt.taskID, created: receipt.created, project: root))
                logger.info(
                    receipt.created ? "submitted" : "submission repeated",
                    metadata: [
                        "project": "\(root)", "task": "\(receipt.taskID)", "bundle": "\(bundle)",
                        "by": "\(caller.principal.id)",
                    ]
                )
                schedule(receipt.newEffects, in: project)
                afterTick(project, task: receipt.taskID)
            } catch {
                reply.error(Self.ipcError(any: error))
            }
        }
    }

    /// A refused answer's gate and message are journaled cut to this many bytes.
    static let refusedFieldMaxBytes = 4_096

    private func answer(_ params: Answer.Params, _ reply: IPCReply) throws {
        guard let answer = params.answer.flatMap(GateAnswer.init(rawValue:)) else {
            throw IPCError(.invalidParams, "params.answer must be approve, request_changes or abandon")
        }
        let caller = caller(of: reply.peer)
        let allowed = policy.mayAnswer(reply.peer)
        try withTask(params.project, params.task, reply) { [self] project, task in
            let message = params.message ?? ""
            guard let gate = try params.gate ?? (try project.engine).waitingGate(task: task)?.eventID else {
                throw IPCError(.conflict, "task \(task) is not waiting at a gate")
            }
            let openedMs = try project.engine.store.query(
                "SELECT k.time_ms AS t FROM gates g JOIN ticks k ON k.tick = g.opened_tick WHERE g.event_id = :gate",
                bindings: [":gate": gate]
            ).first?["t"]?.intValue
            guard allowed else {
                // What was tried, not whatever else the request carried: anyone who reaches the
                // socket can cause this entry, and the journal keeps it for ever.
                let attempted: JSONValue = .object([
                    "task": .string(task),
                    "gate": .string(String(decoding: gate.utf8.prefix(Self.refusedFieldMaxBytes), as: UTF8.self)),
                    "answer": .string(answer.rawValue),
                    "message": .string(String(decoding: message.utf8.prefix(Self.refusedFieldMaxBytes), as: UTF8.self)),
                ])
                try project.engine.refuse(
                    task: task,
                    payload: attempted,
                    reason: "uid \(reply.peer.uid) is not on the approvers list",
                    by: caller
                )
                project.publish()
                throw IPCError(
                    .forbidden,
                    "uid \(reply.peer.uid) may not answer gates (allowed: \(policy.approvers.sorted().map(String.init).joined(separator: ", ")))"
                )
            }
            do {
                let effects = try project.engine.answerGate(
                    task: task,
                    gate: gate,
                    answer: answer,
                    message: message,
                    by: caller
                )
                if let openedMs { metrics.gateWait.observe(Double(now() - openedMs) / 1_000) }
                reply.result(Answer.self, .init(task: task, gate: gate, answer: answer.rawValue))
                logger.info(
                    "gate answered",
                    metadata: [
                        "project": "\(project.root)", "task": "\(task)", "gate": "\(gate)",
                        "answer": "\(answer.rawValue)",
                        "by": "\(caller.principal.id)",
                    ]
                )
                schedule(effects, in: project)
                afterTick(project, task: task, checkpoint: true)
            } catch let error as LoomError {
                if error.code == .invariantViolation {
                    error.violations.forEach { metrics.violations.increment($0.rule) }
                }
                project.publish()
                throw error
            }
        }
    }

    private func cancel(_ params: Cancel.Params, _ reply: IPCReply) throws {
        let caller = caller(of: reply.peer)
        guard policy.maySubmit(reply.peer) || policy.mayAnswer(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not cancel tasks")
        }
        try withTask(params.project, params.task, reply) { [self] project, task in
            // The tick that cancels a running task starts the next queued one: run its effects.
            let started = try project.engine.cancel(task: task, reason: params.reason ?? "", by: caller)
            reply.result(Cancel.self, .init(task: task, status: "cancelled"))
            schedule(started, in: project)
            afterTick(project, task: task, checkpoint: true)
        }
    }

    private func replay(_ params: Replay.Params, _ reply: IPCReply) throws {
        let extraRules = (params.rules ?? []).enumerated().map { index, rule in
            SQLRule(
                name: rule.name ?? "rule\(index + 1)",
                sql: rule.sql,
                message: rule.message ?? "operator rule",
                file: rule.file ?? "params"
            )
        }
        let bundles = self.bundles
        try withTask(params.project, params.task, reply) { project, task in
            let report = try Replayer(source: (try project.engine).store, bundles: bundles, extraRules: extraRules).run(
                task: task
            )
            var result: [String: JSONValue] = ["task": .string(task), "report": .string(report.description)]
            switch report {
            case .identical(let ticks):
                result["outcome"] = "identical"
                result["ticks"] = .int(ticks)
            case .diverged(let difference):
                result["outcome"] = "diverged"
                result["tick"] = .int(difference.tick)
                result["table"] = .string(difference.table)
            case .ruleWouldFire(let caught):
                result["outcome"] = "rule_would_fire"
                result["tick"] = .int(caught.tick)
                result["violations"] = .array(caught.violations.map(\.json))
                result["input"] = .object([
                    "kind": .string(caught.input.kind.rawValue), "task": .string(caught.input.taskID),
                    "payload": caught.input.payload, "actor": caught.input.actor,
                ])
            case .failed(let tick, let error):
                result["outcome"] = "failed"
                result["tick"] = .int(tick)
                result["error"] = .string(error.description)
            case .otherSemantics(let recorded, let current, _):
                result["outcome"] = "other_semantics"
                result["recordedSemantics"] = .array(recorded.map { .int(Int64($0)) })
                result["semantics"] = .int(Int64(current))
            }
            reply.result(Replay.self, Document(document: .object(result)))
        }
    }

    private func watch(_ params: Watch.Params, _ reply: IPCReply) throws {
        if params.fleet == true {
            // Every project: a `changed` event after each tick, naming the project and task.
            guard let id = addFleetWatcher({ event in reply.event(event) }) else {
                throw IPCError(.busy, "\(Self.fleetWatchersMax) fleet watchers already; close one")
            }
            reply.onClose = { [weak self] in self?.removeFleetWatcher(id) }
            return
        }
        let root = try projectRoot(params.project)
        let task = params.task
        // Only supervised projects: watching must not create a database (and take a lock) anywhere.
        guard registry.all.contains(root) else {
            throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
        }
        let project = try openProject(root)
        project.queue.async {
            if let task, (try? project.engine.task(task)) == nil {
                return reply.error(IPCError(.notFound, "no task \(task) in \(root)"))
            }
            // Entries after `after` first (so `log --follow` loses nothing between its read and the stream).
            if let after = params.after,
                let backlog = try? project.journalEntries(task: task, afterSeq: after, limit: 10_000).entries
            {
                for entry in backlog { _ = reply.event(entry) }
            }
            // What running agents printed before this watcher came: the output so far.
            for event in project.progressBacklog(task: task) { _ = reply.event(event) }
            let id = project.addWatcher(
                task: task,
                send: { event in reply.event(event) },
                end: {
                    reply.error(IPCError(.notFound, "\(root) is no longer a project this daemon supervises"))
                }
            )
            reply.onClose = { [weak project] in
                guard let project else { return }
                project.queue.async { project.removeWatcher(id) }
            }
        }
    }

    /// `projects.clear-quarantine`: the operator has checked the project (`loomctl verify`)
    /// and lets loomd drive it again. Only an approver, never an agent: an agent that wrote
    /// the file must not be able to clear the alarm it raised.
    private func clearQuarantine(_ params: ProjectParams, _ reply: IPCReply) throws {
        let root = try projectRoot(params.project, required: true)
        guard policy.mayAnswer(reply.peer), caller(of: reply.peer).principal.kind != .agent else {
            throw IPCError(
                .forbidden,
                "uid \(reply.peer.uid) may not clear a quarantine (only an approver, and never an agent)"
            )
        }
        guard registry.all.contains(root) else {
            throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
        }
        let project = try openProject(root)
        project.queue.async { [self] in
            do {
                let was = quarantines.entry(for: root)
                try quarantines.remove(root)
                if let was {
                    log("quarantine of \(root) cleared by uid \(reply.peer.uid) (it was: \(was.reason))")
                    project.reopenAfterQuarantine()
                    // What was held while quarantined runs now (the file as it is now is the baseline).
                    recover(project)
                }
                reply.result(ProjectsClearQuarantine.self, .init(path: root, changed: was != nil))
            } catch {
                reply.error(Self.ipcError(any: error))
            }
        }
    }

    static func quarantineJSON(_ entry: QuarantineList.Entry) -> JSONValue {
        .object(["reason": .string(entry.reason), "sinceMs": .int(entry.sinceMs)])
    }
}
