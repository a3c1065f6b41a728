import LoomCode
import LoomEngine
import LoomIPC
import LoomIPCServer
import LoomScheduling
import LoomValues

/// The methods an agent host uses to execute a task's agent steps itself (docs/ipc-protocol.md):
/// `hosts.attach`, `effects.pending`, `effects.deliver`.
///
/// A task submitted with `"executor": "host"` has its spawns held in the ledger instead of
/// run by loomd's provider; the host lists them, does the work in the task's worktree and
/// delivers each result through the kernel's `deliver(key:result:by:)` under a principal
/// `host:<session>`, so the journal and the rules see who did each step. Command and
/// handler steps (worktree, checks, diff, delivery) are still run by loomd.
extension Daemon {
    /// Pending host steps listed per call, by default and at most.
    static let hostEffectsListedDefault = 16
    static let hostEffectsListedMax = 100
    /// A session names the context that did a step: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    static let hostSessionMaxBytes = 64

    /// Records the peer and its parent as agent hosts, or refuses the request when the set
    /// of live hosts is full (never by forgetting one).
    @discardableResult
    func registerHost(_ reply: IPCReply) throws -> [Int32] {
        guard let registered = hosts.register(peer: reply.peer.pid) else {
            throw IPCError(
                .unavailable,
                "\(HostProcesses.entriesMax) agent hosts are attached and alive; end one and try again"
            )
        }
        return registered
    }

    func attachHost(_ reply: IPCReply) throws {
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not execute steps (it is not a submitter)")
        }
        let registered = try registerHost(reply)
        reply.result(
            HostsAttach.self,
            Document(
                document: .object([
                    "hosts": .array(registered.map { .int(Int64($0)) }),
                    "principal": caller(of: reply.peer).principal.json,
                ])
            )
        )
    }

    func pendingForHost(_ params: EffectsPending.Params, _ reply: IPCReply) throws {
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not execute steps (it is not a submitter)")
        }
        let limit = Int(params.limit ?? Int64(Self.hostEffectsListedDefault))
        guard (1...Self.hostEffectsListedMax).contains(limit) else {
            throw IPCError(.invalidParams, "params.limit must be 1 to \(Self.hostEffectsListedMax)")
        }
        try registerHost(reply)
        let root = try projectRoot(params.project)
        guard registry.all.contains(root) else {
            throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
        }
        let project = try openProject(root)
        let onlyTask = params.task
        project.queue.async {
            do {
                var listed: [JSONValue] = []
                for effect in try project.engine.pendingEffects() where listed.count < limit {
                    guard effect.kind == .spawn, onlyTask == nil || effect.taskID == onlyTask,
                        project.isHostExecuted(effect.taskID),
                        let request = AgentRequest(json: effect.request)
                    else { continue }
                    listed.append(
                        .object([
                            "key": .string(effect.key), "task": .string(effect.taskID), "step": .string(effect.step),
                            "role": .string(request.role), "iteration": .int(Int64(effect.iteration)),
                            "attempt": .int(Int64(effect.attempt)),
                            "prompt": .string(request.prompt),
                            "workdir": .string(TaskWorkspace.workingDirectory(project: root, task: effect.taskID)),
                            "outputMaxBytes": .int(Int64(request.limits.outputMaxBytes)),
                        ])
                    )
                }
                reply.result(
                    EffectsPending.self,
                    Document(document: .object(["project": .string(root), "effects": .array(listed)]))
                )
            } catch {
                reply.error(Self.ipcError(any: error))
            }
        }
    }

    func deliverFromHost(_ params: EffectsDeliver.Params, _ reply: IPCReply) throws {
        guard policy.maySubmit(reply.peer) else {
            throw IPCError(.forbidden, "uid \(reply.peer.uid) may not execute steps (it is not a submitter)")
        }
        guard let key = params.key, !key.isEmpty, key.utf8.count <= 512 else {
            throw IPCError(.invalidParams, "params.key: the effect key from effects.pending")
        }
        guard let session = params.session, Self.isSessionName(session) else {
            throw IPCError(
                .invalidParams,
                "params.session: 1 to \(Self.hostSessionMaxBytes) of A-Z a-z 0-9 . _ - naming the context that did this step (a reviewer's must differ from the implementer's)"
            )
        }
        var result: AgentResult
        if let output = params.output {
            result = AgentResult(output: output)
        } else if let failure = params.error {
            result = AgentResult(error: .permanent, message: failure)
        } else {
            throw IPCError(
                .invalidParams,
                "params.output (the step's output, as text) or params.error (why it could not be done)"
            )
        }
        result.tokensIn = Int(params.usage?.tokensIn ?? 0)
        result.tokensOut = Int(params.usage?.tokensOut ?? 0)
        result.tokensCached = Int(params.usage?.tokensCached ?? 0)
        result.provider = "host"
        result.model = params.model.map { String($0.prefix(128)) } ?? ""
        try registerHost(reply)
        let peerCaller = caller(of: reply.peer)
        let hostCaller = Caller(
            principal: Principal(kind: .agent, id: "host:\(session)"),
            uid: peerCaller.uid,
            gid: peerCaller.gid,
            pid: peerCaller.pid,
            executable: peerCaller.executable
        )
        let root = try projectRoot(params.project)
        guard registry.all.contains(root) else {
            throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
        }
        let project = try openProject(root)
        let delivered = result.json
        project.queue.async { [self] in
            do {
                let rows = try project.engine.store.query(
                    "SELECT task_id, kind FROM effects WHERE key = :key",
                    bindings: [":key": key]
                )
                guard let row = rows.first, let task = row["task_id"]?.stringValue else {
                    throw IPCError(.notFound, "no effect has the key '\(key)'")
                }
                let choice = project.executorChoice(task)
                if case .unknown(let failure) = choice {
                    throw IPCError(
                        .unavailable,
                        "who executes \(key) cannot be read now (\(failure.message)); deliver it again later"
                    )
                }
                guard row["kind"]?.stringValue == Effect.Kind.spawn.rawValue, choice == .host else {
                    throw IPCError(
                        .forbidden,
                        "effect \(key) is executed by loomd; a host delivers only agent steps of tasks submitted with executor host"
                    )
                }
                let outcome: String
                do {
                    switch try project.engine.deliver(key: key, result: delivered, by: hostCaller) {
                    case .applied(let more):
                        outcome = "applied"
                        schedule(more, in: project)
                    case .duplicate: outcome = "duplicate"
                    case .discarded: outcome = "discarded"
                    }
                } catch let error as LoomError {
                    if error.code == .invariantViolation {
                        error.violations.forEach { metrics.violations.increment($0.rule) }
                    }
                    project.publish()
                    throw error
                }
                reply.result(
                    EffectsDeliver.self,
                    .init(key: key, task: task, outcome: outcome, author: "host:\(session)")
                )
                afterTick(project, task: task)
            } catch {
                reply.error(Self.ipcError(any: error))
            }
        }
    }

    static func isSessionName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= hostSessionMaxBytes
            && text.utf8.allSatisfy {
                $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                    || (0x61...0x7A).contains($0)
            }
    }
}
