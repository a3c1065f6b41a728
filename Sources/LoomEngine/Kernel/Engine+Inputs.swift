import LoomValues

/// The transition for each kind of input. Each runs inside one tick's transaction and
/// decides from the rows it reads, the input, and the tick's time token only.
extension Engine {
    func applySubmission(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        let tx = context.tx
        let payload = input.payload
        if let key = payload["idempotencyKey"]?.stringValue, let existing = try tx.taskID(idempotencyKey: key) {
            return Outcome(taskID: existing, duplicate: .string(existing))
        }
        // A replayed submission names the version it ran, which need not be today's.
        guard let bundleName = payload["bundle"]?.stringValue, let digest = payload["digest"]?.stringValue,
            let bundle = try version(digest: digest, name: bundleName, in: context),
            let flowName = payload["flow"]?.stringValue, let flow = bundle.flow(named: flowName),
            let input_ = payload["input"]?.stringValue
        else {
            throw LoomError(
                .invalidInput,
                "submission names no known bundle version and flow (bundle \(payload["bundle"]?.stringValue ?? "?"), digest \(payload["digest"]?.stringValue?.prefix(12) ?? "?"))",
                context: "submitting a task"
            )
        }
        let seq = try tx.nextTaskSeq()
        let taskID = "t\(seq)"
        try context.journal(kind: .submitted, taskID: taskID, caller: input.caller, payload: payload)
        try BundleArchive.record(bundle, task: taskID, tick: context.tick, tx: tx)
        let startNow = try !tx.activeTaskExists()
        var task = TaskRecord(
            id: taskID,
            seq: seq,
            bundle: bundleName,
            bundleDigest: bundle.digest,
            flow: flowName,
            input: input_,
            policy: try TaskPolicy(json: payload["policy"] ?? .object([:])),
            idempotencyKey: payload["idempotencyKey"]?.stringValue,
            status: startNow ? .running : .queued,
            stepIndex: 0,
            step: flow.steps[0].name,
            iteration: 0,
            spawnCount: 0,
            spawnCap: min(bundle.budgets.spawnCap, 1000),
            feedback: "",
            lastBlockers: [],
            stalled: false,
            submittedBy: input.caller.json,
            outcome: "",
            createdTick: context.tick,
            updatedTick: context.tick
        )
        if startNow {
            try enterStep(&task, bundle: bundle, in: context)
        }
        try save(task, in: context)
        return Outcome(taskID: taskID, newEffects: context.newEffects)
    }

