#if canImport(Glibc)
import Glibc
#endif

// glibc has had this since 2.29, but Swift's Glibc module hides it without _GNU_SOURCE.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func addChangeDirectory(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
    _ path: UnsafePointer<CChar>
) -> Int32

/// Starting a child and collecting its end, shared by `run` (which waits for it) and
/// `BackgroundChild` (which leaves it running).
///
/// not-a-task-process: the spawning primitive itself, as `ChildProcess` explains.
extension ChildProcess {
    /// The parent's descriptors the child gets as its fds 0, 1 and 2, and the ones it must
    /// not keep.
    struct StandardStreams {
        var input: Int32
        var output: Int32
        var standardError: Int32
        var closing: [Int32] = []
    }

    /// How a child ended.
    public struct Termination: Sendable, Equatable {
        public var exitCode: Int32?
        /// Set when a signal ended it.
        public var signal: Int32?

        /// Decodes a `waitpid` status.
        init(status: Int32) {
            if status & 0x7f == 0 {
                exitCode = (status >> 8) & 0xff
            } else {
                signal = status & 0x7f
            }
        }

        init(exitCode: Int32?, signal: Int32?) {
            self.exitCode = exitCode
            self.signal = signal
        }
    }

    /// Starts `argv` (a bare name is looked up on PATH) in its own session, with default
    /// signal handling and nothing blocked, registered with `ChildReaper` from before it
    /// exists; returns its pid. The caller reaps it, then calls `ChildReaper.reaped`.
    static func spawn(
        _ argv: [String],
        directory: String?,
        environment: [String: String],
        streams: StandardStreams
    ) throws(ChildStartError) -> Int32 {
        guard let program = argv.first else { throw ChildStartError(.emptyCommand, "empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        redirect(streams, directory: directory, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        setOwnSessionAndDefaultSignals(&attributes)

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        var spawnResult: Int32 = 0
        _ = ChildReaper.shared.spawning {
            spawnResult =
                program.contains("/")
                ? posix_spawn(&pid, program, &actions, &attributes, cArguments, cEnvironment)
                : posix_spawnp(&pid, program, &actions, &attributes, cArguments, cEnvironment)
            return spawnResult == 0 ? pid : nil
        }
        guard spawnResult == 0 else {
            throw ChildStartError.system(.spawn, "cannot start \(program)", errno: spawnResult)
        }
        return pid
    }

    private static func redirect(
        _ streams: StandardStreams,
        directory: String?,
        in actions: inout posix_spawn_file_actions_t
    ) {
        posix_spawn_file_actions_adddup2(&actions, streams.input, 0)
        posix_spawn_file_actions_adddup2(&actions, streams.output, 1)
        posix_spawn_file_actions_adddup2(&actions, streams.standardError, 2)
        for fd in streams.closing { posix_spawn_file_actions_addclose(&actions, fd) }
        if let directory { _ = addChangeDirectory(&actions, directory) }
    }

    /// Its own session (so its own process group, which a timeout kills whole), with no
    /// controlling terminal: a child cannot open /dev/tty and type into the person's.
    private static func setOwnSessionAndDefaultSignals(_ attributes: inout posix_spawnattr_t) {
        let flags = Self.spawnSetSession | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
    }

    /// Waits for `pid` to end, then kills whatever it left in its group and tells the
    /// reaper it is gone.
    static func reap(_ pid: Int32) -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return finished(pid, status: status)
    }

    /// After `pid` was reaped with `status`: whatever the child left in its group goes with it.
    static func finished(_ pid: Int32, status: Int32) -> Termination {
        kill(-pid, SIGKILL)
        ChildReaper.shared.reaped(pid)
        return Termination(status: status)
    }
}
