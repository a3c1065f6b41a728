import LoomValues

// Flows and their steps, the default flow, and output:STEP references.
extension ManifestValidator {
    static let stepKinds = ["agent", "fanOut", "gate", "command", "branch", "finalize"]
    static let commonStepFields = ["name", "phase", "kind"]
    static let kindFields: [String: [String]] = [
        "agent": ["agent", "loopTo", "loopScope"],
        "fanOut": ["agents", "loopTo", "rerunOnlyBlocking"],
        "gate": ["gate", "onRequestChanges"],
        "command": ["argv", "handler", "timeoutMs", "outputLimitBytes", "required"],
        "branch": ["agent", "field", "flows", "fallback"],
        "finalize": [],
    ]

    func readFlows(_ top: [String: JSONValue]) {
        guard let entries = objectField(top, "flows", at: "", required: true) else { return }
        if entries.isEmpty {
            problem("flows", "declare at least one flow")
            return
        }
        rawFlowNames = entries.keys.sorted(by: BundleNames.utf8Less)
        for name in rawFlowNames {
            readFlow(name, entries[name]!)
        }
    }

    /// Step names of every flow, for `output:STEP` references.
    private var allStepNames: Set<String> {
        Set(flows.values.flatMap { $0.steps.map(\.name) }).union(rawStepNames)
    }

    private func readFlow(_ name: String, _ value: JSONValue) {
        let at = PathText.member("flows", name)
        let before = problems.count
        if !BundleNames.isName(name) {
            problem(at, "invalid flow name \"\(name)\": \(BundleNames.nameRule)")
        }
        guard let fields = value.objectValue else {
            problem(at, "expected a flow object, found \(value.typeName)")
            return
        }
        rejectUnknownFields(fields, at: at, allowed: ["steps"])
        guard let list = arrayField(fields, "steps", at: at, required: true) else { return }
        let stepsAt = PathText.member(at, "steps")
        if list.isEmpty {
            problem(stepsAt, "a flow needs at least one step (and ends with a finalize step)")
            return
        }

        // First pass: names by position, so a loop target can be told apart
        // as "later" versus "missing".
        let names: [String?] = list.map { $0["name"]?.stringValue }
        for stepName in names.compactMap({ $0 }) { rawStepNames.insert(stepName) }

        var steps: [Step] = []
        var seen = Set<String>()
        for (index, element) in list.enumerated() {
            let stepAt = PathText.index(stepsAt, index)
            if let step = readStep(
                element,
                at: stepAt,
                index: index,
                count: list.count,
                names: names,
                flow: name,
                seen: &seen
            ) {
                steps.append(step)
            }
        }
        if let last = list.last, let kind = last["kind"]?.stringValue, Self.stepKinds.contains(kind), kind != "finalize"
        {
            problem(stepsAt, "a flow must end with a finalize step (the last step here is a \(kind) step)")
        }
        if problems.count == before {
            flows[name] = Flow(name: name, steps: steps)
        }
    }

    private func readStep(
        _ value: JSONValue,
        at path: String,
        index: Int,
        count: Int,
        names: [String?],
        flow: String,
        seen: inout Set<String>
    ) -> Step? {
        let before = problems.count
        guard let fields = value.objectValue else {
            problem(path, "expected a step object, found \(value.typeName)")
            return nil
        }
        let name = nameField(fields, "name", at: path, required: true)
        if let name, !seen.insert(name).inserted {
            problem(PathText.member(path, "name"), "step name \"\(name)\" is used twice in flow \"\(flow)\"")
        }
        let phase = stringField(fields, "phase", at: path, required: true)
        if let phase, !phases.contains(phase) {
            // Only meaningful when the phase list itself could be read.
            if !phases.isEmpty {
                problem(
                    PathText.member(path, "phase"),
                    "phase \"\(phase)\" is not declared in phases" + BundleNames.hint(for: phase, among: phases)
                )
            }
        }
        guard let kindName = stringField(fields, "kind", at: path, required: true) else { return nil }
        guard let ownFields = Self.kindFields[kindName] else {
            problem(
                PathText.member(path, "kind"),
                "unknown step kind \"\(kindName)\"; expected one of \(Self.stepKinds.joined(separator: ", "))"
                    + BundleNames.hint(for: kindName, among: Self.stepKinds)
            )
            return nil
        }
        rejectUnknownFields(fields, at: path, allowed: Self.commonStepFields + ownFields) { key in
            if let owner = Self.stepKinds.first(where: { Self.kindFields[$0]!.contains(key) }) {
                return "field \"\(key)\" belongs to \(owner) steps, not \(kindName) steps"
            }
            return nil
        }

        let kind: StepKind?
        switch kindName {
        case "agent":
            kind = readAgentStep(fields, at: path, index: index, names: names, flow: flow)
        case "fanOut":
            kind = readFanOutStep(fields, at: path, index: index, names: names, flow: flow)
        case "gate":
            kind = readGateStep(fields, at: path, index: index, names: names, flow: flow)
        case "command":
            kind = readCommandStep(fields, at: path)
        case "branch":
            kind = readBranchStep(fields, at: path)
        default:
            if index != count - 1 {
                problem(PathText.member(path, "kind"), "finalize must be the last step of the flow")
            }
            kind = .finalize
        }
        guard problems.count == before, let name, let phase, let kind else { return nil }
        return Step(name: name, phase: phase, kind: kind)
    }

