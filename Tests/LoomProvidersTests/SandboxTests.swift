import Testing
import Foundation
import LoomEngine
@testable import LoomProviders

/// bubblewrap: the worktree is writable, the rest is not, and a hidden directory (loomd's
/// socket) cannot be reached. Skipped, saying why, where bwrap cannot make namespaces.
@Suite(.serialized) struct SandboxTests {
    static let problem: String? = {
        guard ProgramRun.resolve("bwrap", path: "/usr/local/bin:/usr/bin:/bin") != nil else { return "bwrap is not installed (apt-get install bubblewrap)" }
        return Sandbox.bubblewrapProblem()
    }()

    /// A Unix socket listening in a directory outside /tmp (which the sandbox replaces
    /// anyway), so the test shows the hidden-directory rule itself at work.
    struct Listener {
        let directory: String
        let path: String
        let fd: Int32

        init() throws {
            var template = Array("/var/tmp/loom-sandbox-socket-XXXXXX".utf8CString)
            directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            path = "\(directory)/loomd.sock"
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        func remove() {
            close(fd)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    func run(_ script: String, worktree: String, hidden: [String]) -> AgentResult {
        CommandBackend().spawn(makeRequest(prompt: ""), model: "/bin/sh -c \(script)",
                               context: SpawnWatcher().context(directory: worktree, sandbox: .bubblewrap(hiddenDirectories: hidden)))
    }

    @Test func theWorktreeIsWritableAndNothingElseIs() throws {
        if let problem = Self.problem {
            print("SKIPPED sandbox test: \(problem)")
            return
        }
        let worktree = TemporaryDirectory()
        defer { worktree.remove() }
        let outside = "/var/tmp/loom-sandbox-outside-\(getpid())"
        defer { unlink(outside) }
        // `sh -c` with the script as one word: the command backend splits on spaces, so
        // each script is written without them.
        let inside = run("touch${IFS}inside.txt", worktree: worktree.path, hidden: [])
        #expect(inside.errorClass == nil, "\(inside.errorMessage ?? "")")
        #expect(FileManager.default.fileExists(atPath: "\(worktree.path)/inside.txt"))
        let escape = run("touch${IFS}\(outside)", worktree: worktree.path, hidden: [])
        #expect(escape.errorClass != nil)
        #expect(!FileManager.default.fileExists(atPath: outside))
        #expect(escape.errorMessage?.contains("Read-only file system") == true, "\(escape.errorMessage ?? "")")
    }

    @Test func loomdsSocketCannotBeReached() throws {
        if let problem = Self.problem {
            print("SKIPPED sandbox test: \(problem)")
            return
        }
        let worktree = TemporaryDirectory()
        defer { worktree.remove() }
        let listener = try Listener()
        defer { listener.remove() }
        let probe = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint('connected')\n"
        let script = worktree.write("probe.py", probe)
        // Unconfined, the probe connects: the socket is real.
        let open = CommandBackend().spawn(makeRequest(prompt: ""), model: "/usr/bin/python3 \(script) \(listener.path)",
                                          context: SpawnWatcher().context(directory: worktree.path))
        #expect(open.output?.contains("connected") == true, "\(open.errorMessage ?? "")")
        let confined = CommandBackend().spawn(makeRequest(prompt: ""), model: "/usr/bin/python3 \(script) \(listener.path)",
                                              context: SpawnWatcher().context(directory: worktree.path, sandbox: .bubblewrap(hiddenDirectories: [listener.directory])))
        #expect(confined.errorClass != nil)
        #expect(confined.errorMessage?.contains("FileNotFoundError") == true || confined.errorMessage?.contains("No such file") == true, "\(confined.errorMessage ?? "")")
    }

    @Test func theWrapperArguments() {
        let argv = Sandbox.bubblewrap(hiddenDirectories: ["/run/loom"]).wrap(["claude", "-p"], workingDirectory: "/w", readablePaths: ["/tmp/p"])
        #expect(argv == ["bwrap", "--die-with-parent", "--unshare-pid", "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                         "--tmpfs", "/tmp", "--tmpfs", "/run/loom", "--ro-bind", "/tmp/p", "/tmp/p", "--bind", "/w", "/w", "--chdir", "/w", "--", "claude", "-p"])
        #expect(Sandbox.none.wrap(["claude"], workingDirectory: "/w") == ["claude"])
    }
}
