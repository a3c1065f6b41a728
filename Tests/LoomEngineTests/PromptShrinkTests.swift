import Foundation
import LoomTestKit
import LoomValues
import Testing

@testable import LoomEngine

/// The kernel's half of context budgets: a bundle declares how each variable shrinks, and the
/// spawn's request records where each shrinkable value sits in the rendered prompt (for the
/// host, which knows the model's window, to cut). Bundles that declare nothing make the same
/// requests as before, byte for byte.
@Suite struct PromptShrinkTests {
    /// The publishing bundle's files, with `replace` applied to its manifest.
    static func publishingFiles(_ replace: [(String, String)] = []) throws -> [String: String] {
        let root = Fixtures.repositoryRoot.appendingPathComponent(PublishingWorld.bundlePath).path
        var files: [String: String] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: root) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            files[path] = try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
        }
        for (old, new) in replace {
            #expect(files["bundle.json"]!.contains(old), "the manifest says \(old)")
            files["bundle.json"] = files["bundle.json"]!.replacingOccurrences(of: old, with: new)
        }
        return files
    }

    static let shrinking = [
        (#""text": "output:draft.text""#, #""text": {"from": "output:draft.text", "shrink": "head-tail"}"#),
        (#""earlier": "findings""#, #""earlier": {"from": "findings", "shrink": "first-items"}"#),
    ]

    @Test func theRequestSaysWhereEachShrinkableValueSits() throws {
        let bundle = try BundleLoader.load(files: try Self.publishingFiles(Self.shrinking))
        #expect(bundle.agents["editor"]?.shrink == ["text": .headTail, "earlier": .firstItems])
        let directory = TemporaryDirectory()
        let engine = try Engine(
            store: try Store(path: directory.file("state.db")),
            bundles: [bundle],
            clock: SimulatedClock().next
        )
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        let text = "Line one of a long draft.\nLine two, with ünïcode.\n"
        _ = try engine.deliver(key: "t1:draft:writer:0:1", result: Fixtures.draft(text: text))
        let effect = try engine.pending("editor")
        let request = try #require(AgentRequest(json: effect.request))
        #expect(request.shrinkable.map(\.variable) == ["earlier", "text"], "sorted by name")
        let bytes = Array(request.prompt.utf8)
        let textSpan = try #require(request.shrinkable.first { $0.variable == "text" }?.spans.first)
        #expect(String(decoding: bytes[textSpan], as: UTF8.self) == text)
        let earlier = try #require(request.shrinkable.first { $0.variable == "earlier" })
        #expect(earlier.rule == .firstItems)
        #expect(earlier.spans.allSatisfy { String(decoding: bytes[$0], as: UTF8.self) == "[]" })
        // The request's JSON round-trips, spans included.
        #expect(AgentRequest(json: request.json) == request)
    }

    @Test func aBundleWithoutShrinkMakesTheSameRequestAsBefore() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "x", by: Fixtures.person)
        let request = try engine.pending("writer").request
        #expect(request["shrink"] == nil)
        #expect(AgentRequest(json: request)?.shrinkable == [])
    }

    @Test func anUnknownShrinkRuleIsRefusedWhereItIsWritten() throws {
        let files = try Self.publishingFiles([
            (#""text": "output:draft.text""#, #""text": {"from": "output:draft.text", "shrink": "middle"}"#)
        ])
        do {
            _ = try BundleLoader.load(files: files)
            Issue.record("a bundle with shrink \"middle\" loaded")
        } catch {
            let message = error.problems.map { "\($0.location) \($0.message)" }.joined(separator: "\n")
            #expect(
                message.contains("agents.editor.variables.text.shrink") && message.contains("\"head-tail\""),
                "\(message)"
            )
        }
    }

    @Test func spansOutsideThePromptAreNotTrusted() {
        let json: JSONValue = [
            "task": "t1", "step": "s", "role": "r", "prompt": "abc", "iteration": 0, "attempt": 1,
            "shrink": [["variable": "v", "rule": "head-tail", "spans": [[0, 2], [1, 9], [2, 1]]]],
        ]
        #expect(AgentRequest(json: json)?.shrinkable.first?.spans == [0..<2])
    }
}