    private func readAgentStep(
        _ fields: [String: JSONValue],
        at path: String,
        index: Int,
        names: [String?],
        flow: String
    ) -> StepKind? {
        let agent = agentReference(fields, "agent", at: path)
        let loopTo = earlierStep(fields, "loopTo", at: path, index: index, names: names, flow: flow, required: false)
        if fields["loopTo"] != nil, let agent, agentProducesFindings[agent] == false {
            problem(
                PathText.member(path, "loopTo"),
                "loopTo walks back while blocking findings are open, but agent \"\(agent)\" does not produce findings"
            )
        }
        var scope = LoopScope.step
        if let text = stringField(fields, "loopScope", at: path, required: false) {
            if let parsed = LoopScope(rawValue: text) {
                scope = parsed
            } else {
                problem(PathText.member(path, "loopScope"), "loopScope must be \"step\" or \"task\", not \"\(text)\"")
            }
            if fields["loopTo"] == nil {
                problem(
                    PathText.member(path, "loopScope"),
                    "loopScope only matters when the step loops; add loopTo or remove it"
                )
            }
        }
        guard let agent else { return nil }
        return .agent(agent: agent, loopTo: loopTo, loopScope: scope)
    }

    /// Flows a branch step names are checked once every flow has been read (`checkBranchTargets`).
    private func readBranchStep(_ fields: [String: JSONValue], at path: String) -> StepKind? {
        let agent = agentReference(fields, "agent", at: path)
        let field = stringField(fields, "field", at: path, required: true)
        if let field, !BundleNames.isFieldName(field) {
            problem(PathText.member(path, "field"), "invalid output field name \"\(field)\"")
        }
        var targets: [String] = []
        if let list = arrayField(fields, "flows", at: path, required: true) {
            let listAt = PathText.member(path, "flows")
            if list.isEmpty { problem(listAt, "a branch needs at least one flow to choose from") }
            for (position, element) in list.enumerated() {
                guard let name = element.stringValue else {
                    problem(
                        PathText.index(listAt, position),
                        "expected a flow name (a string), found \(element.typeName)"
                    )
                    continue
                }
                targets.append(name)
                branchTargets.append((PathText.index(listAt, position), name))
            }
        }
        let fallback = stringField(fields, "fallback", at: path, required: true)
        if let fallback {
            if targets.contains(fallback) {
                branchTargets.append((PathText.member(path, "fallback"), fallback))
            } else {
                problem(
                    PathText.member(path, "fallback"),
                    "the fallback flow \"\(fallback)\" must be one of the branch's flows"
                )
            }
        }
        guard let agent, let field, let fallback, !targets.isEmpty else { return nil }
        return .branch(agent: agent, field: field, flows: targets, fallback: fallback)
    }

