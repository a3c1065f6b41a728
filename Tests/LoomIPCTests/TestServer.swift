import Dispatch
import LoomIPC
import LoomIPCServer
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// An IPCServer on a socket in a fresh temp dir, with a handler that:
/// - `echo`: returns its params;
/// - `count` {n, pad?}: streams n events {"i": k} (plus a `pad` string of that length),
///   then returns {"count": n};
/// - `boom`: fails with conflict "boom";
/// - `slow` {ms}: answers {"slow": true} after ms milliseconds, from another queue;
/// - `forever`: streams a tick every 10 ms until `event` returns false (bounded);
/// - `flood` {bytes}: streams events of that size as fast as it can (bounded);
/// - `drop`: forgets the reply without answering;
/// - `big` {bytes}: returns a string of that many bytes;
/// - `whoami`: returns the peer credentials;
/// - anything else: unknown_method.
final class TestServer: @unchecked Sendable {
    /// Bound on `forever` streams, so a broken test cannot leave one running.
    static let maxTicks = 3_000

    let dir = IPCTempDir()
    let path: String
    let server: IPCServer
    /// onClose calls seen by `forever` streams.
    let streamsClosed = Tally()
    /// `forever` streams whose event() returned false.
    let streamsStopped = Tally()

    init(limits: IPCServer.Limits = IPCServer.Limits()) throws {
        path = dir.file("loomd.sock")
        let fd = try IPCServer.bind(path: path)
        let closed = streamsClosed, stopped = streamsStopped
        server = IPCServer(socketFD: fd, serverVersion: "loomd-test 9.9", limits: limits) { reply in
            TestServer.handle(reply, closed: closed, stopped: stopped)
        }
        server.start()
    }

    deinit { server.stop() }

    func client(timeoutMs: Int = 10_000) throws -> IPCClient {
        try IPCClient(socketPath: path, clientName: "loom-tests", timeoutMs: timeoutMs)
    }

    private static func handle(_ reply: IPCReply, closed: Tally, stopped: Tally) {
        let params = reply.request.params
        switch reply.request.method {
        case "echo":
            reply.result(params)
        case "count":
            let n = params["n"]?.intValue ?? 3
            let pad = params["pad"]?.intValue.map { JSONValue.string(String(repeating: "p", count: Int($0))) }
            for i in 0..<n { reply.event(pad.map { ["i": .int(i), "pad": $0] } ?? ["i": .int(i)]) }
            reply.result(["count": .int(n)])
        case "boom":
            reply.error(IPCError(.conflict, "boom"))
        case "slow":
            let ms = Int(params["ms"]?.intValue ?? 50)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(ms)) { reply.result(["slow": true]) }
        case "forever":
            reply.onClose = { closed.add() }
            DispatchQueue.global().async {
                for tick in 0..<maxTicks {
                    if !reply.event(["tick": .int(Int64(tick))]) {
                        stopped.add()
                        return
                    }
                    usleep(10_000)
                }
                reply.result("gave up")
            }
        case "flood":
            // Streams events of `bytes` bytes as fast as possible, to a reader that may not read.
            reply.onClose = { closed.add() }
            let chunk = JSONValue.string(String(repeating: "f", count: Int(params["bytes"]?.intValue ?? 65536)))
            DispatchQueue.global().async {
                for _ in 0..<maxTicks where !reply.event(chunk) {
                    stopped.add()
                    return
                }
                reply.result("gave up")
            }
        case "drop":
            break  // never answers and keeps no reference: the server must answer for us
        case "big":
            reply.result(.string(String(repeating: "x", count: Int(params["bytes"]?.intValue ?? 0))))
        case "whoami":
            let peer = reply.peer
            reply.result([
                "pid": .int(Int64(peer.pid)), "uid": .int(Int64(peer.uid)), "gid": .int(Int64(peer.gid)),
                "exe": peer.executable.map { .string($0) } ?? .null,
            ])
        default:
            reply.error(IPCError(.unknownMethod, "no method \(reply.request.method)"))
        }
    }
}
