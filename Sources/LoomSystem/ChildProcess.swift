#if canImport(Glibc)
import Glibc
#endif

// glibc has had this since 2.29, but Swift's Glibc module hides it without _GNU_SOURCE.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func addChangeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

// The same for pipe2 (glibc 2.9).
@_silgen_name("pipe2")
private func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// A pipe whose ends close on exec. Children are started from several threads at once (a
/// fan-out's agents, a check beside an HTTP request): a plain pipe's ends would be inherited
/// by every child started meanwhile, and a child waiting for the end of its stdin would
/// wait until those others exit. The spawn's dup2 gives each child its own ends, without
/// the flag.
private func closeOnExecPipe(_ fds: inout [Int32]) -> Int32 {
    fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) }
}

/// Runs a child process with a deadline and a cap on what it may print, and leaves nothing
/// behind: the child gets its own session and process group, and a timeout kills the
/// whole group.
///
/// Output is stdout and stderr merged, as a person would see it in a terminal.
///
/// not-a-task-process: this is the spawning primitive itself. A process loom starts for a
/// task (an agent's program, a check, a command step) reaches it only through `Launcher`,
/// which confines it; the other callers start loom's own programs (git, loom-http, the
/// dashboard's dot) or the operator's notifier, and each says so. A test
/// (`ProcessStartTests`) keeps every other caller marked.
public enum ChildProcess {
    public struct Result: Sendable, Equatable {
        public var exitCode: Int32?
        /// Set when the child was ended by a signal (including our own SIGKILL on timeout).
        public var signal: Int32?
        /// stdout, and stderr too unless it was asked for separately.
        public var output: [UInt8]
        /// True when the child printed more than the limit; the rest was read and dropped.
        public var truncated: Bool
        public var timedOut: Bool
        public var durationMs: Int
        /// Set when the child could not be started at all.
        public var spawnError: String?
        /// True when the child went silent for longer than the idle timeout and was killed.
        public var idleTimedOut = false
        /// stderr, when it was kept apart (bounded by `standardErrorLimitBytes`).
        public var standardError: [UInt8] = []

        public init(exitCode: Int32? = nil, signal: Int32? = nil, output: [UInt8] = [], truncated: Bool = false,
                    timedOut: Bool = false, durationMs: Int = 0, spawnError: String? = nil) {
            self.exitCode = exitCode
            self.signal = signal
            self.output = output
            self.truncated = truncated
            self.timedOut = timedOut
            self.durationMs = durationMs
            self.spawnError = spawnError
        }
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26), hidden from Swift without _GNU_SOURCE.
    static let spawnSetSession: Int32 = 0x80

    /// stderr kept apart is for diagnostics only; this much is plenty.
    public static let standardErrorLimitBytes = 64 * 1024

