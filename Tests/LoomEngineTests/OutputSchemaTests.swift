import LoomValues
import Testing

@testable import LoomEngine

@Suite("OutputSchema")
struct OutputSchemaTests {

    private func schema(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> OutputSchema {
        try OutputSchema(JSONValue.parse(text))
    }

    private func loadProblems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        do {
            _ = try OutputSchema(JSONValue.parse(text))
            Issue.record("expected the schema to be refused", sourceLocation: sourceLocation)
            return []
        } catch let error as OutputSchemaError {
            return error.problems.map(\.description)
        }
    }

    static let findings = """
        {"type": "object", "required": ["findings"], "additionalProperties": false, "properties": {
          "findings": {"type": "array", "maxItems": 5, "items": {"type": "object", "required": ["severity", "summary"], "properties": {
            "severity": {"type": "string", "enum": ["blocking", "warn", "info"]},
            "summary": {"type": "string", "minLength": 3, "maxLength": 10},
            "score": {"type": "number", "minimum": 0, "maximum": 1.5},
            "line": {"type": "integer", "minimum": 1}}}}}}
        """

    @Test func validValuesPass() throws {
        let s = try schema(Self.findings)
        #expect(s.validate(try JSONValue.parse(#"{"findings": []}"#)).isEmpty)
        #expect(
            s.validate(
                try JSONValue.parse(
                    #"{"findings": [{"severity": "warn", "summary": "héllo", "score": 1.5, "line": 2.0, "extra": null}]}"#
                )
            ).isEmpty
        )
    }

    @Test func violationsAreReportedWithPaths() throws {
        let s = try schema(Self.findings)
        let value = try JSONValue.parse(
            """
            {"findings": [
              {"severity": "warn", "summary": "fine"},
              {"severity": "warn", "summary": "ok"},
              {"severity": "fatal", "summary": "way too long here", "score": 2, "line": 0.5},
              {"summary": 3}
            ], "other": true}
            """
        )
        #expect(
            s.validate(value) == [
                "$.findings[1].summary: expected at least 3 characters, found 2",
                "$.findings[2].line: expected an integer, found number",
                "$.findings[2].score: expected a number <= 1.5, found 2",
                "$.findings[2].severity: expected one of blocking, warn, info",
                "$.findings[2].summary: expected at most 10 characters, found 17",
                "$.findings[3].severity: missing required property",
                "$.findings[3].summary: expected a string, found integer",
                "$.other: unexpected property (the schema does not declare it)",
            ]
        )
        #expect(s.validate(.array([])) == ["$: expected an object, found array"])
        #expect(
            s.validate(["findings": .array(Array(repeating: ["severity": "info", "summary": "abc"], count: 6))])
                == ["$.findings: expected at most 5 items, found 6"]
        )
    }

    @Test func oddKeysAreQuotedInPaths() throws {
        let s = try schema(#"{"type": "object", "properties": {"a b": {"type": "string"}}}"#)
        #expect(s.validate(["a b": 1]) == [#"$["a b"]: expected a string, found integer"#])
    }

    @Test func errorsAreCappedAtTwenty() throws {
        let s = try schema(#"{"type": "array", "items": {"type": "string"}}"#)
        let errors = s.validate(.array(Array(repeating: 1, count: 50)))
        #expect(errors.count == OutputSchema.maxErrors)
        #expect(errors.first == "$[0]: expected a string, found integer")
        #expect(errors.last == "$[19]: expected a string, found integer")
    }

    @Test func numericEnumsCompareByValue() throws {
        let s = try schema(#"{"enum": [1, 2.5, "x"]}"#)
        #expect(s.validate(1.0).isEmpty)
        #expect(s.validate(2.5).isEmpty)
        #expect(s.validate("x").isEmpty)
        #expect(s.validate(3) == ["$: expected one of 1, 2.5, x"])
    }

    @Test func unsupportedKeywordsAndBadSchemasAreRefused() throws {
        #expect(
            try loadProblems(#"{"type": "object", "properties": {"a": {"type": "strin"}}, "patternProperties": {}}"#)
                == [
                    #"$.patternProperties: unsupported schema keyword "patternProperties""#,
                    #"$.properties.a.type: unknown type "strin"; expected one of object, array, string, integer, number, boolean, null"#,
                ]
        )
        #expect(
            try loadProblems(#"{"type": "string", "items": {}, "minLength": -1, "maxLenght": 3}"#) == [
                #"$.maxLenght: unsupported schema keyword "maxLenght" (did you mean "maxLength"?)"#,
                #"$.items: "items" does not apply to type string"#,
                "$.minLength: expected a non-negative integer, found -1",
            ]
        )
        #expect(
            try loadProblems(#"{"additionalProperties": {}, "required": ["a", "a"], "enum": []}"#) == [
                "$.additionalProperties: expected a boolean (schema-valued additionalProperties is not supported), found object",
                #"$.required[1]: "a" is listed twice"#,
                "$.enum: expected a non-empty array of strings or numbers, found an empty array",
            ]
        )
        #expect(
            try loadProblems(#"{"type": "integer", "enum": [1, 1.5, "a"], "minimum": 5, "maximum": 1}"#) == [
                "$.enum[1]: 1.5 is not an integer",
                "$.enum[2]: a string value cannot match type integer",
                "$.minimum: minimum 5 is greater than maximum 1",
            ]
        )
        #expect(
            try loadProblems(#"{"type": "object", "required": ["x"], "additionalProperties": false, "properties": {}}"#)
                .count == 1
        )
        #expect(try loadProblems("true") == ["$: a schema must be an object, found boolean"])
    }
}
