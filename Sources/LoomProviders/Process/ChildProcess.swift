#if canImport(Glibc)
import Glibc
#endif

// glibc has had this since 2.29, but Swift's Glibc module hides it without _GNU_SOURCE.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func addChangeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

/// Runs a child process with a deadline and a cap on what it may print, and leaves nothing
/// behind: the child gets its own process group, and a timeout kills the whole group.
///
/// Used for command steps (checks) and for providers that are programs. Output is stdout
/// and stderr merged, as a person would see it in a terminal.
public enum ChildProcess {
    public struct Result: Sendable, Equatable {
        public var exitCode: Int32?
        /// Set when the child was ended by a signal (including our own SIGKILL on timeout).
        public var signal: Int32?
        public var output: [UInt8]
        /// True when the child printed more than the limit; the rest was read and dropped.
        public var truncated: Bool
        public var timedOut: Bool
        public var durationMs: Int
        /// Set when the child could not be started at all.
        public var spawnError: String?
    }

    /// - Parameters:
    ///   - onStart: told the child's pid as soon as it runs (the daemon tracks its agents).
    public static func run(argv: [String], directory: String? = nil, environment: [String: String] = [:], input: [UInt8] = [],
                           timeoutMs: Int, outputLimitBytes: Int, onStart: (Int32) -> Void = { _ in }) -> Result {
        let started = monotonicMs()
        var result = Result(exitCode: nil, signal: nil, output: [], truncated: false, timedOut: false, durationMs: 0)
        guard !argv.isEmpty else {
            result.spawnError = "empty command"
            return result
        }
        var outPipe: [Int32] = [-1, -1]
        var inPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0, pipe(&inPipe) == 0 else {
            result.spawnError = "pipe: \(String(cString: strerror(errno)))"
            return result
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        if let directory { _ = addChangeDirectory(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a timeout can kill everything it started.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
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
        let spawnResult = argv[0].contains("/")
            ? posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
            : posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        close(inPipe[0])
        close(outPipe[1])
        guard spawnResult == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            result.spawnError = "cannot start \(argv[0]): \(String(cString: strerror(spawnResult)))"
            result.durationMs = monotonicMs() - started
            return result
        }
        onStart(pid)
        // Small inputs (prompts) fit the pipe buffer mostly; write what fits without blocking,
        // the rest as the child reads, interleaved with reading its output.
        var pendingInput = input[...]
        _ = fcntl(inPipe[1], F_SETFL, fcntl(inPipe[1], F_GETFL) | O_NONBLOCK)
        if pendingInput.isEmpty { close(inPipe[1]); inPipe[1] = -1 }
        let deadline = started + timeoutMs
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let remaining = deadline - monotonicMs()
            if remaining <= 0 {
                result.timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0)]
            if inPipe[1] >= 0 { fds.append(pollfd(fd: inPipe[1], events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining, 1_000)))
            if ready < 0 && errno != EINTR { break }
            if fds.count > 1 && fds[1].revents != 0 {
                let written = pendingInput.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
                if written > 0 { pendingInput = pendingInput.dropFirst(written) }
                if written < 0 && errno != EAGAIN || pendingInput.isEmpty {
                    close(inPipe[1])
                    inPipe[1] = -1
                }
            }
            if fds[0].revents != 0 {
                let count = read(outPipe[0], &buffer, buffer.count)
                if count <= 0 { break }
                let room = outputLimitBytes - result.output.count
                if room > 0 { result.output += buffer[0..<min(count, room)] }
                if count > room { result.truncated = true }
            }
        }
        if inPipe[1] >= 0 { close(inPipe[1]) }
        close(outPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Whatever the child left in its group goes with it.
        kill(-pid, SIGKILL)
        if status & 0x7f == 0 {
            result.exitCode = (status >> 8) & 0xff
        } else {
            result.signal = status & 0x7f
        }
        result.durationMs = monotonicMs() - started
        return result
    }

    /// Milliseconds on the monotonic clock (durations, deadlines).
    public static func monotonicMilliseconds() -> Int { monotonicMs() }

    static func monotonicMs() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1_000 + Int(now.tv_nsec) / 1_000_000
    }
}
