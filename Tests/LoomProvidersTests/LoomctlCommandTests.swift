import Foundation
import LoomConfiguration
import LoomEngine
import LoomSystem
import LoomValues
import Testing

@testable import LoomProviders

/// `loomctl models` and `loomctl secrets`, the real binary on a temporary state directory.
@Suite(.serialized) struct LoomctlCommandTests {
    static let loomctl = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("loomctl").path

    func ctl(_ arguments: [String], stdin: String = "") -> (status: Int32, output: String) {
        let result = ChildProcess.run(
            .init(
                argv: [Self.loomctl] + arguments,
                environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"],
                input: Array(stdin.utf8),
                timeoutMs: 30_000,
                outputLimitBytes: 1 << 20
            )
        )
        return (result.exitCode ?? -1, String(decoding: result.output, as: UTF8.self))
    }

    @Test func modelsSetAndList() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.loomctl) else {
            Issue.record("loomctl was not built next to the tests: \(Self.loomctl)")
            return
        }
        let state = TemporaryDirectory()
        defer { state.remove() }
        let set = ctl([
            "models", "set", "implementer", "openrouter:deepseek/deepseek-chat,ollama:qwen2.5-coder", "--state-dir",
            state.path,
        ])
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output.contains("implementer: openrouter:deepseek/deepseek-chat,ollama:qwen2.5-coder"))
        let list = ctl(["models", "list", "--json", "--state-dir", state.path])
        let json = try JSONValue.parse(list.output)
        #expect(json["roles"]?["implementer"] == .array(["openrouter:deepseek/deepseek-chat", "ollama:qwen2.5-coder"]))
        #expect(json["default"] == .array(["claude-code"]))
        let human = ctl(["models", "list", "--state-dir", state.path])
        #expect(human.output.contains("role implementer") && human.output.contains("tier fast"))
        // Columns line up however long a role's name is.
        try
            #"{"version": 1, "default": ["claude-code"], "roles": {"reviewer-security-and-more": ["local:smollm2"], "implementer": ["local:smollm2"]}, "providers": {"local": {"kind": "openai", "baseURL": "http://127.0.0.1:8080/v1", "contextTokens": 8192, "models": {"smollm2": {"maxTokens": 1024}}}}}"#
            .write(toFile: "\(state.path)/models.json", atomically: true, encoding: .utf8)
        let aligned = ctl(["models", "list", "--state-dir", state.path]).output.split(separator: "\n").map(String.init)
        let chains = aligned.filter { $0.hasPrefix("default") || $0.hasPrefix("tier ") || $0.hasPrefix("role ") }
        let offsets = Set(
            chains.map { line -> Int in
                // Where the chain starts: after the label and its padding.
                let label =
                    line.hasPrefix("default")
                    ? "default" : String(line.split(separator: " ").prefix(2).joined(separator: " "))
                return label.count + line.dropFirst(label.count).prefix(while: { $0 == " " }).count
            }
        )
        #expect(chains.count == 6 && offsets.count == 1, "\(aligned)")
        #expect(
            aligned.contains {
                $0.hasPrefix("local") && $0.contains("openai") && $0.contains("8192")
                    && $0.contains("http://127.0.0.1:8080/v1")
            },
            "\(aligned)"
        )
        #expect(aligned.contains { $0.contains("local:smollm2") && $0.contains("1024") }, "\(aligned)")
        let bad = ctl(["models", "set", "implementer", "nosuch:model", "--state-dir", state.path])
        #expect(bad.status == 2 && bad.output.contains("unknown provider 'nosuch'"))
    }

    @Test func secretsSetFromStdinListNamesOnly() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.loomctl) else {
            Issue.record("loomctl was not built next to the tests: \(Self.loomctl)")
            return
        }
        let state = TemporaryDirectory()
        defer { state.remove() }
        let set = ctl(["secrets", "set", "OPENROUTER_API_KEY", "--state-dir", state.path], stdin: testSecret + "\n")
        #expect(set.status == 0, "\(set.output)")
        #expect(!set.output.contains(testSecret))
        var info = stat()
        stat("\(state.path)/secrets.json", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try SecretsFile(stateDirectory: state.path).load()["OPENROUTER_API_KEY"] == testSecret)
        let list = ctl(["secrets", "list", "--state-dir", state.path])
        #expect(list.output == "OPENROUTER_API_KEY\n")
        chmod("\(state.path)/secrets.json", 0o640)
        let refused = ctl(["secrets", "list", "--state-dir", state.path])
        #expect(refused.status == 1 && refused.output.contains("chmod 600") && !refused.output.contains(testSecret))
    }
}