    func applyDelivery(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        let tx = context.tx
        guard let key = input.payload["key"]?.stringValue, let result = input.payload["result"] else {
            throw LoomError(.invalidInput, "a delivery needs a key and a result", context: "delivering")
        }
        guard let row = try context.ledgerRow(key: key) else {
            throw LoomError(.notFound, "no effect has the key '\(key)'", context: "delivering \(key)")
        }
        switch row.status {
        case "done": return Outcome(taskID: row.effect.taskID, duplicate: row.result ?? .null)
        case "cancelled": return Outcome(taskID: row.effect.taskID, duplicate: .null)
        default: break
        }
        let effect = row.effect
        // The result is encoded once: the ledger keeps the same bytes the journal's payload holds.
        let resultBytes = result.canonicalBytes()
        if input.payload.objectValue?.count == 2 {
            // {"key":…,"result":…} is the payload's canonical form (its keys in canonical order).
            var payloadBytes = Array(#"{"key":"#.utf8)
            JSONCanonicalEncoder.appendString(key, &payloadBytes)
            payloadBytes += #","result":"#.utf8
            payloadBytes += resultBytes
            payloadBytes.append(0x7D)
            assert(
                payloadBytes == input.payload.canonicalBytes(),
                "a delivery's payload bytes differ from its canonical encoding"
            )
            try context.journal(
                kind: input.kind,
                taskID: effect.taskID,
                caller: input.caller,
                payloadBytes: payloadBytes
            )
        } else {
            try context.journal(kind: input.kind, taskID: effect.taskID, caller: input.caller, payload: input.payload)
        }
        try context.completeEffect(key: key, resultBytes: resultBytes)
        guard var task = try loadTask(effect.taskID, in: context) else {
            throw LoomError(
                .corrupt,
                "effect \(key) names task \(effect.taskID), which does not exist",
                context: "delivering \(key)"
            )
        }
        let bundle = try bundleFor(task, in: context)
        switch effect.kind {
        case .spawn:
            try consumeSpawn(effect, result: result, caller: input.caller, task: &task, bundle: bundle, in: context)
        case .command: try consumeCommand(effect, result: result, task: &task, bundle: bundle, in: context)
        case .timer, .notify: break
        }
        try save(task, in: context)
        return Outcome(taskID: task.id, newEffects: context.newEffects)
    }

    func applyAnswer(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        let tx = context.tx
        guard let eventID = input.payload["gate"]?.stringValue,
            let answer = input.payload["answer"]?.stringValue.flatMap(GateAnswer.init(rawValue:))
        else {
            throw LoomError(
                .invalidInput,
                "a gate answer needs a gate event id and one of approve, request_changes, abandon",
                context: "answering a gate"
            )
        }
        let message = input.payload["message"]?.stringValue ?? ""
        guard var task = try loadTask(input.taskID, in: context) else {
            throw LoomError(.notFound, "no task '\(input.taskID)'", context: "answering \(eventID)")
        }
        guard task.status == .parked, let gate = try tx.waitingGate(task: task.id) else {
            throw LoomError(
                .staleGate,
                "task \(task.id) is \(task.status.rawValue) and waits at no gate; \(eventID) is stale",
                context: "answering \(eventID)"
            )
        }
        guard gate.eventID == eventID else {
            throw LoomError(
                .staleGate,
                "task \(task.id) waits at \(gate.eventID), not \(eventID); the answer is stale",
                context: "answering \(eventID)"
            )
        }
        if answer == .requestChanges && message.allSatisfy(\.isWhitespace) {
            throw LoomError(
                .invalidInput,
                "requesting changes needs a message saying what to change",
                context: "answering \(eventID)"
            )
        }
        try context.journal(kind: .gateAnswered, taskID: task.id, caller: input.caller, payload: input.payload)
        let bundle = try bundleFor(task, in: context)
        let principal = input.caller.principal
        switch answer {
        case .approve:
            try tx.decideGate(eventID: eventID, status: .approved, by: principal, message: message, tick: context.tick)
            if principal.kind == .human {
                // A person who approves over open blockers takes them on: they are accepted, on record.
                try tx.acceptOpenBlockers(task: task.id, tick: context.tick)
            }
            // The stall was put to a person, who answered it: later gates follow their policy.
            task.status = .running
            task.stalled = false
            task.lastBlockers = []
            try advance(&task, bundle: bundle, in: context)
        case .requestChanges:
            guard task.iteration + 1 < KernelLimits.iterationCeiling else {
                throw LoomError(
                    .invalidInput,
                    "task \(task.id) reached the kernel's ceiling of \(KernelLimits.iterationCeiling) iterations; approve or abandon it",
                    context: "answering \(eventID)"
                )
            }
            // Each gate sends work back at most the bundle's iteration cap times (replans at
            // the plan gate, reworks at the final gate), counted apart from a loop's rounds.
            let sentBack = try tx.changesRequested(task: task.id, role: gate.role)
            let cap = min(bundle.budgets.iterationCap, KernelLimits.iterationCeiling)
            guard sentBack < cap else {
                throw LoomError(
                    .invalidInput,
                    "gate \(gate.role) of \(task.id) has sent the work back \(sentBack) times, the bundle's limit; approve or abandon it",
                    context: "answering \(eventID)"
                )
            }
            try tx.decideGate(
                eventID: eventID,
                status: .changesRequested,
                by: principal,
                message: message,
                tick: context.tick
            )
            guard case .gate(_, let target) = try currentStep(task, bundle: bundle).kind else {
                preconditionFailure("task \(task.id) is parked at step \(task.step), which is not a gate")
            }
            task.status = .running
            task.feedback = message
            task.stalled = false
            task.lastBlockers = []
            try walkBack(&task, to: target, bundle: bundle, in: context)
        case .abandon:
            try tx.decideGate(eventID: eventID, status: .abandoned, by: principal, message: message, tick: context.tick)
            try finish(
                &task,
                status: .abandoned,
                outcome: message.isEmpty
                    ? "abandoned at gate \(gate.role)" : "abandoned at gate \(gate.role): \(message)",
                in: context
            )
        }
        try save(task, in: context)
        return Outcome(taskID: task.id, newEffects: context.newEffects)
    }

    func applyCancel(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        guard var task = try loadTask(input.taskID, in: context) else {
            throw LoomError(.notFound, "no task '\(input.taskID)'", context: "cancelling")
        }
        guard !task.status.isFinished else {
            throw LoomError(
                .invalidInput,
                "task \(task.id) already ended (\(task.status.rawValue))",
                context: "cancelling \(task.id)"
            )
        }
        try context.journal(kind: .cancelled, taskID: task.id, caller: input.caller, payload: input.payload)
        let reason = input.payload["reason"]?.stringValue ?? ""
        try finish(
            &task,
            status: .cancelled,
            outcome: reason.isEmpty ? "cancelled" : "cancelled: \(reason)",
            in: context
        )
        try save(task, in: context)
        return Outcome(taskID: task.id, newEffects: context.newEffects)
    }

    // MARK: Shared helpers

    func loadTask(_ id: String, in context: TickContext) throws(LoomError) -> TaskRecord? {
        if let cached = context.taskCache[id] { return cached }
        let task = try context.tx.task(id)
        if let task {
            context.taskCache[id] = task
            context.stored.insert(id)
        }
        return task
    }

    func save(_ task: TaskRecord, in context: TickContext) throws(LoomError) {
        // Assertion: counts never go negative.
        precondition(
            task.spawnCount >= 0 && task.iteration >= 0,
            "task \(task.id) saved with spawns \(task.spawnCount), iteration \(task.iteration)"
        )
        var task = task
        task.updatedTick = context.tick
        if context.stored.contains(task.id) {
            let before = context.taskCache[task.id]
            // Saved already in this tick with these very values (a task finished, then saved by
            // its input's transition): writing the row again would change nothing.
            if before == task { return }
            try context.tx.update(task, statusChanged: before?.status != task.status)
        } else {
            try context.tx.insert(task)
            context.stored.insert(task.id)
        }
        context.taskCache[task.id] = task
        context.touch(task.id)
    }

    /// The exact bundle version a task started with, even when the bundle on disk has moved on.
    func bundleFor(_ task: TaskRecord, in context: TickContext) throws(LoomError) -> LoomBundle {
        guard let bundle = try version(digest: task.bundleDigest, name: task.bundle, in: context) else {
            throw LoomError(
                .bundle,
                "task \(task.id) started with bundle '\(task.bundle)' digest \(task.bundleDigest.prefix(12)), which is neither loaded nor stored in this project",
                context: "driving \(task.id)"
            )
        }
        return bundle
    }

    /// A bundle version by digest: one known to this engine, else the project's stored copy
    /// (loaded once, its rules taken into the rule book).
    func version(digest: String, name: String, in context: TickContext) throws(LoomError) -> LoomBundle? {
        if let known = versions[digest] { return known }
        guard let stored = try BundleArchive.load(digest: digest, tx: context.tx), stored.name == name else {
            return nil
        }
        try rules.add(stored)
        versions[digest] = stored
        return stored
    }

    func currentStep(_ task: TaskRecord, bundle: LoomBundle) throws(LoomError) -> Step {
        guard let flow = bundle.flow(named: task.flow), task.stepIndex < flow.steps.count else {
            throw LoomError(
                .bundle,
                "task \(task.id) is at step \(task.stepIndex) of flow \(task.flow), which bundle \(bundle.name) does not have",
                context: "driving \(task.id)"
            )
        }
        return flow.steps[task.stepIndex]
    }
}
