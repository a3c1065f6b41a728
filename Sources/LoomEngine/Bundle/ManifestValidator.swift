import LoomValues

/// Walks a parsed manifest, checks everything, records every problem, and,
/// only when there is none, builds the model.
///
/// It keeps going after a problem (using a neutral stand-in value) so a
/// single load reports all mistakes; stand-ins never leak because a bundle
/// with any problem is refused. References are checked against the *declared*
/// names (an agent with a broken schema still counts as declared) so one
/// mistake does not cascade into many spurious ones.
final class ManifestValidator {
    let files: [String: String]
    let manifest = BundleLoader.manifestPath
    private(set) var problems: [BundleProblem]

    // Filled in as sections are read; later sections refer to earlier ones.
    var phases: [String] = []
    var budgets = Budgets.default
    /// The fan-out width limit, or nil when `maxConcurrentSpawns` is itself
    /// invalid (then widths are not checked, to avoid a spurious second problem).
    var fanOutLimit: Int? = Budgets.default.maxConcurrentSpawns
    var rules: [SQLRule] = []
    var safetyFloor: [SQLRule] = []
    var declaredRuleNames = Set<String>()
    var declaredFloorNames = Set<String>()
    var gates: [String: GateSpec] = [:]
    /// Host checks run before a submission is acknowledged (`admission`).
    var admission: [String] = []
    var declaredGateRoles = Set<String>()
    var agents: [String: AgentSpec] = [:]
    var declaredAgentNames = Set<String>()
    /// Agents whose `findings` flag is known (parsed without problem).
    var agentProducesFindings: [String: Bool] = [:]
    /// `output:STEP[.FIELD]` references, checked once every flow is known.
    var outputReferences: [(location: String, step: String, field: String?)] = []
    var flows: [String: Flow] = [:]
    /// Step names as written in any flow, even flows with problems.
    var rawStepNames = Set<String>()
    /// Flow names as declared, even flows with problems (branch targets resolve against them).
    var rawFlowNames: [String] = []
    /// Steps gate cards show, checked once every flow is known.
    var cardStepReferences: [(location: String, step: String)] = []
    /// Flows named by branch steps, checked once every flow is known.
    var branchTargets: [(location: String, flow: String)] = []

    static let topLevelFields = [
        "name", "version", "phases", "defaultFlow", "budgets", "flows", "agents", "gates", "rules", "safetyFloor",
        "admission",
    ]

    /// An in-memory database with the kernel's schema, opened for the first rule: SQLite checks
    /// each rule's SQL against the tables the engine will run it on.
    private var ruleSchemaStore: Store?

    func ruleSchema() throws(LoomError) -> Store {
        if let ruleSchemaStore { return ruleSchemaStore }
        let store = try Store(path: ":memory:")
        ruleSchemaStore = store
        return store
    }

    init(files: [String: String], problems: [BundleProblem]) {
        self.files = files
        self.problems = problems
    }

    // MARK: - Problems

    func problem(_ location: String, _ message: String, file: String? = nil) {
        problems.append(BundleProblem(file: file ?? manifest, location: location, message: message))
    }

    // MARK: - The walk

    /// Validates the manifest; returns the model only if no problem at all
    /// was recorded (including any the caller recorded before).
    func run(
        _ root: JSONValue
    ) -> (
        name: String, version: String, phases: [String], flows: [String: Flow], defaultFlow: String,
        agents: [String: AgentSpec], gates: [String: GateSpec], rules: [SQLRule],
        safetyFloor: [SQLRule], budgets: Budgets
    )? {
        guard let top = root.objectValue else {
            problem("", "the manifest must be a JSON object, found \(root.typeName)")
            return nil
        }
        rejectUnknownFields(top, at: "", allowed: Self.topLevelFields)
        let name = nameField(top, "name", at: "", required: true)
        let version = versionField(top)
        readPhases(top)
        readBudgets(top)
        rules = readRules(top, key: "rules")
        safetyFloor = readRules(top, key: "safetyFloor")
        readGates(top)
        readAdmission(top)
        readAgents(top)
        readFlows(top)
        let defaultFlow = readDefaultFlow(top)
        checkOutputReferences()
        checkBranchTargets()
        checkCardReferences()

        guard problems.isEmpty, let name, let version, let defaultFlow else { return nil }
        return (name, version, phases, flows, defaultFlow, agents, gates, rules, safetyFloor, budgets)
    }

    // MARK: - Sections

    private func versionField(_ fields: [String: JSONValue]) -> String? {
        guard let version = stringField(fields, "version", at: "", required: true) else { return nil }
        let ok =
            !version.isEmpty && version.count <= 64
            && !version.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
        if !ok {
            problem("version", "the version must be 1 to 64 characters without spaces or control characters")
            return nil
        }
        return version
    }

    private func readPhases(_ top: [String: JSONValue]) {
        guard let list = arrayField(top, "phases", at: "", required: true) else { return }
        if list.isEmpty {
            problem("phases", "declare at least one phase")
            return
        }
        var seen = Set<String>()
        for (index, element) in list.enumerated() {
            let at = PathText.index("phases", index)
            guard let phase = element.stringValue else {
                problem(at, "expected a phase name (a string), found \(element.typeName)")
                continue
            }
            if !BundleNames.isName(phase) {
                problem(at, "invalid phase name \"\(phase)\": \(BundleNames.nameRule)")
            }
            if !seen.insert(phase).inserted {
                problem(at, "phase \"\(phase)\" is declared twice")
                continue
            }
            phases.append(phase)
        }
    }