    /// Every flow a branch step names must exist, and no flow it leads to, directly or
    /// through further branches, may share a step name with the flow that branches: effect
    /// keys are built from step names, and the task keeps its iteration when it changes flow,
    /// so a shared name would reuse a key. For the same reason branches must not lead back
    /// to the flow they start from.
    func checkBranchTargets() {
        for (location, name) in branchTargets where flows[name] == nil && !rawFlowNames.contains(name) {
            problem(location, "no flow named \"\(name)\"" + BundleNames.hint(for: name, among: rawFlowNames))
        }
        for (flowName, flow) in flows.sorted(by: { BundleNames.utf8Less($0.key, $1.key) }) {
            for (index, step) in flow.steps.enumerated() {
                guard case .branch(_, _, let targets, _) = step.kind else { continue }
                let at = PathText.index(PathText.member(PathText.member("flows", flowName), "steps"), index)
                // A finalize step asks for no effect, so it may share its name.
                let own = Set(flow.steps.filter { $0.kind != .finalize }.map(\.name))
                for (reached, route) in flowsReached(from: targets, by: flowName) {
                    if reached == flowName {
                        problem(
                            at,
                            "the branches \(route) lead back to flow \"\(flowName)\"; a task would run its steps again at the same iteration, so branches must not form a cycle"
                        )
                        continue
                    }
                    let shared = (flows[reached]?.steps.map(\.name) ?? []).filter { own.contains($0) }
                    if !shared.isEmpty {
                        problem(
                            at,
                            "flow \"\(reached)\" (\(route)) shares step name(s) \(shared.map { "\"\($0)\"" }.joined(separator: ", ")) with flow \"\(flowName)\", which branches to it; rename one"
                        )
                    }
                }
            }
        }
    }

    /// Each flow reachable from `targets` through branch steps, once, with the route that
    /// first reaches it ("a → b → c"), in a stable order.
    private func flowsReached(from targets: [String], by origin: String) -> [(flow: String, route: String)] {
        var reached: [(flow: String, route: String)] = []
        var seen: Set<String> = []
        var frontier = targets.map { ($0, "\(origin) → \($0)") }
        while !frontier.isEmpty {
            let (name, route) = frontier.removeFirst()
            guard seen.insert(name).inserted else { continue }
            reached.append((name, route))
            guard name != origin, let flow = flows[name] else { continue }
            for step in flow.steps {
                if case .branch(_, _, let next, _) = step.kind { frontier += next.map { ($0, "\(route) → \($0)") } }
            }
        }
        return reached
    }

    private func readFanOutStep(
        _ fields: [String: JSONValue],
        at path: String,
        index: Int,
        names: [String?],
        flow: String
    ) -> StepKind? {
        var agents: [String] = []
        var ok = true
        if let list = arrayField(fields, "agents", at: path, required: true) {
            let agentsAt = PathText.member(path, "agents")
            if list.isEmpty {
                problem(agentsAt, "a fan-out needs at least one agent")
                ok = false
            } else if let limit = fanOutLimit, list.count > limit {
                problem(agentsAt, "a fan-out of \(list.count) agents exceeds budgets.maxConcurrentSpawns (\(limit))")
                ok = false
            }
            for (position, element) in list.enumerated() {
                let elementAt = PathText.index(agentsAt, position)
                guard let agent = element.stringValue else {
                    problem(elementAt, "expected an agent name (a string), found \(element.typeName)")
                    ok = false
                    continue
                }
                if agents.contains(agent) {
                    problem(elementAt, "agent \"\(agent)\" is listed twice")
                    ok = false
                    continue
                }
                if !declaredAgentNames.contains(agent) {
                    problem(
                        elementAt,
                        "no agent named \"\(agent)\"" + BundleNames.hint(for: agent, among: declaredAgentNames)
                    )
                    ok = false
                }
                agents.append(agent)
            }
        } else {
            ok = false
        }
        let loopTo = earlierStep(fields, "loopTo", at: path, index: index, names: names, flow: flow, required: false)
        // Meaningful without loopTo too: a later step may walk back past this one.
        let rerunOnlyBlocking = boolField(fields, "rerunOnlyBlocking", at: path) ?? false
        if fields["loopTo"] != nil, ok, agents.allSatisfy({ agentProducesFindings[$0] == false }) {
            problem(
                PathText.member(path, "loopTo"),
                "loopTo walks back while blocking findings are open, but none of these agents produces findings"
            )
        }
        guard ok else { return nil }
        return .fanOut(agents: agents, loopTo: loopTo, rerunOnlyBlocking: rerunOnlyBlocking)
    }

    private func readGateStep(
        _ fields: [String: JSONValue],
        at path: String,
        index: Int,
        names: [String?],
        flow: String
    ) -> StepKind? {
        var role = stringField(fields, "gate", at: path, required: true)
        if let name = role, !declaredGateRoles.contains(name) {
            problem(
                PathText.member(path, "gate"),
                "no gate with role \"\(name)\" in gates" + BundleNames.hint(for: name, among: declaredGateRoles)
            )
            role = nil
        }
        let target = earlierStep(
            fields,
            "onRequestChanges",
            at: path,
            index: index,
            names: names,
            flow: flow,
            required: true
        )
        guard let role, let target else { return nil }
        return .gate(role: role, onRequestChanges: target)
    }

    private func readCommandStep(_ fields: [String: JSONValue], at path: String) -> StepKind? {
        var argv: [String]?
        var handler: String?
        var ok = true
        switch (fields["argv"], fields["handler"]) {
        case (nil, nil):
            problem(path, "a command step needs \"argv\" or \"handler\"")
            ok = false
        case (.some, .some):
            problem(path, "a command step takes \"argv\" or \"handler\", not both")
            ok = false
        case (.some, nil):
            if let list = arrayField(fields, "argv", at: path, required: true) {
                let argvAt = PathText.member(path, "argv")
                var parts: [String] = []
                if list.isEmpty {
                    problem(argvAt, "argv needs at least the program to run")
                    ok = false
                }
                for (position, element) in list.enumerated() {
                    guard let part = element.stringValue else {
                        problem(PathText.index(argvAt, position), "expected a string, found \(element.typeName)")
                        ok = false
                        continue
                    }
                    if part.utf8.contains(0) {
                        problem(PathText.index(argvAt, position), "arguments cannot contain NUL characters")
                        ok = false
                    } else if position == 0, part.isEmpty {
                        problem(PathText.index(argvAt, position), "the program name must not be empty")
                        ok = false
                    }
                    parts.append(part)
                }
                argv = parts
            } else {
                ok = false
            }
        case (nil, .some):
            if let name = stringField(fields, "handler", at: path, required: true) {
                if BundleNames.isHandlerName(name) {
                    handler = name
                } else {
                    problem(
                        PathText.member(path, "handler"),
                        "invalid handler name \"\(name)\": handler names must match [A-Za-z][A-Za-z0-9_.:-]* and be at most 128 characters"
                    )
                    ok = false
                }
            } else {
                ok = false
            }
        }
        let required = boolField(fields, "required", at: path) ?? false
        let timeout = intField(fields, "timeoutMs", at: path, range: CommandSpec.timeoutMsRange)
        let limit = intField(fields, "outputLimitBytes", at: path, range: CommandSpec.outputLimitBytesRange)
        if case .invalid = timeout { ok = false }
        if case .invalid = limit { ok = false }
        guard ok, (argv == nil) != (handler == nil) else { return nil }
        return .command(
            CommandSpec(
                argv: argv,
                handler: handler,
                timeoutMs: timeout.value ?? CommandSpec.defaultTimeoutMs,
                outputLimitBytes: limit.value ?? CommandSpec.defaultOutputLimitBytes,
                required: required
            )
        )
    }

    private func agentReference(_ fields: [String: JSONValue], _ key: String, at path: String) -> String? {
        guard let agent = stringField(fields, key, at: path, required: true) else { return nil }
        guard declaredAgentNames.contains(agent) else {
            problem(
                PathText.member(path, key),
                "no agent named \"\(agent)\"" + BundleNames.hint(for: agent, among: declaredAgentNames)
            )
            return nil
        }
        return agent
    }

    /// A loop target: must name a step that comes *before* this one in the
    /// same flow, so every walk back moves toward the start and a flow
    /// cannot jump forward past a gate.
    private func earlierStep(
        _ fields: [String: JSONValue],
        _ key: String,
        at path: String,
        index: Int,
        names: [String?],
        flow: String,
        required: Bool
    ) -> String? {
        guard let target = stringField(fields, key, at: path, required: required) else { return nil }
        let location = PathText.member(path, key)
        guard let position = names.firstIndex(where: { $0 == target }) else {
            problem(
                location,
                "no step named \"\(target)\" in flow \"\(flow)\""
                    + BundleNames.hint(for: target, among: names.compactMap { $0 })
            )
            return nil
        }
        guard position < index else {
            let relation = position == index ? "this step itself" : "a later step (steps[\(position)])"
            problem(location, "\(key) must name an earlier step of the flow; \"\(target)\" is \(relation)")
            return nil
        }
        return target
    }

    /// `output:STEP[.FIELD]` must name a step of some flow; when every step of
    /// that name runs one agent whose schema closes its properties, FIELD
    /// must be one of them (otherwise the value could never exist).
    func checkOutputReferences() {
        let known = allStepNames
        for reference in outputReferences {
            guard known.contains(reference.step) else {
                problem(
                    reference.location,
                    "no flow has a step named \"\(reference.step)\""
                        + BundleNames.hint(for: reference.step, among: known)
                )
                continue
            }
            guard let field = reference.field else { continue }
            let kinds = flows.values.compactMap { $0.step(named: reference.step)?.kind }
            var declaredFields: Set<String>?
            for kind in kinds {
                guard case .agent(let agent, _, _) = kind, let schema = agents[agent]?.outputSchema,
                    schema.type == .object, !schema.additionalProperties
                else {
                    declaredFields = nil
                    break
                }
                declaredFields = (declaredFields ?? []).union(schema.properties.keys)
            }
            if let declaredFields, !declaredFields.contains(field) {
                problem(
                    reference.location,
                    "step \"\(reference.step)\" has no output field \"\(field)\""
                        + BundleNames.hint(for: field, among: declaredFields)
                )
            }
        }
    }
}
