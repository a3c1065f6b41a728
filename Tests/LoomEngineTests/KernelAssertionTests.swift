import Foundation
import Testing

@testable import LoomEngine

/// The kernel's assertions stop the process loudly (TigerBeetle's style): a state that
/// cannot happen is not carried on from. Each test runs the kernel into one in a child
/// process and expects it to die.
@Suite struct KernelAssertionTests {
    /// Deciding a gate that is not waiting is an illegal transition.
    @Test func decidingAGateThatDoesNotWaitStops() async {
        await #expect(processExitsWith: .failure) {
            let path = "\(NSTemporaryDirectory())/loom-assert-gate-\(getpid()).db"
            let store = try! Store(path: path)
            try! store.write { tx throws(LoomError) in
                try tx.decideGate(eventID: "t1.g1", status: .approved, by: .system, message: "", tick: 1)
            }
        }
    }

    /// A tick row is written only after the tick journaled its input (and took its token there).
    @Test func aTickThatEndsWithoutJournalingStops() async {
        await #expect(processExitsWith: .failure) {
            let path = "\(NSTemporaryDirectory())/loom-assert-tick-\(getpid()).db"
            let store = try! Store(path: path)
            try! store.write { tx throws(LoomError) in
                let context = try TickContext(tx: tx, clock: { 1 }, journalEntryMaxBytes: 1 << 20)
                try context.finish()
            }
        }
    }
}
