#if canImport(Glibc)
import Glibc
#endif

/// A child left running while its starter gets on with other work (a daemon a test talks
/// to), where `ChildProcess.run` waits for the end. It starts the same way (its own session,
/// no terminal, default signals, registered with `ChildReaper`), with stdin empty and
/// stdout and stderr appended to a file; the starter signals it and waits for it, every
/// wait bounded, and whatever is not reaped by then is killed and reaped when it goes.
///
/// not-a-task-process: it starts what its caller names (loom's own programs in tests); a
/// task's process goes through `Launcher`.
public final class BackgroundChild: @unchecked Sendable {
    /// How often a wait looks whether the child has ended.
    static let waitStepMs = 2
    /// How long `deinit` waits for a killed child.
    static let killWaitMs = 10_000

    public let pid: Int32
    private let lock = Lock()
    private var ending: ChildProcess.Termination?

    /// Starts `argv` (a bare name is looked up on this process's PATH).
    public init(
        argv: [String],
        directory: String? = nil,
        environment: [String: String],
        outputPath: String
    ) throws(ChildStartError) {
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ChildStartError.system(.standardStreams, "cannot open /dev/null", errno: errno) }
        defer { close(input) }
        let output = open(outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw ChildStartError.system(.standardStreams, "cannot open \(outputPath)", errno: errno)
        }
        defer { close(output) }
        let streams = ChildProcess.StandardStreams(input: input, output: output, standardError: output)
        pid = try ChildProcess.spawn(argv, directory: directory, environment: environment, streams: streams)
    }

    deinit {
        kill(waitingMs: Self.killWaitMs)
    }

    /// How it ended, once it has; nil while it runs.
    public var termination: ChildProcess.Termination? { reapIfEnded() }

    /// Sends `signal` to the child; nothing once it has been reaped (its pid may name
    /// another process by then).
    public func signal(_ number: Int32) {
        lock.withLock {
            if ending == nil { _ = Glibc.kill(pid, number) }
        }
    }

    /// Waits up to `timeoutMs` for the child to end; how it ended, or nil if it still runs.
    @discardableResult
    public func wait(timeoutMs: Int) -> ChildProcess.Termination? {
        let deadline = MonotonicClock.milliseconds() + timeoutMs
        while true {
            if let ending = reapIfEnded() { return ending }
            if MonotonicClock.milliseconds() >= deadline { return nil }
            MonotonicClock.sleep(milliseconds: Self.waitStepMs)
        }
    }

    /// Kills the child and everything in its process group, and waits up to `waitingMs`
    /// for it; how it ended, or nil if it still had not.
    @discardableResult
    public func kill(waitingMs: Int) -> ChildProcess.Termination? {
        lock.withLock {
            if ending == nil { _ = Glibc.kill(-pid, SIGKILL) }
        }
        return wait(timeoutMs: waitingMs)
    }

    private func reapIfEnded() -> ChildProcess.Termination? {
        lock.withLock {
            if let ending { return ending }
            var status: Int32 = 0
            var reaped: Int32
            repeat { reaped = waitpid(pid, &status, WNOHANG) } while reaped < 0 && errno == EINTR
            if reaped == pid {
                ending = ChildProcess.finished(pid, status: status)
            } else if reaped < 0 {
                // Not ours to wait for any more (reaped elsewhere): its status is lost, but
                // it has ended, and a wait must not report it running until its bound.
                ChildReaper.shared.reaped(pid)
                ending = ChildProcess.Termination(exitCode: nil, signal: nil)
            }
            return ending
        }
    }
}
