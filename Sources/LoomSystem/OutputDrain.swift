#if canImport(Glibc)
import Glibc
#endif

/// The one loop between `ChildProcess.run` and a running child, on the calling thread: it
/// writes the child's stdin as the child reads it, reads stdout and stderr as they come,
/// and kills the child's group when a time limit passes. One `poll` over all three, so
/// neither side ever blocks on a full pipe.
struct OutputDrain {
    /// The most one read takes from a pipe.
    static let readBytesMax = 65_536
    /// The longest one poll sleeps, so a deadline is checked at least this often.
    static let pollMsMax = 1_000

    let launch: ChildProcess.Launch
    let pid: Int32
    private let deadline: Int
    private var pendingInput: ArraySlice<UInt8>
    private var lastOutput: Int
    private var outputOpen = true
    private var errorOpen: Bool
    private var buffer = [UInt8](repeating: 0, count: Self.readBytesMax)

    init(launch: ChildProcess.Launch, pid: Int32, started: Int, pipes: ChildPipes) {
        self.launch = launch
        self.pid = pid
        deadline = started + launch.timeoutMs
        lastOutput = started
        pendingInput = launch.input[...]
        errorOpen = pipes.standardError[0] >= 0
    }

    /// Runs until the child has closed its output (it usually exits with it) or a time
    /// limit killed it; fills `result`'s output, stderr and limit flags.
    mutating func run(
        _ pipes: inout ChildPipes,
        into result: inout ChildProcess.Result,
        onOutput: ((ArraySlice<UInt8>) -> Void)?
    ) {
        // Small inputs (prompts) fit the pipe buffer mostly; write what fits without blocking,
        // the rest as the child reads, interleaved with reading its output.
        _ = fcntl(pipes.input[1], F_SETFL, fcntl(pipes.input[1], F_GETFL) | O_NONBLOCK)
        if pendingInput.isEmpty { pipes.closeInput() }
        while outputOpen || errorOpen {
            let now = MonotonicClock.milliseconds()
            if limitPassed(at: now, result: &result) {
                kill(-pid, SIGKILL)
                break
            }
            // Slots: 0 stdout, 1 stderr, 2 stdin (a closed fd is -1, which poll skips).
            var fds = [
                pollfd(fd: outputOpen ? pipes.output[0] : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errorOpen ? pipes.standardError[0] : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pipes.input[1], events: Int16(POLLOUT), revents: 0),
            ]
            let ready = poll(&fds, nfds_t(fds.count), Int32(pollMs(at: now)))
            if ready < 0 && errno != EINTR { break }
            if pipes.input[1] >= 0 && fds[2].revents != 0 { writeInput(&pipes) }
            if outputOpen && fds[0].revents != 0 {
                guard readOutput(pipes.output[0], into: &result, onOutput: onOutput) else { continue }
            }
            if errorOpen && fds[1].revents != 0 {
                guard readStandardError(pipes.standardError[0], into: &result) else { continue }
            }
        }
    }

    /// Whether the deadline or the idle timeout has passed, marking which in `result`.
    private func limitPassed(at now: Int, result: inout ChildProcess.Result) -> Bool {
        if now >= deadline {
            result.timedOut = true
            return true
        }
        if let idleTimeoutMs = launch.idleTimeoutMs, now - lastOutput >= idleTimeoutMs {
            result.idleTimedOut = true
            return true
        }
        return false
    }

    /// How long the next poll may sleep: until the nearer time limit, at most `pollMsMax`.
    private func pollMs(at now: Int) -> Int {
        let wait = min(deadline - now, Self.pollMsMax)
        guard let idleTimeoutMs = launch.idleTimeoutMs else { return wait }
        return min(wait, max(1, lastOutput + idleTimeoutMs - now))
    }

    private mutating func writeInput(_ pipes: inout ChildPipes) {
        let written = pendingInput.withUnsafeBytes { write(pipes.input[1], $0.baseAddress, $0.count) }
        if written > 0 { pendingInput = pendingInput.dropFirst(written) }
        if written < 0 && errno != EAGAIN || pendingInput.isEmpty { pipes.closeInput() }
    }

    /// Reads one chunk of stdout; false when the read was interrupted (poll again).
    private mutating func readOutput(
        _ fd: Int32,
        into result: inout ChildProcess.Result,
        onOutput: ((ArraySlice<UInt8>) -> Void)?
    ) -> Bool {
        let count = read(fd, &buffer, Self.readBytesMax)
        if count < 0 && errno == EINTR { return false }
        guard count > 0 else {
            outputOpen = false
            return true
        }
        lastOutput = MonotonicClock.milliseconds()
        if launch.streamsOutputOnly {
            onOutput?(buffer[0..<count])
            return true
        }
        let room = launch.outputLimitBytes - result.output.count
        if room > 0 {
            result.output += buffer[0..<min(count, room)]
            onOutput?(buffer[0..<min(count, room)])
        }
        if count > room { result.truncated = true }
        return true
    }

    /// Reads one chunk of stderr kept apart; false when the read was interrupted.
    private mutating func readStandardError(_ fd: Int32, into result: inout ChildProcess.Result) -> Bool {
        let count = read(fd, &buffer, Self.readBytesMax)
        if count < 0 && errno == EINTR { return false }
        guard count > 0 else {
            errorOpen = false
            return true
        }
        // Progress on stderr (a harness's chatter) counts as a sign of life.
        lastOutput = MonotonicClock.milliseconds()
        let room = ChildProcess.standardErrorLimitBytes - result.standardError.count
        if room > 0 { result.standardError += buffer[0..<min(count, room)] }
        return true
    }
}
