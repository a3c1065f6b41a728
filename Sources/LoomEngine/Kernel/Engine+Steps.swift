import LoomValues

/// The flow interpreter: how a task moves through its bundle's steps.
///
/// A step is entered (`enterStep`), asks for effects or decides on the spot (a gate whose
/// policy lets the resolver answer), and completes when its effects' results are in.
extension Engine {
    /// Enters the task's current step, and keeps going through steps that complete at once.
    func enterStep(_ task: inout TaskRecord, bundle: LoomBundle, in context: TickContext) throws(LoomError) {
        while task.status == .running {
            let step = try currentStep(task, bundle: bundle)
            task.step = step.name
            switch step.kind {
            case .agent(let agent, _, _), .branch(let agent, _, _, _):
                try spawnAgents(
                    [agent],
                    step: step,
                    task: &task,
                    bundle: bundle,
                    validationError: "",
                    attempt: 1,
                    in: context
                )
                return
            case .fanOut(let agents, _, let rerunOnlyBlocking):
                var chosen = agents
                if rerunOnlyBlocking && task.iteration > 0 {
                    let blocked = Set(try context.tx.openBlockers(task: task.id, step: step.name).map(\.agent))
                    let subset = agents.filter(blocked.contains)
                    if !subset.isEmpty { chosen = subset }
                }
                try spawnAgents(
                    chosen,
                    step: step,
                    task: &task,
                    bundle: bundle,
                    validationError: "",
                    attempt: 1,
                    in: context
                )
                return
            case .command(let spec):
                var request: [String: JSONValue] = [
                    "task": .string(task.id), "step": .string(step.name),
                    "timeoutMs": .int(Int64(spec.timeoutMs)), "outputLimitBytes": .int(Int64(spec.outputLimitBytes)),
                ]
                if let argv = spec.argv { request["argv"] = .array(argv.map { .string($0) }) }
                if let handler = spec.handler {
                    request["handler"] = .string(handler)
                    // Handlers may take parameters from the input (a ship names its target), so
                    // they get it, bounded: the ledger holds one copy per handler effect.
                    request["input"] = .string(
                        String(task.input.utf8.prefix(HandlerRequest.inputMaxBytes)) ?? String(task.input.prefix(1_024))
                    )
                }
                try ask(
                    Effect(
                        key: Effect.key(
                            task: task.id,
                            step: step.name,
                            unit: "command",
                            iteration: task.iteration,
                            attempt: 1
                        ),
                        taskID: task.id,
                        step: step.name,
                        unit: "command",
                        iteration: task.iteration,
                        attempt: 1,
                        kind: .command,
                        request: .object(request)
                    ),
                    in: context
                )
                return
            case .gate(let role, _):
                // Parked: wait for a person. Otherwise the resolver approved; go on.
                guard try openGate(role: role, step: step, task: &task, bundle: bundle, in: context) else { return }
                try moveToNextStep(&task, bundle: bundle)
            case .finalize:
                // A blocker still open here was raised after the last gate (a reviewer that
                // runs after it), so no person ever saw it. The task
                // cannot be accepted over it: it fails, saying why, instead of its result
                // being refused at commit and the task cancelled with nothing on record.
                let open = try context.tx.openBlockers(task: task.id)
                guard open.isEmpty else {
                    let raisers = Set(open.map(\.agent)).sorted().joined(separator: ", ")
                    try finish(
                        &task,
                        status: .failed,
                        outcome:
                            "reached \(step.name) with \(open.count) blocking finding(s) open after the last gate (from \(raisers))",
                        in: context
                    )
                    return
                }
                try finish(&task, status: .done, outcome: "finished", in: context)
                return
            }
        }
    }

    /// Moves past the current step and enters the next.
    func advance(_ task: inout TaskRecord, bundle: LoomBundle, in context: TickContext) throws(LoomError) {
        try moveToNextStep(&task, bundle: bundle)
        try enterStep(&task, bundle: bundle, in: context)
    }

