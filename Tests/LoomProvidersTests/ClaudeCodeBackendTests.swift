import Foundation
import LoomConfiguration
import LoomEngine
import LoomSystem
import Testing

@testable import LoomProviders

/// A fake `claude` on PATH that prints what the real CLI prints with `-p --output-format json`.
@Suite(.serialized) struct ClaudeCodeBackendTests {
    static let fakeClaude = #"""
        #!/bin/sh
        # Records how it was called, then behaves as FAKE_CLAUDE_MODE says.
        printf '%s\n' "$@" > "$FAKE_CLAUDE_LOG.argv"
        pwd > "$FAKE_CLAUDE_LOG.cwd"
        cat > "$FAKE_CLAUDE_LOG.stdin"
        case "$FAKE_CLAUDE_MODE" in
        success)
          echo "a warning on stderr" >&2
          cat <<'JSON'
        {"type":"result","subtype":"success","is_error":false,"duration_ms":2345,"duration_api_ms":2100,"num_turns":1,"result":"Done: edited main.swift","session_id":"0b6a6b1e-4c1f-4a8e-9d1e-7c2f3a4b5c6d","total_cost_usd":0.0123456,"usage":{"input_tokens":4,"cache_creation_input_tokens":1200,"cache_read_input_tokens":5600,"output_tokens":87,"server_tool_use":{"web_search_requests":0},"service_tier":"standard"},"permission_denials":[],"uuid":"5e1c2d3a-0000-4000-8000-000000000000"}
        JSON
          ;;
        limit)
          echo '{"type":"result","subtype":"success","is_error":true,"duration_ms":120,"num_turns":1,"result":"Claude AI usage limit reached|1767225600","session_id":"x","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0}}'
          exit 1
          ;;
        login)
          echo 'Invalid API key · Please run /login' >&2
          exit 1
          ;;
        garbage)
          echo 'this is not json'
          ;;
        hang)
          sleep 30 &
          echo $! > "$FAKE_CLAUDE_LOG.grandchild"
          sleep 30
          ;;
        esac
        """#

    let directory = TemporaryDirectory()
    let worktree: String
    let log: String

    init() {
        _ = directory.write("claude", Self.fakeClaude, mode: 0o755)
        worktree = "\(directory.path)/worktree"
        try? FileManager.default.createDirectory(atPath: worktree, withIntermediateDirectories: true)
        log = "\(directory.path)/log"
    }

    func context(_ mode: String, _ watcher: SpawnWatcher = SpawnWatcher()) -> SpawnContext {
        var environment = SpawnContext.inheritedEnvironment()
        environment["PATH"] = "\(directory.path):/usr/bin:/bin"
        environment["FAKE_CLAUDE_MODE"] = mode
        environment["FAKE_CLAUDE_LOG"] = log
        return watcher.context(directory: worktree, environment: environment)
    }

    func read(_ suffix: String) -> String { (try? String(contentsOfFile: log + suffix, encoding: .utf8)) ?? "" }

    @Test func aSuccessfulSession() {
        defer { directory.remove() }
        // The built-in settings let the implementer edit its worktree.
        let claude = ProviderSettings.builtIn["claude-code"]!
        let watcher = SpawnWatcher()
        let result = ClaudeCodeBackend(settings: claude).spawn(
            makeRequest(prompt: "Fix the bug."),
            model: "sonnet",
            context: context("success", watcher)
        )
        #expect(result.errorClass == nil, "\(result.errorMessage ?? "")")
        #expect(result.output == "Done: edited main.swift")
        #expect(result.tokensIn == 1_204 && result.tokensCached == 5_600 && result.tokensOut == 87)
        #expect(result.costMicroUSD == 12_346)
        #expect(result.provider == "claude-code" && result.model == "sonnet")
        #expect(
            read(".argv").split(separator: "\n") == [
                "-p", "--output-format", "json", "--model", "sonnet", "--permission-mode", "acceptEdits",
            ]
        )
        #expect(read(".stdin") == "Fix the bug.")
        #expect(read(".cwd").trimmingCharacters(in: .whitespacesAndNewlines) == worktree)
        // The daemon was told about the child, start and end.
        let events = watcher.childEvents
        #expect(events.count == 2)
        if case .started(let pid) = events.first, case .ended(let ended) = events.last {
            #expect(pid == ended && pid > 0)
        } else {
            Issue.record("events: \(events)")
        }
    }

    @Test func aUsageLimitIsARateLimit() {
        defer { directory.remove() }
        let result = ClaudeCodeBackend().spawn(makeRequest(), model: "", context: context("limit"))
        #expect(result.errorClass == .rateLimited && result.errorReason == "rate_limited")
        #expect(result.model == "default")
        #expect(!read(".argv").contains("--model"))
    }

    @Test func aMissingLoginIsAnAuthenticationFailure() {
        defer { directory.remove() }
        let result = ClaudeCodeBackend().spawn(makeRequest(), model: "", context: context("login"))
        #expect(result.errorReason == "authentication", "\(result.errorMessage ?? "")")
    }

    @Test func garbageIsMalformed() {
        defer { directory.remove() }
        let result = ClaudeCodeBackend().spawn(makeRequest(), model: "", context: context("garbage"))
        #expect(result.errorReason == "malformed_response" && result.errorClass == .transient)
    }

    @Test func notInstalled() {
        defer { directory.remove() }
        var environment = SpawnContext.inheritedEnvironment()
        environment["PATH"] = "/nonexistent"
        let result = ClaudeCodeBackend().spawn(
            makeRequest(),
            model: "",
            context: SpawnWatcher().context(directory: worktree, environment: environment)
        )
        #expect(result.errorReason == "unavailable" && result.errorClass == .permanent)
    }

    @Test func aHungSessionIsKilledWithEverythingItStarted() throws {
        defer { directory.remove() }
        let started = MonotonicClock.milliseconds()
        let result = ClaudeCodeBackend().spawn(
            makeRequest(timeoutMs: 60_000, idleTimeoutMs: 700),
            model: "",
            context: context("hang")
        )
        #expect(result.errorReason == "idle_timeout" && result.errorClass == .transient)
        #expect(MonotonicClock.milliseconds() - started < 5_000)
        let grandchild = try #require(Int32(read(".grandchild").trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(200_000)
        #expect(isGone(grandchild), "the grandchild \(grandchild) outlived the spawn")
    }

    @Test func theSessionTimeoutHolds() {
        defer { directory.remove() }
        let result = ClaudeCodeBackend().spawn(
            makeRequest(timeoutMs: 600, idleTimeoutMs: 60_000),
            model: "",
            context: context("hang")
        )
        #expect(result.errorReason == "timeout" && result.errorClass == .transient)
    }
}

/// Gone, or a zombie waiting for init to reap it.
func isGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 { return true }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    guard let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
