import Foundation
import LoomEngine
import LoomTestKit
import Testing

@testable import LoomProviders

/// The launcher under bubblewrap: the worktree is writable, the rest is not, a hidden
/// directory (loomd's socket) cannot be reached, and a missing bwrap fails the spawn.
/// Skipped, saying why, where bwrap cannot make namespaces.
@Suite(.serialized) struct ConfinementTests {
    static let problem: String? = Confinement.bubblewrap(hiding: []).problem()

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
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        func remove() {
            close(fd)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    func run(_ script: String, worktree: String, hidden: [String]) -> AgentResult {
        CommandBackend().spawn(
            makeRequest(prompt: ""),
            model: "/bin/sh -c \(script)",
            context: SpawnWatcher().context(directory: worktree, confinement: .bubblewrap(hiding: hidden))
        )
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
        let open = CommandBackend().spawn(
            makeRequest(prompt: ""),
            model: "/usr/bin/python3 \(script) \(listener.path)",
            context: SpawnWatcher().context(directory: worktree.path)
        )
        #expect(open.output?.contains("connected") == true, "\(open.errorMessage ?? "")")
        let confined = CommandBackend().spawn(
            makeRequest(prompt: ""),
            model: "/usr/bin/python3 \(script) \(listener.path)",
            context: SpawnWatcher().context(
                directory: worktree.path,
                confinement: .bubblewrap(hiding: [listener.directory])
            )
        )
        #expect(confined.errorClass != nil)
        #expect(
            confined.errorMessage?.contains("FileNotFoundError") == true
                || confined.errorMessage?.contains("No such file") == true,
            "\(confined.errorMessage ?? "")"
        )
    }

    @Test func theOptionsHideLoomsPlacesAndBindTheWorktreeBack() throws {
        if let problem = Self.problem {
            print("SKIPPED confinement test: \(problem)")
            return
        }
        let root = TemporaryDirectory()
        defer { root.remove() }
        let project = "\(root.path)/project"
        let worktree = "\(project)/.loom/worktrees/t1"
        try FileManager.default.createDirectory(atPath: worktree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(project)/.git", withIntermediateDirectories: true)
        let state = "/var/tmp/loom-confinement-state-\(getpid())"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        let profile = LaunchProfile(
            kind: .check,
            workingDirectory: worktree + "/",
            projectDirectory: project,
            readOnlyPaths: ["\(project)/.git"],
            homePaths: [".claude", "../escape"],
            network: false
        )
        guard
            case .success(let options) = Launcher.bubblewrapOptions(
                profile: profile,
                confinement: .bubblewrap(hiding: [state, "/nonexistent/loom"]),
                home: "/root"
            )
        else {
            Issue.record("bwrap is installed, yet the options were not built")
            return
        }
        let text = options.joined(separator: " ")
        for expected in [
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session", "--cap-drop ALL", "--die-with-parent",
            "--unshare-net",
            "--tmpfs /tmp", "--tmpfs /root", "--tmpfs \(state)", "--bind \(worktree) \(worktree)",
            "--ro-bind \(project)/.git \(project)/.git",
            "--bind-try /root/.claude /root/.claude", "--chdir \(worktree) --",
        ] {
            #expect(text.contains(expected), "missing \(expected) in \(text)")
        }
        // A missing path is not mounted over (bwrap would fail), and a home path cannot climb
        // out of $HOME. The project is covered even below /tmp, and read-only once the
        // worktree is bound back, as is every hidden place; scratch space stays writable.
        #expect(!text.contains("/nonexistent/loom") && !text.contains("escape"))
        #expect(
            text.contains("--tmpfs \(project) ") && text.contains("--remount-ro \(project) ")
                && text.contains("--remount-ro \(state) ")
        )
        #expect(!text.contains("--remount-ro /tmp ") && !text.contains("--remount-ro /root "))
        // Ordered so the writable worktree is bound after the covers, the read-only git directory after it.
        let bind = try #require(options.firstIndex(of: "--bind"))
        #expect(options.lastIndex(of: "--tmpfs").map { $0 < bind } == true)
        #expect(options.lastIndex(of: "--ro-bind").map { $0 > bind } == true)
        // An agent keeps its network.
        var agent = profile
        agent.kind = .agent
        agent.network = true
        guard
            case .success(let agentOptions) = Launcher.bubblewrapOptions(
                profile: agent,
                confinement: .bubblewrap(hiding: []),
                home: "/root"
            )
        else { return }
        #expect(!agentOptions.contains("--unshare-net"))
    }

