import Foundation
import LoomValues
import Testing

@testable import LoomEngine

@Suite("BundleLoader")
struct BundleLoaderTests {

    // MARK: helpers

    static var publishingURL: URL {
        Fixtures.repositoryRoot.appendingPathComponent("bundles/publishing")
    }

    static let findingsSchema = """
        {"type": "object", "required": ["findings"], "properties": {"findings": {"type": "array", "items": {
          "type": "object", "required": ["severity", "summary"],
          "properties": {"severity": {"type": "string", "enum": ["blocking", "warn", "info"]}, "summary": {"type": "string"}}}}}}
        """

    /// A small valid bundle; tests break it one way at a time.
    static let miniManifest = """
        {
          "name": "mini", "version": "1",
          "phases": ["work", "check"],
          "defaultFlow": "main",
          "flows": {"main": {"steps": [
            {"name": "make", "phase": "work", "kind": "agent", "agent": "maker"},
            {"name": "check", "phase": "check", "kind": "agent", "agent": "checker", "loopTo": "make"},
            {"name": "done", "phase": "check", "kind": "finalize"}
          ]}},
          "agents": {
            "maker": {"template": "maker.md", "variables": {"input": "input"},
                      "output": {"type": "object", "required": ["text"], "additionalProperties": false, "properties": {"text": {"type": "string"}}}},
            "checker": {"template": "checker.md", "variables": {"text": "output:make.text"}, "output": \(findingsSchema), "findings": true}
          }
        }
        """

    static func mini(_ edit: (String) -> String = { $0 }, files extra: [String: String] = [:]) -> [String: String] {
        var files = [
            "bundle.json": edit(miniManifest), "maker.md": "Do this:\n{{input}}\n", "checker.md": "Check {{ text }}.",
        ]
        for (path, contents) in extra { files[path] = contents }
        return files
    }

    /// The problems of a bundle that must not load.
    func problems(_ files: [String: String], sourceLocation: SourceLocation = #_sourceLocation) -> [BundleProblem] {
        do {
            let bundle = try BundleLoader.load(files: files)
            Issue.record(
                "expected the bundle to be refused, it loaded as \(bundle.name)",
                sourceLocation: sourceLocation
            )
            return []
        } catch {
            return error.problems
        }
    }

