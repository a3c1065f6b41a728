import Foundation

/// How the dashboard is started: where it listens, which loomd it talks to, and the
/// secrets that guard it. Every field has a safe default; `host` defaults to loopback and
/// only an explicit `--host` changes it.
public struct DashboardConfiguration: Sendable {
    /// The address to listen on. Loopback unless the operator says otherwise.
    public var host = "127.0.0.1"
    /// The TCP port; 0 asks the kernel for a free one (tests use that).
    public var port = 8_787
    /// loomd's control socket; the dashboard is one more client of it.
    public var socketPath: String
    /// loomd's state directory, for models.json (secrets.json there is never read).
    public var stateDirectory: String
    /// The access token printed in the URL; every request must carry it (query once, then a cookie).
    public var accessToken: String
    /// The CSRF token every form carries. Separate from the access token so a page that
    /// leaks (a screenshot, a saved HTML file) does not hand out access.
    public var csrfToken: String
    public var limits = DashboardLimits()

    public init(
        socketPath: String,
        stateDirectory: String,
        accessToken: String = DashboardConfiguration.randomToken(),
        csrfToken: String = DashboardConfiguration.randomToken()
    ) {
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
        self.accessToken = accessToken
        self.csrfToken = csrfToken
    }

    /// 32 random bytes as hex: unguessable, and safe in a URL, a cookie and a form.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Whether `host` is a loopback address (the only kind the dashboard binds without being told).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
