import Foundation
import LoomDaemon
import LoomProviders
import Testing

@testable import LoomEngine
@testable import LoomHost

/// Command steps get the environment the checks get: loomd's PATH, then what the project's
/// `.loom/config` sets; it is journaled with the result, secrets redacted.
@Suite struct CommandEnvironmentTests {
    @Test func aCommandStepGetsTheProjectsEnv() throws {
        let project = NSTemporaryDirectory() + "loom-command-env-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: "\(project)/.loom", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: project) }
        try #"{"env": {"GREETING": "hello from config", "API_TOKEN": "tok-123456789"}}"#.write(
            toFile: "\(project)/.loom/config",
            atomically: true,
            encoding: .utf8
        )
        let executor = EffectExecutor(provider: nil, confinement: .unconfined)
        let effect = Effect(
            key: "t1:render:command:0:1",
            taskID: "t1",
            step: "render",
            unit: "command",
            iteration: 0,
            attempt: 1,
            kind: .command,
            request: [
                "task": "t1", "step": "render", "timeoutMs": 10_000, "outputLimitBytes": 4_096,
                "argv": ["/bin/sh", "-c", "echo \"$GREETING\"; echo \"${API_TOKEN:+token set}\""],
            ]
        )
        let result = try #require(CommandResult(json: executor.execute(effect, project: project)))
        #expect(result.status == .ok, "\(result.output)")
        #expect(result.output == "hello from config\ntoken set\n")
        let recorded = result.details?["environment"]
        #expect(recorded?["GREETING"]?.stringValue == "hello from config")
        #expect(recorded?["API_TOKEN"]?.stringValue != "tok-123456789", "a secret-named value is not journaled")
        #expect(recorded?["PATH"] != nil)
    }
}
