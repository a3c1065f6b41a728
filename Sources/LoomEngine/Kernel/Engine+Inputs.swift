/// The transition for each kind of input. Each runs inside one tick's transaction and
/// decides from the rows it reads, the input, and the tick's time token only.
extension Engine {
    func applySubmission(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        let tx = context.tx
        let payload = input.payload
        if let key = payload["idempotencyKey"]?.stringValue, let existing = try tx.taskID(idempotencyKey: key) {
            return Outcome(taskID: existing, duplicate: .string(existing))
        }
        guard let bundleName = payload["bundle"]?.stringValue, let bundle = bundles[bundleName],
              let flowName = payload["flow"]?.stringValue, let flow = bundle.flow(named: flowName),
              let input_ = payload["input"]?.stringValue else {
            throw LoomError(.invalidInput, "submission names no loaded bundle and flow", context: "submitting a task")
        }
        guard payload["digest"]?.stringValue == bundle.digest else {
            throw LoomError(.bundle, "bundle '\(bundleName)' has changed since this submission was recorded (digest \(payload["digest"]?.stringValue ?? "?") vs \(bundle.digest))", context: "submitting a task")
        }
        let seq = try tx.nextTaskSeq()
        let taskID = "t\(seq)"
        try context.journal(kind: .submitted, taskID: taskID, caller: input.caller, payload: payload)
        let startNow = try !tx.activeTaskExists()
        var task = TaskRecord(
            id: taskID, seq: seq, bundle: bundleName, bundleDigest: bundle.digest, flow: flowName, input: input_,
            policy: try TaskPolicy(json: payload["policy"] ?? .object([:])), idempotencyKey: payload["idempotencyKey"]?.stringValue,
            status: startNow ? .running : .queued, stepIndex: 0, step: flow.steps[0].name, iteration: 0, spawnCount: 0,
            spawnCap: min(bundle.budgets.spawnCap, 1000), feedback: "", lastBlockers: [], stalled: false,
            submittedBy: input.caller.json, outcome: "", createdTick: context.tick, updatedTick: context.tick)
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
        guard let row = try tx.ledgerRow(key: key) else {
            throw LoomError(.notFound, "no effect has the key '\(key)'", context: "delivering \(key)")
        }
        switch row.status {
        case "done": return Outcome(taskID: row.effect.taskID, duplicate: row.result ?? .null)
        case "cancelled": return Outcome(taskID: row.effect.taskID, duplicate: .null)
        default: break
        }
        let effect = row.effect
        try context.journal(kind: input.kind, taskID: effect.taskID, caller: input.caller, payload: input.payload)
        try tx.completeEffect(key: key, result: result, tick: context.tick)
        guard var task = try loadTask(effect.taskID, in: context) else {
            throw LoomError(.corrupt, "effect \(key) names task \(effect.taskID), which does not exist", context: "delivering \(key)")
        }
        let bundle = try bundleFor(task)
        switch effect.kind {
        case .spawn: try consumeSpawn(effect, result: result, caller: input.caller, task: &task, bundle: bundle, in: context)
        case .command: try consumeCommand(effect, result: result, task: &task, bundle: bundle, in: context)
        case .timer, .notify: break
        }
        try save(task, in: context)
        return Outcome(taskID: task.id, newEffects: context.newEffects)
    }