    @Test func aProjectThatIsItsOwnWorkingDirectoryKeepsItsLoomDirectoryAndGitReadOnly() throws {
        let project = TemporaryDirectory()
        defer { project.remove() }
        try FileManager.default.createDirectory(atPath: "\(project.path)/.loom", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(project.path)/.git", withIntermediateDirectories: true)
        let profile = LaunchProfile(
            kind: .command,
            workingDirectory: project.path,
            projectDirectory: project.path,
            readOnlyPaths: ["\(project.path)/.git"],
            network: false
        )
        guard
            case .success(let options) = Launcher.bubblewrapOptions(
                profile: profile,
                confinement: .bubblewrap(hiding: []),
                home: nil
            )
        else { return }
        let text = options.joined(separator: " ")
        #expect(
            text.hasSuffix(
                "--bind \(project.path) \(project.path) --ro-bind \(project.path)/.git \(project.path)/.git --tmpfs \(project.path)/.loom "
                    + "--remount-ro \(project.path)/.loom --chdir \(project.path) --"
            ),
            "\(text)"
        )
    }

    @Test func aMissingBwrapFailsTheSpawnNamingThePackageAndNothingRuns() throws {
        let worktree = TemporaryDirectory()
        defer { worktree.remove() }
        var confinement = Confinement.bubblewrap(hiding: [])
        confinement.bwrapExecutable = "/nonexistent/bwrap"
        #expect(confinement.problem()?.contains("apt-get install bubblewrap") == true)
        let result = CommandBackend().spawn(
            makeRequest(prompt: ""),
            model: "/bin/sh -c touch${IFS}ran.txt",
            context: SpawnWatcher().context(directory: worktree.path, confinement: confinement)
        )
        #expect(result.errorClass == .permanent, "a configuration problem is not retried: \(result)")
        #expect(result.errorMessage?.contains("apt-get install bubblewrap") == true, "\(result.errorMessage ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "\(worktree.path)/ran.txt"), "nothing ran unconfined")
    }

    /// Attack 9 at the launcher: a check connects to a listener on loopback. Without a
    /// network it cannot; asking for one, or running unconfined, it can.
    @Test func aCheckHasNoNetworkUnlessItAsks() throws {
        if let problem = Self.problem {
            print("SKIPPED confinement test: \(problem)")
            return
        }
        let worktree = TemporaryDirectory()
        defer { worktree.remove() }
        let (listener, port) = try LoopbackListener.open(backlog: 4)
        defer { close(listener) }
        let argv = ["/usr/bin/python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 2)"]
        func connects(network: Bool, confinement: Confinement) -> Bool {
            let profile = LaunchProfile(kind: .check, workingDirectory: worktree.path, network: network)
            return Launcher.run(
                argv: argv,
                profile: profile,
                confinement: confinement,
                environment: ChildEnvironment.base(),
                timeoutMs: 10_000,
                outputLimitBytes: 4_096
            ).result.exitCode == 0
        }
        #expect(!connects(network: false, confinement: .bubblewrap(hiding: [])))
        #expect(connects(network: true, confinement: .bubblewrap(hiding: [])))
        #expect(connects(network: false, confinement: .unconfined), "the listener is real")
    }

    @Test func everyLaunchRecordsHowItRan() {
        let profile = LaunchProfile(kind: .check, workingDirectory: "/w", network: false)
        let unconfined = Launcher.record(profile: profile, options: nil)
        #expect(
            unconfined["confined"] == .bool(false) && unconfined["profile"] == "none"
                && unconfined["network"] == .bool(false)
        )
        #expect(unconfined["uid"]?.intValue == Int64(getuid()))
        let confined = Launcher.record(profile: profile, options: ["bwrap", "--unshare-pid", "--"])
        #expect(confined["confined"] == .bool(true) && confined["profile"] == "bwrap:check")
        #expect(confined["digest"]?.stringValue?.count == 64)
        #expect(
            confined["digest"] != Launcher.record(profile: profile, options: ["bwrap", "--"])["digest"],
            "the digest names the exact options"
        )
    }
}
