import LoomValues

// Gate cards: what a gate shows the person it asks; and admission, what the host checks
// before it takes a submission.

extension ManifestValidator {
    static let admissionChecksMax = 8

    /// `admission`: a list of host handler names, checked before a submission is taken.
    func readAdmission(_ top: [String: JSONValue]) {
        guard let list = arrayField(top, "admission", at: "", required: false) else { return }
        let names = list.compactMap(\.stringValue)
        guard names.count == list.count, names.count <= Self.admissionChecksMax,
            names.allSatisfy({ !$0.isEmpty && $0.count <= 64 })
        else {
            problem("admission", "admission is a list of at most \(Self.admissionChecksMax) host check names (strings)")
            return
        }
        admission = names
    }

    /// Reads `gates.<role>.card`; nil (with problems recorded) when it does not check.
    func readCard(_ value: JSONValue, at path: String) -> GateCardSpec? {
        guard let fields = value.objectValue else {
            problem(path, "expected a card object, found \(value.typeName)")
            return nil
        }
        rejectUnknownFields(fields, at: path, allowed: ["asks", "show"])
        let asks = stringField(fields, "asks", at: path, required: true)
        if let asks, asks.isEmpty || asks.count > GateCardSpec.asksMaxCharacters {
            problem(
                PathText.member(path, "asks"),
                "the question must be 1 to \(GateCardSpec.asksMaxCharacters) characters"
            )
        }
        guard let list = arrayField(fields, "show", at: path, required: true) else { return nil }
        if list.isEmpty || list.count > GateCardSpec.sectionsMax {
            problem(PathText.member(path, "show"), "show 1 to \(GateCardSpec.sectionsMax) sections")
        }
        var sections: [GateCardSpec.Section] = []
        var ok = asks != nil
        for (index, element) in list.prefix(GateCardSpec.sectionsMax).enumerated() {
            if let section = readCardSection(element, at: PathText.index(PathText.member(path, "show"), index)) {
                sections.append(section)
            } else {
                ok = false
            }
        }
        guard ok, let asks else { return nil }
        return GateCardSpec(asks: asks, sections: sections)
    }

    private func readCardSection(_ value: JSONValue, at path: String) -> GateCardSpec.Section? {
        guard let fields = value.objectValue else {
            problem(path, "expected a section object, found \(value.typeName)")
            return nil
        }
        rejectUnknownFields(fields, at: path, allowed: ["title", "step", "fields", "findings", "usage"])
        guard let title = stringField(fields, "title", at: path, required: true) else { return nil }
        guard !title.isEmpty, title.count <= GateCardSpec.titleMaxCharacters else {
            problem(PathText.member(path, "title"), "a title is 1 to \(GateCardSpec.titleMaxCharacters) characters")
            return nil
        }
        let sources = ["step", "findings", "usage"].filter { fields[$0] != nil }
        guard sources.count == 1 else {
            problem(path, "a section shows exactly one of step (with fields), findings or usage")
            return nil
        }
        switch sources[0] {
        case "findings":
            guard fields["findings"]?.stringValue == "open" else {
                problem(PathText.member(path, "findings"), "findings must be \"open\"")
                return nil
            }
            return GateCardSpec.Section(title: title, source: .findings)
        case "usage":
            guard fields["usage"]?.boolValue == true else {
                problem(PathText.member(path, "usage"), "usage must be true")
                return nil
            }
            return GateCardSpec.Section(title: title, source: .usage)
        default:
            return readStepSource(fields, title: title, at: path)
        }
    }

    private func readStepSource(_ fields: [String: JSONValue], title: String, at path: String) -> GateCardSpec.Section?
    {
        let stepAt = PathText.member(path, "step")
        let steps =
            fields["step"]?.stringValue.map { [$0] } ?? fields["step"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !steps.isEmpty, steps.count <= GateCardSpec.stepsMax,
            steps.count == (fields["step"]?.arrayValue?.count ?? 1)
        else {
            problem(stepAt, "step is a step name or a list of 1 to \(GateCardSpec.stepsMax) step names")
            return nil
        }
        for step in steps { cardStepReferences.append((stepAt, step)) }
        guard let list = arrayField(fields, "fields", at: path, required: true) else { return nil }
        let paths = list.compactMap(\.stringValue)
        guard !paths.isEmpty, paths.count == list.count, paths.count <= GateCardSpec.fieldsMax else {
            problem(
                PathText.member(path, "fields"),
                "fields is a list of 1 to \(GateCardSpec.fieldsMax) field paths (strings)"
            )
            return nil
        }
        for (index, field) in paths.enumerated() {
            let parts = field.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count > GateCardSpec.pathDepthMax || parts.contains(where: { $0.isEmpty || $0.count > 64 }) {
                problem(
                    PathText.index(PathText.member(path, "fields"), index),
                    "\"\(field)\" is not a field path (names joined by dots, at most \(GateCardSpec.pathDepthMax))"
                )
                return nil
            }
        }
        return GateCardSpec.Section(title: title, source: .steps(steps, fields: paths))
    }

    /// Every step a card names must be a step of some flow.
    func checkCardReferences() {
        for reference in cardStepReferences where !rawStepNames.contains(reference.step) {
            problem(
                reference.location,
                "no step named \"\(reference.step)\" in any flow"
                    + BundleNames.hint(for: reference.step, among: rawStepNames)
            )
        }
    }
}
