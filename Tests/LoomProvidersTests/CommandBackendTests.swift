import Foundation
import LoomConfiguration
import LoomEngine
import Testing

@testable import LoomProviders

/// `command:` providers: prompt on stdin, answer on stdout, sysexits for failures.
@Suite(.serialized) struct CommandBackendTests {
    @Test func promptInAnswerOut() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write("agent", "#!/bin/sh\necho \"role=$LOOM_ROLE\"\ntr a-z A-Z\n", mode: 0o755)
        let watcher = SpawnWatcher()
        let result = CommandBackend().spawn(
            makeRequest(prompt: "hello"),
            model: script,
            context: watcher.context(directory: directory.path)
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "role=implementer\nHELLO")
        #expect(watcher.progress == result.output)
        #expect(result.provider == "command" && result.model == script)
    }

    @Test(arguments: [
        (Int32(69), "rate_limited"), (77, "authentication"), (64, "bad_request"), (75, "exit_status"),
        (1, "exit_status"),
    ])
    func exitStatuses(code: Int32, reason: String) {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write(
            "agent",
            "#!/bin/sh\ncat >/dev/null\necho 'went wrong' >&2\nexit \(code)\n",
            mode: 0o755
        )
        let result = CommandBackend().spawn(
            makeRequest(),
            model: script,
            context: SpawnWatcher().context(directory: directory.path)
        )
        #expect(result.errorReason == reason, "exit \(code): \(result.errorMessage ?? "")")
        #expect(result.errorMessage?.contains("went wrong") == true)
    }

    @Test func argumentsAfterTheCommand() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write("agent", "#!/bin/sh\ncat >/dev/null\necho \"$1 $2\"\n", mode: 0o755)
        let result = CommandBackend().spawn(
            makeRequest(),
            model: "\(script) --fast --quiet",
            context: SpawnWatcher().context(directory: directory.path)
        )
        #expect(result.output == "--fast --quiet\n")
    }

    @Test func aSecretTheCommandPrintsIsRedacted() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write(
            "agent",
            "#!/bin/sh\ncat >/dev/null\necho \"key is $MY_API_KEY\"\necho \"$MY_API_KEY\" >&2\nexit 1\n",
            mode: 0o755
        )
        var settings = ProviderSettings(kind: .command)
        settings.secretEnvironment = ["MY_API_KEY"]
        let watcher = SpawnWatcher()
        let result = CommandBackend(settings: settings).spawn(
            makeRequest(),
            model: script,
            context: watcher.context(directory: directory.path, secrets: ["MY_API_KEY": testSecret])
        )
        #expect(result.errorClass == .transient)
        #expect(!everything(result).contains(testSecret))
        #expect(!watcher.progress.contains(testSecret))
        #expect(result.errorMessage?.contains(SecretsLookup.placeholder) == true)
    }

    @Test func aiderUsageLineIsRead() {
        let usage = AiderBackend.parseUsage(
            "Applied edit to a.py\nTokens: 2.3k sent, 120 received. Cost: $0.01 message, $0.02 session.\n"
        )
        #expect(usage.sent == 2_300 && usage.received == 120 && usage.costMicroUSD == 10_000)
    }

    @Test func aiderGetsThePromptFileAndItsFlags() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = directory.write(
            "aider",
            "#!/bin/sh\nprintf '%s\\n' \"$@\"\ncat \"$2\"\necho\necho 'Tokens: 1k sent, 20 received. Cost: $0.00 message, $0.00 session.'\n",
            mode: 0o755
        )
        var environment = SpawnContext.inheritedEnvironment()
        environment["PATH"] = "\(directory.path):/usr/bin:/bin"
        let result = AiderBackend().spawn(
            makeRequest(prompt: "Rename foo."),
            model: "deepseek/deepseek-chat",
            context: SpawnWatcher().context(directory: directory.path, environment: environment)
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        let output = result.output ?? ""
        #expect(
            output.contains("--no-auto-commits") && output.contains("--yes-always") && output.contains("Rename foo.")
        )
        #expect(output.contains("--model\ndeepseek/deepseek-chat"))
        #expect(result.tokensIn == 1_000 && result.tokensOut == 20)
    }

    @Test func opencodeReadsThePromptFromStdin() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = directory.write("opencode", "#!/bin/sh\necho \"$1 $2 $3\"\ncat\n", mode: 0o755)
        var environment = SpawnContext.inheritedEnvironment()
        environment["PATH"] = "\(directory.path):/usr/bin:/bin"
        let result = OpenCodeBackend().spawn(
            makeRequest(prompt: "Explain."),
            model: "anthropic/claude-sonnet-4-5",
            context: SpawnWatcher().context(directory: directory.path, environment: environment)
        )
        #expect(result.output == "run --model anthropic/claude-sonnet-4-5\nExplain.")
    }
}
