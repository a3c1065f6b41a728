import Foundation
import LoomProviders
import LoomSystem
import Testing

/// loomd started the way `loomd.socket` starts it: the listening socket exists before loomd
/// does and is handed over as fd 3 (`LISTEN_FDS`), so loomctl can connect while loomd is
/// not running. `systemd-socket-activate` does what the socket unit does, without systemd
/// as pid 1: it listens, and at the first connection execs loomd in its own place.
@Suite struct SocketActivationTests {
    static let activator = ChildEnvironment.which(
        "systemd-socket-activate",
        path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    )
    /// How long the activator may take to create the socket.
    static let listenWaitMs = 10_000

    @Test(
        .enabled(
            if: activator != nil,
            "systemd-socket-activate is not installed (Debian: apt-get install systemd): socket activation is untested"
        )
    )
    func loomdAnswersOnTheInheritedSocketAndIsReapedWhenStopped() throws {
        let activator = try #require(Self.activator)
        let daemon = try DaemonHarness()
        try daemon.start(waitForSocket: false, under: [activator, "--listen", daemon.socket])
        let pid = try #require(daemon.process?.pid)
        let deadline = MonotonicClock.milliseconds() + Self.listenWaitMs
        while !FileManager.default.fileExists(atPath: daemon.socket) && MonotonicClock.milliseconds() < deadline {
            usleep(5_000)
        }
        #expect(FileManager.default.fileExists(atPath: daemon.socket), "the activator did not listen: \(daemon.log())")

        // This connection is what starts loomd; it waits in the socket's backlog meanwhile.
        let listed = daemon.ctl(["projects", "list", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)\n\(daemon.log())")
        #expect(daemon.log().contains("ready on the socket systemd passed (fd 3)"), "\(daemon.log())")
        // Exec'd in place: the process this test started and must reap is loomd itself.
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
        #expect(executable.hasSuffix("/loomd"), "\(executable)")

        daemon.signal(SIGTERM)
        let exit = daemon.waitForExit(seconds: 20)
        #expect(exit?.status == 0 && exit?.signaled == false, "loomd did not stop cleanly: \(daemon.log())")
        // Reaped, not a zombie, and nothing left of its process group.
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "loomd (pid \(pid)) is still there")
        #expect(kill(-pid, 0) == -1 && errno == ESRCH, "a process of loomd's group (\(pid)) is left")
        // The socket is the activator's, as it would be the socket unit's: loomd leaves it.
        #expect(FileManager.default.fileExists(atPath: daemon.socket))
    }
}