    func applyAnswer(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        let tx = context.tx
        guard let eventID = input.payload["gate"]?.stringValue,
              let answer = input.payload["answer"]?.stringValue.flatMap(GateAnswer.init(rawValue:)) else {
            throw LoomError(.invalidInput, "a gate answer needs a gate event id and one of approve, request_changes, abandon", context: "answering a gate")
        }
        let message = input.payload["message"]?.stringValue ?? ""
        guard var task = try loadTask(input.taskID, in: context) else {
            throw LoomError(.notFound, "no task '\(input.taskID)'", context: "answering \(eventID)")
        }
        guard task.status == .parked, let gate = try tx.waitingGate(task: task.id) else {
            throw LoomError(.staleGate, "task \(task.id) is \(task.status.rawValue) and waits at no gate; \(eventID) is stale", context: "answering \(eventID)")
        }
        guard gate.eventID == eventID else {
            throw LoomError(.staleGate, "task \(task.id) waits at \(gate.eventID), not \(eventID); the answer is stale", context: "answering \(eventID)")
        }
        if answer == .requestChanges && message.allSatisfy(\.isWhitespace) {
            throw LoomError(.invalidInput, "requesting changes needs a message saying what to change", context: "answering \(eventID)")
        }
        try context.journal(kind: .gateAnswered, taskID: task.id, caller: input.caller, payload: input.payload)
        let bundle = try bundleFor(task)
        let principal = input.caller.principal
        switch answer {
        case .approve:
            try tx.decideGate(eventID: eventID, status: .approved, by: principal, message: message, tick: context.tick)
            if principal.kind == .human {
                // A person who approves over open blockers takes them on: they are accepted, on record.
                try tx.acceptOpenBlockers(task: task.id, tick: context.tick)
            }
            task.status = .running
            try advance(&task, bundle: bundle, in: context)
        case .requestChanges:
            guard task.iteration + 1 < KernelLimits.iterationCeiling else {
                throw LoomError(.invalidInput, "task \(task.id) reached the kernel's ceiling of \(KernelLimits.iterationCeiling) iterations; approve or abandon it", context: "answering \(eventID)")
            }
            try tx.decideGate(eventID: eventID, status: .changesRequested, by: principal, message: message, tick: context.tick)
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
            try finish(&task, status: .abandoned, outcome: message.isEmpty ? "abandoned at gate \(gate.role)" : "abandoned at gate \(gate.role): \(message)", in: context)
        }
        try save(task, in: context)
        return Outcome(taskID: task.id, newEffects: context.newEffects)
    }

    func applyCancel(_ input: JournalInput, in context: TickContext) throws(LoomError) -> Outcome {
        guard var task = try loadTask(input.taskID, in: context) else {
            throw LoomError(.notFound, "no task '\(input.taskID)'", context: "cancelling")
        }
        guard !task.status.isFinished else {
            throw LoomError(.invalidInput, "task \(task.id) already ended (\(task.status.rawValue))", context: "cancelling \(task.id)")
        }
        try context.journal(kind: .cancelled, taskID: task.id, caller: input.caller, payload: input.payload)
        let reason = input.payload["reason"]?.stringValue ?? ""
        try finish(&task, status: .cancelled, outcome: reason.isEmpty ? "cancelled" : "cancelled: \(reason)", in: context)
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
        var task = task
        task.updatedTick = context.tick
        if context.stored.contains(task.id) {
            try context.tx.update(task)
        } else {
            try context.tx.insert(task)
            context.stored.insert(task.id)
        }
        context.taskCache[task.id] = task
        context.touch(task.id)
    }

    func bundleFor(_ task: TaskRecord) throws(LoomError) -> LoomBundle {
        guard let bundle = bundles[task.bundle] else {
            throw LoomError(.bundle, "task \(task.id) needs bundle '\(task.bundle)', which is not loaded", context: "driving \(task.id)")
        }
        guard bundle.digest == task.bundleDigest else {
            throw LoomError(.bundle, "task \(task.id) started with bundle '\(task.bundle)' digest \(task.bundleDigest.prefix(12)), but digest \(bundle.digest.prefix(12)) is loaded; finish it with the bundle it started with", context: "driving \(task.id)")
        }
        return bundle
    }

    func currentStep(_ task: TaskRecord, bundle: LoomBundle) throws(LoomError) -> Step {
        guard let flow = bundle.flow(named: task.flow), task.stepIndex < flow.steps.count else {
            throw LoomError(.bundle, "task \(task.id) is at step \(task.stepIndex) of flow \(task.flow), which bundle \(bundle.name) does not have", context: "driving \(task.id)")
        }
        return flow.steps[task.stepIndex]
    }
}
