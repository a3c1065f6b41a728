import Foundation

/// The dashboard's two checks, kept apart from routing so they can be read in one place.
///
/// - Access: the token printed in the URL (as notebook servers do). A request that carries
///   it in `?token=` gets it back as an HttpOnly, SameSite=Strict cookie and is redirected
///   to the same path without it, so the token leaves the address bar and the history.
///   Every later request must carry the cookie. Without either: 401.
/// - Forgery: every form carries `csrf`, a second random token that only pages rendered by
///   this process contain; a POST without it (or with an Origin that is not this server)
///   is 403. SameSite=Strict already keeps the cookie off cross-site requests; the form
///   token is the second lock, so one browser quirk is not enough.
public struct AccessGuard: Sendable {
    public static let cookieName = "loom_web"
    public static let csrfField = "csrf"

    public let accessToken: String
    public let csrfToken: String

    public init(accessToken: String, csrfToken: String) {
        self.accessToken = accessToken
        self.csrfToken = csrfToken
    }

    public enum Verdict: Equatable, Sendable {
        case allow
        /// The token came in the query: set the cookie and send the browser to `location`.
        case adopt(location: String)
        case refuse(String)
    }

    /// Checks a request's access token: `query` is the raw query string, `cookieHeader` the
    /// Cookie header (all of them joined), `path` the request path.
    public func checkAccess(path: String, query: String?, cookieHeader: String?) -> Verdict {
        if let cookie = Self.cookie(named: Self.cookieName, in: cookieHeader ?? ""), Self.equal(cookie, accessToken) {
            return .allow
        }
        var fields = FormFields(query ?? "")
        if let token = fields["token"] {
            guard Self.equal(token, accessToken) else { return .refuse("the access token is wrong") }
            fields.remove("token")
            let rest = fields.encoded
            return .adopt(location: path + (rest.isEmpty ? "" : "?" + rest))
        }
        return .refuse("this dashboard needs its access token: open the URL loom-web printed when it started")
    }

    /// The Set-Cookie value that carries the access token from now on.
    public var cookieValue: String {
        "\(Self.cookieName)=\(accessToken); Path=/; HttpOnly; SameSite=Strict"
    }

    /// Checks a form: its `csrf` field, and the Origin header when the browser sent one.
    public func checkForm(_ fields: FormFields, origin: String?, host: String?) -> String? {
        guard let token = fields[Self.csrfField], Self.equal(token, csrfToken) else {
            return "the form's CSRF token is missing or wrong; reload the page and try again"
        }
        if let origin, origin != "null", let host, origin != "http://\(host)" {
            return "the form came from \(origin), not from this dashboard"
        }
        return nil
    }

    static func cookie(named name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// Compares in time independent of where the strings first differ.
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
