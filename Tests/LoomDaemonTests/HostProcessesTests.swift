import Foundation
import Testing

@testable import LoomDaemon

/// A live agent host is never forgotten: a full set refuses a new registration rather than
/// evicting one (an evicted host's descendants would pass as a person).
@Suite struct HostProcessesTests {
    @Test func aFullSetRefusesInsteadOfEvictingALiveHost() throws {
        let hosts = HostProcesses(capacity: 2)
        // This process and its parent fill it.
        #expect(hosts.register(peer: getpid())?.count == 2)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        }
        #expect(hosts.register(peer: child.processIdentifier) == nil, "no room, and nobody live is dropped")
        #expect(hosts.live.contains(getpid()))
        // Registering what is already there needs no room.
        #expect(hosts.register(peer: getpid()) != nil)
    }

    @Test func deadEntriesMakeRoom() throws {
        let hosts = HostProcesses(capacity: 2)
        let first = Process()
        first.executableURL = URL(fileURLWithPath: "/bin/true")
        try first.run()
        // Registered while alive (its parent, this process, with it), then it ends.
        let registered = hosts.register(peer: first.processIdentifier)
        first.waitUntilExit()
        if registered == nil { return }  // it ended before it could be registered: nothing to check
        let second = Process()
        second.executableURL = URL(fileURLWithPath: "/bin/sleep")
        second.arguments = ["30"]
        try second.run()
        defer {
            kill(second.processIdentifier, SIGKILL)
            second.waitUntilExit()
        }
        #expect(hosts.register(peer: second.processIdentifier) != nil, "the dead entry was pruned to make room")
        #expect(!hosts.live.contains(first.processIdentifier))
    }
}