    func expectProblem(
        _ problems: [BundleProblem],
        file: String = "bundle.json",
        at location: String,
        containing text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let match = problems.contains { $0.file == file && $0.location == location && $0.message.contains(text) }
        #expect(
            match,
            "no problem \(file): \(location): …\(text)… in:\n\(problems.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation
        )
    }

    // MARK: the sample bundle

    @Test func publishingSampleLoadsWithTheRightModel() throws {
        let bundle = try BundleLoader.load(directory: Self.publishingURL.path)
        #expect(bundle.name == "publishing")
        #expect(bundle.version == "1")
        #expect(bundle.phases == ["write", "review", "publish"])
        #expect(bundle.defaultFlow == "standard")
        #expect(bundle.budgets == Budgets(spawnCap: 40, iterationCap: 3, maxConcurrentSpawns: 8))
        #expect(
            bundle.files.keys.sorted() == [
                "bundle.json", "rules/claims_unchecked.sql", "rules/published_needs_legal.sql",
                "templates/editor.md", "templates/factchecker.md", "templates/writer.md",
            ]
        )

        let flow = try #require(bundle.flow(named: "standard"))
        #expect(bundle.flow(named: "other") == nil)
        #expect(
            flow.steps == [
                Step(name: "draft", phase: "write", kind: .agent(agent: "writer", loopTo: nil)),
                Step(
                    name: "edit",
                    phase: "review",
                    kind: .fanOut(agents: ["editor", "factchecker"], loopTo: "draft", rerunOnlyBlocking: true)
                ),
                Step(name: "legal", phase: "review", kind: .gate(role: "legal", onRequestChanges: "draft")),
                Step(
                    name: "render",
                    phase: "publish",
                    kind: .command(
                        CommandSpec(
                            argv: ["sh", "-c", "wc -w"],
                            handler: nil,
                            timeoutMs: 60000,
                            outputLimitBytes: 65536
                        )
                    )
                ),
                Step(name: "publish", phase: "publish", kind: .finalize),
            ]
        )
        #expect(flow.index(of: "legal") == 2)
        #expect(flow.index(of: "nope") == nil)

        let writer = try #require(bundle.agents["writer"])
        #expect(writer.templatePath == "templates/writer.md")
        #expect(writer.producesFindings == false)
        #expect(writer.tier == "balanced")
        #expect(
            writer.variables == [
                "brief": .input, "feedback": .feedback, "open_findings": .openFindings,
                "iteration": .iteration, "rejected_because": .validationError,
            ]
        )
        #expect(writer.template.variableNames == Set(writer.variables.keys))
        let editor = try #require(bundle.agents["editor"])
        #expect(editor.producesFindings)
        #expect(editor.variables["text"] == .output(step: "draft", field: "text"))
        #expect(bundle.agents["factchecker"]?.variables["task"] == .taskID)
        #expect(bundle.agents["factchecker"]?.tier == "premium")

        let card = GateCardSpec(
            asks: "Clear this piece for publication?",
            sections: [
                .init(title: "Draft", source: .steps(["draft"], fields: ["title", "text"])),
                .init(title: "Fact check", source: .steps(["edit"], fields: ["checked_claims"])),
                .init(title: "Open findings", source: .findings), .init(title: "Spent", source: .usage),
            ]
        )
        #expect(
            bundle.gates == [
                "legal": GateSpec(
                    role: "legal",
                    defaultPolicy: .onBlockers,
                    safetyFloor: ["claims_unchecked"],
                    card: card
                )
            ]
        )
        #expect(bundle.rules.map(\.name) == ["published_needs_legal", "draft_recorded_before_done"])
        #expect(bundle.rules[0].file == "rules/published_needs_legal.sql")
        #expect(bundle.rules[1].file == "bundle.json")
        // The trailing semicolon is dropped so the engine can embed the statement.
        #expect(bundle.rules.allSatisfy { !$0.sql.hasSuffix(";") })
        #expect(bundle.rules[0].sql.hasSuffix(")"))
        #expect(bundle.safetyFloor.map(\.name) == ["claims_unchecked"])
        #expect(bundle.safetyFloor[0].sql.contains("json_extract(details, '$.category') = 'claim'"))
        #expect(bundle.safetyFloorRule(named: "claims_unchecked") == bundle.safetyFloor[0])

        #expect(bundle.digest.count == 64)
        #expect(bundle.digest.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func sampleRendersWithEngineValues() throws {
        let bundle = try BundleLoader.load(directory: Self.publishingURL.path)
        let editor = try #require(bundle.agents["editor"])
        let prompt = try editor.template.render(["title": "On Tides", "text": "The moon pulls.", "earlier": "[]"])
        #expect(prompt.contains("Title: On Tides\n\nThe moon pulls.\n"))
        #expect(
            editor.outputSchema.validate([
                "findings": [["severity": "blocking", "summary": "unsourced", "category": "claim"]]
            ]).isEmpty
        )
    }

    @Test func directoryAndDictionaryLoadsAgree() throws {
        let fromDisk = try BundleLoader.load(directory: Self.publishingURL.path)
        let fromFiles = try BundleLoader.load(files: fromDisk.files)
        #expect(fromFiles.digest == fromDisk.digest)
        #expect(fromFiles.files == fromDisk.files)
    }

    // MARK: digest

    @Test func digestFollowsTheSpecificationAndIsStable() throws {
        let files = Self.mini()
        let first = try BundleLoader.load(files: files)
        let second = try BundleLoader.load(files: files)
        #expect(first.digest == second.digest)

        // Recompute independently: sorted paths, path 0 size 0 bytes.
        var hasher = SHA256()
        for path in files.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let bytes = Array(files[path]!.utf8)
            hasher.update(Array(path.utf8) + [0] + Array(String(bytes.count).utf8) + [0] + bytes)
        }
        #expect(first.digest == hasher.finalize().hexString)
    }

    @Test func digestChangesWhenOneByteOfATemplateChanges() throws {
        let base = try BundleLoader.load(files: Self.mini())
        let edited = try BundleLoader.load(files: Self.mini(files: ["maker.md": "Do this:\n{{input}}\r"]))
        #expect(base.digest != edited.digest)
        // An unreferenced file still counts: the digest covers every file.
        let extra = try BundleLoader.load(files: Self.mini(files: ["notes.txt": ""]))
        #expect(extra.digest != base.digest)
    }

    // MARK: broken bundles

    @Test func everyMistakeIsReportedWithFileAndLocation() {
        let manifest = """
            {
              "name": "Mini!", "version": "1",
              "phases": ["work", "work"],
              "defaultFlow": "mian",
              "budgets": {"spawnCap": 0, "iterationCap": 11},
              "flows": {"main": {"steps": [
                {"name": "make", "phase": "wrk", "kind": "agent", "agent": "makr"},
                {"name": "make", "phase": "work", "kind": "fanOut", "agents": [], "loopTo": "later"},
                {"name": "gate", "phase": "work", "kind": "gate", "gate": "nobody", "onRequestChanges": "done"},
                {"name": "run", "phase": "work", "kind": "command", "argv": ["true"], "handler": "x", "timeoutMs": 0},
                {"name": "done", "phase": "work", "kind": "finalize"},
                {"name": "later", "phase": "work", "kind": "teleport"}
              ]}},
              "agents": {
                "maker": {"template": "missing.md", "output": {"type": "object", "patternProperties": {}}},
                "checker": {"template": "checker.md", "variables": {"text": "outptu:make"}, "output": {"type": "object"}, "findings": true}
              },
              "gates": {"legal": {"policy": "sometimes", "safetyFloor": ["nothing"]}},
              "rules": [{"name": "r1", "sql": "DELETE FROM tasks", "message": "m"}, {"name": "r1", "file": "r.sql", "message": ""}],
              "extra": 1
            }
            """
        let problems = problems([
            "bundle.json": manifest, "checker.md": "Check {{text}}", "r.sql": "SELECT 1; SELECT 2",
        ])
        for (location, text) in [
            ("extra", "unknown field"),
            ("name", "invalid name"),
            ("phases[1]", "declared twice"),
            ("budgets.spawnCap", "out of range"),
            ("budgets.iterationCap", "out of range"),
            ("rules[0].sql", "read-only"),
            ("rules[1].name", "already used"),
            ("rules[1].message", "empty"),
            ("gates.legal.policy", "unknown policy"),
            ("gates.legal.safetyFloor[0]", "no safety-floor rule"),
            ("agents.checker.variables.text", "unknown variable source"),
            ("agents.checker.output.required", "findings"),
            ("agents.maker.output.patternProperties", "unsupported schema keyword"),
            ("agents.maker.template", "does not exist"),
            ("flows.main.steps[0].phase", "not declared"),
            ("flows.main.steps[0].agent", "no agent named \"makr\" (did you mean \"maker\"?)"),
            ("flows.main.steps[1].name", "used twice"),
            ("flows.main.steps[1].agents", "at least one agent"),
            ("flows.main.steps[1].loopTo", "earlier step"),
            ("flows.main.steps[2].gate", "no gate"),
            ("flows.main.steps[2].onRequestChanges", "earlier step"),
            ("flows.main.steps[3]", "not both"),
            ("flows.main.steps[3].timeoutMs", "out of range"),
            ("flows.main.steps[4].kind", "must be the last step"),
            ("flows.main.steps[5].kind", "unknown step kind"),
            ("defaultFlow", "did you mean \"main\""),
        ] {
            expectProblem(problems, at: location, containing: text)
        }
        expectProblem(problems, file: "r.sql", at: "line 1, column 11", containing: "single statement")
        #expect(problems.count >= 28)
        #expect(problems.allSatisfy { !$0.file.isEmpty && !$0.location.isEmpty && !$0.message.isEmpty })
        // Deterministic: the same input reports the same problems in the same order.
        #expect(
            problems
                == self.problems([
                    "bundle.json": manifest, "checker.md": "Check {{text}}", "r.sql": "SELECT 1; SELECT 2",
                ])
        )
    }

    @Test func undeclaredTemplateVariableIsReportedInTheTemplate() {
        let problems = problems(Self.mini(files: ["checker.md": "Check this:\n  {{ text }} and {{txt}}\n{{txt}}"]))
        expectProblem(
            problems,
            file: "checker.md",
            at: "line 2, column 18",
            containing: "\"txt\" is not declared in agents.checker.variables"
        )
        // Reported once per name, at its first use.
        #expect(problems.count == 1)
    }

    @Test func declaredButUnusedVariableIsReported() {
        let problems = problems(
            Self.mini {
                $0.replacing(
                    #""variables": {"input": "input"}"#,
                    with: #""variables": {"input": "input", "round": "iteration"}"#
                )
            }
        )
        expectProblem(
            problems,
            at: "agents.maker.variables.round",
            containing: "\"round\" is declared but maker.md never uses it"
        )
        #expect(problems.count == 1)
    }

    @Test func loopToMustNameAnEarlierStep() {
        let later = problems(Self.mini { $0.replacing(#""loopTo": "make""#, with: #""loopTo": "done""#) })
        expectProblem(later, at: "flows.main.steps[1].loopTo", containing: "must name an earlier step")
        let itself = problems(Self.mini { $0.replacing(#""loopTo": "make""#, with: #""loopTo": "check""#) })
        expectProblem(itself, at: "flows.main.steps[1].loopTo", containing: "this step itself")
        let missing = problems(Self.mini { $0.replacing(#""loopTo": "make""#, with: #""loopTo": "mak""#) })
        expectProblem(missing, at: "flows.main.steps[1].loopTo", containing: "no step named \"mak\"")
    }

    @Test func loopToNeedsAnAgentThatProducesFindings() {
        let problems = problems(Self.mini { $0.replacing(#""findings": true"#, with: #""findings": false"#) })
        expectProblem(problems, at: "flows.main.steps[1].loopTo", containing: "does not produce findings")
    }

    @Test func unknownFieldsAreRefused() {
        let typo = problems(
            Self.mini { $0.replacing(#""defaultFlow": "main","#, with: #""defaultFlow": "main", "budget": {},"#) }
        )
        expectProblem(typo, at: "budget", containing: "unknown field \"budget\" (did you mean \"budgets\"?)")
        let stepField = problems(
            Self.mini { $0.replacing(#""kind": "finalize""#, with: #""kind": "finalize", "agent": "maker""#) }
        )
        expectProblem(stepField, at: "flows.main.steps[2].agent", containing: "belongs to agent steps")
        let agentField = problems(
            Self.mini { $0.replacing(#""findings": true"#, with: #""findings": true, "teir": "fast""#) }
        )
        expectProblem(agentField, at: "agents.checker.teir", containing: "did you mean \"tier\"")
    }

    @Test func findingsAgentsNeedTheFindingsShape() {
        let noEnum = Self.findingsSchema.replacing(
            #""enum": ["blocking", "warn", "info"]"#,
            with: #""enum": ["blocking", "fatal"]"#
        )
        let badEnum = problems(Self.mini { $0.replacing(Self.findingsSchema, with: noEnum) })
        expectProblem(
            badEnum,
            at: "agents.checker.output.properties.findings.items.properties.severity.enum",
            containing: "blocking, warn, info"
        )

        let noSummary = Self.findingsSchema
            .replacing(#""required": ["severity", "summary"]"#, with: #""required": ["severity"]"#)
            .replacing(#", "summary": {"type": "string"}"#, with: "")
        let missing = problems(Self.mini { $0.replacing(Self.findingsSchema, with: noSummary) })
        expectProblem(
            missing,
            at: "agents.checker.output.properties.findings.items.required",
            containing: "\"summary\""
        )
        expectProblem(
            missing,
            at: "agents.checker.output.properties.findings.items.properties",
            containing: "\"summary\""
        )

        let notArray = problems(
            Self.mini {
                $0.replacing(
                    Self.findingsSchema,
                    with: #"{"type": "object", "properties": {"findings": {"type": "string"}}}"#
                )
            }
        )
        expectProblem(notArray, at: "agents.checker.output.required", containing: "findings")
        expectProblem(notArray, at: "agents.checker.output.properties.findings.type", containing: "array")
    }

    @Test func templateParseErrorsCarryLineAndColumn() {
        let problems = problems(Self.mini(files: ["maker.md": "Line one\nDo {{input}} then {{ in put }}\n"]))
        expectProblem(
            problems,
            file: "maker.md",
            at: "line 2, column 19",
            containing: "invalid placeholder \"{{ in put }}\""
        )
    }

    @Test func manifestSyntaxErrorsCarryLineAndColumn() {
        let problems = problems(["bundle.json": "{\n  \"name\": \"x\",\n  \"version\" \"1\"\n}"])
        #expect(problems.count == 1)
        #expect(problems.first?.file == "bundle.json")
        #expect(problems.first?.location.hasPrefix("line 3, column ") == true)
    }

    @Test func missingManifestAndBadPaths() {
        let problems = problems(["../escape.md": "x", "templates/a.md": "y"])
        expectProblem(problems, file: "../escape.md", at: "", containing: "invalid file path")
        expectProblem(problems, at: "", containing: "no bundle.json")
    }

    @Test func sqlRulesAreChecked() throws {
        func files(_ fields: String) -> [String: String] {
            Self.mini(
                { $0.replacing(#""defaultFlow": "main","#, with: #""defaultFlow": "main", "rules": [\#(fields)],"#) },
                files: ["r.sql": "  -- why\nUPDATE tasks SET status = 'x'"]
            )
        }
        func rule(_ fields: String) -> [BundleProblem] { problems(files(fields)) }
        expectProblem(
            rule(#"{"name": "a", "sql": "PRAGMA foreign_keys", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "SELECT or WITH"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "SELECT 1; SELECT 2;", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "single statement"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "SELECT * FROM tasks WHERE id = :id", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "\":id\" is not bound"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "SELECT * FROM tasks WHERE id = ?", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "positional parameter"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "WITH x AS (SELECT 1) DELETE FROM tasks", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "read-only"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "SELECT 'open", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "unterminated string"
        )
        expectProblem(
            rule(#"{"name": "a", "sql": "  -- only a comment\n ", "message": "m"}"#),
            at: "rules[0].sql",
            containing: "empty"
        )
        expectProblem(
            rule(#"{"name": "a", "file": "r.sql", "message": "m"}"#),
            file: "r.sql",
            at: "line 2, column 1",
            containing: "SELECT or WITH"
        )
        expectProblem(rule(#"{"name": "a", "message": "m"}"#), at: "rules[0]", containing: "needs \"sql\" or \"file\"")
        expectProblem(
            rule(#"{"name": "a", "file": "nope.sql", "message": "m"}"#),
            at: "rules[0].file",
            containing: "does not exist"
        )

        // Strings, comments and quoted identifiers may hold anything; a
        // trailing semicolon and comment are cut off.
        let fine = try BundleLoader.load(
            files: files(
                #"{"name": "a", "sql": "SELECT ';', \"a;b\" /* ; */ FROM tasks WHERE id = :task AND :tick > 0 -- ;\n; -- end", "message": "m"}"#
            )
        )
        #expect(fine.rules.first?.sql == #"SELECT ';', "a;b" /* ; */ FROM tasks WHERE id = :task AND :tick > 0"#)
    }

    /// SQLite, not a lexer, decides: what it cannot prepare against the kernel's schema, what
    /// is not a query, what writes or attaches, and what follows the one statement.
    @Test func sqlRulesAreCheckedBySQLiteAgainstTheKernelSchema() throws {
        func files(_ sql: String) -> [String: String] {
            Self.mini(
                {
                    $0.replacing(
                        #""defaultFlow": "main","#,
                        with: #""defaultFlow": "main", "rules": [{"name": "a", "file": "r.sql", "message": "m"}],"#
                    )
                },
                files: ["r.sql": sql]
            )
        }
        func expectRefused(
            _ sql: String,
            at location: String,
            containing text: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            expectProblem(
                problems(files(sql)),
                file: "r.sql",
                at: location,
                containing: text,
                sourceLocation: sourceLocation
            )
        }
        expectRefused("SELECT nosuch FROM tasks", at: "line 1, column 8", containing: "no such column: nosuch")
        expectRefused("-- x\nATTACH 'other.db' AS other", at: "line 2, column 1", containing: "found ATTACH")
        expectRefused("BEGIN", at: "line 1, column 1", containing: "found BEGIN")
        expectRefused("PRAGMA user_version = 3", at: "line 1, column 1", containing: "SELECT or WITH")
        expectRefused("EXPLAIN SELECT 1", at: "line 1, column 1", containing: "found EXPLAIN")
        expectRefused(
            "SELECT 1 FROM tasks WHERE id = $task",
            at: "line 1, column 32",
            containing: "\"$task\" is not bound"
        )
        expectRefused("SELECT 1 /* open", at: "line 1, column 10", containing: "unterminated /* comment")
        expectRefused("SELECT 1;\n;", at: "line 2, column 1", containing: "single statement")
        expectRefused("; SELECT 1", at: "line 1, column 1", containing: "empty before")
        expectRefused("", at: "line 1, column 1", containing: "is empty")
        expectRefused("SELECT \"a", at: "line 1, column 8", containing: "unterminated quoted identifier")
        // A table-valued function makes SQLite read its schema table while preparing: still a read.
        let eachAuthor = try BundleLoader.load(
            files: files("SELECT a.value FROM gates g, json_each(g.authors) a WHERE g.task_id = :task\n")
        )
        #expect(
            eachAuthor.rules.first?.sql == "SELECT a.value FROM gates g, json_each(g.authors) a WHERE g.task_id = :task"
        )
    }

    @Test func fanOutWidthIsBoundedByTheBudget() {
        let problems = problems(
            Self.mini {
                $0.replacing(
                    #""defaultFlow": "main","#,
                    with: #""defaultFlow": "main", "budgets": {"maxConcurrentSpawns": 1},"#
                )
                .replacing(
                    #"{"name": "check", "phase": "check", "kind": "agent", "agent": "checker", "loopTo": "make"}"#,
                    with:
                        #"{"name": "check", "phase": "check", "kind": "fanOut", "agents": ["checker", "maker"], "loopTo": "make"}"#
                )
            }
        )
        expectProblem(problems, at: "flows.main.steps[1].agents", containing: "exceeds budgets.maxConcurrentSpawns (1)")
    }

    @Test func outputReferencesMustNameAStepAndField() {
        let step = problems(Self.mini { $0.replacing("output:make.text", with: "output:mkae.text") })
        expectProblem(step, at: "agents.checker.variables.text", containing: "no flow has a step named \"mkae\"")
        let field = problems(Self.mini { $0.replacing("output:make.text", with: "output:make.txet") })
        expectProblem(field, at: "agents.checker.variables.text", containing: "no output field \"txet\"")
    }

    @Test func flowsMustEndWithFinalize() {
        let problems = problems(
            Self.mini {
                $0.replacing(
                    #"{"name": "done", "phase": "check", "kind": "finalize"}"#,
                    with: #"{"name": "done", "phase": "check", "kind": "agent", "agent": "maker"}"#
                )
            }
        )
        expectProblem(problems, at: "flows.main.steps", containing: "must end with a finalize step")
    }

    // MARK: directories

    @Test func directoryLinksThatLeaveTheBundleAreRefused() throws {
        let fileManager = FileManager.default
        let root = fileManager.temporaryDirectory.appendingPathComponent(
            "loom-bundle-test-\(ProcessInfo.processInfo.processIdentifier)-links"
        )
        try? fileManager.removeItem(at: root)
        defer { try? fileManager.removeItem(at: root) }
        try fileManager.copyItem(at: Self.publishingURL, to: root)
        let outside = root.deletingLastPathComponent().appendingPathComponent(
            "loom-bundle-test-outside-\(ProcessInfo.processInfo.processIdentifier).txt"
        )
        try "secret".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? fileManager.removeItem(at: outside) }
        try fileManager.createSymbolicLink(
            atPath: root.appendingPathComponent("templates/leak.md").path,
            withDestinationPath: outside.path
        )
        try fileManager.createSymbolicLink(
            atPath: root.appendingPathComponent("alias.md").path,
            withDestinationPath: "templates/writer.md"
        )

        do {
            _ = try BundleLoader.load(directory: root.path)
            Issue.record("a link leaving the bundle must be refused")
        } catch {
            #expect(
                error.problems == [
                    BundleProblem(
                        file: "templates/leak.md",
                        location: "",
                        message: "symbolic link points outside the bundle directory"
                    )
                ]
            )
        }
        try fileManager.removeItem(atPath: root.appendingPathComponent("templates/leak.md").path)
        let bundle = try BundleLoader.load(directory: root.path)
        #expect(bundle.files["alias.md"] == bundle.files["templates/writer.md"])
    }
}

/// Gate cards are bundle data: checked at load like everything else in a manifest.
@Suite struct GateCardLoadingTests {
    func withGate(_ card: String) -> [String: String] {
        BundleLoaderTests.mini {
            $0.replacingOccurrences(
                of: "\"agents\": {",
                with: "\"gates\": {\"review\": {\"card\": \(card)}},\n  \"agents\": {"
            )
        }
    }

    @Test func aCardLoadsWithItsSections() throws {
        let bundle = try BundleLoader.load(
            files: withGate(
                #"{"asks": "Ship it?", "show": [{"title": "Made", "step": ["check", "make"], "fields": ["text"]}, {"title": "Cost", "usage": true}]}"#
            )
        )
        #expect(
            bundle.gates["review"]?.card
                == GateCardSpec(
                    asks: "Ship it?",
                    sections: [
                        .init(title: "Made", source: .steps(["check", "make"], fields: ["text"])),
                        .init(title: "Cost", source: .usage),
                    ]
                )
        )
    }

    @Test(arguments: [
        (
            #"{"asks": "?", "show": [{"title": "T", "step": "nosuch", "fields": ["text"]}]}"#,
            "gates.review.card.show[0].step", "no step named \"nosuch\""
        ),
        (
            #"{"asks": "?", "show": [{"title": "T", "step": "make", "fields": ["text"], "usage": true}]}"#,
            "gates.review.card.show[0]", "exactly one of"
        ),
        (
            #"{"asks": "?", "show": [{"title": "T", "findings": "all"}]}"#, "gates.review.card.show[0].findings",
            "must be \"open\""
        ),
        (
            #"{"asks": "?", "show": [{"title": "T", "step": "make", "fields": ["a..b"]}]}"#,
            "gates.review.card.show[0].fields[0]", "not a field path"
        ),
        (#"{"show": [{"title": "T", "usage": true}]}"#, "gates.review.card.asks", "missing required field"),
        (#"{"asks": "?", "show": []}"#, "gates.review.card.show", "1 to 16 sections"),
    ])
    func aBadCardIsRefusedNamingWhere(card: String, location: String, message: String) {
        let problems = BundleLoaderTests().problems(withGate(card))
        #expect(problems.contains { $0.location == location && $0.message.contains(message) }, "\(problems)")
    }
}
