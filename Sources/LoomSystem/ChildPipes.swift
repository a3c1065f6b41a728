#if canImport(Glibc)
import Glibc
#endif

// glibc has had this since 2.9, but Swift's Glibc module hides it without _GNU_SOURCE.
@_silgen_name("pipe2")
private func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// The pipes between `ChildProcess.run` and its child: stdin, stdout, and stderr when it is
/// kept apart. Each is `[read end, write end]`, -1 where closed or never opened.
///
/// Every end closes on exec. Children are started from several threads at once (a
/// fan-out's agents, a check beside an HTTP request): a plain pipe's ends would be inherited
/// by every child started meanwhile, and a child waiting for the end of its stdin would
/// wait until those others exit. The spawn's dup2 gives each child its own ends, without
/// the flag.
struct ChildPipes {
    var input: [Int32] = [-1, -1]
    var output: [Int32] = [-1, -1]
    var standardError: [Int32] = [-1, -1]

    /// Opens stdin's and stdout's pipes, and stderr's when `separateStandardError`; on a
    /// failure closes what it had opened.
    static func open(separateStandardError: Bool) throws(ChildStartError) -> ChildPipes {
        var pipes = ChildPipes()
        let opened =
            closeOnExecPipe(&pipes.output) && closeOnExecPipe(&pipes.input)
            && (!separateStandardError || closeOnExecPipe(&pipes.standardError))
        guard opened else {
            let error = ChildStartError.system(.pipe, "pipe", errno: errno)
            pipes.closeChildEnds()
            pipes.closeParentEnds()
            throw error
        }
        return pipes
    }

    private static func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
        fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) } == 0
    }

    /// What the child gets as fds 0, 1 and 2, and every end it must not keep.
    var childStreams: ChildProcess.StandardStreams {
        ChildProcess.StandardStreams(
            input: input[0],
            output: output[1],
            standardError: standardError[1] >= 0 ? standardError[1] : output[1],
            closing: (input + output + standardError).filter { $0 >= 0 }
        )
    }

    /// After the spawn: the child holds its own copies.
    mutating func closeChildEnds() {
        Self.close(&input[0])
        Self.close(&output[1])
        Self.close(&standardError[1])
    }

    /// Once the child's output has ended, or nothing was started.
    mutating func closeParentEnds() {
        closeInput()
        Self.close(&output[0])
        Self.close(&standardError[0])
    }

    /// Tells the child its stdin has ended.
    mutating func closeInput() {
        Self.close(&input[1])
    }

    private static func close(_ fd: inout Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}
