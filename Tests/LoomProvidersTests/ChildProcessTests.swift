import Dispatch
import Foundation
import LoomSystem
import Testing

@testable import LoomProviders

/// Children started side by side stay apart.
struct ChildProcessTests {
    /// A child reading its stdin to the end must not wait for another child started while its
    /// input was still being written: that one would have inherited the pipe's write end.
    @Test func aChildStartedMeanwhileDoesNotHoldAnotherChildsStdinOpen() throws {
        let slowReader = ["/bin/sh", "-c", "sleep 0.3; cat > /dev/null; echo read"]
        let input = [UInt8](repeating: 0x61, count: 1 << 20)  // more than a pipe holds: writing outlasts the next spawn
        let sleeperDone = DispatchSemaphore(value: 0)
        let sleeperEnded = LockedFlag()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) {
            _ = ChildProcess.run(.init(argv: ["/bin/sleep", "5"], timeoutMs: 20_000, outputLimitBytes: 1_024))
            sleeperEnded.set()
            sleeperDone.signal()
        }
        let reader = ChildProcess.run(.init(argv: slowReader, input: input, timeoutMs: 20_000, outputLimitBytes: 1_024))
        #expect(String(decoding: reader.output, as: UTF8.self) == "read\n")
        #expect(!sleeperEnded.value, "the reader waited for the sleeper, which held its stdin open")
        sleeperDone.wait()
    }
}

private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}