    private func moveToNextStep(_ task: inout TaskRecord, bundle: LoomBundle) throws(LoomError) {
        guard let flow = bundle.flow(named: task.flow), task.stepIndex + 1 < flow.steps.count else {
            // The loader guarantees every flow ends in finalize, which never advances.
            preconditionFailure("task \(task.id) advanced past the end of flow \(task.flow)")
        }
        task.stepIndex += 1
        task.step = flow.steps[task.stepIndex].name
    }

    /// Continues the task at the first step of another flow of its bundle (a branch step chose it).
    private func enterFlow(
        _ flowName: String,
        task: inout TaskRecord,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) {
        guard let flow = bundle.flow(named: flowName), let first = flow.steps.first else {
            throw LoomError(
                .bundle,
                "bundle \(bundle.name) has no flow '\(flowName)' to branch to",
                context: "driving \(task.id)"
            )
        }
        task.flow = flowName
        task.stepIndex = 0
        task.step = first.name
        task.lastBlockers = []
        try enterStep(&task, bundle: bundle, in: context)
    }

    /// Walks back to an earlier step; every walk-back is a new iteration, so effect keys stay unique.
    func walkBack(
        _ task: inout TaskRecord,
        to target: String,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) {
        guard let flow = bundle.flow(named: task.flow), let index = flow.index(of: target) else {
            throw LoomError(
                .bundle,
                "flow \(task.flow) has no step '\(target)' to walk back to",
                context: "driving \(task.id)"
            )
        }
        task.stepIndex = index
        task.step = target
        task.iteration += 1
        try enterStep(&task, bundle: bundle, in: context)
    }

    /// Ends a task: its pending effects and waiting gates are cancelled, and when it was the
    /// task in flight, the next queued task of the project starts in the same tick. (A queued
    /// task that ends, cancelled, hands over nothing: the one in flight still is.)
    func finish(
        _ task: inout TaskRecord,
        status: TaskStatus,
        outcome: String,
        in context: TickContext
    ) throws(LoomError) {
        precondition(status.isFinished, "finish(\(status)) with a status that is not final")
        let wasInFlight = task.status == .running || task.status == .parked
        task.status = status
        task.outcome = outcome
        try context.cancelPendingEffects(task: task.id)
        try context.tx.cancelWaitingGates(task: task.id, tick: context.tick)
        context.newEffects.removeAll { $0.taskID == task.id }
        try save(task, in: context)
        if wasInFlight, let nextID = try context.tx.nextQueuedTaskID(), var next = try loadTask(nextID, in: context) {
            let nextBundle = try bundleFor(next, in: context)
            next.status = .running
            try enterStep(&next, bundle: nextBundle, in: context)
            try save(next, in: context)
        }
    }

    /// Records an effect's intent in this tick; it is handed to the host once the tick commits.
    private func ask(_ effect: Effect, in context: TickContext) throws(LoomError) {
        try context.insertEffect(effect)
        context.newEffects.append(effect)
    }

    // MARK: Agents

    private func spawnAgents(
        _ agents: [String],
        step: Step,
        task: inout TaskRecord,
        bundle: LoomBundle,
        validationError: String,
        attempt: Int,
        in context: TickContext
    ) throws(LoomError) {
        guard task.spawnCount + agents.count <= task.spawnCap else {
            try finish(
                &task,
                status: .failed,
                outcome: "spawn cap of \(task.spawnCap) reached at step \(step.name)",
                in: context
            )
            return
        }
        for agent in agents {
            guard let spec = bundle.agents[agent] else {
                throw LoomError(
                    .bundle,
                    "step \(step.name) names agent '\(agent)', which bundle \(bundle.name) does not declare",
                    context: "driving \(task.id)"
                )
            }
            let prompt: String
            var shrinkable: [AgentRequest.Shrinkable] = []
            do {
                let values = try variables(for: spec, task: task, validationError: validationError, in: context)
                let rendered = try spec.template.render(
                    values,
                    tracking: Set(spec.shrink.keys),
                    maxBytes: limits.promptMaxBytes
                )
                prompt = rendered.text
                // Sorted by name: the request's JSON, and so the journal, does not depend on
                // dictionary order.
                for name in spec.shrink.keys.sorted(by: BundleNames.utf8Less) {
                    shrinkable.append(
                        AgentRequest.Shrinkable(
                            variable: name,
                            rule: spec.shrink[name]!,
                            spans: rendered.spans[name] ?? []
                        )
                    )
                }
            } catch let error as LoomError {
                throw error
            } catch {
                try finish(
                    &task,
                    status: .failed,
                    outcome: "could not render the prompt of \(agent): \(error)",
                    in: context
                )
                return
            }
            let request = AgentRequest(
                taskID: task.id,
                step: step.name,
                role: agent,
                prompt: prompt,
                modelTier: spec.tier,
                iteration: task.iteration,
                attempt: attempt,
                shrinkable: shrinkable
            )
            try ask(
                Effect(
                    key: Effect.key(
                        task: task.id,
                        step: step.name,
                        unit: agent,
                        iteration: task.iteration,
                        attempt: attempt
                    ),
                    taskID: task.id,
                    step: step.name,
                    unit: agent,
                    iteration: task.iteration,
                    attempt: attempt,
                    kind: .spawn,
                    request: request.json
                ),
                in: context
            )
            task.spawnCount += 1
        }
    }

