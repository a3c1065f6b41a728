import Testing

@testable import LoomEngine

@Suite("PromptTemplate")
struct PromptTemplateTests {

    private func parseError(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) -> TemplateError? {
        do {
            let template = try PromptTemplate(source: source)
            Issue.record("expected a parse error, parsed \(template.placeholders)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesPlaceholdersWithPositions() throws {
        let template = try PromptTemplate(source: "Hi {{name}},\n  {{ topic }} and {{name}} — é{{_x9}}")
        #expect(template.variableNames == ["name", "topic", "_x9"])
        #expect(template.placeholders.map(\.name) == ["name", "topic", "name", "_x9"])
        #expect(template.placeholders.map(\.line) == [1, 2, 2, 2])
        // Columns count Unicode scalars: "—" and "é" are one column each.
        #expect(template.placeholders.map(\.column) == [4, 3, 19, 31])
    }

    @Test func rendersDeterministicallyAndVerbatim() throws {
        let template = try PromptTemplate(source: "A {{x}} B {{ y }} C {{x}}")
        let values = ["x": "{{y}}", "y": "ü\n", "unused": "ignored"]
        let first = try template.render(values)
        #expect(first == "A {{y}} B ü\n C {{y}}")
        #expect(try template.render(values) == first)
        #expect(try PromptTemplate(source: "no placeholders, } { }").render([:]) == "no placeholders, } { }")
        #expect(try PromptTemplate(source: "").render([:]) == "")
    }

    @Test func missingValueNamesTheVariable() throws {
        let template = try PromptTemplate(source: "{{a}} {{b}} {{c}}")
        #expect(throws: TemplateError.missingValue(name: "b")) {
            try template.render(["a": "1", "c": "3"])
        }
    }

    @Test func renderOverTheLimitIsRefused() throws {
        let template = try PromptTemplate(source: "12345{{x}}")
        #expect(try template.render(["x": "67890"], maxBytes: 10) == "1234567890")
        #expect(throws: TemplateError.outputTooLarge(bytes: 11, limit: 10)) {
            try template.render(["x": "6789é"], maxBytes: 10)
        }
        let big = String(repeating: "y", count: 300_000)
        #expect(throws: TemplateError.outputTooLarge(bytes: 300_005, limit: 262_144)) {
            try template.render(["x": big])
        }
    }

    @Test func parseErrorsHaveLineAndColumn() {
        #expect(parseError("ok\nthen {{name") == .unterminatedPlaceholder(line: 2, column: 6))
        #expect(parseError("{{ a\n}}") == .unterminatedPlaceholder(line: 1, column: 1))
        #expect(parseError("x {{}}") == .invalidPlaceholder(text: "", line: 1, column: 3))
        #expect(parseError("\n\n  {{ two words }}") == .invalidPlaceholder(text: " two words ", line: 3, column: 3))
        #expect(parseError("{{9lives}}") == .invalidPlaceholder(text: "9lives", line: 1, column: 1))
        #expect(parseError("{{a-b}}") == .invalidPlaceholder(text: "a-b", line: 1, column: 1))
        #expect(parseError("é {{{x}}}") == .invalidPlaceholder(text: "{x", line: 1, column: 3))
        let error = parseError("a\n  {{x")
        #expect(error?.line == 2)
        #expect(error?.column == 3)
        #expect(error?.description.hasPrefix("line 2, column 3: unterminated placeholder") == true)
    }

    @Test func largeTemplatesParseAndRenderInLinearTime() throws {
        // 200k placeholders: a quadratic implementation would take minutes.
        let source = String(repeating: "word {{v}} ", count: 200_000)
        let template = try PromptTemplate(source: source)
        #expect(template.placeholders.count == 200_000)
        let rendered = try template.render(["v": "x"], maxBytes: 4_000_000)
        #expect(rendered.utf8.count == 200_000 * 7)
    }
}
