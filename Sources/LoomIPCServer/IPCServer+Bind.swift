import LoomIPC
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

extension IPCServer {
    /// Mode of socket directories `bind` creates: the group may traverse, others not.
    public static let socketDirectoryMode: mode_t = 0o750
    /// How long `bind` waits when probing whether an existing socket file is live.
    static let staleProbeTimeoutMs = 1_000

    /// Creates the listening socket at `path`.
    ///
    /// - The parent directory (and any missing ancestors) is created with mode 0750;
    ///   an existing directory is left as it is.
    /// - An existing socket file is replaced only if connecting to it fails (a stale
    ///   socket from a crashed daemon). If a live server answers, this throws `conflict`.
    ///   Anything at `path` that is not a socket is never deleted (`conflict`).
    /// - The socket file gets `mode` (default 0660) before `listen`, so nobody can
    ///   connect while it still has umask permissions.
    ///
    /// Returns the descriptor (close-on-exec), listening with backlog `listenBacklog`.
    public static func bind(path: String, mode: mode_t = 0o660) throws(IPCError) -> Int32 {
        guard !path.isEmpty, path.utf8.count <= UnixSocket.maxPathBytes else {
            throw IPCError(.invalidParams, "socket path must be 1 to \(UnixSocket.maxPathBytes) bytes: \(path)")
        }
        try makeParentDirectory(of: path)
        try removeStaleSocket(at: path)

        let fd: Int32
        do {
            fd = try UnixSocket.makeSocket()
        } catch {
            throw IPCError(.internal, "cannot create a socket: \(error.text)")
        }
        var bindErrno: Int32 = 0
        let bound =
            UnixSocket.withAddress(path) { address, length in
                let ok = Glibc.bind(fd, address, length) == 0
                if !ok { bindErrno = errno }
                return ok
            } ?? false
        guard bound else {
            Glibc.close(fd)
            switch bindErrno {
            case EADDRINUSE:
                throw IPCError(.conflict, "\(path) appeared while binding: another server is already listening there")
            case EACCES, EPERM, EROFS:
                throw IPCError(.forbidden, "cannot create \(path): \(Errno(bindErrno).description)")
            default: throw IPCError(.internal, "bind \(path): \(Errno(bindErrno).description)")
            }
        }
        guard chmod(path, mode) == 0 else {
            let e = errno
            Glibc.close(fd)
            unlink(path)
            throw IPCError(.internal, "chmod \(path): \(Errno(e).description)")
        }
        guard listen(fd, listenBacklog) == 0 else {
            let e = errno
            Glibc.close(fd)
            unlink(path)
            throw IPCError(.internal, "listen \(path): \(Errno(e).description)")
        }
        return fd
    }

    private static func makeParentDirectory(of path: String) throws(IPCError) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in components {
            prefix += "/" + component
            if mkdir(prefix, socketDirectoryMode) == 0 {
                // mkdir's mode is filtered by the umask; the directory must be exactly 0750.
                _ = chmod(prefix, socketDirectoryMode)
                continue
            }
            let e = errno
            var st = stat()
            if e == EEXIST, stat(prefix, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { continue }
            if e == EACCES || e == EPERM || e == EROFS {
                throw IPCError(.forbidden, "cannot create directory \(prefix): \(Errno(e).description)")
            }
            throw IPCError(
                .internal,
                "cannot create directory \(prefix): \(Errno(e == EEXIST ? ENOTDIR : e).description)"
            )
        }
    }

    private static func removeStaleSocket(at path: String) throws(IPCError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw IPCError(.conflict, "\(path) exists and is not a socket; refusing to replace it")
        }
        let probe: Int32
        do {
            probe = try UnixSocket.connect(path: path, timeoutMs: staleProbeTimeoutMs)
        } catch {
            switch error.errno {
            case ECONNREFUSED, ENOENT:
                if unlink(path) != 0 && errno != ENOENT {
                    throw IPCError(.forbidden, "cannot remove stale socket \(path): \(Errno(errno).description)")
                }
                return
            case EAGAIN, EWOULDBLOCK:
                // A full backlog: very much alive.
                throw IPCError(.conflict, "a server is already listening on \(path) (its backlog is full)")
            case EACCES, EPERM:
                throw IPCError(.forbidden, "cannot probe \(path): \(Errno(error.errno).description)")
            default:
                throw IPCError(.internal, "cannot probe \(path): \(error.text)")
            }
        }
        Glibc.close(probe)
        throw IPCError(.conflict, "a server is already listening on \(path)")
    }
}