    private func variables(
        for spec: AgentSpec,
        task: TaskRecord,
        validationError: String,
        in context: TickContext
    ) throws(LoomError) -> [String: String] {
        var values: [String: String] = [:]
        for (name, source) in spec.variables {
            switch source {
            case .input: values[name] = task.input
            case .taskID: values[name] = task.id
            case .feedback: values[name] = task.feedback
            case .iteration: values[name] = String(task.iteration)
            case .validationError: values[name] = validationError
            case .openFindings: values[name] = try context.tx.openFindingsJSON(task: task.id).canonicalText
            case .output(let step, let field):
                let outputs = try context.tx.latestOutputs(task: task.id, step: step)
                var value: JSONValue
                if outputs.count == 1 {
                    value = outputs[0].output
                } else {
                    var object: [String: JSONValue] = [:]
                    for (unit, output) in outputs { object[unit] = output }
                    value = .object(object)
                }
                if let field { value = value[field] ?? .null }
                switch value {
                case .null: values[name] = ""
                case .string(let text): values[name] = text
                default: values[name] = value.canonicalText
                }
            }
        }
        return values
    }

    /// Applies one agent's result: retry invalid output once, then record a harness finding;
    /// take findings from valid output; complete the step when its last spawn is in.
    func consumeSpawn(
        _ effect: Effect,
        result: JSONValue,
        caller: Caller,
        task: inout TaskRecord,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) {
        guard task.status == .running, task.step == effect.step, task.iteration == effect.iteration else {
            // A result for a step the task has left (it walked back or was answered): recorded, not applied.
            return
        }
        let tx = context.tx
        let step = try currentStep(task, bundle: bundle)
        guard let spec = bundle.agents[effect.unit] else {
            throw LoomError(
                .bundle,
                "effect \(effect.key) names agent '\(effect.unit)', which is not declared",
                context: "delivering \(effect.key)"
            )
        }
        // Whoever delivers a result is its author (a person, or an agent host under its own
        // principal, so that rules can tell two of its sessions apart); when loom itself
        // delivers what its provider answered, the agent is.
        let author: String
        switch caller.principal.kind {
        case .human, .agent: author = caller.principal.id
        case .system, .policy: author = Principal.agent(effect.unit).id
        }
        guard let agentResult = AgentResult(json: result) else {
            throw LoomError(
                .invalidInput,
                "the result of \(effect.key) is not an agent result (needs status, and output or errorClass)",
                context: "delivering \(effect.key)"
            )
        }
        // A fallback chain that moved on made more than one model call: each counts, so the
        // cap holds across fallbacks (the next spawn is refused once it is reached).
        task.spawnCount = min(task.spawnCap, task.spawnCount + agentResult.attempts - 1)
        if let errorClass = agentResult.errorClass {
            try tx.insertOutput(
                task: task.id,
                step: effect.step,
                unit: effect.unit,
                iteration: effect.iteration,
                attempt: effect.attempt,
                kind: .spawn,
                valid: false,
                output: result,
                author: author,
                tick: context.tick
            )
            try finish(
                &task,
                status: .failed,
                outcome:
                    "agent \(effect.unit) failed at step \(effect.step) (\(errorClass.rawValue)): \(agentResult.errorMessage ?? "")",
                in: context
            )
            return
        }
        let problems = validate(agentResult.output ?? "", against: spec)
        let output = problems.parsed ?? .string(agentResult.output ?? "")
        try tx.insertOutput(
            task: task.id,
            step: effect.step,
            unit: effect.unit,
            iteration: effect.iteration,
            attempt: effect.attempt,
            kind: .spawn,
            valid: problems.errors.isEmpty,
            output: output,
            author: author,
            tick: context.tick
        )
        if problems.errors.isEmpty, spec.dismissesFindings, let parsed = problems.parsed {
            for entry in (parsed["dismissed"]?.arrayValue ?? []).prefix(limits.findingsPerOutputMax) {
                guard let id = entry["finding"]?.stringValue else { continue }
                // Only the task's own open agent findings; anything else is ignored, not an error,
                // so a confused adjudicator cannot stop the task (its output is on record anyway).
                try tx.dismissFinding(task: task.id, id: id, tick: context.tick)
            }
        }
        if problems.errors.isEmpty, case .branch(_, let field, let flows, _) = step.kind {
            let chosen = problems.parsed?[field]?.stringValue
            return try enterFlow(
                chosen.flatMap { flows.contains($0) ? $0 : nil } ?? step.fallbackFlow,
                task: &task,
                bundle: bundle,
                in: context
            )
        }
        if !problems.errors.isEmpty {
            let explanation = problems.errors.prefix(10).joined(separator: "; ")
            if effect.attempt < limits.outputAttemptsMax {
                try spawnAgents(
                    [effect.unit],
                    step: step,
                    task: &task,
                    bundle: bundle,
                    validationError: explanation,
                    attempt: effect.attempt + 1,
                    in: context
                )
                return
            }
            // Garbage never turns into an approval: it becomes a blocker a person must look at
            // at the next gate. With no gate ahead (a summary after delivery) there is no
            // approval left to guard and nobody to ask: it is a warning on the record.
            let severity = gateAhead(of: task, step: step, bundle: bundle) ? "blocking" : "warn"
            try addFinding(
                task: task,
                step: effect.step,
                agent: effect.unit,
                iteration: effect.iteration,
                severity: severity,
                origin: "harness",
                summary: "output of \(effect.unit) failed its schema twice",
                details: .object(["errors": .array(problems.errors.map { .string($0) })]),
                in: context
            )
            if case .branch = step.kind {
                // The harness blocker stays open, so a person sees it at the first gate.
                return try enterFlow(step.fallbackFlow, task: &task, bundle: bundle, in: context)
            }
        } else if spec.producesFindings, let parsed = problems.parsed {
            try tx.supersedeFindings(task: task.id, step: effect.step, agent: effect.unit, tick: context.tick)
            for finding in (parsed["findings"]?.arrayValue ?? []).prefix(limits.findingsPerOutputMax) {
                try addFinding(
                    task: task,
                    step: effect.step,
                    agent: effect.unit,
                    iteration: effect.iteration,
                    severity: finding["severity"]?.stringValue ?? "blocking",
                    origin: "agent",
                    summary: finding["summary"]?.stringValue ?? "",
                    details: finding,
                    in: context
                )
            }
        }
        if try context.pendingEffectCount(task: task.id, step: effect.step, iteration: effect.iteration) == 0 {
            try completeReviewStep(step, task: &task, bundle: bundle, in: context)
        }
    }

