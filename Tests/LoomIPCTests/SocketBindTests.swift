import LoomIPC
import LoomIPCServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `IPCServer.bind`: permissions, stale sockets, live servers.
@Suite struct SocketBindTests {
    private func mode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    /// Leaves a socket file nobody listens on, as a crashed daemon would.
    private func makeStaleSocket(at path: String) throws {
        let fd = try IPCServer.bind(path: path)
        close(fd)
        var st = stat()
        #expect(lstat(path, &st) == 0)
    }

    @Test func socketModeAndParentDirectoryMode() throws {
        let dir = IPCTempDir()
        let path = dir.file("run/loom/loomd.sock")
        let fd = try IPCServer.bind(path: path)
        defer { close(fd) }
        #expect(mode(path) == 0o660)
        #expect(mode(dir.file("run/loom")) == 0o750)
        #expect(mode(dir.file("run")) == 0o750)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func customMode() throws {
        let dir = IPCTempDir()
        let fd = try IPCServer.bind(path: dir.file("s.sock"), mode: 0o600)
        defer { close(fd) }
        #expect(mode(dir.file("s.sock")) == 0o600)
    }

    @Test func staleSocketIsReplaced() throws {
        let dir = IPCTempDir()
        let path = dir.file("loomd.sock")
        try makeStaleSocket(at: path)
        let fd = try IPCServer.bind(path: path)
        let server = IPCServer(socketFD: fd, serverVersion: "v") { $0.result("pong") }
        server.start()
        defer { server.stop() }
        #expect(try IPCClient(socketPath: path, timeoutMs: 5_000).call("ping") == "pong")
    }

    @Test func liveServerIsAConflict() throws {
        let dir = IPCTempDir()
        let path = dir.file("loomd.sock")
        let server = IPCServer(socketFD: try IPCServer.bind(path: path), serverVersion: "v") { $0.result("pong") }
        server.start()
        defer { server.stop() }
        do {
            _ = try IPCServer.bind(path: path)
            Issue.record("bound over a live server")
        } catch {
            #expect(error.code == .conflict)
            #expect(error.message.contains("already listening"))
        }
        // The live server was not disturbed.
        #expect(try IPCClient(socketPath: path, timeoutMs: 5_000).call("ping") == "pong")
    }

    @Test func aRegularFileIsNeverReplaced() throws {
        let dir = IPCTempDir()
        let path = dir.file("precious")
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        close(fd)
        do {
            _ = try IPCServer.bind(path: path)
            Issue.record("replaced a regular file")
        } catch {
            #expect(error.code == .conflict)
        }
        var st = stat()
        #expect(lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
    }

    @Test func pathTooLong() {
        do {
            _ = try IPCServer.bind(path: "/tmp/" + String(repeating: "x", count: 120))
            Issue.record("accepted a path sun_path cannot hold")
        } catch {
            #expect(error.code == .invalidParams)
        }
    }
}