    private func readBudgets(_ top: [String: JSONValue]) {
        guard let fields = objectField(top, "budgets", at: "", required: false) else { return }
        rejectUnknownFields(fields, at: "budgets", allowed: ["spawnCap", "iterationCap", "maxConcurrentSpawns"])
        let spawnCap = intField(fields, "spawnCap", at: "budgets", range: Budgets.spawnCapRange)
        let iterationCap = intField(fields, "iterationCap", at: "budgets", range: Budgets.iterationCapRange)
        let concurrency = intField(
            fields,
            "maxConcurrentSpawns",
            at: "budgets",
            range: Budgets.maxConcurrentSpawnsRange
        )
        if case .invalid = concurrency { fanOutLimit = nil }
        budgets = Budgets(
            spawnCap: spawnCap.value ?? Budgets.default.spawnCap,
            iterationCap: iterationCap.value ?? Budgets.default.iterationCap,
            maxConcurrentSpawns: concurrency.value ?? Budgets.default.maxConcurrentSpawns
        )
        if fanOutLimit != nil { fanOutLimit = budgets.maxConcurrentSpawns }
    }

    private func readDefaultFlow(_ top: [String: JSONValue]) -> String? {
        guard let name = stringField(top, "defaultFlow", at: "", required: true) else { return nil }
        guard top["flows"]?.objectValue?[name] != nil else {
            let declared = top["flows"]?.objectValue?.keys.map { $0 } ?? []
            problem("defaultFlow", "no flow named \"\(name)\"" + BundleNames.hint(for: name, among: declared))
            return nil
        }
        return name
    }

    // MARK: - Typed field access (each reports its own problems)

    enum IntRead {
        case absent, invalid
        case value(Int)
        var value: Int? { if case .value(let v) = self { return v } else { return nil } }
    }

    /// Every key not in `allowed` is a problem: a misspelt optional field
    /// would otherwise be silently ignored and its default used instead.
    func rejectUnknownFields(
        _ fields: [String: JSONValue],
        at path: String,
        allowed: [String],
        explain: ((String) -> String?)? = nil
    ) {
        let allowedSet = Set(allowed)
        for key in fields.keys.sorted(by: BundleNames.utf8Less) where !allowedSet.contains(key) {
            if let reason = explain?(key) {
                problem(PathText.member(path, key), reason)
            } else {
                problem(
                    PathText.member(path, key),
                    "unknown field \"\(key)\"" + BundleNames.hint(for: key, among: allowed)
                )
            }
        }
    }

    func missing(_ path: String, _ key: String) {
        problem(PathText.member(path, key), "missing required field \"\(key)\"")
    }

    func stringField(_ fields: [String: JSONValue], _ key: String, at path: String, required: Bool) -> String? {
        guard let raw = fields[key] else {
            if required { missing(path, key) }
            return nil
        }
        guard let text = raw.stringValue else {
            problem(PathText.member(path, key), "expected a string, found \(raw.typeName)")
            return nil
        }
        return text
    }

    func nameField(_ fields: [String: JSONValue], _ key: String, at path: String, required: Bool) -> String? {
        guard let text = stringField(fields, key, at: path, required: required) else { return nil }
        guard BundleNames.isName(text) else {
            problem(PathText.member(path, key), "invalid name \"\(text)\": \(BundleNames.nameRule)")
            return nil
        }
        return text
    }

    func boolField(_ fields: [String: JSONValue], _ key: String, at path: String) -> Bool? {
        guard let raw = fields[key] else { return nil }
        guard let flag = raw.boolValue else {
            problem(PathText.member(path, key), "expected true or false, found \(raw.typeName)")
            return nil
        }
        return flag
    }

    func intField(_ fields: [String: JSONValue], _ key: String, at path: String, range: ClosedRange<Int>) -> IntRead {
        guard let raw = fields[key] else { return .absent }
        guard let wide = raw.intValue, let value = Int(exactly: wide) else {
            problem(PathText.member(path, key), "expected an integer, found \(raw.canonicalText)")
            return .invalid
        }
        guard range.contains(value) else {
            problem(PathText.member(path, key), "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return .invalid
        }
        return .value(value)
    }

    func arrayField(_ fields: [String: JSONValue], _ key: String, at path: String, required: Bool) -> [JSONValue]? {
        guard let raw = fields[key] else {
            if required { missing(path, key) }
            return nil
        }
        guard let list = raw.arrayValue else {
            problem(PathText.member(path, key), "expected an array, found \(raw.typeName)")
            return nil
        }
        return list
    }

    func objectField(
        _ fields: [String: JSONValue],
        _ key: String,
        at path: String,
        required: Bool
    ) -> [String: JSONValue]? {
        guard let raw = fields[key] else {
            if required { missing(path, key) }
            return nil
        }
        guard let object = raw.objectValue else {
            problem(PathText.member(path, key), "expected an object, found \(raw.typeName)")
            return nil
        }
        return object
    }

    /// A reference to another bundle file: relative, no `.` or `..`
    /// components, and present in the bundle.
    func fileReference(
        _ fields: [String: JSONValue],
        _ key: String,
        at path: String,
        required: Bool
    ) -> (path: String, contents: String)? {
        guard let reference = stringField(fields, key, at: path, required: required) else { return nil }
        let location = PathText.member(path, key)
        if let reason = BundleLoader.pathProblem(reference) {
            problem(location, "invalid file path \"\(reference)\": \(reason)")
            return nil
        }
        guard let contents = files[reference] else {
            problem(
                location,
                "file \"\(reference)\" does not exist in the bundle"
                    + BundleNames.hint(for: reference, among: files.keys)
            )
            return nil
        }
        return (reference, contents)
    }
}
