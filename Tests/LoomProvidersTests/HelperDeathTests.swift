import Foundation
import LoomSystem
import Testing

@testable import LoomProviders

/// loom's own helper children die with the process that started them: `loom-http` sets
/// PR_SET_PDEATHSIG itself, so a `kill -9` of its parent ends it at once, where a child
/// without it (the `sleep` beside it) is left running.
@Suite(.serialized) struct HelperDeathTests {
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie (re-parented to a reaper that has not waited yet) is not running.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    static func waitUntilGone(_ pid: Int32, ms: Int) -> Bool {
        for _ in 0..<(ms / 20) {
            if !alive(pid) { return true }
            usleep(20_000)
        }
        return !alive(pid)
    }

    @Test func loomHTTPDiesWithItsParent() throws {
        let helper = try #require(
            LoomExecutables.find(HTTPHelperWire.executableName),
            "loom-http is built beside the tests"
        )
        // A parent shell starts the helper (its stdin a pipe that never ends, so the helper
        // waits for its request as a slow upload would) and, beside it, a plain sleep.
        let pidFile = "/tmp/loom-helper-death-\(getpid())"
        defer { unlink(pidFile) }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = [
            "-c",
            #"export LOOM_HTTP_PARENT=$$; sleep 30 | "$0" & echo $! > "$1.tmp"; sleep 30 & echo $! >> "$1.tmp"; mv "$1.tmp" "$1"; wait"#,
            helper, pidFile,
        ]
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        var pids: [Int32] = []
        let deadline = Date().addingTimeInterval(10)
        while pids.count < 2 && Date() < deadline {
            pids = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                Int32($0)
            }
            usleep(20_000)
        }
        try #require(pids.count == 2, "no pids from the shell")
        let (helperPid, sleeperPid) = (pids[0], pids[1])
        defer {
            kill(sleeperPid, SIGKILL)
            kill(helperPid, SIGKILL)
        }
        usleep(200_000)
        #expect(Self.alive(helperPid))
        kill(shell.processIdentifier, SIGKILL)
        #expect(Self.waitUntilGone(helperPid, ms: 2_000), "loom-http outlived its parent")
        // The control: a child that did not ask to die with its parent is still there.
        #expect(Self.alive(sleeperPid))
    }

    @Test func loomHTTPStartedByAProcessThatIsNotItsParentExitsAtOnce() throws {
        let helper = try #require(LoomExecutables.find(HTTPHelperWire.executableName))
        // The parent named is not the real one (it died before the helper could ask).
        let result = ChildProcess.run(
            .init(
                argv: [helper],
                environment: ["LOOM_HTTP_PARENT": "1"],
                input: [],
                timeoutMs: 10_000,
                outputLimitBytes: 4_096
            )
        )
        #expect(result.exitCode == 3)
    }
}
