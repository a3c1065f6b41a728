import LoomValues

// Rules, safety-floor rules and gates.
extension ManifestValidator {
    func readRules(_ top: [String: JSONValue], key: String) -> [SQLRule] {
        guard let list = arrayField(top, key, at: "", required: false) else { return [] }
        var result: [SQLRule] = []
        for (index, element) in list.enumerated() {
            let at = PathText.index(key, index)
            guard let fields = element.objectValue else {
                problem(at, "expected a rule object, found \(element.typeName)")
                continue
            }
            rejectUnknownFields(fields, at: at, allowed: ["name", "sql", "file", "message"])
            let name = nameField(fields, "name", at: at, required: true)
            if let name {
                // One namespace for both lists, so a gate's reference and a
                // violation report can never be ambiguous.
                if declaredRuleNames.contains(name) || declaredFloorNames.contains(name) {
                    problem(PathText.member(at, "name"), "rule name \"\(name)\" is already used")
                } else if key == "safetyFloor" {
                    declaredFloorNames.insert(name)
                } else {
                    declaredRuleNames.insert(name)
                }
            }
            var message = stringField(fields, "message", at: at, required: true)
            if let text = message, text.allSatisfy(\.isWhitespace) {
                problem(PathText.member(at, "message"), "the message must not be empty")
                message = nil
            }

            var sql: String?
            var declaredIn = manifest
            switch (fields["sql"], fields["file"]) {
            case (nil, nil):
                problem(at, "a rule needs \"sql\" or \"file\"")
            case (.some, .some):
                problem(at, "a rule takes \"sql\" or \"file\", not both")
            case (.some, nil):
                if let text = stringField(fields, "sql", at: at, required: true) {
                    sql = checkedSQL(text, file: manifest, inlineAt: PathText.member(at, "sql"))
                }
            case (nil, .some):
                if let (path, contents) = fileReference(fields, "file", at: at, required: true) {
                    declaredIn = path
                    sql = checkedSQL(contents, file: path, inlineAt: nil)
                }
            }
            if let name, let sql, let message {
                result.append(SQLRule(name: name, sql: sql, message: message, file: declaredIn))
            }
        }
        return result
    }

    /// The statement to store, or nil after recording its problems. Inline SQL
    /// is located by JSON path (with the position inside the SQL in the
    /// message); a rule file by line and column.
    private func checkedSQL(_ text: String, file: String, inlineAt: String?) -> String? {
        let schema: Store
        do {
            schema = try ruleSchema()
        } catch {
            problem(inlineAt ?? "", "the rule's SQL could not be checked: \(error.description)", file: file)
            return nil
        }
        let result = RuleSQLCheck(text, schema: schema.connection)
        for issue in result.issues {
            let position = TextPosition(text: text, offset: issue.offset)
            if let inlineAt {
                problem(inlineAt, "\(issue.message) (at \(position) of the SQL)")
            } else {
                problem(position.description, issue.message, file: file)
            }
        }
        return result.issues.isEmpty ? result.sql : nil
    }

    func readGates(_ top: [String: JSONValue]) {
        guard let entries = objectField(top, "gates", at: "", required: false) else { return }
        for role in entries.keys.sorted(by: BundleNames.utf8Less) {
            let at = PathText.member("gates", role)
            declaredGateRoles.insert(role)
            var ok = true
            if !BundleNames.isName(role) {
                problem(at, "invalid gate role \"\(role)\": \(BundleNames.nameRule)")
                ok = false
            }
            guard let fields = entries[role]!.objectValue else {
                problem(at, "expected a gate object, found \(entries[role]!.typeName)")
                continue
            }
            rejectUnknownFields(fields, at: at, allowed: ["policy", "safetyFloor", "card"])
            // A gate that does not say otherwise is decided by a person: the
            // safe default when a field is left out.
            var policy = GatePolicy.human
            if let text = stringField(fields, "policy", at: at, required: false) {
                if let parsed = GatePolicy(rawValue: text) {
                    policy = parsed
                } else {
                    let options = GatePolicy.allCases.map(\.rawValue)
                    problem(
                        PathText.member(at, "policy"),
                        "unknown policy \"\(text)\"; expected one of \(options.joined(separator: ", "))"
                            + BundleNames.hint(for: text, among: options)
                    )
                    ok = false
                }
            }
            var floor: [String] = []
            if let list = arrayField(fields, "safetyFloor", at: at, required: false) {
                for (index, element) in list.enumerated() {
                    let elementAt = PathText.index(PathText.member(at, "safetyFloor"), index)
                    guard let name = element.stringValue else {
                        problem(elementAt, "expected a safety-floor rule name (a string), found \(element.typeName)")
                        ok = false
                        continue
                    }
                    if floor.contains(name) {
                        problem(elementAt, "\"\(name)\" is listed twice")
                        ok = false
                    } else if declaredFloorNames.contains(name) {
                        floor.append(name)
                    } else if declaredRuleNames.contains(name) {
                        problem(elementAt, "\"\(name)\" is declared under \"rules\", not \"safetyFloor\"")
                        ok = false
                    } else {
                        problem(
                            elementAt,
                            "no safety-floor rule named \"\(name)\""
                                + BundleNames.hint(for: name, among: declaredFloorNames)
                        )
                        ok = false
                    }
                }
            }
            var card: GateCardSpec?
            if let value = fields["card"] {
                card = readCard(value, at: PathText.member(at, "card"))
                if card == nil { ok = false }
            }
            if ok {
                gates[role] = GateSpec(role: role, defaultPolicy: policy, safetyFloor: floor, card: card)
            }
        }
    }
}