    /// - Parameters:
    ///   - onStart: told the child's pid as soon as it runs (the daemon tracks its agents).
    ///   - idleTimeoutMs: a child silent (no output) for this long is killed, with its group.
    ///   - separateStandardError: keep stderr out of `output` (a program whose stdout is
    ///     JSON must not have warnings mixed into it).
    ///   - onOutput: each chunk of stdout as it arrives, for live progress.
    ///   - streamsOutputOnly: every chunk goes to `onOutput` and none is kept in `output`
    ///     (a stream the caller consumes as it comes; `outputLimitBytes` does not apply).
    public static func run(argv: [String], directory: String? = nil, environment: [String: String] = [:], input: [UInt8] = [],
                           timeoutMs: Int, outputLimitBytes: Int, idleTimeoutMs: Int? = nil, separateStandardError: Bool = false,
                           streamsOutputOnly: Bool = false,
                           onStart: (Int32) -> Void = { _ in }, onOutput: ((ArraySlice<UInt8>) -> Void)? = nil) -> Result {
        let started = MonotonicClock.milliseconds()
        var result = Result(exitCode: nil, signal: nil, output: [], truncated: false, timedOut: false, durationMs: 0)
        guard !argv.isEmpty else {
            result.spawnError = "empty command"
            return result
        }
        var outPipe: [Int32] = [-1, -1]
        var inPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard closeOnExecPipe(&outPipe) == 0 else {
            result.spawnError = "pipe: \(Errno.current.description)"
            return result
        }
        guard closeOnExecPipe(&inPipe) == 0 else {
            result.spawnError = "pipe: \(Errno.current.description)"
            close(outPipe[0]); close(outPipe[1])
            return result
        }
        if separateStandardError && closeOnExecPipe(&errorPipe) != 0 {
            result.spawnError = "pipe: \(Errno.current.description)"
            for fd in inPipe + outPipe { close(fd) }
            return result
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, separateStandardError ? errorPipe[1] : outPipe[1], 2)
        for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1], errorPipe[0], errorPipe[1]] where fd >= 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        if let directory { _ = addChangeDirectory(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own session (so its own process group, which a timeout kills whole), with no
        // controlling terminal: a child cannot open /dev/tty and type into the person's.
        posix_spawnattr_setflags(&attributes, Int16(Self.spawnSetSession | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        var spawnResult: Int32 = 0
        _ = ChildReaper.shared.spawning {
            spawnResult = argv[0].contains("/")
                ? posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
                : posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
            return spawnResult == 0 ? pid : nil
        }
        close(inPipe[0])
        close(outPipe[1])
        if errorPipe[1] >= 0 { close(errorPipe[1]) }
        guard spawnResult == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            if errorPipe[0] >= 0 { close(errorPipe[0]) }
            result.spawnError = "cannot start \(argv[0]): \(Errno(spawnResult).description)"
            result.durationMs = MonotonicClock.milliseconds() - started
            return result
        }
        onStart(pid)
        // Small inputs (prompts) fit the pipe buffer mostly; write what fits without blocking,
        // the rest as the child reads, interleaved with reading its output.
        var pendingInput = input[...]
        _ = fcntl(inPipe[1], F_SETFL, fcntl(inPipe[1], F_GETFL) | O_NONBLOCK)
        if pendingInput.isEmpty { close(inPipe[1]); inPipe[1] = -1 }
        let deadline = started + timeoutMs
        var lastOutput = started
        var outputOpen = true
        var errorOpen = errorPipe[0] >= 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while outputOpen || errorOpen {
            let now = MonotonicClock.milliseconds()
            if now >= deadline {
                result.timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            if let idleTimeoutMs, now - lastOutput >= idleTimeoutMs {
                result.idleTimedOut = true
                kill(-pid, SIGKILL)
                break
            }
            var wait = min(deadline - now, 1_000)
            if let idleTimeoutMs { wait = min(wait, max(1, lastOutput + idleTimeoutMs - now)) }
            // Slots: 0 stdout, 1 stderr, 2 stdin (a closed fd is -1, which poll skips).
            var fds = [pollfd(fd: outputOpen ? outPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errorOpen ? errorPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inPipe[1], events: Int16(POLLOUT), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), Int32(wait))
            if ready < 0 && errno != EINTR { break }
            if inPipe[1] >= 0 && fds[2].revents != 0 {
                let written = pendingInput.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
                if written > 0 { pendingInput = pendingInput.dropFirst(written) }
                if written < 0 && errno != EAGAIN || pendingInput.isEmpty {
                    close(inPipe[1])
                    inPipe[1] = -1
                }
            }
            if outputOpen && fds[0].revents != 0 {
                let count = read(outPipe[0], &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    outputOpen = false
                } else {
                    lastOutput = MonotonicClock.milliseconds()
                    if streamsOutputOnly {
                        onOutput?(buffer[0..<count])
                    } else {
                        let room = outputLimitBytes - result.output.count
                        if room > 0 {
                            result.output += buffer[0..<min(count, room)]
                            onOutput?(buffer[0..<min(count, room)])
                        }
                        if count > room { result.truncated = true }
                    }
                }
            }
            if errorOpen && fds[1].revents != 0 {
                let count = read(errorPipe[0], &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    errorOpen = false
                } else {
                    // Progress on stderr (a harness's chatter) counts as a sign of life.
                    lastOutput = MonotonicClock.milliseconds()
                    let room = standardErrorLimitBytes - result.standardError.count
                    if room > 0 { result.standardError += buffer[0..<min(count, room)] }
                }
            }
        }
        if inPipe[1] >= 0 { close(inPipe[1]) }
        close(outPipe[0])
        if errorPipe[0] >= 0 { close(errorPipe[0]) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Whatever the child left in its group goes with it.
        kill(-pid, SIGKILL)
        ChildReaper.shared.reaped(pid)
        if status & 0x7f == 0 {
            result.exitCode = (status >> 8) & 0xff
        } else {
            result.signal = status & 0x7f
        }
        result.durationMs = MonotonicClock.milliseconds() - started
        return result
    }

}
