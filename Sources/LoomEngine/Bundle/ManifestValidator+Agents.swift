import LoomValues

// Agents: template, variables, output schema, findings contract.
extension ManifestValidator {
    static let severities: Set<String> = ["blocking", "warn", "info"]

    func readAgents(_ top: [String: JSONValue]) {
        guard let entries = objectField(top, "agents", at: "", required: false) else { return }
        declaredAgentNames = Set(entries.keys)
        for name in entries.keys.sorted(by: BundleNames.utf8Less) {
            readAgent(name, entries[name]!)
        }
    }

    private func readAgent(_ name: String, _ value: JSONValue) {
        let at = PathText.member("agents", name)
        let before = problems.count
        if !BundleNames.isName(name) {
            problem(at, "invalid agent name \"\(name)\": \(BundleNames.nameRule)")
        }
        guard let fields = value.objectValue else {
            problem(at, "expected an agent object, found \(value.typeName)")
            return
        }
        rejectUnknownFields(
            fields,
            at: at,
            allowed: ["template", "variables", "output", "findings", "dismissesFindings", "tier"]
        )
        let reference = fileReference(fields, "template", at: at, required: true)
        let template = reference.flatMap(readTemplate)
        let variables = readVariables(fields, at: at)
        if let template, let reference, variables.readable {
            checkPlaceholders(of: template, in: reference.path, against: fields, at: at)
        }
        let schema = readOutputSchema(fields, at: at)
        let findings = readFindings(name, fields, schema: schema, at: at)
        let dismisses = readDismissesFindings(fields, schema: schema, at: at)
        let tier = readTier(fields, at: at)
        if problems.count == before, let template, let reference, let schema {
            agents[name] = AgentSpec(
                name: name,
                templatePath: reference.path,
                template: template,
                variables: variables.sources,
                outputSchema: schema,
                producesFindings: findings ?? false,
                dismissesFindings: dismisses,
                tier: tier,
                shrink: variables.shrink
            )
        }
    }

    private func readTemplate(_ reference: (path: String, contents: String)) -> PromptTemplate? {
        do {
            return try PromptTemplate(source: reference.contents)
        } catch {
            let position = TextPosition(line: error.line ?? 1, column: error.column ?? 1)
            problem(position.description, error.message, file: reference.path)
            return nil
        }
    }

    /// An agent's declared variables. `readable` is false when `variables` is there but not
    /// an object: its placeholders cannot be checked against it without spurious problems.
    private struct AgentVariables {
        var sources: [String: VariableSource] = [:]
        var shrink: [String: ShrinkRule] = [:]
        var readable = false
    }

    private func readVariables(_ fields: [String: JSONValue], at: String) -> AgentVariables {
        var variables = AgentVariables()
        guard let entries = objectField(fields, "variables", at: at, required: false) else {
            variables.readable = fields["variables"] == nil
            return variables
        }
        variables.readable = true
        let variablesAt = PathText.member(at, "variables")
        for variable in entries.keys.sorted(by: BundleNames.utf8Less) {
            let variableAt = PathText.member(variablesAt, variable)
            if !BundleNames.isPlaceholderName(variable) {
                problem(
                    variableAt,
                    "invalid variable name \"\(variable)\": "
                        + "names must match [A-Za-z_][A-Za-z0-9_]* and be at most 64 characters"
                )
                continue
            }
            if let source = readVariable(entries[variable]!, at: variableAt, shrink: &variables.shrink[variable]) {
                variables.sources[variable] = source
            }
        }
        return variables
    }

    /// A source, or {"from": SOURCE, "shrink": RULE} for a value that may be cut to fit a
    /// model's window.
    private func readVariable(_ value: JSONValue, at variableAt: String, shrink: inout ShrinkRule?) -> VariableSource? {
        var sourceText = value.stringValue
        if let spec = value.objectValue {
            rejectUnknownFields(spec, at: variableAt, allowed: ["from", "shrink"])
            sourceText = spec["from"]?.stringValue
            if sourceText == nil {
                problem(PathText.member(variableAt, "from"), "expected a variable source (a string)")
            }
            if let rule = spec["shrink"] {
                if let parsed = rule.stringValue.flatMap(ShrinkRule.init(rawValue:)) {
                    shrink = parsed
                } else {
                    let names = ShrinkRule.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                    problem(PathText.member(variableAt, "shrink"), "expected one of \(names)")
                }
            }
            if sourceText == nil { return nil }
        }
        guard let text = sourceText else {
            problem(
                variableAt,
                "expected a variable source (a string, or {\"from\": SOURCE, \"shrink\": RULE}), "
                    + "found \(value.typeName)"
            )
            return nil
        }
        guard let source = VariableSource(parsing: text) else {
            let forms = [
                "input", "task", "feedback", "findings", "iteration", "validation_error",
                "output:STEP", "output:STEP.FIELD",
            ]
            problem(
                variableAt,
                "unknown variable source \"\(text)\"; expected one of \(forms.joined(separator: ", "))"
                    + BundleNames.hint(for: text, among: forms.prefix(6))
            )
            return nil
        }
        if case .output(let step, let field) = source {
            outputReferences.append((variableAt, step, field))
        }
        return source
    }

