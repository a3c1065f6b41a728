import Foundation
import LoomIPC
import LoomValues
import Testing

/// docs/ipc-protocol.md's method table is checked against the method types, so the
/// document cannot drift from what clients send and loomd decodes.
@Suite struct ProtocolDocsTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/ipc-protocol.md").path

    /// The table's rows by method name: the params cell and the streams cell.
    static func rows() throws -> [String: (params: String, streams: String)] {
        let text = try String(contentsOfFile: document, encoding: .utf8)
        var rows: [String: (String, String)] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            // Cells split at `|`, not at the escaped `\|` inside a cell.
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").split(
                separator: "|",
                omittingEmptySubsequences: false
            )
            .map { $0.replacingOccurrences(of: "\u{1}", with: "|").trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6 else { continue }
            rows[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = (cells[2], cells[4])
        }
        return rows
    }

    @Test func everyMethodHasARowAndEveryRowAMethod() throws {
        let documented = Set(try Self.rows().keys).subtracting(["hello"])
        let defined = Set(IPCMethods.all.map { $0.name })
        #expect(
            documented == defined,
            "documented only: \(documented.subtracting(defined)); defined only: \(defined.subtracting(documented))"
        )
    }

    @Test func everyParamAndTheStreamingColumnMatchTheTypes() throws {
        let rows = try Self.rows()
        for method in IPCMethods.all {
            let row = try #require(rows[method.name], "\(method.name) has a row")
            for field in Self.fields(of: method) {
                #expect(row.params.contains("\"\(field)\""), "\(method.name)'s params cell names \(field)")
            }
            #expect(row.streams == (method.streams ? "yes" : "no"), "\(method.name) streams: \(method.streams)")
        }
    }

    static func fields<M: IPCMethod>(of method: M.Type) -> [String] { M.Params.fields }

    @Test func aMemberOfTheWrongTypeIsInvalidParamsNamingIt() {
        #expect(throws: IPCError(.invalidParams, "params.limit must be an integer, not string")) {
            try Tasks.Params(json: ["limit": "ten"])
        }
        #expect(throws: IPCError(.invalidParams, "params.rules[0].sql is required")) {
            try Replay.Params(json: ["task": "t1", "rules": [["name": "r"]]])
        }
        #expect(throws: IPCError(.invalidParams, "params must be an object, not array")) {
            try Submit.Params(json: [1])
        }
    }

    @Test func paramsSurviveTheWire() throws {
        let submit = Submit.Params(
            project: "/p",
            input: "do it",
            bundle: "code",
            policy: "full-supervised",
            idempotencyKey: "k"
        )
        #expect(try Submit.Params(json: JSONValue.parse(submit.json.canonicalText)) == submit)
        var deliver = EffectsDeliver.Params(project: "/p", key: "k", session: "s", output: "{}", model: "m")
        deliver.usage = try IPCCoding.decode(EffectsDeliver.Usage.self, from: ["in": 3, "cached": 1], "params")
        #expect(deliver.json["usage"] == ["in": 3, "cached": 1])
        #expect(try EffectsDeliver.Params(json: deliver.json) == deliver)
        let replay = Replay.Params(project: nil, task: "t2", rules: [.init(name: "r", sql: "SELECT 1")])
        #expect(try Replay.Params(json: replay.json) == replay)
        #expect(try ProjectsAdd.Result(json: ["path": "/p", "added": true]) == .init(path: "/p", changed: true))
    }
}
