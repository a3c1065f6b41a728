import HTTPTypes
import Hummingbird

/// Runs `AccessGuard` in front of every route, static files included, and adds the headers
/// that keep pages from being framed, sniffed, cached or leaking their URL.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let guardian: AccessGuard

    /// No inline script, nothing from another origin, forms post only here.
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let cookies = request.headers[values: .cookie].joined(separator: "; ")
        var response: Response
        switch guardian.checkAccess(path: request.uri.path, query: request.uri.query, cookieHeader: cookies) {
        case .allow:
            response = try await next(request, context)
        case .adopt(let location):
            response = Response(status: .seeOther, headers: [.location: location, .setCookie: guardian.cookieValue])
        case .refuse(let reason):
            let page = Layout.page("access token needed", body: "<h1>401</h1><p>\(HTML.escape(reason))</p>")
            response = Response(
                status: .unauthorized,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: page))
            )
        }
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    static var xFrameOptions: Self { Self("X-Frame-Options")! }
    static var referrerPolicy: Self { Self("Referrer-Policy")! }
}