    /// Template placeholders and declared variables must match exactly: an undeclared one
    /// could never be rendered, an unused one is almost always a typo on one side or the other.
    private func checkPlaceholders(
        of template: PromptTemplate,
        in templatePath: String,
        against fields: [String: JSONValue],
        at: String
    ) {
        let variablesAt = PathText.member(at, "variables")
        let declared = (fields["variables"]?.objectValue ?? [:]).filter { BundleNames.isPlaceholderName($0.key) }
        var reported = Set<String>()
        for placeholder in template.placeholders where declared[placeholder.name] == nil {
            if reported.insert(placeholder.name).inserted {
                let position = TextPosition(line: placeholder.line, column: placeholder.column)
                problem(
                    position.description,
                    "template variable \"\(placeholder.name)\" is not declared in \(variablesAt)"
                        + BundleNames.hint(for: placeholder.name, among: declared.keys),
                    file: templatePath
                )
            }
        }
        let unused = declared.keys.sorted(by: BundleNames.utf8Less).filter { !template.variableNames.contains($0) }
        for variable in unused {
            problem(
                PathText.member(variablesAt, variable),
                "variable \"\(variable)\" is declared but \(templatePath) never uses it"
                    + BundleNames.hint(for: variable, among: template.variableNames)
            )
        }
    }

    private func readOutputSchema(_ fields: [String: JSONValue], at: String) -> OutputSchema? {
        guard let raw = fields["output"] else {
            missing(at, "output")
            return nil
        }
        do {
            return try OutputSchema(raw)
        } catch {
            for item in error.problems {
                // Schema paths are rooted at "$"; graft them onto the manifest path.
                problem(PathText.member(at, "output") + item.path.dropFirst(), item.message)
            }
            return nil
        }
    }

    /// Whether the agent's output carries findings; recorded for the flows' checks once known.
    private func readFindings(
        _ name: String,
        _ fields: [String: JSONValue],
        schema: OutputSchema?,
        at: String
    ) -> Bool? {
        let findings = boolField(fields, "findings", at: at)
        if let findings, let schema {
            agentProducesFindings[name] = findings
            if findings { checkFindingsContract(schema, at: PathText.member(at, "output")) }
        } else if fields["findings"] == nil {
            agentProducesFindings[name] = false
        }
        return findings
    }

    private func readDismissesFindings(_ fields: [String: JSONValue], schema: OutputSchema?, at: String) -> Bool {
        let dismisses = boolField(fields, "dismissesFindings", at: at) ?? false
        if dismisses, let schema, schema.type != .object || schema.properties["dismissed"] == nil {
            problem(
                PathText.member(at, "dismissesFindings"),
                "an agent that dismisses findings needs an object output declaring a \"dismissed\" property"
            )
        }
        return dismisses
    }

    private func readTier(_ fields: [String: JSONValue], at: String) -> String? {
        guard let text = stringField(fields, "tier", at: at, required: false) else { return nil }
        let hasControl = text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        if text.isEmpty || text.count > 64 || hasControl {
            problem(PathText.member(at, "tier"), "the tier must be 1 to 64 characters without control characters")
            return nil
        }
        return text
    }

    /// `"findings": true` is a promise the kernel relies on when it records
    /// findings from the output, so the schema must guarantee the shape:
    /// an object requiring `findings`, an array of objects each requiring
    /// `severity` (an enum drawn from blocking, warn, info) and `summary` (a string).
    private func checkFindingsContract(_ root: OutputSchema, at path: String) {
        let rule = "an agent with \"findings\": true"
        if root.type != .object {
            problem(PathText.member(path, "type"), "\(rule) must have an object output (\"type\": \"object\")")
        }
        if !root.required.contains("findings") {
            problem(PathText.member(path, "required"), "\(rule) must list \"findings\" in required")
        }
        guard let list = root.properties["findings"] else {
            problem(PathText.member(path, "properties"), "\(rule) must declare a \"findings\" property")
            return
        }
        let listAt = PathText.member(PathText.member(path, "properties"), "findings")
        if list.type != .array {
            problem(PathText.member(listAt, "type"), "findings must be an array (\"type\": \"array\")")
        }
        guard let item = list.items else {
            problem(listAt, "findings must declare \"items\" (each finding is an object)")
            return
        }
        let itemAt = PathText.member(listAt, "items")
        if item.type != .object {
            problem(PathText.member(itemAt, "type"), "each finding must be an object (\"type\": \"object\")")
        }
        for field in ["severity", "summary"] where !item.required.contains(field) {
            problem(PathText.member(itemAt, "required"), "each finding must require \"\(field)\"")
        }
        let propertiesAt = PathText.member(itemAt, "properties")
        if let severity = item.properties["severity"] {
            let severityAt = PathText.member(propertiesAt, "severity")
            let values = severity.enumValues ?? []
            let strings = values.compactMap(\.stringValue)
            if values.isEmpty || strings.count != values.count || !strings.allSatisfy(Self.severities.contains) {
                problem(PathText.member(severityAt, "enum"), "severity must be an enum drawn from blocking, warn, info")
            }
            if let type = severity.type, type != .string {
                problem(PathText.member(severityAt, "type"), "severity must be a string")
            }
        } else {
            problem(propertiesAt, "each finding must declare \"severity\"")
        }
        if let summary = item.properties["summary"] {
            if summary.type != .string {
                problem(
                    PathText.member(PathText.member(propertiesAt, "summary"), "type"),
                    "summary must be a string (\"type\": \"string\")"
                )
            }
        } else {
            problem(propertiesAt, "each finding must declare \"summary\"")
        }
    }
}
