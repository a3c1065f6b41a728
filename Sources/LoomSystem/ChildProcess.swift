#if canImport(Glibc)
import Glibc
#endif

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

        public init(
            exitCode: Int32? = nil,
            signal: Int32? = nil,
            output: [UInt8] = [],
            truncated: Bool = false,
            timedOut: Bool = false,
            durationMs: Int = 0,
            spawnError: String? = nil
        ) {
            self.exitCode = exitCode
            self.signal = signal
            self.output = output
            self.truncated = truncated
            self.timedOut = timedOut
            self.durationMs = durationMs
            self.spawnError = spawnError
        }
    }

    /// What to start and the limits it runs under.
    public struct Launch: Sendable {
        public var argv: [String]
        /// Where it starts; the caller's own when nil.
        public var directory: String?
        /// Its whole environment: nothing of the caller's is passed unless listed here.
        public var environment: [String: String]
        /// Written to its stdin, which then ends.
        public var input: [UInt8]
        /// It is killed, with its group, when it runs this long.
        public var timeoutMs: Int
        public var outputLimitBytes: Int
        /// A child silent (no output) for this long is killed, with its group.
        public var idleTimeoutMs: Int?
        /// Keep stderr out of `output` (a program whose stdout is JSON must not have
        /// warnings mixed into it).
        public var separateStandardError: Bool
        /// Every chunk goes to `onOutput` and none is kept in `output` (a stream the caller
        /// consumes as it comes; `outputLimitBytes` does not apply).
        public var streamsOutputOnly: Bool

        public init(
            argv: [String],
            directory: String? = nil,
            environment: [String: String] = [:],
            input: [UInt8] = [],
            timeoutMs: Int,
            outputLimitBytes: Int,
            idleTimeoutMs: Int? = nil,
            separateStandardError: Bool = false,
            streamsOutputOnly: Bool = false
        ) {
            self.argv = argv
            self.directory = directory
            self.environment = environment
            self.input = input
            self.timeoutMs = timeoutMs
            self.outputLimitBytes = outputLimitBytes
            self.idleTimeoutMs = idleTimeoutMs
            self.separateStandardError = separateStandardError
            self.streamsOutputOnly = streamsOutputOnly
        }
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26), hidden from Swift without _GNU_SOURCE.
    static let spawnSetSession: Int32 = 0x80

    /// stderr kept apart is for diagnostics only; this much is plenty.
    public static let standardErrorLimitBytes = 64 * 1024

    /// Starts `launch.argv`, feeds it its input, collects its output, and returns once it
    /// has ended (by itself, or killed at a time limit) and been reaped.
    ///
    /// - Parameters:
    ///   - onStart: told the child's pid as soon as it runs (the daemon tracks its agents).
    ///   - onOutput: each chunk of stdout as it arrives, for live progress.
    public static func run(
        _ launch: Launch,
        onStart: (Int32) -> Void = { _ in },
        onOutput: ((ArraySlice<UInt8>) -> Void)? = nil
    ) -> Result {
        let started = MonotonicClock.milliseconds()
        var result = Result(exitCode: nil, signal: nil, output: [], truncated: false, timedOut: false, durationMs: 0)
        var pipes: ChildPipes
        let pid: Int32
        do throws(ChildStartError) {
            (pipes, pid) = try start(launch)
        } catch {
            result.spawnError = error.message
            result.durationMs = MonotonicClock.milliseconds() - started
            return result
        }
        onStart(pid)
        var drain = OutputDrain(launch: launch, pid: pid, started: started, pipes: pipes)
        drain.run(&pipes, into: &result, onOutput: onOutput)
        pipes.closeParentEnds()
        let termination = reap(pid)
        result.exitCode = termination.exitCode
        result.signal = termination.signal
        result.durationMs = MonotonicClock.milliseconds() - started
        return result
    }

    /// Opens the pipes and starts the child on them, keeping only the parent's ends; on a
    /// failure nothing is left open.
    private static func start(_ launch: Launch) throws(ChildStartError) -> (ChildPipes, Int32) {
        guard !launch.argv.isEmpty else { throw ChildStartError(.emptyCommand, "empty command") }
        var pipes = try ChildPipes.open(separateStandardError: launch.separateStandardError)
        let pid: Int32
        do throws(ChildStartError) {
            pid = try spawn(
                launch.argv,
                directory: launch.directory,
                environment: launch.environment,
                streams: pipes.childStreams
            )
        } catch {
            pipes.closeChildEnds()
            pipes.closeParentEnds()
            throw error
        }
        pipes.closeChildEnds()
        return (pipes, pid)
    }

}
