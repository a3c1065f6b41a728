import Foundation
import Testing

@testable import LoomCode

/// git children die with loomd: each is started under `setpriv --pdeathsig KILL`, so the
/// kernel kills it when the loomd thread waiting for it dies. A fake git reports the
/// parent-death signal it was given (prctl PR_GET_PDEATHSIG), so the test sees the setting
/// itself, and the same run without setpriv shows it missing.
@Suite struct GitLaunchTests {
    static func fakeGit() throws -> String {
        let directory = NSTemporaryDirectory() + "loom-fake-git-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/git"
        try """
        #!/usr/bin/env python3
        import ctypes, sys
        signal = ctypes.c_int(0)
        ctypes.CDLL(None).prctl(2, ctypes.byref(signal))  # PR_GET_PDEATHSIG
        print("pdeathsig", signal.value, " ".join(sys.argv[1:]))
        """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// A script just written is "busy" while a child another test thread forked meanwhile
    /// still holds it open for writing (until that child execs); that passes in moments.
    static func runBusyTolerant(_ body: () throws -> Git.Output) throws -> Git.Output {
        for attempt in 0..<5 {
            do {
                let output = try body()
                if output.text.contains("Text file busy") && attempt < 4 {
                    usleep(50_000 << UInt32(attempt))
                    continue
                }
                return output
            } catch let error as GitError where error.message.contains("Text file busy") && attempt < 4 {
                usleep(50_000 << UInt32(attempt))
            }
        }
        return try body()
    }

    @Test func gitIsKilledWithItsParent() throws {
        let setpriv = try #require(Git.Launch.found.setpriv, "setpriv (util-linux) is installed where the tests run")
        let fake = try Self.fakeGit()
        let git = Git(directory: NSTemporaryDirectory())
        let output = try Self.runBusyTolerant {
            try git.run(["status", "--porcelain"], launch: Git.Launch(git: fake, setpriv: setpriv))
        }
        #expect(output.ok && output.text.hasPrefix("pdeathsig 9 status --porcelain"), "\(output.text)")
        // Without the wrapper the signal is not set: the check above can fail.
        let bare = try Self.runBusyTolerant { try git.run(["status"], launch: Git.Launch(git: fake, setpriv: nil)) }
        #expect(bare.text.hasPrefix("pdeathsig 0 status"), "\(bare.text)")
        // The real git goes through it too.
        #expect(Git.Launch.found.argv(["status"])?.prefix(4) == [setpriv, "--pdeathsig", "KILL", "--"])
    }

    @Test func noGitIsAClearError() {
        do {
            _ = try Git(directory: "/").run(["status"], launch: Git.Launch(git: nil, setpriv: "/usr/bin/setpriv"))
            Issue.record("ran without git")
        } catch {
            #expect(
                error.message.contains("git is not available") && error.message.contains("install git"),
                "\(error.message)"
            )
        }
    }
}