    /// Why `text` is not an acceptable output of `spec` (empty when it is): the same check
    /// the kernel made when it was delivered, so a reader of the record (`loomctl log`) can
    /// show a rejected output's reasons without the kernel journaling them twice.
    public func validationErrors(of text: String, agent spec: AgentSpec) -> [String] {
        validate(text, against: spec).errors
    }

    private func validate(_ text: String, against spec: AgentSpec) -> (parsed: JSONValue?, errors: [String]) {
        let jsonLimits = JSONLimits(maxBytes: limits.resultMaxBytes, maxDepth: 64)
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(text, limits: jsonLimits)
        } catch {
            // Only an answer that is not JSON as a whole is searched for its object.
            guard
                let found = AgentOutputText.candidates(text).dropFirst().lazy.compactMap({
                    try? JSONValue.parse(String($0), limits: jsonLimits)
                }).first
            else {
                return (nil, ["output is not JSON: \(error.message) at byte \(error.offset)"])
            }
            parsed = found
        }
        var errors = spec.outputSchema.validate(parsed)
        if spec.producesFindings, (parsed["findings"]?.arrayValue?.count ?? 0) > limits.findingsPerOutputMax {
            errors.append("$.findings: more than \(limits.findingsPerOutputMax) findings")
        }
        return (parsed, errors)
    }

    /// Whether a gate may lie on the task's path after `step`: later in its flow, or for a
    /// branch, in the flow it falls back to. A branch on the way counts as one (it may lead
    /// to a gate): unsure, the finding stays blocking, and finalize fails the task if no
    /// person ever saw it.
    private func gateAhead(of task: TaskRecord, step: Step, bundle: LoomBundle) -> Bool {
        let remaining: ArraySlice<Step>
        if case .branch = step.kind {
            remaining = bundle.flow(named: step.fallbackFlow)?.steps[...] ?? []
        } else {
            guard let steps = bundle.flow(named: task.flow)?.steps, task.stepIndex < steps.count else { return true }
            remaining = steps[(task.stepIndex + 1)...]
        }
        return remaining.contains { step in
            switch step.kind {
            case .gate, .branch: return true
            default: return false
            }
        }
    }

    private func addFinding(
        task: TaskRecord,
        step: String,
        agent: String,
        iteration: Int,
        severity: String,
        origin: String,
        summary: String,
        details: JSONValue,
        in context: TickContext
    ) throws(LoomError) {
        let number = try context.tx.findingCount(task: task.id) + 1
        let fingerprint = Array(
            SHA256.hash(JSONValue.object(["agent": .string(agent), "summary": .string(summary)]).canonicalBytes())
                .prefix(8)
        ).hexString
        try context.tx.insertFinding(
            id: "\(task.id).f\(number)",
            task: task.id,
            step: step,
            agent: agent,
            iteration: iteration,
            severity: severity,
            origin: origin,
            summary: summary,
            fingerprint: fingerprint,
            details: details,
            tick: context.tick
        )
    }

    /// An agent or fan-out step is complete: loop back while it leaves blockers (within the
    /// iteration cap, and unless the same blockers came back: the stall breaker), else go on.
    private func completeReviewStep(
        _ step: Step,
        task: inout TaskRecord,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) {
        let loopTarget: String?
        var scope = LoopScope.step
        switch step.kind {
        case .agent(_, let target, let loopScope):
            loopTarget = target
            scope = loopScope
        case .fanOut(_, let target, _): loopTarget = target
        default: loopTarget = nil
        }
        guard let loopTarget else { return try advance(&task, bundle: bundle, in: context) }
        let blockers = try context.tx.openBlockers(task: task.id, step: scope == .step ? step.name : nil).map(
            \.fingerprint
        )
        if blockers.isEmpty {
            task.lastBlockers = []
            return try advance(&task, bundle: bundle, in: context)
        }
        if blockers == task.lastBlockers {
            task.stalled = true
            return try advance(&task, bundle: bundle, in: context)
        }
        task.lastBlockers = blockers
        // The cap counts this step's own rounds since a person last sent the work back, so
        // gate send-backs (capped apart) do not use up the rounds of this loop.
        let cap = min(bundle.budgets.iterationCap, KernelLimits.iterationCeiling)
        if try context.tx.rounds(task: task.id, step: step.name) < cap,
            task.iteration + 1 < KernelLimits.iterationCeiling
        {
            try walkBack(&task, to: loopTarget, bundle: bundle, in: context)
        } else {
            try advance(&task, bundle: bundle, in: context)
        }
    }

    /// A command step's result is recorded as its output; what it means is for the bundle's rules.
    func consumeCommand(
        _ effect: Effect,
        result: JSONValue,
        task: inout TaskRecord,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) {
        guard task.status == .running, task.step == effect.step, task.iteration == effect.iteration else { return }
        guard CommandResult(json: result) != nil else {
            throw LoomError(
                .invalidInput,
                "the result of \(effect.key) is not a command result (needs status ok|failed|timeout|skipped)",
                context: "delivering \(effect.key)"
            )
        }
        try context.tx.insertOutput(
            task: task.id,
            step: effect.step,
            unit: effect.unit,
            iteration: effect.iteration,
            attempt: effect.attempt,
            kind: .command,
            valid: true,
            output: result,
            author: "command:\(effect.step)",
            tick: context.tick
        )
        if case .command(let spec) = try currentStep(task, bundle: bundle).kind, spec.required,
            let outcome = CommandResult(json: result), outcome.status != .ok, outcome.status != .skipped
        {
            let reason =
                outcome.output.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            return try finish(
                &task,
                status: .failed,
                outcome: "step \(effect.step) \(outcome.status.rawValue): \(reason.prefix(500))",
                in: context
            )
        }
        try advance(&task, bundle: bundle, in: context)
    }

    // MARK: Gates

    /// Opens a gate: decides whether a person must answer, and if not, lets the resolver
    /// answer on the spot (recorded as decided by the policy). True when it was approved.
    private func openGate(
        role: String,
        step: Step,
        task: inout TaskRecord,
        bundle: LoomBundle,
        in context: TickContext
    ) throws(LoomError) -> Bool {
        let tx = context.tx
        let spec = bundle.gates[role]
        let policy = task.policy.resolve(role: role, bundleDefault: spec?.defaultPolicy)
        let openBlockers = try tx.openBlockers(task: task.id).count
        var reasons: [String] = []
        switch policy {
        case .human: reasons.append("policy: human")
        case .onBlockers where openBlockers > 0: reasons.append("\(openBlockers) open blocking finding(s)")
        case .auto where openBlockers > 0:
            reasons.append("\(openBlockers) open blocking finding(s): the resolver cannot approve")
        default: break
        }
        if task.stalled { reasons.append("stall breaker: the same blockers came back twice") }
        for ruleName in spec?.safetyFloor ?? [] {
            if let rows = try rules.safetyFloorRows(
                tx: tx,
                bundle: bundle.digest,
                rule: ruleName,
                task: task.id,
                tick: context.tick
            ), !rows.isEmpty {
                reasons.append(
                    "safety floor \(ruleName): \(bundle.safetyFloor.first { $0.name == ruleName }?.message ?? "")"
                )
            }
        }
        let gateNumber = try tx.gateCount(task: task.id) + 1
        // Assertion: gate event ids are minted in order and never reused (a stale answer is
        // told apart from the waiting one by this number alone). The read's error is passed
        // on, never swallowed (`try?`): an I/O error makes SQLite roll the whole tick back,
        // and a tick that carried on would have run its remaining statements outside any
        // transaction (found by the simulator: seeds 12837580697916989842, 15180299744243109744).
        #if DEBUG
        let waiting = try tx.waitingGate(task: task.id)
        assert(waiting == nil, "task \(task.id) mints gate \(gateNumber) while another waits")
        #endif
        let eventID = "\(task.id).g\(gateNumber)"
        let requiresHuman = !reasons.isEmpty
        var gate = GateRecord(
            eventID: eventID,
            taskID: task.id,
            step: step.name,
            role: role,
            policy: policy,
            requiresHuman: requiresHuman,
            reasons: reasons,
            status: .waiting,
            decidedBy: nil,
            message: "",
            openedTick: context.tick
        )
        if requiresHuman {
            task.status = .parked
            try tx.insertGate(gate, authors: try tx.authors(task: task.id), tick: context.tick)
            return false
        }
        gate.status = .approved
        gate.decidedBy = Principal(kind: .policy, id: "policy:\(policy.rawValue)")
        gate.message = "no open blocking findings; resolved by policy \(policy.rawValue)"
        try tx.insertGate(gate, authors: try tx.authors(task: task.id), tick: context.tick)
        task.stalled = false
        return true
    }
}
