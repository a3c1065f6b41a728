#if canImport(Glibc)
import Glibc
#endif

/// Where loomd listens and loomctl connects when neither is told: the one rule both use.
public enum DefaultSocketPath {
    public static let systemSocket = "/run/loom/loomd.sock"

    /// `$LOOM_SOCKET` and then /run/loom/loomd.sock (clients only), `$RUNTIME_DIRECTORY/loomd.sock` (systemd),
    /// `$XDG_RUNTIME_DIR/loom/loomd.sock` (a login session), else `/tmp/loom-<uid>/loomd.sock`.
    public static func resolve(_ environment: [String: String], forClient: Bool = false) -> String {
        if forClient, let explicit = environment["LOOM_SOCKET"], !explicit.isEmpty { return explicit }
        // The system service's socket (systemd's RuntimeDirectory=loom), when it is there.
        if forClient, access(systemSocket, F_OK) == 0 { return systemSocket }
        if let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first {
            return "\(runtime)/loomd.sock"
        }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return "\(runtime)/loom/loomd.sock"
        }
        return "/tmp/loom-\(getuid())/loomd.sock"
    }
}
